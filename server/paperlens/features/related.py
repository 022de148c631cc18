"""Papers related to what you are writing: the selection, the paragraph at the cursor, or the Python function
around it (its name, docstring and comments), ranked by shared key phrases, plus the cosine of its sentence
embedding when the optional encoder is installed and the actions are asked for explicitly (index/dense.py); each
action cites one paper and says which phrases link it ("both: information bottleneck, time series")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import LATEX, MARKDOWN, PYTHON, RST, TEXT, Span
from paperlens.core.text import clean
from paperlens.features.code_actions import RELATED_KIND, add_entry_command, bib_target, cite_edit
from paperlens.features.context import FeatureContext
from paperlens.features.results import Action, Region
from paperlens.index.semantic import key_phrases

PASSAGE_KIND = RELATED_KIND + ".passage"
PASSAGE_K = 5
MIN_PHRASES = 3  # fewer content words than this is a name or a fragment, not a passage
MAX_LINES = 60  # a paragraph or function is read at most this far from the cursor each way

_LATEX_REF = re.compile(r"\\(?:[A-Za-z]*cite[A-Za-z]*|ref|eqref|autoref|cref|Cref|label|url|href|input|include)\*?"
                        r"(?:\[[^\]]*\])*\{[^}]*\}")
_LATEX_CMD = re.compile(r"\\[A-Za-z]+\*?")
_LATEX_COMMENT = re.compile(r"(?<!\\)%.*$", re.M)
_MD_CITE = re.compile(r"\[@[^\]]*\]|(?<![\w.])@[\w:.-]+")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_DEF = re.compile(r"^(\s*)(?:async\s+)?(?:def|class)\s+(\w+)")
_DOCSTRING = re.compile(r"(?:\"\"\"|''')(.*?)(?:\"\"\"|''')", re.S)


def clean_prose(text: str, kind: str) -> str:
    """The words of a passage without markup: citations, commands, links and comments removed."""
    if kind in (LATEX, TEXT):
        text = _LATEX_COMMENT.sub(" ", text)
        text = _LATEX_REF.sub(" ", text)
        text = _LATEX_CMD.sub(" ", text)
        text = re.sub(r"[{}$^_~]", " ", text)
    if kind in (MARKDOWN, TEXT, RST):
        text = _MD_LINK.sub(r"\1", text)
        text = _MD_CITE.sub(" ", text)
        text = re.sub(r":cite:`[^`]*`", " ", text)
    return _URL.sub(" ", text)


def _paragraph(lines: Sequence[str], line: int) -> tuple[int, int] | None:
    """[first, last] lines of the blank-line-delimited paragraph at `line`."""
    if line >= len(lines) or not lines[line].strip():
        return None
    lo = line
    while lo > 0 and lines[lo - 1].strip() and line - lo < MAX_LINES:
        lo -= 1
    hi = line
    while hi + 1 < len(lines) and lines[hi + 1].strip() and hi - line < MAX_LINES:
        hi += 1
    return lo, hi


def _function(lines: Sequence[str], line: int) -> tuple[int, int, str] | None:
    """(def line, last line, name) of the innermost Python function or class around `line`."""
    for d in range(line, max(-1, line - 4 * MAX_LINES), -1):
        m = _DEF.match(lines[d]) if d < len(lines) else None
        if not m:
            continue
        indent = len(m.group(1))
        end = d
        for k in range(d + 1, min(len(lines), d + 4 * MAX_LINES)):
            s = lines[k]
            if s.strip() and len(s) - len(s.lstrip()) <= indent:
                break
            end = k if s.strip() else end
        if end >= line or d == line:
            return d, end, m.group(2)
    return None


def _function_text(lines: Sequence[str], first: int, last: int, name: str) -> str:
    """What a function says about itself: its name in words, its docstring and its comments."""
    body = "\n".join(lines[first : last + 1])
    parts = [" ".join(w for w in re.split(r"_|(?<=[a-z])(?=[A-Z])", name) if w)]
    parts += _DOCSTRING.findall(body)
    parts += [ln.split("#", 1)[1] for ln in lines[first : last + 1] if "#" in ln]
    return "\n".join(parts)


def passage_at(doc: DocAnalysis, rng: Region, invoked: bool) -> tuple[str, str, Span] | None:
    """(what, text, where citations go) for a selection; with no selection, only when asked for explicitly
    (a lightbulb on every paragraph would be noise): the Python function or the paragraph at the cursor."""
    found = _passage(doc, rng, invoked)
    return found[:3] if found is not None else None


def _passage(doc: DocAnalysis, rng: Region, invoked: bool) -> tuple[str, str, Span, int, int] | None:
    """passage_at, plus the passage's first and last lines."""
    lines = doc.lines
    if (rng.start_line, rng.start) != (rng.end_line, rng.end):
        sl, el = rng.start_line, min(rng.end_line, len(lines) - 1)
        if sl > el:
            return None
        sel = list(lines[sl : el + 1])
        sel[-1] = sel[-1][: rng.end] if el == rng.end_line else sel[-1]
        sel[0] = sel[0][rng.start :]
        text = "\n".join(sel)
        if doc.kind == PYTHON:
            return "selection", text, Span(el, len(lines[el]), len(lines[el])), sl, el
        end = len(sel[-1].rstrip()) + (rng.start if sl == el else 0)
        return "selection", clean_prose(text, doc.kind), _before_period(lines[el], el, end), sl, el
    if not invoked:
        return None
    line = rng.start_line
    if doc.kind == PYTHON:
        fn = _function(lines, line)
        if fn is None:
            return None
        first, last, name = fn
        return "function", _function_text(lines, first, last, name), Span(first, len(lines[first]),
                                                                          len(lines[first])), first, last
    if doc.kind not in (LATEX, MARKDOWN, RST, TEXT):
        return None
    para = _paragraph(lines, line)
    if para is None:
        return None
    lo, hi = para
    text = "\n".join(lines[lo : hi + 1])
    return "paragraph", clean_prose(text, doc.kind), _before_period(lines[hi], hi, len(lines[hi].rstrip())), lo, hi


def _named_or_cited(ctx: FeatureContext, lo: int, hi: int, line: int, col: int) -> set[str]:
    """Keys of the papers a passage already cites or names, and of the paper at the cursor (even a name that is
    also an English word): suggesting them would be noise, the passage is about them."""
    doc, catalog = ctx.doc, ctx.catalog
    keys = {c.key for c in ctx.cites() if lo <= c.span.line <= hi}
    at = doc.mention_at(line, col, catalog)
    if at is not None:
        keys.update(e.key for e in at.mention.entries)
    for ln in range(lo, hi + 1):
        for m in doc.line_mentions(ln, catalog):
            if not m.mention.common:
                keys.update(e.key for e in m.mention.entries)
    return keys


def _before_period(text: str, line: int, end: int) -> Span:
    """Where a citation goes at the end of a passage: before its closing full stop ("… imputation~\\cite{x}.")."""
    if end > 0 and text[end - 1 : end] in ".;:" and (end < 2 or text[end - 2] != "."):
        end -= 1
    return Span(line, end, end)


def passage_actions(ctx: FeatureContext, rng: Region, invoked: bool = False) -> list[Action]:
    """'Related to this paragraph: cite X (both: …)' actions, best first."""
    doc = ctx.doc
    found = _passage(doc, rng, invoked)
    if found is None:
        return []
    what, text, span, lo, hi = found
    if len(key_phrases("", text)) < MIN_PHRASES:
        return []
    _, writable = bib_target(ctx)
    actions: list[Action] = []
    known = _named_or_cited(ctx, lo, hi, rng.start_line, rng.start)
    # The encoder (when installed) only when asked for: ~130 ms a paragraph through the wire, too slow for the
    # lightbulb an editor asks for on every selection (bench/passage_latency.py).
    hits = [(e, why) for e, why in ctx.catalog.related_passage(text, PASSAGE_K + len(known), encode=invoked)
            if e.key not in known]
    for e, why in hits[:PASSAGE_K]:
        label = clean(e.method or e.title, 80)
        reason = clean(f" (both: {', '.join(why)})", 80) if why else ""
        actions.append(Action(
            title=f"Related to this {what}: cite {label}{reason}", kind=PASSAGE_KIND,
            edit=cite_edit(doc, e, span, ctx.language_id),
            command=add_entry_command(doc, e) if writable and not ctx.bibs.has_key(e.key) else None))
    return actions
