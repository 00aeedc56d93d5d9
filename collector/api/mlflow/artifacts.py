"""MLflow's artifact proxy (``/api/2.0/mlflow-artifacts/artifacts``), enough for logged models.

The stock client uploads a small ``MLmodel`` file for each logged model it creates, so
``set_active_model(name=...)`` fails without this route. Uploads are kept in the store
(``store/queries/artifacts.py``) and limited to ``MAX_ARTIFACT_BYTES``: annotrace is not a model
weight artifacts.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, NotRequired

from starlette.responses import Response
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import ok
from annotrace.collector.api.models import Text
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.errors import PayloadTooLarge
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import artifacts

if TYPE_CHECKING:
    from starlette.requests import Request

    from annotrace.collector.store.access import Access

MAX_ARTIFACT_BYTES = 16 * 1024 * 1024


class ListQuery(TypedDict):
    path: NotRequired[Annotated[str, Text()] | None]


async def upload_artifact(access: Access, request: Request) -> Response:
    path = artifacts.validate(request.path_params["artifact_path"])
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_ARTIFACT_BYTES:
            raise PayloadTooLarge(f"Artifact '{path}' is larger than the limit of {MAX_ARTIFACT_BYTES} bytes")
        chunks.append(chunk)
    await access.write(partial(artifacts.put, path=path, content=b"".join(chunks), now=now_ms()))
    return ok({})


async def download_artifact(access: Access, request: Request) -> Response:
    path = artifacts.validate(request.path_params["artifact_path"])
    return Response(await access.read(artifacts.get, path), media_type="application/octet-stream")


async def list_artifacts(access: Access, request: Request) -> Response:
    directory = parse_query(ListQuery, request.query_params).get("path") or ""
    entries = await access.read(artifacts.list_dir, directory)
    files = [
        {
            "path": e.path.rsplit("/", 1)[-1],
            "is_dir": e.is_dir,
            **({"file_size": e.file_size} if e.file_size is not None else {}),
        }
        for e in entries
    ]
    return ok({"files": files} if files else {})
