"""Seed 000 ("collect domain-expert feedback", step 1) with ``mlflow`` replaced by ``annotrace``.

The seed's application runs verbatim in spirit against a real collector: OpenAI autologging, a
RETRIEVER span returning two ``Document``s with ``doc_uri``, and ``my_app`` calling the OpenAI
client (the local fake LLM stands in for OpenAI/Databricks). ``set_active_model`` tags both runs,
and everything the Review App needs is checked in SQL: the retriever's ``documents`` rows, the
chat span's ``messages`` / model / provider / tokens, the trace's request and response previews
and its ``mlflow.modelId`` metadata; then ``search_traces(model_id=...)`` finds both traces.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

import annotrace
import annotrace as mlflow
from annotrace import tracking
from annotrace.client import rest
from annotrace.entities import Document
from annotrace.openai import instrumentor
from annotrace.tracing import context
from tests.collector_process import Collector
from tests.fakes.llm import FakeLLM, answer_for, count_tokens
from tests.instrumentation.collector_sdk import SDK_ENV

# autolog() writes these into os.environ when unset; they are restored afterwards.
AUTOLOG_ENV = (instrumentor.SEMCONV_ENV, instrumentor.CONTENT_ENV, instrumentor.EMIT_EVENT_ENV)
JOHN_DOE = [
    ("conversation_123", "John Doe mentioned issues with login on July 10th. Expressed interest in feature X.",
     "http://domain.com/conversations/123"),
    ("conversation_124",
     "Follow-up call with John Doe on July 12th. Login issue resolved. Discussed pricing for feature X.",
     "http://domain.com/conversations/124"),
]
ACME = [("ticket_987", "Acme Corp raised a critical P0 bug regarding their main dashboard on July 15th.",
         "http://domain.com/tickets/987")]


@pytest.fixture
def sdk(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """Fresh SDK state and environment; autologging off and state reset afterwards."""
    for name in (*SDK_ENV, *AUTOLOG_ENV):
        monkeypatch.setenv(name, "")  # so that monkeypatch restores what autolog() writes
        monkeypatch.delenv(name)
    tracking._reset()
    context._reset()
    rest.close()
    try:
        yield collector
    finally:
        annotrace.openai.autolog(disable=True)
        mlflow.flush_trace_async_logging()
        rest.close()
        tracking._reset()
        context._reset()


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as running:
        yield running


def _seed_app(llm: FakeLLM) -> Any:
    """The seed's "define the application" step; returns ``my_app``."""
    client = openai.OpenAI(base_url=llm.base_url, api_key="x")
    model_name = "gpt-4o-mini"

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve_docs(query: str) -> list[Document]:
        normalized_query = query.lower()
        found = JOHN_DOE if "john doe" in normalized_query else ACME
        return [Document(id=doc_id, page_content=text, metadata={"doc_uri": uri}) for doc_id, text, uri in found]

    @mlflow.trace
    def my_app(messages: list[dict[str, str]]) -> Any:
        last_user_message_content = messages[-1]["content"]
        retrieved_documents = retrieve_docs(query=last_user_message_content)
        retrieved_docs_text = "\n".join([doc.page_content for doc in retrieved_documents])
        messages_for_llm = [
            {"role": "system", "content": "You are a helpful assistant!"},
            {
                "role": "user",
                "content": f"Additional retrieved context:\n{retrieved_docs_text}\n\nNow, please provide the "
                           f"one-paragraph summary based on the user's request {last_user_message_content} and "
                           "this retrieved context.",
            },
        ]
        return client.chat.completions.create(model=model_name, messages=messages_for_llm)  # type: ignore[arg-type]

    return my_app


def _check_trace(collector: Collector, trace_id: str, question: str, documents: list[tuple[str, str, str]],
                 sent: list[dict[str, str]], answer: str, model_id: str) -> None:
    where = f"trace_id = '{trace_id}'"
    spans = collector.wait_for(f"SELECT count(*) AS n FROM spans WHERE {where}", [{"n": 3}])
    assert spans == [{"n": 3}]

    # The retriever: one RETRIEVER span, its Documents as rows.
    (retriever,) = collector.sql(f"SELECT span_id, name FROM spans WHERE {where} AND span_type = 'RETRIEVER'")
    assert retriever["name"] == "retrieve_docs"
    rows = collector.sql(f"SELECT position, document_id, content, doc_uri, metadata FROM documents "
                         f"WHERE {where} ORDER BY position")
    assert rows == [{"position": p, "document_id": d, "content": c, "doc_uri": u,
                     "metadata": json.dumps({"doc_uri": u}, separators=(",", ":"))}
                    for p, (d, c, u) in enumerate(documents)]
    assert {r["span_id"] for r in collector.sql(f"SELECT span_id FROM documents WHERE {where}")} \
        == {retriever["span_id"]}

    # The chat span: model, provider, tokens as the fake counted them, the messages in order.
    (chat,) = collector.sql(
        f"SELECT span_id, name, span_type, model, provider, input_tokens, output_tokens, total_tokens, "
        f"inputs IS NOT NULL AS has_inputs, outputs IS NOT NULL AS has_outputs "
        f"FROM spans WHERE {where} AND span_type IN ('CHAT_MODEL', 'LLM')")
    prompt_tokens = sum(count_tokens(m["content"]) for m in sent)
    assert chat == {"span_id": chat["span_id"], "name": "chat gpt-4o-mini", "span_type": "CHAT_MODEL",
                    "model": "gpt-4o-mini", "provider": "openai", "input_tokens": prompt_tokens,
                    "output_tokens": count_tokens(answer), "total_tokens": prompt_tokens + count_tokens(answer),
                    "has_inputs": True, "has_outputs": True}
    messages = collector.sql(f"SELECT span_id, direction, position, role, content, tool_calls FROM messages "
                             f"WHERE {where} ORDER BY direction, position")
    assert messages == [
        {"span_id": chat["span_id"], "direction": "input", "position": 0, "role": "system",
         "content": "You are a helpful assistant!", "tool_calls": None},
        {"span_id": chat["span_id"], "direction": "input", "position": 1, "role": "user",
         "content": sent[1]["content"], "tool_calls": None},
        {"span_id": chat["span_id"], "direction": "output", "position": 0, "role": "assistant",
         "content": answer, "tool_calls": None},
    ]
    assert all(doc_text in sent[1]["content"] for _, doc_text, _ in documents)

    # The trace: root my_app, its request/response and previews, the active model's id.
    (trace,) = collector.sql(
        "SELECT t.name, t.state, t.span_count, t.request, t.response, t.request_preview, t.response_preview, "
        "t.trace_metadata, t.input_tokens, t.output_tokens, s.span_id AS root "
        f"FROM traces t JOIN spans s ON s.trace_id = t.trace_id AND s.parent_span_id IS NULL WHERE t.{where}")
    assert (trace["name"], trace["state"], trace["span_count"]) == ("my_app", "OK", 3)
    assert json.loads(trace["request"]) == {"messages": [{"role": "user", "content": question}]}
    response = json.loads(trace["response"])
    assert response["object"] == "chat.completion"
    assert response["choices"][0]["message"] == {**response["choices"][0]["message"],
                                                 "role": "assistant", "content": answer}
    assert trace["request_preview"] == question  # the last user message, as MLflow shows it
    assert trace["response_preview"] == answer  # the assistant message of the first choice
    assert json.loads(trace["trace_metadata"])["mlflow.modelId"] == model_id
    assert (trace["input_tokens"], trace["output_tokens"]) == (prompt_tokens, count_tokens(answer))
    parents = collector.sql(f"SELECT DISTINCT parent_span_id FROM spans WHERE {where} AND parent_span_id IS NOT NULL")
    assert parents == [{"parent_span_id": trace["root"]}]


def test_seed_000_review_app_traces(sdk: Collector, llm: FakeLLM) -> None:
    # Step 1 of the seed: autologging, tracking, experiment, the app.
    mlflow.openai.autolog()
    mlflow.set_tracking_uri(sdk.web)
    experiment = f"/Shared/docs-demo-{uuid.uuid4().hex[:8]}"
    mlflow.set_experiment(experiment)
    my_app = _seed_app(llm)

    # Step 4: version tracking, then two runs of the app.
    tracked_model = mlflow.set_active_model(name="my_app")
    assert tracked_model.model_id == mlflow.get_active_model_id()
    runs = []
    for question, documents in (("what issues does john doe have?", JOHN_DOE),
                                ("what issues does acme corp have?", ACME)):
        output = my_app([{"role": "user", "content": question}])
        trace_id = mlflow.get_last_active_trace_id()
        assert trace_id is not None and trace_id.startswith("tr-")
        sent = llm.requests[-1]["body"]["messages"]
        answer = output.choices[0].message.content
        assert answer == answer_for(sent)
        runs.append((trace_id, question, documents, sent, answer))
    assert runs[0][0] != runs[1][0]
    mlflow.flush_trace_async_logging()

    for trace_id, question, documents, sent, answer in runs:
        _check_trace(sdk, trace_id, question, documents, sent, answer, tracked_model.model_id)
    stored = sdk.sql(f"SELECT count(*) AS n FROM traces t JOIN experiments e USING (experiment_id) "
                     f"WHERE e.name = '{experiment}'")
    assert stored == [{"n": 2}]

    # Query for the traces we just generated: both, newest first, with the seed's metadata.
    traces = mlflow.search_traces(model_id=tracked_model.model_id)
    assert list(traces["trace_id"]) == [runs[1][0], runs[0][0]]
    for _, row in traces.iterrows():
        assert row["trace_metadata"]["mlflow.modelId"] == tracked_model.model_id
        assert row["state"] == "OK"
    as_list = mlflow.search_traces(model_id=tracked_model.model_id, return_type="list")
    assert [t.info.trace_id for t in as_list] == [runs[1][0], runs[0][0]]
    for found, (_, _, documents, _, answer) in zip(as_list, reversed(runs), strict=True):
        spans = {span.name: span for span in found.data.spans}
        assert set(spans) == {"my_app", "retrieve_docs", "chat gpt-4o-mini"}
        assert spans["retrieve_docs"].span_type == "RETRIEVER"
        assert [doc["metadata"]["doc_uri"] for doc in spans["retrieve_docs"].outputs] == [u for *_, u in documents]
        assert spans["my_app"].outputs["choices"][0]["message"]["content"] == answer
    other = mlflow.set_active_model(name="another_app")
    assert other.model_id != tracked_model.model_id
    assert len(mlflow.search_traces(model_id=other.model_id)) == 0
