"""Rendering a page: one context dataclass per page, shown as HTML or, for a URL ending in
``.json``, as the same data in JSON (so scripts and tests read what the page shows).

Pages are ``PageRoute``s with names (``web/routes.py`` lists them); links, forms and redirects ask
``url_path(request, name, ...)`` for a path instead of writing it. A ``NotFound`` or
``PermissionDenied`` a page raises is shown as the one HTML error page (``error_page``, the app's
handler for page routes), so a page handler is written for the case that works.

Pages read and write through ``store.access.Access`` (reads on their own cursor, writes as one
writer job), the same object the REST handlers use, so a page never holds a second code path to
the store.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from annotrace.collector.errors import CollectorError, NotFound, PermissionDenied
from annotrace.collector.web.identity import csrf_token, current_user

if TYPE_CHECKING:
    from starlette.requests import Request


HERE = Path(__file__).parent
ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _duration(ms: float | int | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


def _time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _pretty(value: Any) -> str:
    """JSON text (or any value) indented for a ``<pre>``; plain strings stay as they are."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
        if isinstance(value, str):
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


ENV.filters.update(duration=_duration, time=_time, pretty=_pretty)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def render(
    request: Request, template: str, context: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``context`` (a dataclass) as ``template``, or as JSON when the path ends in ``.json``."""
    data = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    if request.url.path.endswith(".json"):
        body = json.loads(json.dumps(dataclasses.asdict(context), default=_jsonable))
        return JSONResponse(body, status_code=status_code, headers=headers)
    html = ENV.get_template(template).render(
        request=request,
        user=current_user(request),
        csrf_token=csrf_token(request),
        url=partial(url_path, request),
        **data,
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


def url_path(request: Request, name: str, /, **params: str) -> str:
    """The path of the route called ``name``, each parameter percent-encoded (an id is one path
    segment whatever it holds); templates call it as ``url(name, ...)``."""
    return str(request.app.url_path_for(name, **{key: quote(str(value), safe="") for key, value in params.items()}))


class PageRoute(Route):
    """A page (HTML, or its ``.json`` twin): what ``is_page`` recognises, so the app shows the
    page's errors as ``error_page`` and the API's as MLflow's JSON envelope."""


def is_page(request: Request) -> bool:
    return isinstance(request.scope.get("route"), PageRoute)


@dataclass(frozen=True, slots=True)
class ErrorPage:
    status: int
    title: str
    message: str


def error_page(request: Request, exc: CollectorError) -> Response:
    """The one HTML error page: 404 for something that does not exist, 403 for a session the user
    is not assigned to (with what to do about it), else 400."""
    status = exc.http_status if isinstance(exc, (NotFound, PermissionDenied)) else 400
    title = {404: "Not found", 403: "Not assigned to you"}.get(status, "Cannot do that")
    message = exc.message
    if isinstance(exc, PermissionDenied):
        message += " Ask whoever shared this link to add you, or sign in under the name they assigned."
    return render(request, "error.html", ErrorPage(status, title, message), status_code=status)
