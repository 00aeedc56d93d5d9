"""MLflow assessment routes (reference 5): create, get, update (``update_mask``), delete.

Each handler parses the body (``assessment_json``), makes one store call (a read, or one writer
job that checks and writes everything the request changes) and serialises the stored result.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from annotrace.collector.api.mlflow.assessment_json import assessment_json, parse_create, parse_update
from annotrace.collector.api.mlflow.wire import json_body, ok, path_trace_id
from annotrace.collector.ids import new_assessment_id
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import assessments

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access


async def create_assessment(access: Access, request: Request) -> Response:
    trace_id = path_trace_id(request)
    new = parse_create(await json_body(request), trace_id)
    stored = await access.write(partial(assessments.create, new=new, assessment_id=new_assessment_id(), now=now_ms()))
    return ok({"assessment": assessment_json(stored)})


async def get_assessment(access: Access, request: Request) -> Response:
    trace_id = path_trace_id(request)
    stored = await access.read(assessments.get, trace_id, request.path_params["assessment_id"])
    return ok({"assessment": assessment_json(stored)})


async def update_assessment(access: Access, request: Request) -> Response:
    trace_id = path_trace_id(request)
    patch = parse_update(await json_body(request, content_type_required=False))
    stored = await access.write(
        partial(
            assessments.update,
            trace_id=trace_id,
            assessment_id=request.path_params["assessment_id"],
            patch=patch,
            now=now_ms(),
        )
    )
    return ok({"assessment": assessment_json(stored)})


async def delete_assessment(access: Access, request: Request) -> Response:
    """Idempotent, as in MLflow: deleting an assessment that is already gone answers ``{}``."""
    trace_id = path_trace_id(request)
    await access.write(
        partial(assessments.delete, trace_id=trace_id, assessment_id=request.path_params["assessment_id"], now=now_ms())
    )
    return ok({})
