"""MLflow label schema routes (reference 10.2, ``/api/3.0/mlflow/label-schemas/...``): create, get,
get-by-name, list, update, delete, in MLflow's ``LabelSchema`` JSON. List seeds the experiment's
default question first (a writer job, only while it is missing), as MLflow 3.14 does.

Beyond MLflow's OSS message, create accepts the Databricks ReviewApp fields ``title`` and
``overwrite``, and ``input.text_list`` (Databricks' ``InputTextList``); ``InputCategoricalList``
is MLflow's ``categorical`` with ``multi_select: true``. The rules themselves live in
``store/queries/label_schemas.py`` and ``label_schema_update.py``; this module only maps JSON.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from annotrace.collector.api.mlflow.wire import (
    Fields,
    epoch_ms,
    invalid,
    json_body,
    ok,
    page_offset,
    page_token,
    query,
)
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import label_schema_update
from annotrace.collector.store.queries import label_schemas as store

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS = 1000
INPUT_KEYS = ("pass_fail", "categorical", "numeric", "text", "text_list")


def schema_json(s: store.LabelSchema) -> dict[str, Any]:
    spec = s.input
    if s.input_type in ("categorical", "categorical_list"):
        body: dict[str, Any] = {
            "categorical": {"options": spec["options"], "multi_select": s.input_type == "categorical_list"}
        }
    elif s.input_type == "text":
        body = {"text": {k: v for k, v in spec.items() if v is not None}}
    else:
        body = {s.input_type: {k: v for k, v in spec.items() if v is not None}}
    out: dict[str, Any] = {
        "schema_id": s.schema_id,
        "experiment_id": s.experiment_id,
        "name": s.name,
        "type": s.type.upper(),
        "enable_comment": s.enable_comment,
        "input": body,
        "created_at": epoch_ms(s.created_at),
        "last_updated_at": epoch_ms(s.updated_at),
        "is_default": s.is_default,
    }
    for key, value in (("title", s.title), ("instruction", s.instruction), ("created_by", s.created_by)):
        if value is not None:
            out[key] = value
    return out


def _input(body: Fields) -> tuple[str, dict[str, Any]]:
    """``input: {<one variant>: {...}}`` -> (input_type, settings)."""
    spec = body.get_obj("input", required=True)
    assert spec is not None
    given = [key for key in INPUT_KEYS if spec.has(key)]
    if len(given) != 1:
        raise InvalidParameter(
            f"Invalid value for parameter 'input': exactly one of {', '.join(INPUT_KEYS)} must be set, got "
            f"{given or 'none'}."
        )
    kind = given[0]
    fields = spec.get_obj(kind)
    assert fields is not None
    if kind == "categorical":
        multi = fields.raw("multi_select")
        if multi is not None and not isinstance(multi, bool):
            raise invalid(fields.path("multi_select"), "a boolean", multi)
        return ("categorical_list" if multi else "categorical"), {"options": fields.raw("options")}
    if kind == "pass_fail":
        return kind, {
            "positive_label": fields.raw("positive_label") or "Pass",
            "negative_label": fields.raw("negative_label") or "Fail",
        }
    if kind == "numeric":
        return kind, {"min_value": fields.raw("min_value"), "max_value": fields.raw("max_value")}
    if kind == "text":
        return kind, {"max_length": fields.get_int("max_length")}
    return kind, {"max_length_each": fields.get_int("max_length_each"), "max_count": fields.get_int("max_count")}


def _bool(body: Fields, name: str) -> bool:
    return bool(_maybe_bool(body, name))


def _maybe_bool(body: Fields, name: str) -> bool | None:
    value = body.raw(name)
    if value is not None and not isinstance(value, bool):
        raise invalid(body.path(name), "a boolean", value)
    return value


async def create_label_schema(access: Access, request: Request) -> Response:
    body = await json_body(request)
    experiment_id = body.get_str("experiment_id", required=True)
    name = body.get_name("name", required=True)
    kind = body.get_str("type", required=True)
    assert experiment_id is not None and name is not None and kind is not None
    input_type, spec = _input(body)
    new = store.NewLabelSchema(
        experiment_id=experiment_id,
        name=name,
        type=kind.lower(),
        input_type=input_type,
        input=spec,
        title=body.get_str("title"),
        instruction=body.get_str("instruction"),
        enable_comment=_bool(body, "enable_comment"),
        created_by=body.get_str("created_by"),
    )
    stored = await access.write(partial(store.create, new=new, overwrite=_bool(body, "overwrite"), now=now_ms()))
    return ok({"label_schema": schema_json(stored)})


async def get_label_schema(access: Access, request: Request) -> Response:
    schema_id = query(request).get_str("schema_id", required=True)
    return ok({"label_schema": schema_json(await access.read(store.get, schema_id))})


async def get_label_schema_by_name(access: Access, request: Request) -> Response:
    params = query(request)
    experiment_id = params.get_str("experiment_id", required=True)
    name = params.get_str("name", required=True)
    return ok({"label_schema": schema_json(await access.read(store.get_by_name, experiment_id, name))})


async def list_label_schemas(access: Access, request: Request) -> Response:
    params = query(request)
    experiment_id = params.get_str("experiment_id", required=True)
    assert experiment_id is not None
    limit = params.get_int("max_results", minimum=1, maximum=MAX_RESULTS) or DEFAULT_MAX_RESULTS
    offset = page_offset(params.get_str("page_token"), experiment_id)
    if await access.read(store.needs_default, experiment_id):  # the writer job checks again: no second default
        await access.write(partial(store.seed_default, experiment_id=experiment_id, now=now_ms()))
    found = await access.read(store.list_schemas, experiment_id, limit + 1, offset)
    out: dict[str, Any] = {"label_schemas": [schema_json(s) for s in found[:limit]]}
    if len(found) > limit:
        out["next_page_token"] = page_token(offset + limit, experiment_id)
    return ok(out)


async def update_label_schema(access: Access, request: Request) -> Response:
    """MLflow 3.14's update: a field that is absent (or null) is left as it is; ``""`` is a value."""
    body = await json_body(request)
    schema_id = body.get_str("schema_id", required=True)
    assert schema_id is not None
    input_type, spec = _input(body) if body.has("input") else (None, None)
    kind = body.get_str("type")
    patch = label_schema_update.SchemaPatch(
        name=body.get_name("name"),
        instruction=body.get_str("instruction"),
        enable_comment=_maybe_bool(body, "enable_comment"),
        title=body.get_str("title"),
        type=kind.lower() if kind is not None else None,
        input_type=input_type,
        input=spec,
    )
    stored = await access.write(partial(label_schema_update.update, schema_id=schema_id, patch=patch, now=now_ms()))
    return ok({"label_schema": schema_json(stored)})


async def delete_label_schema(access: Access, request: Request) -> Response:
    """Idempotent (MLflow's OSS store): deleting a schema that is gone answers ``{}``; the default
    question answers 400."""
    body = await json_body(request, content_type_required=False)
    schema_id = body.get_str("schema_id") or query(request).get_str("schema_id", required=True)
    assert schema_id is not None
    await access.write(partial(store.delete, schema_id=schema_id))
    return ok({})
