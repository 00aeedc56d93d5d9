"""The lifecycle every receiver, processor and exporter shares (the OpenTelemetry Collector model).

``start`` then ``shutdown``; ``shutdown`` is safe without ``start`` and safe twice, and flushes
downstream. A processor transforms a batch and never calls the next stage: the runner does.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from annotrace.collector.telemetry import Batch


class Component(Protocol):
    def start(self) -> None: ...

    def shutdown(self) -> None: ...


class Processor(Component, Protocol):
    def process(self, batch: Batch) -> Batch: ...


@dataclass(frozen=True, slots=True)
class Factory:
    """``type`` is the YAML name (``batch``), ``config`` its frozen dataclass, ``create`` builds it."""

    type: str
    config: builtins.type[Any]
    create: Any = None
