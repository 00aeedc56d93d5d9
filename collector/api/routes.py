"""The REST route table (MLflow-compatible paths and the native API), read top to bottom."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from annotrace.collector.store.db import Database
    from annotrace.collector.store.writer import Writer


def api_routes(db: Database, writer: Writer) -> list[BaseRoute]:
    return []
