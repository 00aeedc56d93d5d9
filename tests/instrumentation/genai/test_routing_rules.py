"""``annotrace.genai`` routing rules against a real collector, as a user writes them: create a rule, run
the instrumented app, list the session's items. No flush, sleep or poll: the collector adds a routed
trace before it counts the export as stored, reads wait for that (the read barrier), and the SDK's
reads (``annotrace.sql`` here) first export what the process has ended."""

from __future__ import annotations

import re

import pytest

import annotrace as mlflow
from annotrace import genai
from annotrace.genai import labeling
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app  # noqa: F401  (fixture)


@mlflow.trace(name="triage")
def triage(question: str) -> str:
    return question.upper()


@mlflow.trace(name="chitchat")
def chitchat(question: str) -> str:
    return question


def _run(fn: object, text: str) -> str:
    fn(text)  # type: ignore[operator]
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    return trace_id


def _sources(session: labeling.LabelingSession) -> list[str]:
    """The session's items (source trace ids) in the order they were added, read through the SDK as
    the app's own process reads: an SDK call first exports the spans this process has ended. (A raw
    HTTP read from here, ``collector.sql``, could overtake that export on the SDK's background
    thread: the collector's read barrier covers only what it has acknowledged.)"""
    frame = mlflow.sql(
        f"SELECT source_trace_id FROM labeling_items WHERE session_id = '{session.mlflow_run_id}' ORDER BY position"
    )
    return [str(t) for t in frame["source_trace_id"]]


def _in_sample(trace_id: str, rate: float) -> bool:
    """OpenTelemetry's TraceIdRatioBased rule, written out independently of the collector's code."""
    return int(trace_id.removeprefix("tr-")[16:], 16) < rate * 2**64


def test_a_matching_trace_joins_the_session_when_it_arrives_and_others_do_not(app: Collector) -> None:  # noqa: F811
    before = _run(triage, "stored before the rule")
    session = labeling.create_labeling_session("triage")
    rule = genai.create_routing_rule(session, filter_string="trace.name = 'triage'")
    assert (rule.filter_string, rule.sql, rule.sample_rate, rule.max_traces, rule.traces_added) == (
        "trace.name = 'triage'",
        None,
        1.0,
        None,
        0,
    )
    first = _run(triage, "why is my bill high?")
    _run(chitchat, "hello")
    second = _run(triage, "refund please")
    assert _sources(session) == [first, second]  # not `before`: rules see only traces that arrive later
    copies = mlflow.search_traces(run_id=session.mlflow_run_id, return_type="list")
    assert sorted(t.info.trace_metadata["annotrace.source_trace_id"] for t in copies) == sorted([first, second])
    assert [r.traces_added for r in genai.list_routing_rules(session)] == [2]
    assert before not in _sources(session)


def test_sampling_keeps_the_same_traces_every_time(app: Collector) -> None:  # noqa: F811
    session = labeling.create_labeling_session("sampled")
    genai.create_routing_rule(session, filter_string="trace.name = 'triage'", sample_rate=0.5)
    ids = [_run(triage, f"q{i}") for i in range(16)]
    kept = [t for t in ids if _in_sample(t, 0.5)]
    assert _sources(session) == kept
    # a second session with the same rate picks exactly the same traces of the next ones
    other = labeling.create_labeling_session("sampled again")
    genai.create_routing_rule(other, filter_string="trace.name = 'triage'", sample_rate=0.5)
    more = [_run(triage, f"r{i}") for i in range(8)]
    again = [t for t in more if _in_sample(t, 0.5)]
    assert _sources(other) == again
    assert _sources(session) == kept + again


def test_the_cap_stops_a_rule_and_a_trace_is_never_added_twice(app: Collector) -> None:  # noqa: F811
    session = labeling.create_labeling_session("capped")
    capped = genai.create_routing_rule(session, filter_string="trace.name = 'triage'", max_traces=2)
    overlapping = genai.create_routing_rule(session, sql="SELECT trace_id FROM spans WHERE name = 'triage'")
    ids = [_run(triage, f"q{i}") for i in range(4)]
    assert _sources(session) == ids  # each once, though both rules match the first two
    counts = {r.rule_id: r.traces_added for r in genai.list_routing_rules(session)}
    assert counts == {capped.rule_id: 2, overlapping.rule_id: 2}
    session.add_traces([ids[0]])  # by hand: already there, a no-op
    assert _sources(session) == ids


def test_a_removed_rule_adds_nothing_more(app: Collector) -> None:  # noqa: F811
    session = labeling.create_labeling_session("removed")
    rule = genai.create_routing_rule(session, filter_string="trace.name = 'triage'")
    kept = _run(triage, "kept")
    genai.delete_routing_rule(session, rule)
    _run(triage, "not routed")
    assert genai.list_routing_rules(session) == []
    assert _sources(session) == [kept]
    with pytest.raises(mlflow.MlflowException, match=f"Routing rule '{rule.rule_id}' not found"):
        genai.delete_routing_rule(session, rule.rule_id)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter_string": "trace.colour = 'red'"}, "unknown trace attribute 'colour'"),
        ({"filter_string": "trace.name = "}, "Invalid clause(s) in filter string"),
        ({}, "Give exactly one of parameters 'filter' and 'sql'"),
        ({"filter_string": "trace.name = 'a'", "sql": "SELECT 1"}, "Give exactly one of parameters 'filter' and 'sql'"),
        ({"sql": "DELETE FROM traces"}, "Invalid value for parameter 'sql': Only read-only queries are allowed"),
        (
            {"sql": "SELECT name FROM spans"},
            "Invalid value for parameter 'sql': the query must return a trace_id column",
        ),
        ({"sql": "SELECT trace_id FROM nowhere"}, "Invalid value for parameter 'sql': Catalog Error"),
        ({"filter_string": "trace.name = 'a'", "sample_rate": 0}, "parameter 'sample_rate': must be above 0"),
        ({"filter_string": "trace.name = 'a'", "sample_rate": 1.5}, "parameter 'sample_rate': must be above 0"),
        (
            {"filter_string": "trace.name = 'a'", "max_traces": 0},
            "Invalid value 0 for parameter 'max_traces': must be between 1 and",
        ),
    ],
)
def test_a_rule_that_cannot_run_is_refused_with_the_reason(
    app: Collector,  # noqa: F811
    kwargs: dict[str, object],
    message: str,
) -> None:
    session = labeling.create_labeling_session("bad rules")
    with pytest.raises(mlflow.MlflowException, match=re.escape(message)) as caught:
        genai.create_routing_rule(session, **kwargs)  # type: ignore[arg-type]
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert genai.list_routing_rules(session) == []


def test_deleting_the_session_deletes_its_rules(app: Collector) -> None:  # noqa: F811
    session = labeling.create_labeling_session("short-lived")
    genai.create_routing_rule(session, filter_string="trace.name = 'triage'")
    labeling.delete_labeling_session(session)
    after = _run(triage, "after the session is gone")  # no session to add it to, and ingest goes on
    stored = mlflow.sql(  # through the SDK, as the app's process reads: it first exports the trace above
        f"SELECT (SELECT count(*) FROM routing_rules WHERE session_id = '{session.mlflow_run_id}') AS rules, "
        f"(SELECT count(*) FROM traces WHERE trace_id = '{after}') AS traces"
    )
    assert stored.to_dict("records") == [{"rules": 0, "traces": 1}]
    with pytest.raises(mlflow.MlflowException, match="not found"):
        genai.list_routing_rules(session)
