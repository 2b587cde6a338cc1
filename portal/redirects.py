"""Redirect targets that come from a user or a URL (`next=`, the page a form came from).

One function decides them all: a same-site path, or "/". Headers must be Latin-1 (Starlette and
Litestar raise on anything else, which was a 500 before sign-in), so non-ASCII is
percent-encoded as UTF-8 rather than refused."""
from __future__ import annotations

from urllib.parse import quote

# Everything a path and query legitimately hold, kept as is; "%" keeps existing escapes.
# Not kept (so encoded): non-ASCII, space, quotes, <>, backslash, ^`{|} and controls.
_SAFE = "/?&=#%:@!$'()*+,;~-._"


def safe_next(target: str | None) -> str:
    """A same-site path to redirect to, ASCII only; "/" for anything else.

    Refused: "//host" and "/\\host" (browsers read both as another host), "http://…" and
    any scheme, and any control character or whitespace — browsers drop tabs and newlines from
    a URL before parsing it, so "/\\t/evil.example" would become "//evil.example"."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ch <= " " or "\x7f" <= ch <= "\x9f" for ch in target):
        return "/"
    quoted = quote(target, safe=_SAFE)
    return quoted if quoted.startswith("/") and not quoted.startswith("//") else "/"


def login_url(path: str, query_string: bytes | str = b"") -> str:
    """`/login?next=…` that brings the reader back to `path?query` after signing in."""
    query = quote(query_string, safe=_SAFE) if query_string else ""
    target = safe_next(path + ("?" + query if query else ""))
    return "/login?next=" + quote(target, safe="/")
