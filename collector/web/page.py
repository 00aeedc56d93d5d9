"""Rendering a page: one context dataclass per page, shown as HTML or, for a URL ending in
``.json``, as the same data in JSON (so scripts and tests read what the page shows).

Pages read and write through ``store.access.Access`` (reads on their own cursor, writes as one
writer job), the same object the REST handlers use, so a page never holds a second code path to
the store.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, JSONResponse, Response

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
        request=request, user=current_user(request), csrf_token=csrf_token(request), **data
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)
