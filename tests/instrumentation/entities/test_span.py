"""``SpanType`` carries MLflow's names as plain strings."""

from __future__ import annotations

from annotrace.entities import SpanType

MLFLOW_SPAN_TYPES = {
    "LLM", "CHAT_MODEL", "RETRIEVER", "TOOL", "AGENT", "CHAIN", "EMBEDDING", "RERANKER",
    "PARSER", "MEMORY", "GUARDRAIL", "EVALUATOR", "WORKFLOW", "TASK", "UNKNOWN",
}


def test_constants_are_their_own_names() -> None:
    names = {name for name in vars(SpanType) if not name.startswith("_")}
    assert names == MLFLOW_SPAN_TYPES
    assert all(getattr(SpanType, name) == name for name in names)
