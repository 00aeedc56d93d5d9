"""``/agreement/{session_id}``: can the labels of a labeling session or review queue be trusted?

Alpha per label schema with its interval (a plot), the labelers' confusion matrix for each
nominal schema, the labelers table (items, time per item, agreement with the others, leniency),
the items with the most disagreement (each linked to its trace), and, for every schema name that
also has LLM_JUDGE or CODE scores on these traces, the judges against the humans. The data is the
REST API's (``agreement.report_json``, ``agreement_judges.judges_json``), so the page, its
``.json`` twin, ``/api/v1/agreement/...`` and ``annotrace.genai.agreement`` always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from annotrace.collector.errors import NotFound
from annotrace.collector.store.queries import agreement as agreement_queries
from annotrace.collector.store.queries import agreement_judges as agreement_judges_queries
from annotrace.collector.web.page import ENV, PageRoute, render
from annotrace.collector.web.pages import agreement_plots

if TYPE_CHECKING:
    import duckdb
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

ENV.globals.update(interval_chart=agreement_plots.interval_chart, confusion_chart=agreement_plots.confusion_chart)


@dataclass(frozen=True, slots=True)
class AgreementPage:
    session_id: str
    name: str
    experiment_id: str
    queue_type: str | None
    schemas: list[dict[str, Any]]
    labelers: list[dict[str, Any]]
    disagreements: list[dict[str, Any]]
    judges: list[dict[str, Any]]  # every judge of every schema name, each with its "name"


@dataclass(frozen=True, slots=True)
class MissingPage:
    session_id: str
    message: str


def _read(cursor: duckdb.DuckDBPyConnection, session_id: str) -> AgreementPage:
    report = agreement_queries.report_json(agreement_queries.report(cursor, session_id))
    judges: list[dict[str, Any]] = []
    for schema in report["schemas"]:
        found = agreement_judges_queries.judges(cursor, schema["schema"], session_id=session_id)
        judges += agreement_judges_queries.judges_json(found)["judges"]
    return AgreementPage(
        report["session_id"],
        report["name"],
        report["experiment_id"],
        report["queue_type"],
        report["schemas"],
        report["labelers"],
        report["disagreements"],
        judges,
    )


async def agreement_page(access: Access, request: Request) -> Response:
    session_id = str(request.path_params["session_id"]).removesuffix(".json")
    try:
        page = await access.read(_read, session_id)
    except NotFound as exc:
        return render(request, "agreement_missing.html", MissingPage(session_id, exc.message), status_code=404)
    return render(request, "agreement.html", page, headers={"Cache-Control": "no-store"})


def routes(access: Access) -> list[BaseRoute]:
    return [PageRoute("/agreement/{session_id}", partial(agreement_page, access), methods=["GET"], name="agreement")]
