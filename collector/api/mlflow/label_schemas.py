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
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import epoch_ms, json_body, ok, page_offset, page_token
from annotrace.collector.api.models import Boolean, Integer, Text, parse
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import label_schema_update, label_schemas

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS = 1000
INPUT_KEYS = ("pass_fail", "categorical", "numeric", "text", "text_list")
_REQUIRED = Text(non_empty=True)


class _Categorical(TypedDict):
    """``options`` and the numeric bounds below are checked, and their errors worded, by the store."""

    options: NotRequired[Any]
    multi_select: NotRequired[Annotated[bool, Boolean()] | None]


class _PassFail(TypedDict):
    positive_label: NotRequired[Any]
    negative_label: NotRequired[Any]


class _Numeric(TypedDict):
    min_value: NotRequired[Any]
    max_value: NotRequired[Any]


class _Text(TypedDict):
    max_length: NotRequired[Annotated[int, Integer()] | None]


class _TextList(TypedDict):
    max_length_each: NotRequired[Annotated[int, Integer()] | None]
    max_count: NotRequired[Annotated[int, Integer()] | None]


class InputBody(TypedDict):
    """``input``: exactly one variant set (checked after parsing, as MLflow's ``oneof``)."""

    pass_fail: NotRequired[_PassFail | None]
    categorical: NotRequired[_Categorical | None]
    numeric: NotRequired[_Numeric | None]
    text: NotRequired[_Text | None]
    text_list: NotRequired[_TextList | None]


class NewSchemaBody(TypedDict):
    """``POST .../create`` (keys in the order they are checked); ``title`` and ``overwrite`` are
    Databricks' ReviewApp fields."""

    experiment_id: Annotated[str, _REQUIRED]
    name: Annotated[str, Text(non_empty=True, name=True)]
    type: Annotated[str, _REQUIRED]
    input: InputBody
    title: NotRequired[Annotated[str, Text()] | None]
    instruction: NotRequired[Annotated[str, Text()] | None]
    enable_comment: NotRequired[Annotated[bool, Boolean()] | None]
    created_by: NotRequired[Annotated[str, Text()] | None]
    overwrite: NotRequired[Annotated[bool, Boolean()] | None]


class SchemaChangeBody(TypedDict):
    """``POST .../update``: a field that is absent (or null) is left as it is."""

    schema_id: Annotated[str, _REQUIRED]
    input: NotRequired[InputBody | None]
    type: NotRequired[Annotated[str, Text()] | None]
    name: NotRequired[Annotated[str, Text(name=True)] | None]
    instruction: NotRequired[Annotated[str, Text()] | None]
    enable_comment: NotRequired[Annotated[bool, Boolean()] | None]
    title: NotRequired[Annotated[str, Text()] | None]


class SchemaIdParams(TypedDict):
    schema_id: Annotated[str, _REQUIRED]


class SchemaIdBody(TypedDict):
    schema_id: NotRequired[Annotated[str, Text()] | None]


class SchemaNameParams(TypedDict):
    experiment_id: Annotated[str, _REQUIRED]
    name: Annotated[str, _REQUIRED]


class SchemaListParams(TypedDict):
    experiment_id: Annotated[str, _REQUIRED]
    max_results: NotRequired[Annotated[int, Integer(minimum=1, maximum=MAX_RESULTS)] | None]
    page_token: NotRequired[Annotated[str, Text()] | None]


def schema_json(s: label_schemas.LabelSchema) -> dict[str, Any]:
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


def _input(spec: InputBody) -> tuple[str, dict[str, Any]]:
    """``input: {<one variant>: {...}}`` -> (input_type, settings)."""
    given = [key for key in INPUT_KEYS if spec.get(key) is not None]
    if len(given) != 1:
        raise InvalidParameter(
            f"Invalid value for parameter 'input': exactly one of {', '.join(INPUT_KEYS)} must be set, got "
            f"{given or 'none'}."
        )
    kind = given[0]
    fields: dict[str, Any] = spec[kind]  # type: ignore[literal-required]
    if kind == "categorical":
        return ("categorical_list" if fields.get("multi_select") else "categorical"), {"options": fields.get("options")}
    if kind == "pass_fail":
        return kind, {
            "positive_label": fields.get("positive_label") or "Pass",
            "negative_label": fields.get("negative_label") or "Fail",
        }
    if kind == "numeric":
        return kind, {"min_value": fields.get("min_value"), "max_value": fields.get("max_value")}
    if kind == "text":
        return kind, {"max_length": fields.get("max_length")}
    return kind, {"max_length_each": fields.get("max_length_each"), "max_count": fields.get("max_count")}


async def create_label_schema(access: Access, request: Request) -> Response:
    body = parse(NewSchemaBody, await json_body(request))
    input_type, spec = _input(body["input"])
    new = label_schemas.NewLabelSchema(
        experiment_id=body["experiment_id"],
        name=body["name"],
        type=body["type"].lower(),
        input_type=input_type,
        input=spec,
        title=body.get("title"),
        instruction=body.get("instruction"),
        enable_comment=bool(body.get("enable_comment")),
        created_by=body.get("created_by"),
    )
    stored = await access.write(
        partial(label_schemas.create, new=new, overwrite=bool(body.get("overwrite")), now=now_ms())
    )
    return ok({"label_schema": schema_json(stored)})


async def get_label_schema(access: Access, request: Request) -> Response:
    schema_id = parse_query(SchemaIdParams, request.query_params)["schema_id"]
    return ok({"label_schema": schema_json(await access.read(label_schemas.get, schema_id))})


async def get_label_schema_by_name(access: Access, request: Request) -> Response:
    params = parse_query(SchemaNameParams, request.query_params)
    found = await access.read(label_schemas.get_by_name, params["experiment_id"], params["name"])
    return ok({"label_schema": schema_json(found)})


async def list_label_schemas(access: Access, request: Request) -> Response:
    params = parse_query(SchemaListParams, request.query_params)
    experiment_id = params["experiment_id"]
    limit = params.get("max_results") or DEFAULT_MAX_RESULTS
    offset = page_offset(params.get("page_token"), experiment_id)
    if await access.read(label_schemas.needs_default, experiment_id):  # the writer job checks again: no second default
        await access.write(partial(label_schemas.seed_default, experiment_id=experiment_id, now=now_ms()))
    found = await access.read(label_schemas.list_schemas, experiment_id, limit + 1, offset)
    out: dict[str, Any] = {"label_schemas": [schema_json(s) for s in found[:limit]]}
    if len(found) > limit:
        out["next_page_token"] = page_token(offset + limit, experiment_id)
    return ok(out)


async def update_label_schema(access: Access, request: Request) -> Response:
    """MLflow 3.14's update: a field that is absent (or null) is left as it is; ``""`` is a value."""
    body = parse(SchemaChangeBody, await json_body(request))
    spec = body.get("input")
    input_type, settings = _input(spec) if spec is not None else (None, None)
    kind = body.get("type")
    patch = label_schema_update.SchemaPatch(
        name=body.get("name"),
        instruction=body.get("instruction"),
        enable_comment=body.get("enable_comment"),
        title=body.get("title"),
        type=kind.lower() if kind is not None else None,
        input_type=input_type,
        input=settings,
    )
    stored = await access.write(
        partial(label_schema_update.update, schema_id=body["schema_id"], patch=patch, now=now_ms())
    )
    return ok({"label_schema": schema_json(stored)})


async def delete_label_schema(access: Access, request: Request) -> Response:
    """Idempotent (MLflow's OSS store): deleting a schema that is gone answers ``{}``; the default
    question answers 400."""
    body = parse(SchemaIdBody, await json_body(request, content_type_required=False))
    schema_id = body.get("schema_id") or parse_query(SchemaIdParams, request.query_params)["schema_id"]
    await access.write(partial(label_schemas.delete, schema_id=schema_id))
    return ok({})
