"""Who is using the pages: the signed-in user when an authenticator protects the web port, else
(single-user development on loopback) a name the labeler types once, kept in a cookie.

It becomes the ``source_id`` of their answers. Every page asks ``current_user(request)`` and
nothing else; a page only for a known user is wrapped in ``requires_user``, which sends anyone
else to the login page and back. With authentication on, the name cookie is never read: an answer's source is the
authenticated user (``auth.principal``), never a name the browser sends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from starlette.responses import RedirectResponse

from annotrace.collector.auth.middleware import AUTHENTICATOR_KEY
from annotrace.collector.auth.principal import principal_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.auth.authenticator import Authenticator
    from annotrace.collector.store.access import Access

    UserPage = Callable[[Access, Request, str], Awaitable[Response]]
    Page = Callable[[Access, Request], Awaitable[Response]]

COOKIE = "annotrace_user"
MAX_CHARS = 250  # the labeling API's limit for a user name
ONE_YEAR_S = 365 * 24 * 3600


def authenticator(request: Request) -> Authenticator | None:
    """The web port's authenticator, or None when authentication is off."""
    return (request.scope.get("state") or {}).get(AUTHENTICATOR_KEY)


def current_user(request: Request) -> str | None:
    principal = principal_of(request)
    if principal is not None:
        return principal.name
    if authenticator(request) is not None:
        return None
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    name = unquote(raw).strip()
    return name if name and len(name) <= MAX_CHARS else None


def csrf_token(request: Request) -> str | None:
    """What the page's forms and scripts must send back with a write (signed-in browsers only)."""
    principal = principal_of(request)
    return principal.csrf_token if principal is not None else None


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


def requires_user(page: UserPage) -> Page:
    """``page`` for a known user only (it gets the name as its third argument); anyone else is sent
    to the login page, which brings them back: to the same URL after a GET, to the form's page
    after a post (an item's post goes back to its session's queue)."""

    @wraps(page)
    async def for_user(access: Access, request: Request) -> Response:
        user = current_user(request)
        if user is not None:
            return await page(access, request, user)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = request.url.path.split("/items/")[0]
        login = request.app.url_path_for("login")
        return RedirectResponse(f"{login}?next={quote(target, safe='/')}", status_code=303)

    return for_user
