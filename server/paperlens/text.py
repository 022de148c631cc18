"""Text normalisation shared by the readers, the index and the features."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


def fold(s: str) -> str:
    """Lower-case ASCII fold: 'Týr' -> 'tyr'."""
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c)).casefold()


def norm_name(s: str) -> str:
    """The form names are matched in: Glocal-IB, Glocal_IB, GlocalIB and glocal ib all give 'glocalib'."""
    return _NON_ALNUM.sub("", fold(s))


def words(s: str) -> list[str]:
    """Folded word tokens (letters and digits)."""
    return WORD_RE.findall(fold(s))


STOP_WORDS = frozenset(
    """a an the of for and or in on to with via by from at as is are be we our this that these those it its
    into over under using towards toward through beyond without within between new novel more less
    how what why when where which who does do can is are not all your you need""".split()
)
