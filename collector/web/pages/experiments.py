"""``/``: the explorer's front page, every experiment with its trace count, latest trace time and
labeling sessions, each linking to its trace table. With authentication on, only the experiments
the user may see (``auth.scope.visible_experiments``: a labeler, those of their sessions).

One aggregate query (``experiments.overview``), never cached, so a trace stored a moment ago is
counted on the next load. With no traces anywhere the page says how to send some.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from annotrace.collector.auth.principal import principal_of
from annotrace.collector.auth.scope import visible_experiments
from annotrace.collector.store.queries import experiments as experiment_queries
from annotrace.collector.web.page import PageRoute, render

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access
    from annotrace.collector.store.queries.experiments import Overview

NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class ExperimentsPage:
    experiments: list[Overview]
    total_traces: int


async def experiments_page(access: Access, request: Request) -> Response:
    visible = await access.read(visible_experiments, principal_of(request))
    found = await access.read(experiment_queries.overview, visible)
    page = ExperimentsPage(found, sum(e.trace_count for e in found))
    return render(request, "experiments.html", page, headers=NO_STORE)


def routes(access: Access) -> list[BaseRoute]:
    return [PageRoute("/", partial(experiments_page, access), methods=["GET"], name="experiments")]
