"""The parts of a native OpenAPI operation, generated from the typed models the routes use: query
and path parameters from the ``TypedDict`` a route parses its query string with, the 200 answer's
schema from the ``TypedDict`` its JSON builder returns, and the error codes it answers with MLflow's
envelope. Apart from ``openapi.py`` so the route modules that describe their own paths
(``OPENAPI_PATHS``) use it too: ``openapi.py`` imports them, not the other way.
"""

from __future__ import annotations

from typing import Any

from annotrace.collector.api.models import schema_of

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_TEXT = "MLflow error envelope"


def response_schema(model: type[Any]) -> dict[str, Any]:
    """The JSON Schema of an answer, nested models written out in place: a ``$ref`` to ``#/$defs``
    inside an operation would resolve against the document's root, which has no ``$defs``. A
    model's docstring is for readers of the code and is left out; a field's description stays."""
    schema = schema_of(model)
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                found = {
                    k: v for k, v in defs[ref.removeprefix("#/$defs/")].items() if k not in ("title", "description")
                }
                return inline(found | {k: v for k, v in node.items() if k != "$ref"})
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)  # type: ignore[no-any-return]


def responses(ok: type[Any] | dict[str, Any], *codes: int, errors: dict[int, str] | None = None) -> dict[str, Any]:
    """A 200 whose body is ``ok`` (a model, or a schema), and each of ``codes`` as MLflow's envelope
    (``errors`` words the ones that need more than "MLflow error envelope")."""
    schema = ok if isinstance(ok, dict) else response_schema(ok)
    out: dict[str, Any] = {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}
    for code in codes:
        text = (errors or {}).get(code, ERROR_TEXT)
        out[str(code)] = {"description": text, "content": {"application/json": {"schema": ERROR}}}
    return out


def query_parameters(model: type[Any]) -> list[dict[str, Any]]:
    """One query parameter per key of ``model`` (the ``TypedDict`` the route parses its query
    string with): its schema without the JSON null, which a query string cannot send."""
    schema = schema_of(model)
    required = set(schema.get("required", ()))
    out = []
    for name, field in schema["properties"].items():
        branches = [branch for branch in field.get("anyOf", ()) if branch != {"type": "null"}]
        if len(branches) == 1:
            field = {**branches[0], **{k: v for k, v in field.items() if k != "anyOf"}}
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in field:
            field = dict(field)
            parameter["description"] = field.pop("description")
        parameter["schema"] = field
        out.append(parameter)
    return out


def path_parameter(name: str, description: str | None = None) -> dict[str, Any]:
    """A path parameter: any string routes (the route answers 404 for an id that does not exist)."""
    out: dict[str, Any] = {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    if description is not None:
        out["description"] = description
    return out
