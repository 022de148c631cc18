"""file:// URIs and paths, as pygls (and VS Code's URI library) spell them, for the layers below lsp/."""

from __future__ import annotations

import re
from pathlib import Path
from urllib import parse
from urllib.request import url2pathname

_DRIVE = re.compile(r"^/[a-zA-Z]:")


def uri_path(uri: str) -> str | None:
    """The file system path of a file:// URI (None for other schemes): pygls' `to_fs_path` on POSIX."""
    try:
        u = parse.urlparse(uri)
    except (TypeError, ValueError):
        return None
    if parse.unquote(u.scheme) != "file":
        return None
    netloc, path = parse.unquote(u.netloc), parse.unquote(u.path)
    if netloc and path:
        return f"//{netloc}{path}"  # a UNC share
    if _DRIVE.match(path):
        return path[1].lower() + path[2:]
    return path


def path_uri(path: str | Path) -> str:
    """The file:// URI of a path, quoted as pygls' `from_fs_path` quotes it (editors send the same form)."""
    p = str(path)
    netloc = ""
    if p[:2] == "//":
        i = p.find("/", 2)
        netloc, p = (p[2:], "") if i == -1 else (p[2:i], p[i:])
    if not p.startswith("/"):
        p = "/" + p
    if _DRIVE.match(p):
        p = p[0] + p[1].lower() + p[2:]
        quoted = p[:3] + parse.quote(p[3:])
    else:
        quoted = parse.quote(p)
    return parse.urlunparse(("file", parse.quote(netloc), quoted, "", "", ""))


def doc_dir(uri: str) -> Path | None:
    """The folder of a file:// document (None for other schemes): where its relative .bib names start."""
    u = parse.urlparse(uri)
    if u.scheme != "file":
        return None
    return Path(url2pathname(u.path)).parent
