"""The page route table: each page module contributes its routes, read top to bottom.

Page URLs (HTML; append ``.json`` for the same data as JSON):
``/`` -> experiments, ``/experiments/{id}/traces`` the trace table, ``/traces/{trace_id}`` one
trace, ``/review`` a labeler's sessions, ``/review/{session_id}`` the Review App queue
(``.../routing``: its routing rules),
``/agreement/{session_id}`` how far its labelers agree (``.../adjudicate``: gold labels),
``/login`` who is labeling (``/`` has its twin at ``/index.json``). Static files live under ``/static``;
``/favicon.ico`` answers with the same icon as ``/static/favicon.svg``, for what asks for it by that
name without reading a page (a browser opening ``/api/v1/health``), so no page logs a 404.

Every page route has a name (``url_path(request, name, ...)`` builds its path: ``experiments``,
``traces``, ``export_traces``, ``trace``, ``span``, ``review_sessions``, ``review_queue``,
``review_item``, ``review_skip``, ``routing_rules``, ``add_routing_rule``, ``remove_routing_rule``, ``agreement``, ``adjudication``, ``save_gold``, ``login``,
``login_submit``, ``logout``; a JSON twin adds ``.json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from annotrace.collector.web.page import HERE, PageRoute
from annotrace.collector.web.pages import (
    adjudication,
    agreement,
    experiments,
    login,
    review,
    routing_rules,
    trace,
    traces,
)

if TYPE_CHECKING:
    from annotrace.collector.store.access import Access


def web_routes(access: Access) -> list[BaseRoute]:
    pages = [
        *login.routes(access),
        *experiments.routes(access),
        *traces.routes(access),
        *trace.routes(access),
        *review.routes(access),
        *routing_rules.routes(access),
        *adjudication.routes(access),
        *agreement.routes(access),
    ]
    # twins first: "/traces/{trace_id}" would otherwise read "tr-….json" as a trace id
    return [
        *_json_twins(pages),
        *pages,
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


async def favicon(request: Request) -> FileResponse:
    return FileResponse(
        HERE / "static" / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


def _json_twins(pages: list[BaseRoute]) -> list[BaseRoute]:
    """``GET <page>.json`` for every GET page: the same handler, which ``page.render`` answers in JSON
    (named ``<page's name>.json``)."""
    return [
        PageRoute(
            "/index.json" if route.path == "/" else route.path + ".json",
            route.endpoint,
            methods=["GET"],
            name=route.name + ".json",
        )
        for route in pages
        if isinstance(route, Route) and route.methods and "GET" in route.methods
    ]
