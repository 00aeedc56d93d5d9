"""``Document`` has MLflow's fields, order and dict shape."""

from __future__ import annotations

import dataclasses

from annotrace.entities import Document


def test_field_order_and_defaults() -> None:
    assert [f.name for f in dataclasses.fields(Document)] == ["page_content", "metadata", "id"]
    doc = Document("text")
    assert doc.metadata == {} and doc.id is None
    assert Document("a").metadata is not Document("b").metadata


def test_keywords_and_to_dict_order() -> None:
    doc = Document(
        id="conversation_123", page_content="John Doe...", metadata={"doc_uri": "http://domain.com/conversations/123"}
    )
    as_dict = doc.to_dict()
    assert list(as_dict) == ["page_content", "metadata", "id"]
    assert as_dict == {
        "page_content": "John Doe...",
        "metadata": {"doc_uri": "http://domain.com/conversations/123"},
        "id": "conversation_123",
    }
    assert Document.from_dict(as_dict) == doc
