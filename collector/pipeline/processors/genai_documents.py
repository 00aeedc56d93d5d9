"""Retrieved documents in any convention's shape -> ``documents`` rows.

MLflow RETRIEVER outputs are a list of ``Document`` dicts (``{page_content, metadata: {doc_uri,
...}, id}``), OpenInference flattens ``retrieval.documents.N.document.{id,content,score,metadata}``
(metadata as JSON text) and OTel ``gen_ai.retrieval.documents`` is a list of ``{id, score, ...}``.
One reader serves them all because MLflow's own scorers read them the same way: text from the first
of ``page_content``, ``content``, ``text``; ``metadata.doc_uri`` is the source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotrace.collector.pipeline.processors.genai_fields import Document, short
from annotrace.collector.pipeline.processors.genai_messages import INVALID, dumps, parse_json

if TYPE_CHECKING:
    from annotrace.collector.pipeline.processors.genai_fields import SpanFields

__all__ = ["document_rows"]

_CONTENT_KEYS = ("page_content", "content", "text")


def _score(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _document(fields: SpanFields, attribute: str, index: int, item: Any) -> Document | None:
    if isinstance(item, str):
        return (None, item, None, None, None)
    if not isinstance(item, dict):
        fields.error(attribute, f"document {index} is not an object: {short(item)}")
        return None
    content = None
    for key in _CONTENT_KEYS:
        text = item.get(key)
        if isinstance(text, str):
            content = text
            break
    raw_id = item.get("id")
    doc_id = raw_id if isinstance(raw_id, str) else (str(raw_id) if isinstance(raw_id, int) else None)
    metadata = item.get("metadata")
    metadata_json = None
    if isinstance(metadata, str):
        decoded = parse_json(metadata)
        if decoded is INVALID:
            fields.error(attribute, f"document {index} metadata is not JSON: {short(metadata)}")
            metadata = None
        else:
            metadata_json, metadata = metadata, decoded
    elif metadata is not None:
        metadata_json = dumps(metadata)
    meta = metadata if isinstance(metadata, dict) else {}
    uri = meta.get("doc_uri", item.get("doc_uri"))
    score = _score(item.get("score"))
    if score is None:
        score = _score(meta.get("score"))
    return (doc_id, content, score, uri if isinstance(uri, str) else None, metadata_json)


def document_rows(fields: SpanFields, attribute: str, value: Any, max_documents: int) -> list[Document] | None:
    """Rows for a document list (JSON text or decoded); None with an error if it is not a list."""
    if isinstance(value, str):
        decoded = parse_json(value)
        if decoded is INVALID:
            fields.error(attribute, f"invalid JSON: {short(value)}")
            return None
        value = decoded
    if not isinstance(value, list):
        fields.error(attribute, f"not a list of documents: {short(value)}")
        return None
    if len(value) > max_documents:
        fields.error(attribute, f"{len(value)} documents, kept the first {max_documents}")
        value = value[:max_documents]
    rows = [_document(fields, attribute, index, item) for index, item in enumerate(value)]
    return [row for row in rows if row is not None]
