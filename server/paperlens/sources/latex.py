"""LaTeX in .bib fields to plain text, keeping the words: `\\texttt{Davos}` -> Davos, `{\\TeX}` -> TeX, `\\LaTeX` ->
LaTeX, `\\hyphen` -> -, `{\\"o}` -> ö, `$\\lambda$` -> λ. Unknown commands keep their arguments' text.

A field without a backslash, brace, dollar, tilde or dash ligature takes a fast path (whitespace only), so most
fields cost next to nothing; the rest go through a small recursive reader (no pylatexenc: it dropped words and
spent ~97% of a large .bib's load time).
"""

from __future__ import annotations

import re
import unicodedata

_TEX_CHARS = re.compile(r"[\\{}$~]|--|``|''|\?`|!`")
_TOKEN = re.compile(r"\\(?:[A-Za-z@]+|.)|[{}$~]|---?|``|''")
_WS = re.compile(r"\s+")

_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
            "r": "\u030a", "d": "\u0323", "b": "\u0331", "t": "\u0361"}
_SYMBOLS = {
    "ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "l": "ł",
    "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ", "ng": "ŋ", "NG": "Ŋ",
    "TeX": "TeX", "LaTeX": "LaTeX", "LaTeXe": "LaTeX2e", "BibTeX": "BibTeX", "XeTeX": "XeTeX",
    "LuaTeX": "LuaTeX", "ConTeXt": "ConTeXt", "AmS": "AMS", "AMS": "AMS", "MF": "Metafont", "MP": "MetaPost",
    "hyphen": "-", "textendash": "–", "textemdash": "—", "ldots": "…", "dots": "…", "textellipsis": "…",
    "S": "§", "P": "¶", "copyright": "©", "textregistered": "®", "texttrademark": "™", "pounds": "£",
    "euro": "€", "textdegree": "°", "textasciitilde": "~", "textasciicircum": "^", "textbackslash": "\\",
    "textbar": "|", "textless": "<", "textgreater": ">", "textquotedbl": '"', "textquoteleft": "‘",
    "textquoteright": "’", "textquotedblleft": "“", "textquotedblright": "”", "guillemotleft": "«",
    "guillemotright": "»", "quad": " ", "qquad": " ", "space": " ", "newline": " ", "par": " ",
    "slash": "/", "textunderscore": "_", "textperiodcentered": "·", "textbullet": "•", "dag": "†",
    "ddag": "‡", "checkmark": "✓", "textsuperscript": "", "and": "and", "&": "&", "%": "%", "$": "$",
    "#": "#", "_": "_", "{": "{", "}": "}", " ": " ", ",": " ", ";": " ", ":": " ", "!": "", "-": "",
    "/": "", "\\": " ", "@": "", "textsection": "§", "i@": "i",
}
_MATH = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ",
    "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ",
    "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ",
    "Psi": "Ψ", "Omega": "Ω", "infty": "∞", "pm": "±", "mp": "∓", "times": "×", "cdot": "·", "cdots": "⋯",
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "∼",
    "equiv": "≡", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩",
    "forall": "∀", "exists": "∃", "neg": "¬", "wedge": "∧", "vee": "∨", "oplus": "⊕", "otimes": "⊗",
    "rightarrow": "→", "to": "→", "leftarrow": "←", "Rightarrow": "⇒", "Leftarrow": "⇐", "leftrightarrow": "↔",
    "mapsto": "↦", "partial": "∂", "nabla": "∇", "sum": "∑", "prod": "∏", "int": "∫", "sqrt": "√",
    "ell": "ℓ", "emptyset": "∅", "varnothing": "∅", "circ": "∘", "star": "⋆", "ast": "∗", "prime": "′",
    "log": "log", "ln": "ln", "exp": "exp", "sin": "sin", "cos": "cos", "max": "max", "min": "min",
    "poly": "poly", "polylog": "polylog", "mathbb": "", "langle": "⟨", "rangle": "⟩", "lceil": "⌈",
    "rceil": "⌉", "lfloor": "⌊", "rfloor": "⌋", "vert": "|", "mid": "|", "ldots": "…", "dots": "…",
    "left": "", "right": "", "big": "", "Big": "", "bigl": "", "bigr": "", "colon": ":", "setminus": "∖",
    "bot": "⊥", "top": "⊤", "perp": "⊥", "models": "⊨", "vdash": "⊢", "aleph": "ℵ", "hbar": "ℏ",
}
_BB = {"N": "ℕ", "Z": "ℤ", "Q": "ℚ", "R": "ℝ", "C": "ℂ", "F": "𝔽", "P": "ℙ", "E": "𝔼"}
# Declarations that only switch fonts: they print nothing themselves.
_SWITCHES = frozenset({"em", "it", "bf", "sc", "rm", "tt", "sf", "sl", "up", "md", "normalfont", "itshape",
                       "bfseries", "scshape", "rmfamily", "ttfamily", "sffamily", "upshape", "mdseries",
                       "slshape", "small", "footnotesize", "large", "Large", "tiny", "normalsize", "huge",
                       "relax", "protect", "ensuremath", "displaystyle", "textstyle", "scriptstyle",
                       "nobreak", "noindent", "allowbreak", "unskip", "mathrm", "mathit", "mathbf",
                       "mathsf", "mathtt", "mathcal", "mathfrak", "mathscr", "boldsymbol", "bm",
                       "operatorname", "text", "textnormal", "mbox", "hbox", "fbox", "emph", "textbf",
                       "textit", "textsc", "texttt", "textrm", "textsf", "textsl", "textup", "textmd",
                       "uppercase", "lowercase", "MakeUppercase", "MakeLowercase", "NoCaseChange",
                       "url", "path", "nolinkurl", "enquote", "mkbibquote", "mkbibemph", "vbox",
                       "textsubscript", "underline", "overline", "hat", "bar", "tilde", "vec", "dot",
                       "widetilde", "widehat", "mathring", "acronym", "acro", "ac", "textcite", "cite"})
# Commands whose (first) argument is not text: \noopsort{1973b} (sort key), \href{URL}{text} keeps the text.
_DROP_ARG = frozenset({"noopsort", "nocite", "label", "index", "hspace", "vspace", "hskip", "vskip", "kern",
                       "cite*", "footnotemark", "SortNoop", "sortnoop", "datalist"})


class _Reader:
    __slots__ = ("toks", "i", "math")

    def __init__(self, s: str) -> None:
        self.toks: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(s):
            if m.start() > pos:
                self.toks.append(s[pos:m.start()])
            self.toks.append(m.group(0))
            pos = m.end()
        if pos < len(s):
            self.toks.append(s[pos:])
        self.i = 0
        self.math = False

    def group(self) -> str:
        """Text up to the matching '}' (the '{' already read)."""
        out: list[str] = []
        while self.i < len(self.toks):
            tok = self.toks[self.i]
            if tok == "}":
                self.i += 1
                return "".join(out)
            out.append(self.one())
        return "".join(out)

    def arg(self) -> str | None:
        """The next argument: a braced group or a single token (spaces skipped); None at the end."""
        while self.i < len(self.toks) and self.toks[self.i].isspace():
            self.i += 1
        if self.i >= len(self.toks):
            return None
        tok = self.toks[self.i]
        if tok == "{":
            self.i += 1
            return self.group()
        if tok == "}":
            return None
        if tok.startswith("\\"):
            return self.one()
        # A plain run: only its first character is the argument (\'etude, \c cedilla).
        self.i += 1
        tok = tok.lstrip()
        if len(tok) > 1:
            self.toks.insert(self.i, tok[1:])
        return tok[:1]

    def skip_optional(self) -> None:
        if self.i < len(self.toks) and self.toks[self.i].startswith("["):
            end = self.toks[self.i].find("]")
            if end >= 0:
                rest = self.toks[self.i][end + 1:]
                if rest:
                    self.toks[self.i] = rest
                else:
                    self.i += 1

    def one(self) -> str:
        tok = self.toks[self.i]
        self.i += 1
        if tok == "{":
            return self.group()
        if tok == "}":
            return ""
        if tok == "$":
            self.math = not self.math
            return ""
        if tok == "~":
            return " " if not self.math else "∼"
        if tok == "--":
            return "–"
        if tok == "---":
            return "—"
        if tok == "``":
            return "“"
        if tok == "''":
            return "”"
        if not tok.startswith("\\"):
            if self.math:
                tok = re.sub(r"[_^]", "", tok)
            return tok
        name = tok[1:]
        if name.isalpha() and self.i < len(self.toks) and self.toks[self.i][:1].isspace():
            # A control word ends at the spaces after it: 'methodology\hyphen independent', '\TeX book'.
            rest = self.toks[self.i].lstrip()
            if rest:
                self.toks[self.i] = rest
            else:
                self.i += 1
        if name in _ACCENTS:
            base = self.arg() or ""
            if base == "ı":
                base = "i"
            return unicodedata.normalize("NFC", base[:1] + _ACCENTS[name] + base[1:]) if base else ""
        if self.math and name in _MATH:
            if name == "mathbb":
                inner = self.arg() or ""
                return "".join(_BB.get(c, c) for c in inner)
            return _MATH[name]
        if name in _SYMBOLS:
            return _SYMBOLS[name]
        if name in _DROP_ARG:
            self.skip_optional()
            self.arg()
            return ""
        if name == "href":
            self.arg()
            return self.arg() or ""
        if name in _MATH:  # \lambda outside $...$ (some exports drop the dollars)
            return _MATH[name]
        if name in _SWITCHES:
            return ""
        # An unknown command: its name is not text, its braced arguments are.
        out: list[str] = []
        while self.i < len(self.toks) and self.toks[self.i] == "{":
            self.i += 1
            out.append(self.group())
        return " ".join(out)

    def read(self) -> str:
        out: list[str] = []
        while self.i < len(self.toks):
            out.append(self.one())
        return "".join(out)


def has_tex(s: str) -> bool:
    return _TEX_CHARS.search(s) is not None


def latex_to_text(s: str) -> str:
    """Plain text with the words kept and whitespace collapsed."""
    if not _TEX_CHARS.search(s):
        return _WS.sub(" ", s).strip()
    try:
        out = _Reader(s).read()
    except RecursionError:  # pathological nesting: keep what was written
        out = s
    return _WS.sub(" ", out.replace("\xa0", " ")).strip()
