"""Text normalisation shared by the readers, the index and the features."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NOT_ALNUM_BYTES = bytes(c for c in range(256) if not (48 <= c <= 57 or 97 <= c <= 122))  # (translate: deleted)
_SEP = re.compile(r"[\s_\-]+")
WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


# C0/C1 controls (line breaks and tabs aside) and the bidi marks, overrides and isolates: never shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"[\t\n\r]+")


def clean(s: str, limit: int = 200) -> str:
    """Text from a feed, a README or a .bib made fit to show: control characters dropped, line breaks and tabs
    made spaces, at most `limit` characters (clipped with '…'). Used where strings reach an editor or terminal."""
    if len(s) > 4 * limit:  # don't scan a megabyte title to show 200 characters of it
        s = s[: 4 * limit]
    s = _BREAKS.sub(" ", _CONTROL.sub("", s))
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def fold(s: str) -> str:
    """Lower-case ASCII fold: 'Týr' -> 'tyr'."""
    if s.isascii():  # NFKD is the identity and casefold is lower() on ASCII: skip the per-character walk
        return s.lower()
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c)).casefold()


def norm_name(s: str) -> str:
    """The form names are matched in: Glocal-IB, Glocal_IB, GlocalIB and glocal ib all give 'glocalib'."""
    if s.isascii():  # the common case, without the Unicode decomposition: the bytes less all but [0-9a-z]
        return s.lower().encode().translate(None, _NOT_ALNUM_BYTES).decode()  # (~4x faster than the regex)
    return _NON_ALNUM.sub("", fold(s))


def name_prefixes(display: str) -> list[str]:
    """Matching forms of a multi-part name's leading parts: 'Cauchy-Schwarz-Information-Bottleneck' ->
    'cauchy', 'cauchyschwarz', 'cauchyschwarzinformation' (a mention may split it into words differently)."""
    parts = [norm_name(p) for p in _SEP.split(display)]
    parts = [p for p in parts if p]
    out, acc = [], ""
    for p in parts[:-1]:
        acc += p
        out.append(acc)
    return out


def words(s: str) -> list[str]:
    """Folded word tokens (letters and digits)."""
    return WORD_RE.findall(fold(s))


STOP_WORDS = frozenset(
    """a an the of for and or in on to with via by from at as is are be we our this that these those it its
    into over under using towards toward through beyond without within between new novel more less
    how what why when where which who does do can is are not all your you need""".split()
)


def last_name(author: str) -> str:
    """'Namgyu Ho' -> 'ho'; 'Ludwig van Beethoven' -> 'beethoven'; 'Hsu, Chih-Chung' -> 'hsu'."""
    author = author.strip()
    if "," in author:
        last = author.split(",", 1)[0]
    else:
        parts = author.split()
        last = parts[-1] if parts else ""
        if last.lower() in {"jr", "jr.", "ii", "iii"} and len(parts) > 1:
            last = parts[-2]
    return norm_name(last.split("-")[0])  # (what is not a letter or digit of the folded name dropped)
