"""``PATCH /api/3.0/mlflow/label-schemas/update`` (MLflow 3.14) on a real collector: fields left
out stay, ``""`` is a value, the type / input variant / multi_select never change, names stay
unique and the default question keeps its name, and a rename follows into labeling sessions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

BASE = "/api/3.0/mlflow/label-schemas"


def make(api: httpx.Client, experiment_id: str, name: str, **fields: Any) -> dict[str, Any]:
    body = {
        "experiment_id": experiment_id,
        "name": name,
        "type": "FEEDBACK",
        "input": {"categorical": {"options": ["Yes", "No"]}},
        "instruction": "Pick one.",
        **fields,
    }
    response = api.post(f"{BASE}/create", json=body)
    assert response.status_code == 200, response.text
    schema: dict[str, Any] = response.json()["label_schema"]
    return schema


def update(api: httpx.Client, schema_id: str, **fields: Any) -> httpx.Response:
    return api.patch(f"{BASE}/update", json={"schema_id": schema_id, **fields})


def test_update_changes_only_what_is_given(api: httpx.Client, experiment_id: str) -> None:
    schema = make(api, experiment_id, "tone", title="Tone?")
    response = update(
        api,
        schema["schema_id"],
        name="tone_v2",
        enable_comment=True,
        input={"categorical": {"options": ["Yes", "No", "Maybe"]}},
    )
    assert response.status_code == 200, response.text
    changed = response.json()["label_schema"]
    assert changed == {
        **schema,
        "name": "tone_v2",
        "enable_comment": True,
        "input": {"categorical": {"options": ["Yes", "No", "Maybe"], "multi_select": False}},
        "last_updated_at": changed["last_updated_at"],
    }
    assert changed["last_updated_at"] >= schema["last_updated_at"]
    cleared = update(api, schema["schema_id"], instruction="").json()["label_schema"]
    assert cleared["instruction"] == ""  # "" is a value, not "leave as it is"
    assert api.get(f"{BASE}/get", params={"schema_id": schema["schema_id"]}).json()["label_schema"] == cleared
    assert api.get(f"{BASE}/get-by-name", params={"experiment_id": experiment_id, "name": "tone"}).status_code == 404
    assert update(api, schema["schema_id"], type="FEEDBACK").status_code == 200  # the same type is no change


@pytest.mark.parametrize(
    ("created", "fields", "message"),
    [
        (
            {},
            {"type": "EXPECTATION"},
            "Label schema 'q': the type cannot be changed (it is 'feedback', got 'expectation').",
        ),
        (
            {},
            {"input": {"text": {}}},
            "Label schema 'q': the input type cannot be changed (it is categorical, got text).",
        ),
        (
            {},
            {"input": {"categorical": {"options": ["a"], "multi_select": True}}},
            "Label schema 'q': multi_select cannot be changed (it is false).",
        ),
        (
            {"input": {"categorical": {"options": ["a"], "multi_select": True}}},
            {"input": {"categorical": {"options": ["a"]}}},
            "Label schema 'q': multi_select cannot be changed (it is true).",
        ),
        (
            {"input": {"numeric": {}}},
            {"input": {"numeric": {"min_value": 3, "max_value": 1}}},
            "Label schema 'q': min_value (3) must be less than max_value (1).",
        ),
        ({}, {"input": {"categorical": {"options": []}}}, "Label schema 'q': input options must be a non-empty list"),
        ({}, {"name": ""}, "Label schema name must be 1 to 250 characters, got 0."),
        ({}, {"name": "x" * 251}, "Label schema name must be 1 to 250 characters, got 251."),
        ({}, {"instruction": "x" * 1001}, "Label schema 'q': instruction is longer than 1000 characters."),
        ({}, {"enable_comment": "yes"}, "'enable_comment'"),
        ({}, {"name": "FEEDBACK"}, "`FEEDBACK` is reserved for the experiment's default question"),
    ],
)
def test_update_rules(
    api: httpx.Client, experiment_id: str, created: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    schema = make(api, experiment_id, "q", **created)
    response = update(api, schema["schema_id"], **fields)
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in response.json()["message"]
    assert api.get(f"{BASE}/get", params={"schema_id": schema["schema_id"]}).json()["label_schema"] == schema


def test_update_duplicate_name_and_missing_schema(api: httpx.Client, experiment_id: str) -> None:
    make(api, experiment_id, "taken")
    schema = make(api, experiment_id, "mine")
    response = update(api, schema["schema_id"], name="taken")
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "RESOURCE_ALREADY_EXISTS",
        "message": f"Label schema with name 'taken' already exists for experiment '{experiment_id}'.",
    }
    missing = update(api, "ls-" + "0" * 32, name="x")
    assert missing.status_code == 404
    assert missing.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": f"Label schema with ID 'ls-{'0' * 32}' not found.",
    }
    assert api.patch(f"{BASE}/update", json={"name": "x"}).json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_default_question_keeps_its_name(api: httpx.Client, experiment_id: str) -> None:
    default = api.get(f"{BASE}/list", params={"experiment_id": experiment_id}).json()["label_schemas"][0]
    renamed = update(api, default["schema_id"], name="Overall")
    assert renamed.status_code == 400
    assert renamed.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "The experiment's default question cannot be renamed.",
    }
    changed = update(
        api,
        default["schema_id"],
        name="Feedback",
        instruction="Anything to add?",
        enable_comment=True,
        input={"text": {"max_length": 500}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["label_schema"] == {
        **default,
        "instruction": "Anything to add?",
        "enable_comment": True,
        "input": {"text": {"max_length": 500}},
        "last_updated_at": changed.json()["label_schema"]["last_updated_at"],
    }


def test_rename_follows_into_sessions(api: httpx.Client, experiment_id: str) -> None:
    schema = make(api, experiment_id, "tone")
    created = api.post(
        "/api/v1/labeling/sessions",
        json={"experiment_id": experiment_id, "name": "r", "label_schemas": ["tone", "expected_facts"]},
    )
    assert created.status_code == 200, created.text
    session_id = created.json()["labeling_session"]["mlflow_run_id"]
    assert update(api, schema["schema_id"], name="tone_v2").status_code == 200
    session = api.get(f"/api/v1/labeling/sessions/{session_id}").json()["labeling_session"]
    assert session["label_schemas"] == ["tone_v2", "expected_facts"]
