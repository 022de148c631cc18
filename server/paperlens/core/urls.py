"""The one allow-list for every URL PaperLens turns into a link, a card heading or a `window/showDocument`."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# https only, on these hosts (and their www. form). Any other URL (a .bib `url` field, a feed item's link, a
# README's) is shown as text, never as something the user can click or the editor opens.
ALLOWED_HOSTS = frozenset({"github.com", "huggingface.co", "arxiv.org", "doi.org"})
_BAD = re.compile(r"[\x00-\x20\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069<>\"`\\]")
MAX_URL = 2000


# The URLs PaperLens makes itself (a repo, a paper page, an arXiv abstract): https, an allowed host in lower case,
# a path of unreserved characters only. Such a URL is its own answer (nothing to quote); a card checks ~15 of them,
# ~15 us each through urlsplit.
_PLAIN = re.compile(r"https://(?:www\.)?(?:github\.com|huggingface\.co|arxiv\.org|doi\.org)(/[A-Za-z0-9._~/-]*)?")


def safe_url(url: str | None) -> str | None:
    """The URL, re-quoted so it cannot end a Markdown link or start HTML, when it is https on an allowed host
    with no credentials and no port; else None."""
    if url and len(url) <= MAX_URL and (m := _PLAIN.fullmatch(url)):
        return url if m.group(1) else url + "/"
    return _checked(url)


def _checked(url: str | None) -> str | None:
    """safe_url the long way: split, checked and quoted part by part."""
    if not url or len(url) > MAX_URL or _BAD.search(url):
        return None
    try:
        u = urlsplit(url)
        port = u.port
    except ValueError:
        return None
    host = (u.hostname or "").lower()
    if u.scheme.lower() != "https" or port not in (None, 443) or u.username is not None or u.password is not None:
        return None
    if host.startswith("www."):
        host = host[4:]
    if host not in ALLOWED_HOSTS or u.netloc.lower().removeprefix("www.").split(":")[0] != host:
        return None
    safe = "/:@!$&'*+,;=%-._~"  # RFC 3986 path characters; ( and ) are quoted so a Markdown link cannot end early
    out = f"https://{u.netloc.lower().split(':')[0]}{quote(u.path, safe=safe) or '/'}"
    if u.query:
        out += "?" + quote(u.query, safe=safe + "?/")
    if u.fragment:
        out += "#" + quote(u.fragment, safe=safe + "?/")
    return out
