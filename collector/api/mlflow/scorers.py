"""The scorer registry (``/api/3.0/mlflow/scorers/register|list|versions|get|delete``) in MLflow's
shapes, which is what ``Scorer.register()``, ``list_scorers``, ``get_scorer`` and ``delete_scorer``
call. As a stock MLflow server does by default, a scorer that carries code (``call_source``, from
``@scorer``) is refused: whoever loads it back would run that code. Built-in scorers and
``make_judge`` judges are data and register normally.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from annotrace.collector.api.mlflow.wire import (
    Fields,
    epoch_ms,
    json_body,
    missing,
    ok,
    query,
)
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import scorers as store

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


def scorer_json(v: store.ScorerVersion) -> dict[str, Any]:
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


def _required(params: Fields, name: str) -> str:
    value = params.get_str(name)
    if not value:
        raise missing(name)
    return value


def _version(params: Fields) -> int | None:
    return params.get_int("version")


def _has_code(value: Any) -> bool:
    """MLflow's ``_obj_has_call_source``: a ``call_source`` anywhere, ensembles included."""
    if isinstance(value, dict):
        return value.get("call_source") is not None or any(_has_code(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_code(v) for v in value)
    return False


async def register_scorer(access: Access, request: Request) -> Response:
    body = await json_body(request)
    experiment_id = _required(body, "experiment_id")
    name = body.get_name("name")
    if name is None:
        raise missing("name")
    serialized = _required(body, "serialized_scorer")
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
        partial(store.register, experiment_id=experiment_id, name=name, serialized_scorer=serialized, now=now_ms())
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
    params = query(request)
    found = await access.read(store.latest, params.get_str("experiment_id") or None)
    return ok({"scorers": [scorer_json(v) for v in found]})


async def list_scorer_versions(access: Access, request: Request) -> Response:
    params = query(request)
    found = await access.read(store.versions, _required(params, "experiment_id"), _required(params, "name"))
    return ok({"scorers": [scorer_json(v) for v in found]})


async def get_scorer(access: Access, request: Request) -> Response:
    params = query(request)
    found = await access.read(
        store.get, _required(params, "experiment_id"), _required(params, "name"), _version(params)
    )
    return ok({"scorer": scorer_json(found)})


async def delete_scorer(access: Access, request: Request) -> Response:
    """The client sends a JSON body; query parameters are read when there is none."""
    params = await json_body(request, content_type_required=False)
    if not params.data:
        params = query(request)
    await access.write(
        partial(
            store.delete,
            experiment_id=_required(params, "experiment_id"),
            name=_required(params, "name"),
            version=_version(params),
        )
    )
    return ok({})


async def online_scoring_configs(access: Access, request: Request) -> Response:
    """``list_scorers`` asks for the scorers' online-scoring configurations. annotrace does not run
    scorers on incoming traces, so there are none (MLflow answers ``[]`` for scorers without one)."""
    if query(request).get_str_list("scorer_ids") is None:
        raise missing("scorer_ids")
    return ok({"configs": []})
