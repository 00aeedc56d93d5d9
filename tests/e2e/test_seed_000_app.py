"""Seed 000 ("collect domain-expert feedback") run as its user runs it: the seed's script, verbatim
but for ``mlflow`` -> ``annotrace`` and where it sends things (``tests/e2e/seed_000.py``), in its
own process against a fresh collector, with the local fake LLM standing in for OpenAI.

The script calls ``search_traces(model_id=...)`` on the line after its second ``my_app`` call and
hands the result to ``add_traces``; both traces must be there, with nothing flushed, slept or
polled. Then everything the Review App needs is checked: the session's queue, the retriever's
``documents`` rows, the chat span's ``messages`` / model / provider / tokens, the trace's request
and response previews and its ``mlflow.modelId`` metadata.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.collector_process import Collector
from tests.e2e.seed_000 import run_seed_000
from tests.fakes.llm import FakeLLM, answer_for, count_tokens

JOHN_DOE = [
    (
        "conversation_123",
        "John Doe mentioned issues with login on July 10th. Expressed interest in feature X.",
        "http://domain.com/conversations/123",
    ),
    (
        "conversation_124",
        "Follow-up call with John Doe on July 12th. Login issue resolved. Discussed pricing for feature X.",
        "http://domain.com/conversations/124",
    ),
]
ACME = [
    (
        "ticket_987",
        "Acme Corp raised a critical P0 bug regarding their main dashboard on July 15th.",
        "http://domain.com/tickets/987",
    )
]
QUESTIONS = [("what issues does john doe have?", JOHN_DOE), ("what issues does acme corp have?", ACME)]


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as running:
        yield running


def _check_trace(
    collector: Collector,
    trace_id: str,
    question: str,
    documents: list[tuple[str, str, str]],
    sent: list[dict[str, str]],
    answer: str,
    model_id: str,
) -> None:
    where = f"trace_id = '{trace_id}'"
    assert collector.sql(f"SELECT count(*) AS n FROM spans WHERE {where}") == [{"n": 3}]

    # The retriever: one RETRIEVER span, its Documents as rows.
    (retriever,) = collector.sql(f"SELECT span_id, name FROM spans WHERE {where} AND span_type = 'RETRIEVER'")
    assert retriever["name"] == "retrieve_docs"
    rows = collector.sql(
        f"SELECT position, document_id, content, doc_uri, metadata FROM documents WHERE {where} ORDER BY position"
    )
    assert rows == [
        {
            "position": p,
            "document_id": d,
            "content": c,
            "doc_uri": u,
            "metadata": json.dumps({"doc_uri": u}, separators=(",", ":")),
        }
        for p, (d, c, u) in enumerate(documents)
    ]
    assert {r["span_id"] for r in collector.sql(f"SELECT span_id FROM documents WHERE {where}")} == {
        retriever["span_id"]
    }

    # The chat span: model, provider, tokens as the fake counted them, the messages in order.
    (chat,) = collector.sql(
        f"SELECT span_id, name, span_type, model, provider, input_tokens, output_tokens, total_tokens, "
        f"inputs IS NOT NULL AS has_inputs, outputs IS NOT NULL AS has_outputs "
        f"FROM spans WHERE {where} AND span_type IN ('CHAT_MODEL', 'LLM')"
    )
    prompt_tokens = sum(count_tokens(m["content"]) for m in sent)
    assert chat == {
        "span_id": chat["span_id"],
        "name": "chat gpt-4o-mini",
        "span_type": "CHAT_MODEL",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "input_tokens": prompt_tokens,
        "output_tokens": count_tokens(answer),
        "total_tokens": prompt_tokens + count_tokens(answer),
        "has_inputs": True,
        "has_outputs": True,
    }
    messages = collector.sql(
        f"SELECT span_id, direction, position, role, content, tool_calls FROM messages "
        f"WHERE {where} ORDER BY direction, position"
    )
    assert messages == [
        {
            "span_id": chat["span_id"],
            "direction": "input",
            "position": 0,
            "role": "system",
            "content": "You are a helpful assistant!",
            "tool_calls": None,
        },
        {
            "span_id": chat["span_id"],
            "direction": "input",
            "position": 1,
            "role": "user",
            "content": sent[1]["content"],
            "tool_calls": None,
        },
        {
            "span_id": chat["span_id"],
            "direction": "output",
            "position": 0,
            "role": "assistant",
            "content": answer,
            "tool_calls": None,
        },
    ]
    assert all(doc_text in sent[1]["content"] for _, doc_text, _ in documents)

    # The trace: root my_app, its request/response and previews, the active model's id.
    (trace,) = collector.sql(
        "SELECT t.name, t.state, t.span_count, t.request, t.response, t.request_preview, t.response_preview, "
        "t.trace_metadata, t.input_tokens, t.output_tokens, s.span_id AS root "
        f"FROM traces t JOIN spans s ON s.trace_id = t.trace_id AND s.parent_span_id IS NULL WHERE t.{where}"
    )
    assert (trace["name"], trace["state"], trace["span_count"]) == ("my_app", "OK", 3)
    assert json.loads(trace["request"]) == {"messages": [{"role": "user", "content": question}]}
    response = json.loads(trace["response"])
    assert response["object"] == "chat.completion"
    assert response["choices"][0]["message"] == {
        **response["choices"][0]["message"],
        "role": "assistant",
        "content": answer,
    }
    assert trace["request_preview"] == question  # the last user message, as MLflow shows it
    assert trace["response_preview"] == answer  # the assistant message of the first choice
    assert json.loads(trace["trace_metadata"])["mlflow.modelId"] == model_id
    assert (trace["input_tokens"], trace["output_tokens"]) == (prompt_tokens, count_tokens(answer))
    parents = collector.sql(f"SELECT DISTINCT parent_span_id FROM spans WHERE {where} AND parent_span_id IS NOT NULL")
    assert parents == [{"parent_span_id": trace["root"]}]


def test_seed_000_runs_verbatim_and_the_review_app_has_both_traces(
    fresh_collector: Callable[..., Collector], llm: FakeLLM
) -> None:
    collector = fresh_collector()
    seen = run_seed_000(collector, llm)

    # search_traces(model_id=...) on the line after the app ran: both traces, newest first
    assert len(seen["traces"]) == 2
    (experiment,) = collector.sql("SELECT experiment_id FROM experiments WHERE name = '/Shared/docs-demo'")
    stored = collector.sql(
        f"SELECT trace_id FROM traces WHERE experiment_id = '{experiment['experiment_id']}' "
        "AND trace_metadata->>'$.\"annotrace.source_trace_id\"' IS NULL ORDER BY request_time DESC"
    )
    assert seen["traces"] == [row["trace_id"] for row in stored]
    # step 6 (search_traces(run_id=...)): the session's copies of both
    assert len(seen["labeled"]) == 2 and not set(seen["labeled"]) & set(seen["traces"])

    # add_traces added both: the Review App's queue has them
    with httpx.Client(timeout=30, cookies={"annotrace_user": "expert@example.com"}) as browser:
        queue = browser.get(f"{seen['url']}.json")
        assert queue.status_code == 200, queue.text
        page = queue.json()
        assert page["session_name"] == "label_summaries"
        assert page["progress"]["total"] == 2 and page["item"] is not None
        assert [q["name"] for q in page["questions"]] == ["summary_quality", "expected_summary"]

    # what the LLM was sent and answered, and what the store keeps of each run
    sent = [request["body"]["messages"] for request in llm.requests]
    assert len(sent) == 2 and seen["answers"] == [answer_for(messages) for messages in sent]
    for trace_id, (question, documents), messages, answer in zip(
        reversed(seen["traces"]), QUESTIONS, sent, seen["answers"], strict=True
    ):
        _check_trace(collector, trace_id, question, documents, messages, answer, seen["model_id"])
