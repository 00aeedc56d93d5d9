"""Who is labeling: for now a name or e-mail the labeler types once, kept in a cookie.

It becomes the ``source_id`` of their answers. Every page asks ``current_user(request)`` and
nothing else, so real accounts (an auth extension or a reverse proxy's user header) replace this
one module later without touching the pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

COOKIE = "annotrace_user"
MAX_CHARS = 250  # the labeling API's limit for a user name
ONE_YEAR_S = 365 * 24 * 3600


def current_user(request: Request) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    name = unquote(raw).strip()
    return name if name and len(name) <= MAX_CHARS else None


def check_name(name: str) -> str | None:
    """The problem with ``name`` as a labeler name, or None when it is fine."""
    if not name.strip():
        return "Enter your name or e-mail address."
    if len(name.strip()) > MAX_CHARS:
        return f"A name has at most {MAX_CHARS} characters."
    return None


def remember(response: Response, name: str) -> None:
    response.set_cookie(COOKIE, quote(name.strip()), max_age=ONE_YEAR_S, httponly=True, samesite="lax")


def forget(response: Response) -> None:
    response.delete_cookie(COOKIE)
