"""The scorer registry (``/api/3.0/mlflow/scorers/register|list|versions|get|delete``) in MLflow's
shapes, which is what ``Scorer.register()``, ``list_scorers``, ``get_scorer`` and ``delete_scorer``
call. As a stock MLflow server does by default, a scorer that carries code (``call_source``, from
``@scorer``) is refused: whoever loads it back would run that code. Built-in scorers and
``make_judge`` judges are data and register normally.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

import orjson
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import epoch_ms, json_body, ok
from annotrace.collector.api.models import Integer, Text, TextList, parse
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import scorers

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

MAX_NAME_CHARS = 256
MAX_SERIALIZED_BYTES = 1024 * 1024
CUSTOM_SCORER_REFUSED = (  # MLflow's DECORATOR_SCORER_REGISTRATION_NOT_SUPPORTED_ERROR
    "Custom scorer registration (using @scorer decorator) is disabled by default outside of Databricks tracking "
    "environments due to security concerns. Custom scorers require arbitrary code execution during "
    "deserialization.\n\nTo use custom scorers:\n1. Configure MLflow to use a Databricks tracking URI, or\n"
    "2. Manage your custom scorer code in a source code repository (e.g., GitHub) and import it directly, or\n"
    "3. On a self-managed MLflow server (or local environment) that you trust to run the scorer's code, set the "
    "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS environment variable to true, or\n"
    "4. Use built-in scorers or make_judge() scorers instead."
)
_REQUIRED = Annotated[str, Text(empty_is_missing=True)]


class ScorerBody(TypedDict):
    """RegisterScorer; the name's blank and length checks come after, worded as MLflow does."""

    experiment_id: _REQUIRED
    name: Annotated[str, Text(name=True, empty_is_missing=True)]
    serialized_scorer: _REQUIRED


class ScorerListQuery(TypedDict):
    experiment_id: NotRequired[Annotated[str, Text()] | None]


class ScorerNameQuery(TypedDict):
    """ListScorerVersions; GetScorer and DeleteScorer add a version (the latest when unset)."""

    experiment_id: _REQUIRED
    name: _REQUIRED


class ScorerVersionQuery(ScorerNameQuery):
    version: NotRequired[Annotated[int, Integer()] | None]


class OnlineConfigsQuery(TypedDict):
    scorer_ids: Annotated[list[str], TextList()]


def scorer_json(v: scorers.ScorerVersion) -> dict[str, Any]:
    """MLflow's ``Scorer`` proto as JSON (its ``experiment_id`` is an int32 there)."""
    experiment: int | str = int(v.experiment_id) if v.experiment_id.isdigit() else v.experiment_id
    return {
        "experiment_id": experiment,
        "scorer_name": v.name,
        "scorer_version": v.version,
        "serialized_scorer": v.serialized_scorer,
        "creation_time": epoch_ms(v.create_time),
        "scorer_id": v.scorer_id,
    }


def _has_code(value: Any) -> bool:
    """MLflow's ``_obj_has_call_source``: a ``call_source`` anywhere, ensembles included."""
    if isinstance(value, dict):
        return value.get("call_source") is not None or any(_has_code(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_code(v) for v in value)
    return False


async def register_scorer(access: Access, request: Request) -> Response:
    body = parse(ScorerBody, await json_body(request))
    experiment_id, name, serialized = body["experiment_id"], body["name"], body["serialized_scorer"]
    if not name.strip():
        raise InvalidParameter("Scorer name cannot be empty or contain only whitespace.")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidParameter(f"Invalid value for parameter 'name': longer than {MAX_NAME_CHARS} characters.")
    if len(serialized) > MAX_SERIALIZED_BYTES:
        raise InvalidParameter(
            f"Invalid value for parameter 'serialized_scorer': more than {MAX_SERIALIZED_BYTES} bytes."
        )
    try:
        data = orjson.loads(serialized)
    except orjson.JSONDecodeError:
        raise InvalidParameter("serialized_scorer must be valid JSON") from None
    if _has_code(data):
        raise InvalidParameter(CUSTOM_SCORER_REFUSED)
    stored = await access.write(
        partial(scorers.register, experiment_id=experiment_id, name=name, serialized_scorer=serialized, now=now_ms())
    )
    return ok(
        {
            "version": stored.version,
            "scorer_id": stored.scorer_id,
            "experiment_id": stored.experiment_id,
            "name": stored.name,
            "serialized_scorer": stored.serialized_scorer,
            "creation_time": epoch_ms(stored.create_time),
        }
    )


async def list_scorers(access: Access, request: Request) -> Response:
    params = parse_query(ScorerListQuery, request.query_params)
    found = await access.read(scorers.latest, params.get("experiment_id") or None)
    return ok({"scorers": [scorer_json(v) for v in found]})


async def list_scorer_versions(access: Access, request: Request) -> Response:
    params = parse_query(ScorerNameQuery, request.query_params)
    found = await access.read(scorers.versions, params["experiment_id"], params["name"])
    return ok({"scorers": [scorer_json(v) for v in found]})


async def get_scorer(access: Access, request: Request) -> Response:
    params = parse_query(ScorerVersionQuery, request.query_params)
    found = await access.read(scorers.get, params["experiment_id"], params["name"], params.get("version"))
    return ok({"scorer": scorer_json(found)})


async def delete_scorer(access: Access, request: Request) -> Response:
    """The client sends a JSON body; query parameters are read when there is none."""
    data = await json_body(request, content_type_required=False)
    params = parse(ScorerVersionQuery, data) if data else parse_query(ScorerVersionQuery, request.query_params)
    await access.write(
        partial(
            scorers.delete,
            experiment_id=params["experiment_id"],
            name=params["name"],
            version=params.get("version"),
        )
    )
    return ok({})


async def online_scoring_configs(access: Access, request: Request) -> Response:
    """``list_scorers`` asks for the scorers' online-scoring configurations. annotrace does not run
    scorers on incoming traces, so there are none (MLflow answers ``[]`` for scorers without one)."""
    parse_query(OnlineConfigsQuery, request.query_params)
    return ok({"configs": []})
