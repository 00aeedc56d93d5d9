"""SearchTracesV3 over REST: each filter operator against traces ingested over OTLP with known
names, status, times, spans, tags (set through the API) and assessments; ordering; paging; and
the refusals, which name the parameter."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.collector.api.rest import STATUS_ERROR, Traced, assert_error, ingest_trace
from tests.collector_process import Collector

SEARCH = "/api/3.0/mlflow/traces/search"
T0_MS = 1_700_000_000_000


@dataclass
class Dataset:
    experiment_id: str
    t1: Traced
    t2: Traced
    t3: Traced
    t4: Traced

    def ids(self, *names: str) -> set[str]:
        return {getattr(self, name).trace_id for name in names}


def _assess(api: httpx.Client, trace: Traced, name: str, kind: str, value: object, overrides: str | None = None) -> str:
    assessment: dict[str, object] = {
        "assessment_name": name,
        kind: {"value": value},
        "source": {"source_type": "HUMAN", "source_id": "tester"},
    }
    if overrides:
        assessment["overrides"] = overrides
    response = api.post(f"/api/3.0/mlflow/traces/{trace.trace_id}/assessments", json={"assessment": assessment})
    assert response.status_code == 200, response.text
    assessment_id: str = response.json()["assessment"]["assessment_id"]
    return assessment_id


def _tag(api: httpx.Client, trace: Traced, key: str, value: str) -> None:
    assert api.patch(f"/api/2.0/mlflow/traces/{trace.trace_id}/tags", json={"key": key, "value": value}).json() == {}


@pytest.fixture(scope="module")
def client(collector: Collector) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=collector.web, timeout=30) as api:
        yield api


@pytest.fixture(scope="module")
def data(collector: Collector, client: httpx.Client) -> Dataset:
    """Four traces:

    t1 alpha   OK     t0        tags env=prod, team.name=search; quality 5; expected_answer 'Paris';
                                spans retrieve (RETRIEVER, category=docs) about a refund policy
    t2 beta    ERROR  t0 + 1 s  tags env=dev; quality 2; correctness 'yes'; span tool
    t3 gamma   OK     t0 + 2 s  quality 4 overridden by quality 1
    t4 alpha-2 OK     t0 + 3 s  2 s long; is_helpful true
    """
    experiment_id = client.post(
        "/api/2.0/mlflow/experiments/create", json={"name": f"search-{uuid.uuid4().hex}"}
    ).json()["experiment_id"]
    ms = 1_000_000
    t1 = ingest_trace(
        collector,
        experiment_id,
        name="alpha",
        start_ns=T0_MS * ms,
        attributes={"input.value": "What is the refund policy?"},
        children=[("retrieve", {"mlflow.spanType": "RETRIEVER", "category": "docs"})],
    )
    t2 = ingest_trace(
        collector,
        experiment_id,
        name="beta",
        status=STATUS_ERROR,
        start_ns=(T0_MS + 1000) * ms,
        children=[("tool", {"tool.name": "calculator"})],
    )
    t3 = ingest_trace(collector, experiment_id, name="gamma", start_ns=(T0_MS + 2000) * ms)
    t4 = ingest_trace(collector, experiment_id, name="alpha-2", start_ns=(T0_MS + 3000) * ms, duration_ms=2000)
    _tag(client, t1, "env", "prod")
    _tag(client, t1, "team.name", "search")
    _tag(client, t2, "env", "dev")
    _assess(client, t1, "quality", "feedback", 5)
    _assess(client, t1, "expected_answer", "expectation", "Paris")
    _assess(client, t2, "quality", "feedback", 2)
    _assess(client, t2, "correctness", "feedback", "yes")
    overridden = _assess(client, t3, "quality", "feedback", 4)
    _assess(client, t3, "quality", "feedback", 1, overrides=overridden)
    _assess(client, t4, "is_helpful", "feedback", True)
    return Dataset(experiment_id, t1, t2, t3, t4)


def search(client: httpx.Client, data: Dataset, filter_string: str | None = None, **extra: object) -> list[str]:
    body: dict[str, object] = {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": data.experiment_id}}],
        **extra,
    }
    if filter_string is not None:
        body["filter"] = filter_string
    response = client.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    return [t["trace_id"] for t in response.json()["traces"]]


FILTERS: list[tuple[str, tuple[str, ...]]] = [
    # trace attributes
    ("trace.status = 'OK'", ("t1", "t3", "t4")),
    ("attributes.status = 'ERROR'", ("t2",)),
    ("status != 'OK'", ("t2",)),
    ("trace.status IN ('OK', 'ERROR')", ("t1", "t2", "t3", "t4")),
    ("trace.status NOT IN ('OK')", ("t2",)),
    ("trace.name = 'alpha'", ("t1",)),
    ("trace.name != 'alpha'", ("t2", "t3", "t4")),
    ("trace.name LIKE 'alpha%'", ("t1", "t4")),
    ("trace.name ILIKE 'ALPHA%'", ("t1", "t4")),
    ("trace.name RLIKE '^(beta|gamma)$'", ("t2", "t3")),
    ("trace.name IN ('beta', 'gamma')", ("t2", "t3")),
    ('tag.`mlflow.traceName` = "gamma"', ("t3",)),
    (f"trace.timestamp_ms > {T0_MS + 500}", ("t2", "t3", "t4")),
    (f"trace.timestamp_ms >= {T0_MS + 1000}", ("t2", "t3", "t4")),
    (f"trace.timestamp_ms < {T0_MS + 1000}", ("t1",)),
    (f"trace.timestamp_ms <= {T0_MS + 1000}", ("t1", "t2")),
    (f"trace.timestamp_ms = {T0_MS + 2000}", ("t3",)),
    (f"trace.timestamp_ms != {T0_MS + 2000}", ("t1", "t2", "t4")),
    (f"timestamp > {T0_MS + 2500}", ("t4",)),
    ("trace.execution_time_ms > 1000", ("t4",)),
    (f"trace.end_time_ms > {T0_MS + 3000}", ("t4",)),
    ("trace.run_id = 'run-1'", ()),
    # tags (set through the API)
    ("tags.env = 'prod'", ("t1",)),
    ("tag.env != 'prod'", ("t2",)),
    ("tags.env IS NULL", ("t3", "t4")),
    ("tags.env IS NOT NULL", ("t1", "t2")),
    ("tags.env LIKE 'pr%'", ("t1",)),
    ("tags.env ILIKE 'DE%'", ("t2",)),
    ("tags.env RLIKE '^(prod|dev)$'", ("t1", "t2")),
    ("tags.`team.name` = 'search'", ("t1",)),
    ("tags.team.name = 'search'", ("t1",)),
    ("metadata.`mlflow.sourceRun` IS NULL", ("t1", "t2", "t3", "t4")),
    ("request_metadata.session IS NOT NULL", ()),
    # spans
    ("span.name = 'retrieve'", ("t1",)),
    ("span.name != 'alpha'", ("t1", "t2", "t3", "t4")),
    ("span.name IN ('retrieve', 'tool')", ("t1", "t2")),
    ("span.name NOT IN ('alpha', 'beta', 'gamma', 'alpha-2', 'tool')", ("t1",)),
    ("span.name LIKE 'ret%'", ("t1",)),
    ("span.name ILIKE 'TO%'", ("t2",)),
    ("span.name RLIKE 'ie'", ("t1",)),
    ("span.status = 'ERROR'", ("t2",)),
    ("span.attributes.category = 'docs'", ("t1",)),
    ("span.attributes.`tool.name` = 'calculator'", ("t2",)),
    ("span.content ILIKE '%REFUND%'", ("t1",)),
    ("span.content LIKE '%calculator%'", ("t2",)),
    ("trace.text ILIKE '%refund%'", ("t1",)),
    ("trace.text LIKE '%nothing like this%'", ()),
    # assessments: only valid ones count (t3's overridden 4 does not)
    ("feedback.quality >= 4", ("t1",)),
    ("feedback.quality > 1", ("t1", "t2")),
    ("feedback.quality < 2", ("t3",)),
    ("feedback.quality <= 2", ("t2", "t3")),
    ("feedback.quality = 5", ("t1",)),
    ("feedback.quality != 5", ("t2", "t3")),
    ("feedback.quality = '2'", ("t2",)),
    ("feedback.correctness = 'yes'", ("t2",)),
    ("feedback.correctness != 'no'", ("t2",)),
    ("feedback.correctness LIKE 'y%'", ("t2",)),
    ("feedback.correctness ILIKE 'Y%'", ("t2",)),
    ("feedback.correctness RLIKE '^ye'", ("t2",)),
    ("feedback.is_helpful = 'true'", ("t4",)),
    ("feedback.correctness IN ('yes', 'maybe')", ("t2",)),  # IN: an annotrace extension
    ("feedback.quality IS NULL", ("t4",)),
    ("feedback.quality IS NOT NULL", ("t1", "t2", "t3")),
    ("expectation.expected_answer IS NOT NULL", ("t1",)),
    ("expectation.expected_answer = 'Paris'", ("t1",)),
    ("expectation.quality IS NOT NULL", ()),
    # conjunctions, and OR / parentheses (annotrace extension)
    ("trace.status = 'OK' AND feedback.quality >= 4", ("t1",)),
    ("trace.status = 'OK' and tags.env IS NULL and feedback.quality IS NOT NULL", ("t3",)),
    ("trace.name = 'beta' OR tags.env = 'prod'", ("t1", "t2")),
    ("(trace.name = 'beta' OR trace.name = 'gamma') AND trace.status = 'OK'", ("t3",)),
    # user text is bound, never SQL
    ("tags.env = 'x'' OR 1=1 --'", ()),
    ("tags.`a') OR true --` = 'x'", ()),
]


@pytest.mark.parametrize(("filter_string", "expected"), FILTERS, ids=[f[0] for f in FILTERS])
def test_filter(client: httpx.Client, data: Dataset, filter_string: str, expected: tuple[str, ...]) -> None:
    assert set(search(client, data, filter_string)) == data.ids(*expected)


def test_filter_by_request_id_with_or_without_prefix(client: httpx.Client, data: Dataset) -> None:
    assert search(client, data, f"trace.request_id = '{data.t2.hex}'") == [data.t2.trace_id]
    assert search(client, data, f"request_id IN ('{data.t1.trace_id}', '{data.t3.hex}')") == [
        data.t3.trace_id,
        data.t1.trace_id,
    ]


def test_span_type_filter(client: httpx.Client, collector: Collector, data: Dataset) -> None:
    """The stored span type of the retriever span (RETRIEVER when the genai processor runs)
    selects exactly the traces that have a span of that type."""
    stored = collector.sql(f"SELECT span_type FROM spans WHERE span_id = '{data.t1.child_span_ids[0]}'")[0]["span_type"]
    having = collector.sql(
        "SELECT DISTINCT trace_id FROM spans WHERE trace_id IN "
        f"('{data.t1.trace_id}', '{data.t2.trace_id}', '{data.t3.trace_id}', '{data.t4.trace_id}') "
        f"AND span_type = '{stored}'"
    )
    assert set(search(client, data, f"span.type = '{stored}'")) == {row["trace_id"] for row in having}
    if stored == "RETRIEVER":
        assert search(client, data, "span.type = 'RETRIEVER'") == [data.t1.trace_id]
    assert search(client, data, "span.type = 'NO_SUCH_TYPE'") == []


def test_results_carry_trace_info_with_assessments(client: httpx.Client, data: Dataset) -> None:
    body = {"experiment_ids": [data.experiment_id], "filter": "trace.name = 'gamma'"}
    (info,) = client.post(SEARCH, json=body).json()["traces"]
    assert info["trace_id"] == data.t3.trace_id
    assert sorted(a["valid"] for a in info["assessments"]) == [False, True]  # MLflow returns invalid ones too
    assert info["tags"]["mlflow.trace.spansLocation"] == "TRACKING_STORE"


def test_order_by(client: httpx.Client, data: Dataset) -> None:
    assert search(client, data) == [data.t4.trace_id, data.t3.trace_id, data.t2.trace_id, data.t1.trace_id]
    assert search(client, data, order_by=["trace.name ASC"]) == [
        data.t1.trace_id,
        data.t4.trace_id,
        data.t2.trace_id,
        data.t3.trace_id,
    ]
    assert search(client, data, order_by=["timestamp_ms"]) == [
        data.t1.trace_id,
        data.t2.trace_id,
        data.t3.trace_id,
        data.t4.trace_id,
    ]
    assert search(client, data, order_by=["execution_time_ms DESC", "status DESC"])[:1] == [data.t4.trace_id]


def test_paging_with_page_token(client: httpx.Client, data: Dataset) -> None:
    body: dict[str, object] = {
        "experiment_ids": [data.experiment_id],
        "max_results": 3,
        "filter": "trace.status IN ('OK', 'ERROR')",
    }
    first = client.post(SEARCH, json=body).json()
    assert len(first["traces"]) == 3 and first["next_page_token"]
    second = client.post(SEARCH, json={**body, "page_token": first["next_page_token"]}).json()
    assert [t["trace_id"] for t in second["traces"]] == [data.t1.trace_id]
    assert "next_page_token" not in second
    seen = [t["trace_id"] for t in first["traces"] + second["traces"]]
    assert seen == [data.t4.trace_id, data.t3.trace_id, data.t2.trace_id, data.t1.trace_id]
    ones, token = [], None
    while True:
        page = client.post(SEARCH, json={**body, "max_results": 1, **({"page_token": token} if token else {})}).json()
        ones += [t["trace_id"] for t in page["traces"]]
        token = page.get("next_page_token")
        if token is None:
            break
    assert ones == seen
    # a token only fits the search it came from
    assert_error(
        client.post(SEARCH, json={**body, "filter": "trace.status = 'OK'", "page_token": first["next_page_token"]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "page_token",
    )
    assert_error(
        client.post(SEARCH, json={**body, "page_token": "garbage!"}), 400, "INVALID_PARAMETER_VALUE", "page_token"
    )


def test_unknown_experiment_has_no_traces(client: httpx.Client) -> None:
    response = client.post(SEARCH, json={"experiment_ids": ["987654321"]})
    assert response.status_code == 200 and response.json() == {"traces": []}


BAD_FILTERS = [
    ("trace.status =", "filter"),
    ("trace.status = 'OK' AND", "filter"),
    ("OR trace.status = 'OK'", "filter"),
    ("trace.status = 'OK", "filter"),
    ("trace.status ~ 'OK'", "filter"),
    ("(trace.status = 'OK'", "filter"),
    ("foo.bar = 'x'", "foo"),
    ("trace.colour = 'red'", "colour"),
    ("trace.timestamp_ms > 'soon'", "trace.timestamp_ms"),
    ("trace.name > 'a'", "trace.name"),
    ("trace.name = 5", "trace.name"),
    ("trace.prompt IN ('a')", "trace.prompt"),
    ("trace.text = 'refund'", "trace.text"),
    ("tags.env IN ('a', 'b')", "tags.env"),
    ("tags.env > 3", "tags.env"),
    ("span.content = 'x'", "span.content"),
    ("span.colour = 'x'", "colour"),
    ("feedback.quality > 'high'", "feedback.quality"),
    ("feedback.quality LIKE 4", "feedback.quality"),
    ("trace.name RLIKE '('", "filter"),
    ("issue.id = 'x'", "issue"),
]


@pytest.mark.parametrize(("filter_string", "word"), BAD_FILTERS, ids=[b[0] for b in BAD_FILTERS])
def test_bad_filter_is_400_naming_the_problem(
    client: httpx.Client, data: Dataset, filter_string: str, word: str
) -> None:
    response = client.post(SEARCH, json={"experiment_ids": [data.experiment_id], "filter": filter_string})
    assert_error(response, 400, "INVALID_PARAMETER_VALUE", word)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ("'locations'",)),
        ({"locations": "1"}, ("'locations'",)),
        ({"locations": [{"type": "INFERENCE_TABLE"}]}, ("locations[0].type",)),
        ({"locations": [{"type": "MLFLOW_EXPERIMENT"}]}, ("locations[0].mlflow_experiment",)),
        ({"locations": [{"mlflow_experiment": {}}]}, ("locations[0].mlflow_experiment.experiment_id",)),
        ({"experiment_ids": [1]}, ("'experiment_ids'",)),
        ({"experiment_ids": ["0"], "max_results": 501}, ("'max_results'", "500")),
        ({"experiment_ids": ["0"], "max_results": 0}, ("'max_results'",)),
        ({"experiment_ids": ["0"], "max_results": "many"}, ("'max_results'",)),
        ({"experiment_ids": ["0"], "filter": 3}, ("'filter'",)),
        ({"experiment_ids": ["0"], "order_by": ["colour DESC"]}, ("'order_by'", "colour")),
        ({"experiment_ids": ["0"], "order_by": ["name; DROP TABLE traces"]}, ("'order_by'",)),
        ({"experiment_ids": ["0"], "order_by": "name"}, ("'order_by'",)),
    ],
)
def test_bad_search_request_is_400_naming_the_field(
    client: httpx.Client, body: dict[str, object], words: tuple[str, ...]
) -> None:
    assert_error(client.post(SEARCH, json=body), 400, "INVALID_PARAMETER_VALUE", *words)
