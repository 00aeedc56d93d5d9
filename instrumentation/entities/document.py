"""``Document``: what a RETRIEVER span returns, in MLflow's field order.

The collector turns a RETRIEVER span's outputs into rows of the ``documents`` table and the Review
App renders them, both keyed on MLflow's JSON shape ``{"page_content", "metadata", "id"}`` with
the source link in ``metadata["doc_uri"]``. Keeping the dataclass identical to
``mlflow.entities.Document`` means ``to_dict()`` (``dataclasses.asdict``) is that shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Document"]


@dataclass
class Document:
    """A retrieved chunk: ``Document(page_content, metadata={}, id=None)``."""

    page_content: str
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            page_content=data["page_content"],
            metadata=dict(data.get("metadata") or {}),
            id=data.get("id"),
        )
