"""The one authentication layer of the HTTP ports, and the per-route authorisation guard.

``AuthMiddleware`` runs before anything else reads a request (after the cross-origin check of
``api.csrf``): it turns the ``Authorization`` header or the Review App's sign-in cookie into a
``Principal`` (401 when missing or bad), stores it in the request's state, and for a signed-in
browser checks the CSRF token of every write. ``protect`` then wraps each route of the route
table with its rule from ``auth.rules`` (403 when the role falls short), so the rule is checked
after routing, on the route that will run, whatever the URL spelling.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterable
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from annotrace.collector.auth import scope as experiment_scope
from annotrace.collector.auth.authenticator import SESSION_COOKIE, Authenticator
from annotrace.collector.auth.principal import STATE_KEY, Principal, principal_of
from annotrace.collector.auth.rules import FILTERED, INGEST, LEVEL_ROLES, Level, rule_for, rule_key
from annotrace.collector.auth.scope import Read
from annotrace.collector.errors import CollectorError, PermissionDenied, Unauthenticated, envelope
from annotrace.collector.store.queries.audit import ACTOR

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 1024 * 1024
AUTHENTICATOR_KEY = "annotrace.authenticator"
ErrorRenderer = Callable[[CollectorError, "Scope"], Response]
_MULTIPART_FIELD = re.compile(rb'name="csrf_token"\r\n(?:[^\r\n]*\r\n)*\r\n([^\r\n]*)\r\n')


def render_error(error: CollectorError, scope: Scope) -> Response:
    """MLflow's envelope for the API; a page asked for without a credential goes to the login page."""
    path: str = scope["path"]
    is_page = not path.startswith(("/api/", "/ajax-api/", "/v1/", "/version")) and not path.endswith(".json")
    if isinstance(error, Unauthenticated) and is_page and scope["method"] == "GET":
        target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    headers = (
        {"WWW-Authenticate": 'Bearer realm="annotrace", Basic realm="annotrace"'}
        if isinstance(error, Unauthenticated) and not is_page
        else None
    )
    return JSONResponse(envelope(error), status_code=error.http_status, headers=headers)


def session_cookie(headers: Headers) -> str | None:
    raw = headers.get("cookie")
    if not raw or SESSION_COOKIE not in raw:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:  # noqa: BLE001 - a malformed Cookie header is no sign-in
        return None
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else None


class AuthMiddleware:
    """Authenticates every request but ``public`` ones; ``ingest_only`` (the OTLP/HTTP port) also
    requires the ingest level on every path."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        *,
        ingest_only: bool = False,
        renderer: ErrorRenderer = render_error,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.ingest_only = ingest_only
        self.renderer = renderer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        public = not self.ingest_only and (path.startswith("/static/") or rule_for(method, path) == "public")
        headers = Headers(scope=scope)
        state = scope.setdefault("state", {})
        state[AUTHENTICATOR_KEY] = self.authenticator
        try:
            principal = self.authenticator.authenticate(headers.get("authorization"), session_cookie(headers))
            if principal is None and not public:
                raise Unauthenticated(
                    "Authentication required: send Authorization: Bearer <token> or Basic "
                    "credentials, or sign in at /login"
                )
            if principal is not None and self.ingest_only and principal.role not in LEVEL_ROLES[INGEST]:
                raise PermissionDenied(
                    f"User '{principal.name}' ({principal.role}) may not export telemetry: editors and admins may"
                )
        except Unauthenticated as exc:
            if not public:
                await self.renderer(exc, scope)(scope, receive, send)
                return
            principal = None  # a stale cookie does not stop anyone from reaching the login page
        except PermissionDenied as exc:
            await self.renderer(exc, scope)(scope, receive, send)
            return
        if principal is not None:
            state[STATE_KEY] = principal
            ACTOR.set(principal.name)  # this request's task only: its writes are audited as this user
            if principal.via == "session" and method in WRITE_METHODS:
                ok, receive = await _csrf_checked(scope, receive, headers, principal)
                if not ok:
                    error = PermissionDenied("Missing or wrong CSRF token: reload the page and try again")
                    await self.renderer(error, scope)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _csrf_checked(scope: Scope, receive: Receive, headers: Headers, principal: Principal) -> tuple[bool, Receive]:
    """Whether the write carries the sign-in's CSRF token (header, or form field), and a
    ``receive`` that replays the body read to find the field."""
    expected = principal.csrf_token or ""
    sent = headers.get(CSRF_HEADER)
    if sent is not None:
        return hmac.compare_digest(sent, expected), receive
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return False, receive
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return False, receive
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
        if size > MAX_FORM_BYTES:
            return False, receive
    body = b"".join(chunks)
    if media_type == "multipart/form-data":
        match = _MULTIPART_FIELD.search(body)
        value = match.group(1).decode("utf-8", "replace") if match else ""
    else:
        value = parse_qs(body.decode("latin-1")).get(CSRF_FIELD, [""])[0]
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return hmac.compare_digest(value, expected), replay


class Guard:
    """Lets a request through to one route when the caller's role meets the route's rule, and a
    user restricted to some experiments holds the permission on those it touches (``auth.scope``)."""

    def __init__(self, app: ASGIApp, path: str, renderer: ErrorRenderer, read: Read | None) -> None:
        self.app = app
        self.path = path
        self.renderer = renderer
        self.read = read

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        level = rule_for(scope["method"], self.path)
        principal = principal_of(scope)
        error = refusal(principal, level, scope["method"], self.path)
        if error is None and principal is not None and level is not None and self.read is not None:
            filtered = rule_key(scope["method"], self.path) in FILTERED
            error, receive = await experiment_scope.check(
                principal, level, scope, receive, self.read, filtered=filtered
            )
        if error is not None:
            await self.renderer(error, scope)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def refusal(principal: Principal | None, level: Level | None, method: str, path: str) -> CollectorError | None:
    if level == "public":
        return None
    if principal is None:
        return Unauthenticated("Authentication required")
    if level is None:
        if principal.is_admin:
            return None
        method, key = rule_key(method, path)
        return PermissionDenied(f"{method} {key} has no access rule yet: only admins may call it")
    if principal.role not in LEVEL_ROLES[level]:
        allowed = ", ".join(sorted(LEVEL_ROLES[level]))
        return PermissionDenied(
            f"User '{principal.name}' ({principal.role}) may not {method} {path}: this needs the role {allowed}"
        )
    return None


def protect(
    routes: Iterable[BaseRoute], renderer: ErrorRenderer = render_error, read: Read | None = None
) -> list[BaseRoute]:
    """The routes, each ``Route`` guarded by its rule (mounts, i.e. static files, are public);
    ``read`` (``Access.read``) looks up the experiments a restricted user's request touches."""
    out = list(routes)
    for route in out:
        if isinstance(route, Route):
            route.app = Guard(route.app, route.path, renderer, read)
    return out
