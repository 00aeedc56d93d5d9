"""Span vocabulary shared by the SDK and the collector: MLflow's ``SpanType`` names.

``mlflow.spanType`` on the wire and the ``spans.span_type`` column use these strings, so they are
defined once, here, in a stdlib-only module the collector may import. As in MLflow, ``SpanType``
is a namespace of constants, not an enum: any custom string is also accepted.
"""

from __future__ import annotations

__all__ = ["SpanType"]


class SpanType:
    """Predefined span types; ``span_type=`` also accepts any other string."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    CHAT_MODEL = "CHAT_MODEL"
    RETRIEVER = "RETRIEVER"
    PARSER = "PARSER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    MEMORY = "MEMORY"
    UNKNOWN = "UNKNOWN"
    WORKFLOW = "WORKFLOW"
    TASK = "TASK"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
