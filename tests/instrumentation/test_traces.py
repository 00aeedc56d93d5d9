"""``search_traces``/``get_trace``: experiment resolution, paging, filters, MLflow's DataFrame and messages."""

from __future__ import annotations

import logging

import pytest

import annotrace
from annotrace.client import traces as client
from annotrace.entities import Trace
from annotrace.exceptions import MlflowException
from tests.instrumentation.entities.test_trace import REST_TRACE, TRACE_ID, TRACE_INFO_JSON
from tests.instrumentation.scripted_server import Recorded, Reply, ScriptedServer

SEARCH = "/api/3.0/mlflow/traces/search"
BATCH = "/api/3.0/mlflow/traces/batchGet"
BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
COLUMNS = [
    "trace_id",
    "trace",
    "client_request_id",
    "state",
    "request_time",
    "execution_duration",
    "request",
    "response",
    "trace_metadata",
    "tags",
    "spans",
    "assessments",
]


def info(n: int) -> dict[str, object]:
    return {**TRACE_INFO_JSON, "trace_id": f"tr-{n:032x}"}


def paged(infos: list[dict[str, object]]) -> object:
    """A search endpoint that pages ``infos`` by the requested max_results (token = offset)."""

    def answer(request: Recorded) -> Reply:
        offset = int(request.body.get("page_token") or 0)
        size = request.body["max_results"]
        out: dict[str, object] = {"traces": infos[offset : offset + size]}
        if offset + size < len(infos):
            out["next_page_token"] = str(offset + size)
        return Reply(200, out)

    return answer


def batch(request: Recorded) -> Reply:
    return Reply(
        200,
        {
            "traces": [
                {**REST_TRACE, "trace_info": {**TRACE_INFO_JSON, "trace_id": tid}} for tid in request.query["trace_ids"]
            ]
        },
    )


def locations(request: Recorded) -> list[str]:
    return [loc["mlflow_experiment"]["experiment_id"] for loc in request.body["locations"]]


def test_default_experiment_is_mlflows_default(server: ScriptedServer) -> None:
    server.route("POST", SEARCH, Reply(200, {"traces": []}))
    df = annotrace.search_traces()
    assert list(df.columns) == COLUMNS and len(df) == 0
    assert locations(server.requests[0]) == ["0"]
    assert server.requests[0].body == {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}}],
        "max_results": 500,
    }


def test_set_experiment_by_name_is_resolved(server: ScriptedServer) -> None:
    server.route("GET", BY_NAME, Reply(200, {"experiment": {"experiment_id": "7", "name": "my app"}}))
    server.route("POST", SEARCH, Reply(200, {"traces": []}))
    annotrace.set_experiment("my app")  # found: nothing to create
    annotrace.search_traces(include_spans=False)
    assert [request.path for request in server.requests] == [BY_NAME, BY_NAME, SEARCH]
    assert server.requests[1].query == {"experiment_name": ["my app"]}
    assert locations(server.requests[2]) == ["7"]
    annotrace.set_experiment(experiment_id="9")
    annotrace.search_traces(include_spans=False)
    assert locations(server.requests[-1]) == ["9"]


def test_missing_experiment_gives_mlflows_message(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.route(
        "GET",
        BY_NAME,
        Reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Could not find experiment with name 'nope'"}),
    )
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "nope")  # chosen, never created
    with pytest.raises(MlflowException, match="Could not find experiment with name 'nope'") as caught:
        annotrace.search_traces()
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_locations_win_over_experiment_ids(server: ScriptedServer) -> None:
    server.route("POST", SEARCH, Reply(200, {"traces": []}))
    annotrace.search_traces(experiment_ids=["1"], locations=["2", "3"])
    annotrace.search_traces(experiment_ids=["1"])
    assert [locations(r) for r in server.requests] == [["2", "3"], ["1"]]


def test_pages_until_max_results(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "MAX_PAGE_SIZE", 2)
    server.route("POST", SEARCH, paged([info(n) for n in range(5)]))
    server.route("GET", BATCH, batch)
    df = annotrace.search_traces(max_results=3, filter_string="trace.status = 'OK'", order_by=["timestamp_ms ASC"])
    searches = [r.body for r in server.requests if r.path == SEARCH]
    assert [(b["max_results"], b.get("page_token")) for b in searches] == [(2, None), (1, "2")]
    assert all(b["filter"] == "trace.status = 'OK'" and b["order_by"] == ["timestamp_ms ASC"] for b in searches)
    assert list(df.trace_id) == [f"tr-{n:032x}" for n in range(3)]
    fetched = [r.query["trace_ids"] for r in server.requests if r.path == BATCH]
    assert fetched == [[f"tr-{n:032x}" for n in range(3)]]
    everything = annotrace.search_traces(include_spans=False, return_type="list")
    assert len(everything) == 5 and all(t.data.spans == [] for t in everything)


def test_dataframe_rows(server: ScriptedServer) -> None:
    server.route("POST", SEARCH, Reply(200, {"traces": [TRACE_INFO_JSON]}))
    server.route("GET", BATCH, batch)
    df = annotrace.search_traces()
    assert list(df.columns) == COLUMNS
    row = df.iloc[0]
    expected = Trace.from_rest(REST_TRACE).to_pandas_dataframe_row()
    assert row["trace_id"] == TRACE_ID
    assert row["state"] == "OK"
    assert (row["request_time"], row["execution_duration"]) == (1700000000000, 250)
    assert row["request"] == {"query": "hi"}
    assert row["spans"] == expected["spans"]
    assert row["assessments"] == expected["assessments"]
    traces = annotrace.search_traces(return_type="list")
    assert isinstance(traces[0], Trace) and len(traces[0].data.spans) == 2


def test_extract_fields(server: ScriptedServer) -> None:
    server.route("POST", SEARCH, Reply(200, {"traces": [TRACE_INFO_JSON]}))
    server.route("GET", BATCH, batch)
    df = annotrace.search_traces(extract_fields=["retrieve.inputs.query", "predict.outputs", "missing.inputs"])
    assert list(df.columns) == [*COLUMNS, "retrieve.inputs.query", "predict.outputs", "missing.inputs"]
    assert (df.iloc[0]["retrieve.inputs.query"], df.iloc[0]["predict.outputs"]) == ("hi", 42)
    assert df.iloc[0]["missing.inputs"] is None
    with pytest.raises(MlflowException, match="Field must be of the form"):
        annotrace.search_traces(extract_fields=["retrieve.params"])


def test_model_id_and_run_id_filters(server: ScriptedServer) -> None:
    server.route("POST", SEARCH, Reply(200, {"traces": []}))
    annotrace.search_traces(model_id="m-1")
    annotrace.search_traces(run_id="r-1")
    annotrace.search_traces(run_id="r'2", filter_string="tag.a = 'b'")
    assert [r.body["filter"] for r in server.requests] == [
        "request_metadata.`mlflow.modelId` = 'm-1'",
        "metadata.`mlflow.sourceRun` = 'r-1'",
        "tag.a = 'b' AND metadata.`mlflow.sourceRun` = 'r\\'2'",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"return_type": "arrow"}, "Invalid return type: arrow. Return type must be either 'pandas' or 'list'."),
        (
            {"return_type": "list", "extract_fields": ["a.inputs"]},
            "The `extract_fields` parameter is only supported when return type is set to 'pandas'.",
        ),
        (
            {"model_id": "m", "filter_string": "tag.a = 'b'"},
            "Cannot specify both `model_id` or `filter_string` in the search_traces call.",
        ),
        (
            {"run_id": "r", "filter_string": "metadata.`mlflow.sourceRun` = 'x'"},
            "You cannot filter by run_id when it is already part of the filter string.",
        ),
        ({"max_results": 0}, "it must be a positive integer"),
    ],
)
def test_argument_errors(server: ScriptedServer, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(MlflowException) as caught:
        annotrace.search_traces(**kwargs)  # type: ignore[arg-type]
    assert message in caught.value.message
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert server.requests == []


def test_get_trace(server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    def one(request: Recorded) -> Reply:
        if request.query["trace_id"] == [TRACE_ID]:
            return Reply(200, {"trace": REST_TRACE})
        return Reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Trace with ID 'tr-x' not found."})

    server.route("GET", "/api/3.0/mlflow/traces/get", one)
    trace = annotrace.get_trace(TRACE_ID)
    assert trace is not None and trace.info.trace_id == TRACE_ID and len(trace.data.spans) == 2
    with caplog.at_level(logging.WARNING):
        assert annotrace.get_trace("tr-x") is None
    assert "Trace with ID 'tr-x' not found." in caplog.text
    caplog.clear()
    assert annotrace.get_trace("tr-x", silent=True) is None
    assert caplog.text == ""


def test_get_trace_raises_other_errors(server: ScriptedServer) -> None:
    server.route("GET", "/api/3.0/mlflow/traces/get", Reply(500, {"error_code": "INTERNAL_ERROR", "message": "x"}))
    with pytest.raises(MlflowException):
        annotrace.get_trace(TRACE_ID)
