"""The scorer registry routes (``/api/3.0/mlflow/scorers/*``) on a real collector: versions,
latest per name, delete of one version or all, MLflow's shapes and errors, and code refused."""

from __future__ import annotations

import json

import httpx

from tests.collector.api.rest import assert_error

BASE = "/api/3.0/mlflow/scorers"
JUDGE = json.dumps(
    {
        "name": "concise",
        "call_source": None,
        "instructions_judge_pydantic_data": {"instructions": "Is {{ outputs }} concise?"},
    }
)


def _register(api: httpx.Client, experiment_id: str, name: str, serialized: str = JUDGE) -> dict[str, object]:
    response = api.post(
        f"{BASE}/register", json={"experiment_id": experiment_id, "name": name, "serialized_scorer": serialized}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_versions_latest_and_delete(api: httpx.Client, experiment_id: str) -> None:
    first = _register(api, experiment_id, "concise")
    second = _register(api, experiment_id, "concise")
    _register(api, experiment_id, "polite", "{}")
    assert (first["version"], second["version"], first["scorer_id"]) == (1, 2, second["scorer_id"])
    assert first["experiment_id"] == experiment_id and first["serialized_scorer"] == JUDGE
    listed = api.get(f"{BASE}/list", params={"experiment_id": experiment_id}).json()["scorers"]
    assert [(s["scorer_name"], s["scorer_version"], s["experiment_id"]) for s in listed] == [
        ("concise", 2, int(experiment_id)),
        ("polite", 1, int(experiment_id)),
    ]
    versions = api.get(f"{BASE}/versions", params={"experiment_id": experiment_id, "name": "concise"}).json()
    assert [s["scorer_version"] for s in versions["scorers"]] == [1, 2]
    got = api.get(f"{BASE}/get", params={"experiment_id": experiment_id, "name": "concise", "version": 1}).json()
    assert got["scorer"]["scorer_version"] == 1 and isinstance(got["scorer"]["creation_time"], int)
    assert api.get(f"{BASE}/online-configs", params={"scorer_ids": first["scorer_id"]}).json() == {"configs": []}

    assert (
        api.request(
            "DELETE", f"{BASE}/delete", json={"experiment_id": experiment_id, "name": "concise", "version": 2}
        ).json()
        == {}
    )
    latest = api.get(f"{BASE}/get", params={"experiment_id": experiment_id, "name": "concise"}).json()["scorer"]
    assert latest["scorer_version"] == 1
    assert (
        api.request("DELETE", f"{BASE}/delete", json={"experiment_id": experiment_id, "name": "concise"}).json() == {}
    )
    assert_error(
        api.get(f"{BASE}/get", params={"experiment_id": experiment_id, "name": "concise"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Scorer with name 'concise' not found",
    )


def test_errors_are_mlflows(api: httpx.Client, experiment_id: str) -> None:
    def register(**body: object) -> httpx.Response:
        return api.post(
            f"{BASE}/register", json={"experiment_id": experiment_id, "name": "x", "serialized_scorer": "{}", **body}
        )

    assert_error(
        register(serialized_scorer=json.dumps({"call_source": "def f(): ..."})),
        400,
        "INVALID_PARAMETER_VALUE",
        "Custom scorer registration (using @scorer decorator) is disabled",
    )
    nested = {"ensemble_scorer_data": {"scorers": [{"call_source": "import os"}]}}
    assert_error(register(serialized_scorer=json.dumps(nested)), 400, "INVALID_PARAMETER_VALUE", "@scorer")
    assert_error(
        register(serialized_scorer="not json"), 400, "INVALID_PARAMETER_VALUE", "serialized_scorer must be valid JSON"
    )
    assert_error(register(name="  "), 400, "INVALID_PARAMETER_VALUE", "Scorer name cannot be empty")
    assert_error(register(serialized_scorer=None), 400, "INVALID_PARAMETER_VALUE", "'serialized_scorer'")
    assert_error(
        register(experiment_id="987654321"), 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=987654321 exists"
    )
    assert_error(
        api.get(f"{BASE}/list", params={"experiment_id": "987654321"}), 404, "RESOURCE_DOES_NOT_EXIST", "987654321"
    )
    assert_error(
        api.get(f"{BASE}/get", params={"experiment_id": experiment_id, "name": "nope", "version": 3}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Scorer with name 'nope' not found",
    )
    assert_error(
        api.get(f"{BASE}/versions", params={"experiment_id": experiment_id}), 400, "INVALID_PARAMETER_VALUE", "'name'"
    )
    assert_error(
        api.request("DELETE", f"{BASE}/delete", json={"experiment_id": experiment_id, "name": "nope"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "nope",
    )
    assert_error(api.get(f"{BASE}/online-configs"), 400, "INVALID_PARAMETER_VALUE", "'scorer_ids'")
