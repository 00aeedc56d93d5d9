"""The GenAI traces the bench sends: what is in each span, in two sizes.

Why two sizes: the collector's cost grows with bytes, not spans (issue 18), so a figure on small
spans says little about real GenAI traffic, whose prompts, retrieved documents and completions are
several KB each. Both shapes are one RAG-with-tool trace of 4 spans (CHAIN root, RETRIEVER, chat
LLM call, tool call) with the MLflow and OTel GenAI attributes a real app would send:

- ``1k`` (~1.2 KB per span on the wire): 3 documents of ~300 B, a ~1 KB prompt, a ~300 B answer;
  the bench's traffic since wave 1, kept byte for byte so its figures stay comparable;
- ``2k`` (~2.6 KB per span): 5 documents of ~0.85 KB (with their metadata), a ~2.9 KB prompt that
  quotes them, a ~0.8 KB completion, which the root span also returns (the
  issue 18 traffic: 5 documents of ~1 KB, a ~3 KB prompt, a ~1 KB completion).

``bench.traffic`` turns a layout into protobuf spans and stamps ids and times into copies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SpanLayout = tuple[str, int, list[KeyValue], int | None, int, int]
"""(name, kind, attributes, index of the parent span or None, start and end in ns after the trace's start)."""


@dataclass(frozen=True, slots=True)
class Shape:
    """The sizes of one trace's large texts (byte ranges are drawn uniformly per trace)."""

    documents: int
    document_bytes: tuple[int, int]
    answer_bytes: tuple[int, int]
    excerpt_bytes: int  # of each document, quoted in the prompt's context


SHAPES = {
    "1k": Shape(documents=3, document_bytes=(270, 330), answer_bytes=(260, 360), excerpt_bytes=200),
    "2k": Shape(documents=5, document_bytes=(650, 750), answer_bytes=(750, 850), excerpt_bytes=450),
}
SPAN_BYTES = {"1k": "~1.2 KB", "2k": "~2.6 KB"}
"""What each shape weighs per span on the wire, for labels (the clients measure the exact figure)."""

_WORDS = [
    "invoice",
    "refund",
    "policy",
    "shipping",
    "warranty",
    "account",
    "password",
    "reset",
    "billing",
    "cycle",
    "subscription",
    "upgrade",
    "downgrade",
    "latency",
    "region",
    "cluster",
    "deployment",
    "rollback",
    "pipeline",
    "dataset",
    "embedding",
    "vector",
    "index",
    "shard",
    "replica",
    "quota",
    "token",
    "limit",
    "model",
    "prompt",
    "context",
    "window",
    "retrieval",
    "ranking",
    "document",
    "customer",
    "order",
    "delivery",
    "tracking",
    "address",
    "payment",
    "method",
    "card",
    "bank",
    "transfer",
    "currency",
    "tax",
    "report",
    "dashboard",
    "metric",
    "alert",
    "threshold",
    "incident",
    "outage",
    "recovery",
    "backup",
    "snapshot",
    "storage",
    "bucket",
    "permission",
    "role",
    "group",
    "policy",
    "audit",
    "compliance",
    "region",
    "language",
    "translation",
    "summary",
]

_MODELS = (("gpt-4o-mini", "gpt-4o-mini-2024-07-18"), ("gpt-4o", "gpt-4o-2024-08-06"))
_TOOLS = ("get_order_status", "search_kb", "get_weather", "create_ticket", "lookup_account")
_SYSTEM_PROMPT = (
    "You are a helpful support assistant for ACME Cloud. Answer only from the provided context. "
    "If the context does not contain the answer, say that you do not know and offer to open a "
    "support ticket. Keep answers short, cite the document ids you used, and never reveal "
    "internal notes, credentials or personal data of other customers."
)


def _sentence(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n_words)).capitalize() + "."


def _text(rng: random.Random, n_bytes: int) -> str:
    parts: list[str] = []
    size = 0
    while size < n_bytes:
        s = _sentence(rng, rng.randint(6, 14))
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)[:n_bytes]


def kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def rag_trace(rng: random.Random, shape: Shape) -> list[SpanLayout]:
    """One RAG-with-tool trace: root CHAIN -> (RETRIEVER, chat, execute_tool)."""
    question = _sentence(rng, rng.randint(10, 18)).rstrip(".") + "?"
    answer = _text(rng, rng.randint(*shape.answer_bytes))
    docs = [
        {
            "page_content": _text(rng, rng.randint(*shape.document_bytes)),
            "metadata": {
                "doc_uri": f"https://kb.example.com/articles/{rng.randint(1000, 99999)}",
                "chunk_id": str(rng.randint(0, 40)),
            },
            "id": f"doc-{rng.randint(10**6, 10**7)}",
        }
        for _ in range(shape.documents)
    ]
    req_model, resp_model = rng.choice(_MODELS)
    tool = rng.choice(_TOOLS)
    context = "\n\n".join(f"[{d['id']}] {str(d['page_content'])[: shape.excerpt_bytes]}" for d in docs)
    in_msgs = [
        {"role": "system", "parts": [{"type": "text", "content": _SYSTEM_PROMPT}]},
        {"role": "user", "parts": [{"type": "text", "content": f"Context:\n{context}\n\nQuestion: {question}"}]},
    ]
    out_msgs = [{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]
    in_tokens = rng.randint(380, 520)
    out_tokens = rng.randint(60, 140)
    tool_args = {"query": question[:60], "limit": rng.randint(1, 5)}
    tool_result = {"status": "ok", "items": [_sentence(rng, 10) for _ in range(rng.randint(2, 4))]}

    root_attrs = [
        kv("mlflow.spanType", '"CHAIN"'),
        kv("mlflow.spanInputs", _json({"question": question, "session_id": f"s-{rng.randint(1, 10**6)}"})),
        kv("mlflow.spanOutputs", _json(answer)),
    ]
    retriever_attrs = [
        kv("mlflow.spanType", '"RETRIEVER"'),
        kv("mlflow.spanInputs", _json({"query": question})),
        kv("mlflow.spanOutputs", _json(docs)),
    ]
    chat_attrs = [
        kv("gen_ai.operation.name", "chat"),
        kv("gen_ai.provider.name", "openai"),
        kv("gen_ai.request.model", req_model),
        kv("gen_ai.response.model", resp_model),
        kv("gen_ai.response.id", f"chatcmpl-{rng.getrandbits(96):024x}"),
        kv("gen_ai.usage.input_tokens", in_tokens),
        kv("gen_ai.usage.output_tokens", out_tokens),
        kv("gen_ai.input.messages", _json(in_msgs)),
        kv("gen_ai.output.messages", _json(out_msgs)),
    ]
    tool_attrs = [
        kv("gen_ai.operation.name", "execute_tool"),
        kv("gen_ai.tool.name", tool),
        kv("gen_ai.tool.call.id", f"call_{rng.getrandbits(64):016x}"),
        kv("gen_ai.tool.call.arguments", _json(tool_args)),
        kv("gen_ai.tool.call.result", _json(tool_result)),
    ]
    ms = 1_000_000
    chat_end = rng.randint(700, 1400) * ms
    return [  # (name, kind, attrs, parent index, rel start, rel end)
        ("rag_pipeline", Span.SPAN_KIND_SERVER, root_attrs, None, 0, chat_end + 260 * ms),
        ("retrieve_documents", Span.SPAN_KIND_INTERNAL, retriever_attrs, 0, 4 * ms, rng.randint(40, 160) * ms),
        (f"chat {req_model}", Span.SPAN_KIND_CLIENT, chat_attrs, 0, 170 * ms, chat_end),
        (f"execute_tool {tool}", Span.SPAN_KIND_INTERNAL, tool_attrs, 0, chat_end + 10 * ms, chat_end + 250 * ms),
    ]
