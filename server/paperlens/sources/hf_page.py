"""Reader for a Hugging Face papers page saved as text (select all, copy, paste into a file)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from paperlens.core.ids import github_repo_in
from paperlens.core.model import Paper
from paperlens.core.text import norm_name

_MONTH_NAMES = "january february march april may june july august september october november december".split()
# "Oct 6, 2025 2", "Mar 24 2", "Feb 9", "Sept 3, 2024 1.2k": month, day, optional ", year", optional upvotes.
_DATE_RE = re.compile(
    r"^(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<up>\d+(?:\.\d+)?[kK]?))?$"
)
_AUTHORS_RE = re.compile(r"^[•·*-]?\s*(\d+)\s+authors?$")
_SEPARATOR = "·"
# The page chrome above the first paper, dropped when the header date line is missing.
_BOILERPLATE = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "subscribe",
        "daily papers",
        "trending papers",
        "byak and the research community",
        "by ak and the research community",
    }
)
_LONG_LINE = 100  # an organisation line is short; anything longer belongs to the abstract


def parse_month(s: str) -> int | None:
    """Month number for 'Oct', 'oct.', 'October', 'Sept'; None otherwise."""
    s = s.strip().rstrip(".").lower()
    if len(s) >= 3:
        for i, name in enumerate(_MONTH_NAMES, start=1):
            if name.startswith(s):
                return i
    return None


def place_year(month: int, day: int, reference: dt.date) -> dt.date:
    """The latest date with this month and day that is not after `reference` (Feb 29 goes to a leap year)."""
    for year in range(reference.year, reference.year - 9, -1):
        try:
            d = dt.date(year, month, day)
        except ValueError:  # Feb 29 in a common year, or Apr 31
            continue
        if d <= reference:
            return d
    raise ValueError(f"no such day: {month}/{day}")


@dataclass(frozen=True, slots=True)
class _DateLine:
    month: int
    day: int
    year: int | None
    upvotes: int


def _parse_date_line(line: str) -> _DateLine | None:
    m = _DATE_RE.match(line.strip())
    if not m:
        return None
    month = parse_month(m["mon"])
    if month is None:
        return None
    up = m["up"] or "0"
    upvotes = round(float(up[:-1]) * 1000) if up[-1] in "kK" else round(float(up))
    return _DateLine(month, int(m["day"]), int(m["year"]) if m["year"] else None, upvotes)


def _looks_like_date(line: str) -> bool:
    # A broken date line ("Dec 45 4") is consumed with its block instead of becoming the next title.
    first = line.strip().split(" ", 1)[0]
    return parse_month(first) is not None and any(c.isdigit() for c in line)


def _org_name(line: str) -> str:
    """'Stanford Stanford AI' -> 'Stanford AI': the page shows the org handle (avatar alt), then its name."""
    parts = line.split()
    if len(parts) < 2:
        return line.strip()
    handle, name = parts[0], " ".join(parts[1:])
    h, n = norm_name(handle), norm_name(name)
    # 'deepseek-ai', 'StanfordUniversity', 'allenai Ai2': separators, digits, inner capitals, or a lower-case
    # word before a capitalised name mark a handle.
    looks_like_handle = (
        any(c in "-_" or c.isdigit() for c in handle)
        or any(c.isupper() for c in handle[1:])
        or (handle.islower() and name[:1].isupper())
    )
    if h and n and (h.startswith(n[:3]) or n.startswith(h[:3]) or looks_like_handle):
        return name
    return line.strip()


def _paragraphs(lines: list[str], start: int, end: int) -> list[tuple[int, list[str]]]:
    """Blank-line separated paragraphs of lines[start:end], each with the index of its first line."""
    out: list[tuple[int, list[str]]] = []
    cur: list[str] = []
    first = start
    for i in range(start, end):
        s = lines[i].strip()
        if not s:
            if cur:
                out.append((first, cur))
                cur = []
            continue
        if not cur:
            first = i
        cur.append(s)
    if cur:
        out.append((first, cur))
    return out


def _header(lines: list[str], end: int) -> tuple[int, _DateLine | None]:
    """Where the first paper starts, and the page's header date ('Apr 21') when there is one."""
    for i in range(end):
        d = _parse_date_line(lines[i])
        if d is not None:
            return i + 1, d
    # No header date: skip the page chrome line by line.
    i = 0
    while i < end and (not lines[i].strip() or lines[i].strip().lower() in _BOILERPLATE):
        i += 1
    return i, None


def reference_date(header: _DateLine | None, today: dt.date) -> dt.date:
    """The page date: the header placed in the latest year not after `today`; `today` without a header."""
    if header is None:
        return today
    if header.year is not None:
        return dt.date(header.year, header.month, header.day)
    return place_year(header.month, header.day, today)


def parse_hf_page(text: str, source: str, today: dt.date | None = None) -> tuple[list[Paper], list[str]]:
    """Papers and warnings from a saved HF papers page.

    Year placement: the page omits the year for dates in its own year. The header date ("Apr 21") is placed in
    the latest year that does not put it after `today` (default: date.today()); it becomes the reference date
    (without a header, `today` is). A paper date without a year takes the latest year that does not put it
    after the reference date. Dates with a year are taken as written.
    """
    today = today or dt.date.today()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    seps = [i for i, line in enumerate(lines) if line.strip() == _SEPARATOR]
    papers: list[Paper] = []
    warnings: list[str] = []
    if not seps:
        return papers, warnings
    start, header = _header(lines, seps[0])
    try:
        ref = reference_date(header, today)
    except ValueError:
        ref = today
    for sep in seps:
        block_start = start
        # The date is the next non-blank line after the separator.
        j = sep + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        date_line = _parse_date_line(lines[j]) if j < len(lines) else None
        start = j + 1 if date_line is not None or (j < len(lines) and _looks_like_date(lines[j])) else sep + 1
        paper, problem = _block(lines, block_start, sep, date_line, ref, source)
        if paper is not None:
            papers.append(paper)
        else:
            paras = _paragraphs(lines, block_start, sep)
            title = paras[0][1][0] if paras else ""
            where = f"{source}:{(paras[0][0] if paras else sep) + 1}"
            warnings.append(f"{where}: skipped paper block {title[:80]!r}: {problem}")
    rest = _paragraphs(lines, start, len(lines))
    if rest:
        line_no, para = rest[0]
        warnings.append(
            f"{source}:{line_no + 1}: ignored trailing text {para[0][:80]!r} (no '·' and date line)"
        )
    return papers, warnings


def _block(
    lines: list[str], start: int, sep: int, date_line: _DateLine | None, ref: dt.date, source: str
) -> tuple[Paper | None, str]:
    """One paper from the lines between the previous block and its '·' separator, or None and why not."""
    paras = _paragraphs(lines, start, sep)
    if not paras:
        return None, "no title"
    if date_line is None:
        return None, f"no date line after the '·' on line {sep + 1}"
    title = " ".join(paras[0][1])
    body = paras[1:]
    author_count = 0
    organization: str | None = None
    if body:
        meta = body[-1][1]
        counts = [m for s in meta if (m := _AUTHORS_RE.match(s))]
        short = all(len(s) <= _LONG_LINE for s in meta)
        if counts or (short and len(body) >= 2):
            body = body[:-1]
            if counts:
                author_count = int(counts[0].group(1))
            orgs = [s for s in meta if not _AUTHORS_RE.match(s)]
            if orgs:
                organization = _org_name(orgs[0])
    abstract = "\n\n".join(" ".join(p) for _, p in body)
    try:
        if date_line.year is not None:
            date = dt.date(date_line.year, date_line.month, date_line.day)
        else:
            date = place_year(date_line.month, date_line.day, ref)
    except ValueError:
        return None, f"invalid date on line {sep + 2}"
    return (
        Paper(
            title=title,
            abstract=abstract,
            author_count=author_count,
            organization=organization,
            date=date,
            upvotes=date_line.upvotes,
            repo=github_repo_in(abstract),
            source=f"hf-page:{source}",
        ),
        "",
    )
