"""Retrieved documents in any convention's shape -> ``documents`` rows.

MLflow RETRIEVER outputs are a list of ``Document`` dicts (``{page_content, metadata: {doc_uri,
...}, id}``), OpenInference flattens ``retrieval.documents.N.document.{id,content,score,metadata}``
(metadata as JSON text) and OTel ``gen_ai.retrieval.documents`` is a list of ``{id, score, ...}``.
One reader serves them all because MLflow's own scorers read them the same way: text from the first
of ``page_content``, ``content``, ``text``; ``metadata.doc_uri`` is the source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from annotrace.collector.pipeline.processors.genai_fields import Document, short
from annotrace.collector.pipeline.processors.genai_messages import INVALID, dumps, parse_json

if TYPE_CHECKING:
    from annotrace.collector.pipeline.processors.genai_fields import SpanFields

__all__ = ["document_rows"]

_EMPTY: dict[str, Any] = {}


def _document(fields: SpanFields, attribute: str, index: int, item: Any) -> Document | None:
    # Runs per retrieved document (thousands per batch): each key is read once, through a bound ``get``.
    if type(item) is not dict:
        if isinstance(item, str):
            return (None, item, None, None, None)
        fields.error(attribute, f"document {index} is not an object: {short(item)}")
        return None
    get = item.get
    content = get("page_content")
    if type(content) is not str:
        content = get("content")
        if type(content) is not str:
            content = get("text")
            if type(content) is not str:
                content = None
    doc_id = get("id")
    if type(doc_id) is not str:
        doc_id = str(doc_id) if type(doc_id) is int else None
    metadata = get("metadata")
    metadata_json = None
    if type(metadata) is dict:
        try:  # ``dumps``, inlined
            metadata_json = orjson.dumps(metadata).decode()
        except TypeError:
            pass
    elif type(metadata) is str:
        decoded = parse_json(metadata)
        if decoded is INVALID:
            fields.error(attribute, f"document {index} metadata is not JSON: {short(metadata)}")
            metadata = None
        else:
            metadata_json, metadata = metadata, decoded
    elif metadata is not None:
        metadata_json = dumps(metadata)
    meta = metadata if type(metadata) is dict else _EMPTY
    uri = meta["doc_uri"] if "doc_uri" in meta else get("doc_uri")
    score = get("score")
    if type(score) is not float:
        score = float(score) if type(score) is int else None
        if score is None:
            score = meta.get("score")
            if type(score) is not float:
                score = float(score) if type(score) is int else None
    return (doc_id, content, score, uri if type(uri) is str else None, metadata_json)


def document_rows(fields: SpanFields, attribute: str, value: Any, max_documents: int) -> list[Document] | None:
    """Rows for a decoded document list; None with an error if it is not a list."""
    if not isinstance(value, list):
        fields.error(attribute, f"not a list of documents: {short(value)}")
        return None
    if len(value) > max_documents:
        fields.error(attribute, f"{len(value)} documents, kept the first {max_documents}")
        value = value[:max_documents]
    rows = [_document(fields, attribute, index, item) for index, item in enumerate(value)]
    return [row for row in rows if row is not None]
