"""The responses part of a native OpenAPI operation: a 200 with its schema and the error codes the
route answers with MLflow's envelope. Apart from ``openapi.py`` so the route modules that describe
their own paths (``OPENAPI_PATHS``) use it too: ``openapi.py`` imports them, not the other way."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def responses(ok_schema: dict[str, Any], *codes: int) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": "OK", "content": {"application/json": {"schema": ok_schema}}}}
    for code in codes:
        out[str(code)] = {"description": "MLflow error envelope", "content": {"application/json": {"schema": ERROR}}}
    return out
