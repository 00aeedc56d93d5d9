"""The v2 experiment routes MLflow clients use: create, get, get-by-name, search."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.collector.api.rest import assert_error

EXPERIMENTS = "/api/2.0/mlflow/experiments"


def test_create_get_and_get_by_name(api: httpx.Client) -> None:
    name = f"exp-{uuid.uuid4().hex}"
    response = api.post(f"{EXPERIMENTS}/create", json={"name": name, "tags": [{"key": "team", "value": "search"}]})
    assert response.status_code == 200, response.text
    experiment_id = response.json()["experiment_id"]
    assert re.fullmatch(r"[1-9]\d*", experiment_id)
    by_id = api.get(f"{EXPERIMENTS}/get", params={"experiment_id": experiment_id}).json()["experiment"]
    assert by_id["experiment_id"] == experiment_id and by_id["name"] == name
    assert by_id["lifecycle_stage"] == "active"
    assert by_id["tags"] == [{"key": "team", "value": "search"}]
    assert isinstance(by_id["creation_time"], int)
    by_name = api.get(f"{EXPERIMENTS}/get-by-name", params={"experiment_name": name}).json()["experiment"]
    assert by_name == by_id
    assert api.get("/ajax-api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name}).json() == {
        "experiment": by_id
    }


def test_default_experiment_exists(api: httpx.Client) -> None:
    default = api.get(f"{EXPERIMENTS}/get", params={"experiment_id": "0"}).json()["experiment"]
    assert default["name"] == "Default"


def test_experiment_errors(api: httpx.Client) -> None:
    name = f"exp-{uuid.uuid4().hex}"
    assert api.post(f"{EXPERIMENTS}/create", json={"name": name}).status_code == 200
    assert_error(api.post(f"{EXPERIMENTS}/create", json={"name": name}), 400, "RESOURCE_ALREADY_EXISTS", name)
    assert_error(api.post(f"{EXPERIMENTS}/create", json={}), 400, "INVALID_PARAMETER_VALUE", "'name'")
    assert_error(api.post(f"{EXPERIMENTS}/create", json={"name": 3}), 400, "INVALID_PARAMETER_VALUE", "'name'")
    assert_error(
        api.post(f"{EXPERIMENTS}/create", json={"name": "x", "tags": [{"key": 1}]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "tags[0]",
    )
    assert_error(
        api.get(f"{EXPERIMENTS}/get", params={"experiment_id": "424242"}), 404, "RESOURCE_DOES_NOT_EXIST", "424242"
    )
    assert_error(api.get(f"{EXPERIMENTS}/get"), 400, "INVALID_PARAMETER_VALUE", "'experiment_id'")
    assert_error(
        api.get(f"{EXPERIMENTS}/get-by-name", params={"experiment_name": "no such"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "no such",
    )


def test_search_experiments(api: httpx.Client) -> None:
    prefix = f"find-{uuid.uuid4().hex[:8]}"
    ids = [
        api.post(
            f"{EXPERIMENTS}/create", json={"name": f"{prefix}-{n}", "tags": [{"key": "n", "value": str(n)}]}
        ).json()["experiment_id"]
        for n in range(3)
    ]
    body = {"filter": f"name LIKE '{prefix}-%'", "order_by": ["name DESC"]}
    found = api.post(f"{EXPERIMENTS}/search", json=body).json()["experiments"]
    assert [e["experiment_id"] for e in found] == ids[::-1]
    first = api.post(f"{EXPERIMENTS}/search", json={**body, "max_results": 2}).json()
    rest = api.post(
        f"{EXPERIMENTS}/search", json={**body, "max_results": 2, "page_token": first["next_page_token"]}
    ).json()
    assert [e["experiment_id"] for e in first["experiments"] + rest["experiments"]] == ids[::-1]
    assert "next_page_token" not in rest
    tagged = api.post(f"{EXPERIMENTS}/search", json={"filter": f"name LIKE '{prefix}%' AND tags.n = '1'"}).json()
    assert [e["experiment_id"] for e in tagged["experiments"]] == [ids[1]]
    assert api.post(f"{EXPERIMENTS}/search", json={"view_type": "DELETED_ONLY"}).json() == {"experiments": []}
    assert_error(
        api.post(f"{EXPERIMENTS}/search", json={"filter": "colour = 'red'"}), 400, "INVALID_PARAMETER_VALUE", "colour"
    )
    assert_error(
        api.post(f"{EXPERIMENTS}/search", json={"view_type": "SOME"}), 400, "INVALID_PARAMETER_VALUE", "view_type"
    )


def test_names_with_control_characters_or_replacement_characters_are_refused(api: httpx.Client) -> None:
    for bad, words in (
        ("nul\x00name", "U+0000"),
        ("line\nbreak", "U+000A"),
        ("mangled\ufffd", "U+FFFD"),
        ("del\x7f", "U+007F"),
    ):
        name = f"{bad}-{uuid.uuid4().hex}"
        assert_error(
            api.post("/api/2.0/mlflow/experiments/create", json={"name": name}),
            400,
            "INVALID_PARAMETER_VALUE",
            "'name'",
            words,
        )
        assert api.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name}).status_code == 404
    kept = f"ünïcode ✓ name {uuid.uuid4().hex}"
    assert api.post("/api/2.0/mlflow/experiments/create", json={"name": kept}).status_code == 200


def test_a_rename_to_a_name_with_a_control_character_is_refused(api: httpx.Client, experiment_id: str) -> None:
    response = api.post(
        "/api/2.0/mlflow/experiments/update", json={"experiment_id": experiment_id, "new_name": "bell\x07"}
    )
    assert_error(response, 400, "INVALID_PARAMETER_VALUE", "'new_name'", "U+0007")
