"""Method names a paper goes by: from its title, its abstract, its repo and the repo's code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from paperlens.core.model import Paper, Repo
from paperlens.core.text import STOP_WORDS, fold, norm_name

# Kinds, strongest first. The kind decides how a mention may match (see `Alias.common`).
TITLE, ABSTRACT, REPO, CODE = "title", "abstract", "repo", "code"

# Identifiers that appear in most codebases and say nothing about a paper.
CODE_STOP = frozenset(
    """torch self data model models utils util main train test tests eval evaluate config configs setup
    init src lib core base common tools scripts demo run inference dataset datasets loss losses layers
    module modules network networks net nets options option arch archs helpers helper logger metrics
    checkpoint checkpoints examples example docs notebooks api app cli io misc common default experiments
    preprocess preprocessing visualization visualize plot plots figures assets results outputs output
    trainer engine solver runner pipeline pipelines version license readme requirements environment""".split()
)

_REST = r"[\w\u00C0-\u024F^]*(?:[-'][\w\u00C0-\u024F^]+)*"
_NAME_TOKEN = r"[A-Za-z\u00C0-\u024F]" + _REST
_CAP_TOKEN = r"[A-Z\u00C0-\u00DE]" + _REST
_NAMEISH = re.compile(rf"^{_NAME_TOKEN}$")
# "we propose X", "dubbed X", "called X": the name right after the cue.
_CUE = re.compile(
    r"\b(?:dubbed|called|named|termed|coined|namely|(?:our\s+)?proposed|"
    r"we\s+(?:propose|present|introduce|develop|design)"
    r"(?:\s+(?:a|an|the))?(?:\s+(?:new|novel|simple|unified|general|efficient|lightweight))*)"
    rf"\s+({_NAME_TOKEN}(?:\s+{_CAP_TOKEN}){{0,3}})"
)
# A parenthesised acronym inside a sentence where the authors introduce something.
_PAREN = re.compile(r"\((?P<name>[A-Z][\w^]*(?:-[\w^]+)*)\)")
_INTRO = re.compile(
    r"\b(?:we|our|this paper|this work)\b[^.]{0,40}?\b(?:propos|present|introduc|develop|design|"
    r"put forward|dubbed|called|named)",
    re.IGNORECASE,
)
# A phrase's gloss running on to a name in parentheses, within its sentence; a capital inside a word marks a gloss.
_GLOSS_TAIL = re.compile(r"[^.!?()]{0,80}?\((?P<name>[A-Z][\w^]*(?:-[\w^]+)*)\)")
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?](?=\s|$)|$)")


@dataclass(frozen=True, slots=True)
class Alias:
    display: str  # as written: "Glocal-IB"
    norm: str  # matching form: "glocalib"
    kind: str  # TITLE, ABSTRACT, REPO or CODE
    common: bool  # an ordinary English word/phrase: link only in name form, never in running prose


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(["web2", "gcide"], lower=True, alpha=True))


def is_english(word: str) -> bool:
    """True for an ordinary dictionary word (plural forms included)."""
    w = fold(word)
    eng = _english()
    return w in eng or (w.endswith("s") and w[:-1] in eng) or (w.endswith("es") and w[:-2] in eng)


def is_common(display: str) -> bool:
    """A name made only of dictionary words ('Nexus', 'Block Transformer') is 'common'."""
    parts = [p for p in re.split(r"[\s_\-]+", display) if p]
    return bool(parts) and all(p.isalpha() and is_english(p) for p in parts)


def _name_like(s: str) -> bool:
    """Looks like a method name rather than a phrase: a single token, or up to 3 capitalised words."""
    s = s.strip()
    if not s or len(s) > 40:
        return False
    toks = s.split()
    if len(toks) == 1:
        return bool(_NAMEISH.match(toks[0])) and fold(toks[0]) not in STOP_WORDS
    if len(toks) > 3:
        return False
    return all(t[:1].isupper() and _NAMEISH.match(t) and fold(t) not in STOP_WORDS for t in toks)


def _distinctive(token: str) -> bool:
    """A coined name: an acronym, CamelCase, or letters mixed with digits/hyphens ('SuperGlobal', 'CS-IB')."""
    caps = sum(c.isupper() for c in token)
    return caps >= 2 or any(c.isdigit() for c in token) or ("-" in token and caps >= 1)


def _compound_word(token: str) -> bool:
    """'GPU-oriented', 'Test-time': a hyphenated adjective, not a name (some part is a lower-case word)."""
    parts = token.split("-")
    return len(parts) > 1 and any(p.islower() and is_english(p) for p in parts)


def title_name(title: str) -> str | None:
    """The name-like part of a title before ':' ('DRCT', 'FlashAttention-4', 'Block Transformer')."""
    head, sep, _ = title.partition(":")
    if not sep:
        return None
    head = head.strip()
    return head if _name_like(head) else None


_CUE_STARTS = ("dubbed", "called", "named", "termed", "coined", "namely")
_CUE_VERBS = ("propose", "present", "introduce", "develop", "design")


def _cue_matches(text: str) -> list[re.Match[str]]:
    """`list(_CUE.finditer(text))`, with _CUE tried only where a match can start: at a cue word, at "proposed"
    (an "our" before it changes neither the name nor where the match ends) and at the "we" of "we <verb>".
    _CUE scanned every position of the abstract: ~40 µs an abstract, a fifth of a build worker's time."""
    starts: list[int] = []
    for w in _CUE_STARTS:
        i = text.find(w)
        while i >= 0:
            starts.append(i)
            i = text.find(w, i + 1)
    for w in _CUE_VERBS:
        i = text.find(w)
        while i >= 0:
            if w == "propose" and text.startswith("d", i + 7):
                starts.append(i)
            j = i
            while j > 0 and text[j - 1].isspace():
                j -= 1
            if j < i and j >= 2 and text[j - 2] == "w" and text[j - 1] == "e":
                starts.append(j - 2)
            i = text.find(w, i + 1)
    out: list[re.Match[str]] = []
    end = 0
    for i in sorted(starts):
        if i >= end and (m := _CUE.match(text, i)) is not None:
            out.append(m)
            end = m.end()
    return out


def abstract_names(abstract: str) -> list[str]:
    """Names the abstract introduces: 'we propose X', 'dubbed X', '(Glocal-IB)' in an introducing sentence."""
    found: list[str] = []
    for m in _cue_matches(abstract):
        phrase = m.group(1).rstrip("'")
        toks = phrase.split()
        if len(toks) > 1:
            tail = _GLOSS_TAIL.match(abstract, m.end(1))
            if tail and any(_INNER_CAPITAL.search(t) for t in toks) and _distinctive(tail.group("name")):
                continue  # "ShifTed Rotray position embeddING (STRING)": the capitals spell the name that follows
            # "the Dense-residual-connected Transformer (DRCT)": a capitalised phrase is a name as a whole.
            if not any(fold(t) in STOP_WORDS for t in toks):
                found.append(phrase)
        elif _distinctive(phrase) and not _compound_word(phrase):
            found.append(phrase)
    for sent in _SENTENCE.findall(abstract) if "(" in abstract else ():
        if "(" not in sent or not _INTRO.search(sent):
            continue
        for m in _PAREN.finditer(sent):
            name = m.group("name")
            if len(name) >= 2 and _distinctive(name):
                found.append(name)
    out: list[str] = []
    for n in found:
        if n not in out:
            out.append(n)
    return out


def paper_aliases(paper: Paper, repo: Repo | None) -> list[Alias]:
    """Every alias of a paper, de-duplicated by matching form, strongest kind first."""
    cands: list[tuple[str, str]] = []
    t = title_name(paper.title)
    if t:
        cands.append((t, TITLE))
    cands.extend((n, ABSTRACT) for n in abstract_names(paper.abstract))
    repo_name = repo.name if repo else (paper.repo.split("/", 1)[1] if paper.repo else None)
    if repo_name:
        cands.append((repo_name, REPO))
    if repo:
        cands.extend((i, CODE) for i in repo.identifiers)
    seen: set[str] = set()
    out: list[Alias] = []
    for display, kind in cands:
        n = norm_name(display)
        if len(n) < 2 or n in seen or n in CODE_STOP or n.isdigit():
            continue
        seen.add(n)
        out.append(Alias(display, n, kind, is_common(display)))
    return out


def method_name(paper: Paper, aliases: list[Alias]) -> str | None:
    """The one name to show for a paper ('DRCT'): its title's name, else a coined name from the abstract."""
    for a in aliases:
        if a.kind == TITLE:
            return a.display
    abstract = [a for a in aliases if a.kind == ABSTRACT]
    # A coined single token (AugLocal, SuperGlobal) says more than a descriptive phrase.
    for a in abstract:
        if " " not in a.display and not a.common:
            return a.display
    return abstract[0].display if abstract else None
