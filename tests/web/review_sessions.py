"""Labeling sessions for the Review App tests, made the way a user makes them: with the SDK.

Each call gets its own experiment (the collector is shared by the whole test session), traces
with a retriever span (documents with ``doc_uri``) and a chat span (messages), the three kinds
of question the issue names (categorical, numeric, text), and a session holding copies of the
traces. ``sdk`` points the SDK's process-wide state at the collector and resets it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

import annotrace
from annotrace import tracking
from annotrace.client import rest
from annotrace.entities import Document
from annotrace.genai.label_schemas import (
    InputCategorical,
    InputCategoricalList,
    InputNumeric,
    InputPassFail,
    InputText,
    InputTextList,
    create_label_schema,
)
from annotrace.genai.labeling import LabelingSession, create_labeling_session
from annotrace.tracing import context
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import SDK_ENV

QUESTIONS = ("quality", "score", "better")
OPTIONS = ["Good", "Bad", "Unsure"]


@dataclass
class Review:
    """A session ready for labeling: its SDK object, experiment and item (copy) trace ids in order."""

    session: LabelingSession
    experiment: str
    items: list[str]

    @property
    def path(self) -> str:
        return f"/review/{self.session.mlflow_run_id}"


@contextmanager
def sdk(collector: Collector) -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in SDK_ENV if name in os.environ}
    tracking._reset()
    context._reset()
    rest.close()
    annotrace.set_tracking_uri(collector.web)
    try:
        yield
    finally:
        rest.close()
        tracking._reset()
        context._reset()
        os.environ.update(saved)


def _traces(collector: Collector, experiment: str, count: int) -> None:
    @annotrace.trace(span_type="RETRIEVER")
    def retrieve(query: str) -> list[Document]:
        return [
            Document(
                id="kb-1",
                page_content=f"Refunds take 5 days ({query}).",
                metadata={"doc_uri": "https://kb.example.com/refunds"},
            ),
            Document(id="kb-2", page_content="Internal note.", metadata={"doc_uri": "file:///srv/notes.txt"}),
        ]

    @annotrace.trace(span_type="CHAT_MODEL")
    def chat(messages: list[dict[str, str]]) -> dict[str, Any]:
        return {"choices": [{"message": {"role": "assistant", "content": f"Answer to: {messages[-1]['content']}"}}]}

    @annotrace.trace
    def support_bot(messages: list[dict[str, str]]) -> dict[str, Any]:
        retrieve(messages[-1]["content"])
        return chat([{"role": "system", "content": "You are a support bot."}, *messages])

    for n in range(count):
        support_bot([{"role": "user", "content": f"Question {n}: how long do refunds take?"}])
    query = (
        f"SELECT count(*) AS n FROM traces JOIN experiments USING (experiment_id) "
        f"WHERE experiments.name = '{experiment}' AND span_count = 3"
    )
    assert int(annotrace.sql(query)["n"][0]) == count  # read back at once, as a user would


def define_questions(max_score: float = 5, max_length: int = 200) -> None:
    """The three questions (schemas) of the current experiment; again with ``overwrite`` to change them."""
    create_label_schema(
        name="quality",
        type="feedback",
        title="Is the answer correct?",
        input=InputCategorical(options=OPTIONS),
        instruction="Judge the response only.",
        enable_comment=True,
        overwrite=True,
    )
    create_label_schema(
        name="score",
        type="feedback",
        title="How helpful is it?",
        input=InputNumeric(min_value=1, max_value=max_score),
        overwrite=True,
    )
    create_label_schema(
        name="better",
        type="expectation",
        title="What should it have said?",
        input=InputText(max_length=max_length),
        overwrite=True,
    )


def define_other_questions() -> list[str]:
    """The other three input types: pass/fail, a categorical list, a text list (plus a built-in one)."""
    create_label_schema(
        name="safe",
        type="feedback",
        title="Is it safe?",
        input=InputPassFail(positive_label="Safe", negative_label="Unsafe"),
        overwrite=True,
    )
    create_label_schema(
        name="topics",
        type="feedback",
        title="Which topics does it cover?",
        input=InputCategoricalList(options=["billing", "refunds", "shipping"]),
        overwrite=True,
    )
    create_label_schema(
        name="facts",
        type="expectation",
        title="Which facts must it state?",
        input=InputTextList(max_count=3, max_length_each=40),
        overwrite=True,
    )
    return ["safe", "topics", "facts"]


def make_review(
    collector: Collector, *, traces: int = 3, assigned_users: list[str] | None = None, other_questions: bool = False
) -> Review:
    """A new experiment, ``traces`` traces, the three questions (or the other three) and a session over
    copies of the traces."""
    experiment = f"review-{uuid.uuid4().hex[:8]}"
    annotrace.set_experiment(experiment)
    _traces(collector, experiment, traces)
    if other_questions:
        questions = define_other_questions()
    else:
        define_questions()
        questions = list(QUESTIONS)
    session = create_labeling_session(
        name=f"Support answers {experiment[-4:]}", assigned_users=assigned_users or [], label_schemas=questions
    )
    session.add_traces(annotrace.search_traces())
    items = httpx.get(f"{collector.web}/api/v1/labeling/sessions/{session.mlflow_run_id}/items", timeout=30).json()
    return Review(session, experiment, [item["trace_id"] for item in items["items"]])


def assessments_of(collector: Collector, trace_id: str, user: str) -> list[dict[str, Any]]:
    return collector.sql(
        f"SELECT assessment_name, value, rationale, source_type, source_id FROM assessments "
        f"WHERE trace_id = '{trace_id}' AND source_id = '{user}' ORDER BY assessment_name"
    )
