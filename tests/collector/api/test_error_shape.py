"""Every REST route, hit with bad input (malformed ids, broken JSON, wrong types, empty bodies),
answers a 4xx MLflow envelope: never a 500, never an HTML page."""

from __future__ import annotations

import httpx
import pytest

from annotrace.collector.api.routes import MLFLOW_ROUTES, NATIVE_ROUTES
from tests.collector_process import Collector

ROUTES = [(method, f"/api/{versions[0]}/mlflow{path}") for versions, method, path, _ in MLFLOW_ROUTES] + [
    (method, path) for method, path, _ in NATIVE_ROUTES
]
PATH_VALUES = {
    "garbage": {
        "trace_id": "not a trace",
        "assessment_id": "%00%27;--",
        "session_id": "%00%27;--",
        "dataset_id": "%00%27;--",
        "key": "%00",
        "model_id": "%00%27;--",
        "tag_key": "%00",
        "name": "%00%27;--",
        "experiment_id": "%00",
        "token_id": "%00%27;--",
        "rule_id": "%00%27;--",
    },
    "unknown": {
        "trace_id": "tr-" + "e" * 32,
        "assessment_id": "a-" + "e" * 32,
        "session_id": "e" * 32,
        "dataset_id": "d-" + "e" * 32,
        "key": "k",
        "model_id": "m-" + "e" * 32,
        "tag_key": "k",
        "name": "nobody",
        "experiment_id": "999999",
        "token_id": "tok-" + "e" * 16,
        "rule_id": "rr-" + "e" * 32,
    },
}
BODIES = {
    "broken json": b'{"assessment": ',
    "wrong types": b'{"assessment": 1, "update_mask": [1], "trace_ids": 5, "experiment_id": [], "key": {}, '
    b'"name": false, "filter": 7, "max_results": "x", "locations": {}, "request_ids": "x"}',
    "empty object": b"{}",
    "not an object": b"[]",
}


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@pytest.mark.parametrize("ids", sorted(PATH_VALUES))
@pytest.mark.parametrize("body", sorted(BODIES))
def test_bad_input_gets_a_4xx_envelope(api: httpx.Client, method: str, template: str, ids: str, body: str) -> None:
    path = template.format(**PATH_VALUES[ids])
    response = api.request(
        method,
        path,
        content=BODIES[body],
        headers={"content-type": "application/json"},
        params={
            "trace_id": "x",
            "trace_ids": "y",
            "experiment_id": "z",
            "experiment_name": "",
            "valid_only": "maybe",
            "max_results": "-1",
        },
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        payload = response.json()
        assert isinstance(payload.get("error_code"), str) and isinstance(payload.get("message"), str), payload
        assert payload["message"]


def test_405_names_every_method_the_path_takes(collector: Collector) -> None:
    trace_path = "/api/3.0/mlflow/traces/tr-" + "0" * 32 + "/assessments/a-" + "0" * 32
    for method, path, allowed in (
        ("PUT", trace_path, "DELETE, GET, HEAD, PATCH"),
        ("GET", "/api/v1/sql", "POST"),
        ("DELETE", "/v1/traces", "POST"),
    ):
        response = httpx.request(method, collector.web + path, json={})
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == allowed
