"""MLflow experiment routes (v2): get-by-name, create, get, search, delete, restore, update (rename),
set-experiment-tag and delete-experiment-tag. Deleting marks the experiment (and its runs)
deleted, as MLflow does; its traces stay. The rules live in ``store/queries/experiments.py``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

import orjson
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.run_json import KeyValue, tag_dict
from annotrace.collector.api.mlflow.wire import (
    epoch_ms,
    invalid,
    json_body,
    ok,
    page_offset,
    page_token,
)
from annotrace.collector.api.models import Integer, Text, TextList, parse
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.auth.principal import principal_of
from annotrace.collector.auth.scope import visible_experiments
from annotrace.collector.errors import PermissionDenied
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import experiments

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS = 50000
VIEW_TYPES = tuple(experiments.VIEW_TYPES)
_ID = Text(non_empty=True)
_OPTIONAL_TEXT = Annotated[str, Text()] | None


class NewExperimentBody(TypedDict):
    """CreateExperiment, fields in the stock server's order of checks (``artifact_location`` is
    checked as it does, then not used: artifacts live in the store)."""

    name: Annotated[str, Text(max_chars=experiments.MAX_NAME_CHARS, non_empty=True, name=True)]
    artifact_location: NotRequired[_OPTIONAL_TEXT]
    tags: NotRequired[list[KeyValue] | None]


class ExperimentSearchBody(TypedDict):
    """SearchExperiments, a POST body or a GET query string."""

    view_type: NotRequired[Annotated[str, Text(choices=VIEW_TYPES)] | None]
    max_results: NotRequired[Annotated[int, Integer(minimum=1, maximum=MAX_RESULTS)] | None]
    order_by: NotRequired[Annotated[list[str], TextList()] | None]
    filter: NotRequired[_OPTIONAL_TEXT]
    page_token: NotRequired[_OPTIONAL_TEXT]


class ExperimentQuery(TypedDict):
    experiment_id: Annotated[str, _ID]


class ExperimentNameQuery(TypedDict):
    experiment_name: Annotated[str, _ID]


class ExperimentIdBody(TypedDict):
    experiment_id: Annotated[str, _ID]


class ExperimentChangeBody(ExperimentIdBody):
    new_name: NotRequired[Annotated[str, Text(max_chars=experiments.MAX_NAME_CHARS, name=True)] | None]


class TagKeyBody(ExperimentIdBody):
    key: Annotated[str, _ID]


class TagBody(TagKeyBody):
    value: NotRequired[Annotated[str, Text()] | None]


def experiment_json(e: experiments.Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": f"mlflow-artifacts:/{e.experiment_id}",
        "lifecycle_stage": e.lifecycle_stage,
        "last_update_time": epoch_ms(e.last_update_time or e.creation_time),
        "creation_time": epoch_ms(e.creation_time),
    }
    if e.tags:
        out["tags"] = [{"key": k, "value": v} for k, v in e.tags.items()]
    return out


async def get_experiment(access: Access, request: Request) -> Response:
    experiment_id = parse_query(ExperimentQuery, request.query_params)["experiment_id"]
    return ok({"experiment": experiment_json(await access.read(experiments.get, experiment_id))})


async def get_experiment_by_name(access: Access, request: Request) -> Response:
    name = parse_query(ExperimentNameQuery, request.query_params)["experiment_name"]
    found = await access.read(experiments.get_by_name, name)
    principal = principal_of(request)
    if principal is not None and not principal.can("READ", found.experiment_id):
        raise PermissionDenied(f"User '{principal.name}' lacks READ permission on experiment {found.experiment_id}")
    return ok({"experiment": experiment_json(found)})


async def create_experiment(access: Access, request: Request) -> Response:
    """CreateExperiment: ``{"name", "tags": [{"key", "value"}]}`` -> ``{"experiment_id"}``."""
    body = parse(NewExperimentBody, await json_body(request))
    name, tags = body["name"], tag_dict(body.get("tags"))
    experiment_id = await access.write(partial(experiments.create, name=name, tags=tags, now=now_ms()))
    return ok({"experiment_id": experiment_id})


async def search_experiments(access: Access, request: Request) -> Response:
    if request.method == "POST":
        body = parse(ExperimentSearchBody, await json_body(request))
    else:
        body = parse_query(ExperimentSearchBody, request.query_params)
    max_results = body.get("max_results") or DEFAULT_MAX_RESULTS
    view_type = body.get("view_type") or "ACTIVE_ONLY"
    filter_string = body.get("filter")
    order_by = body.get("order_by") or []
    scope = orjson.dumps([filter_string or "", order_by, view_type]).decode()
    offset = page_offset(body.get("page_token"), scope)
    visible = await access.read(visible_experiments, principal_of(request))
    found = await access.read(experiments.search, filter_string, order_by, max_results + 1, offset, view_type, visible)
    out: dict[str, Any] = {"experiments": [experiment_json(e) for e in found[:max_results]]}
    if len(found) > max_results:
        out["next_page_token"] = page_token(offset + max_results, scope)
    return ok(out)


async def delete_experiment(access: Access, request: Request) -> Response:
    experiment_id = parse(ExperimentIdBody, await json_body(request))["experiment_id"]
    await access.write(partial(experiments.set_lifecycle, experiment_id=experiment_id, deleted=True, now=now_ms()))
    return ok({})


async def restore_experiment(access: Access, request: Request) -> Response:
    experiment_id = parse(ExperimentIdBody, await json_body(request))["experiment_id"]
    await access.write(partial(experiments.set_lifecycle, experiment_id=experiment_id, deleted=False, now=now_ms()))
    return ok({})


async def update_experiment(access: Access, request: Request) -> Response:
    """UpdateExperiment: ``{"experiment_id", "new_name"}`` renames (the only update MLflow has)."""
    body = parse(ExperimentChangeBody, await json_body(request))
    experiment_id, new_name = body["experiment_id"], body.get("new_name")
    if new_name is not None:
        if not new_name.strip():
            raise invalid("new_name", "a non-empty name", new_name)
        await access.write(partial(experiments.rename, experiment_id=experiment_id, new_name=new_name, now=now_ms()))
    return ok({})


async def set_experiment_tag(access: Access, request: Request) -> Response:
    body = parse(TagBody, await json_body(request))
    experiment_id, key, value = body["experiment_id"], body["key"], body.get("value")
    await access.write(
        partial(experiments.set_tag, experiment_id=experiment_id, key=key, value=value or "", now=now_ms())
    )
    return ok({})


async def delete_experiment_tag(access: Access, request: Request) -> Response:
    body = parse(TagKeyBody, await json_body(request))
    experiment_id, key = body["experiment_id"], body["key"]
    await access.write(partial(experiments.set_tag, experiment_id=experiment_id, key=key, value=None, now=now_ms()))
    return ok({})
