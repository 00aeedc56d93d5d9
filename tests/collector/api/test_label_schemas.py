"""Label schema REST routes (reference 10.2) on a real collector: shapes, overwrite, paging, and each
validation rule answering 400 with a message that names the schema and the problem; MLflow 3.14's
default question (seeded by list, undeletable, its name reserved)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

BASE = "/api/3.0/mlflow/label-schemas"


def create(api: httpx.Client, experiment_id: str, name: str, **fields: Any) -> httpx.Response:
    body = {
        "experiment_id": experiment_id,
        "name": name,
        "type": "FEEDBACK",
        "input": {"categorical": {"options": ["Yes", "No"]}},
        **fields,
    }
    return api.post(f"{BASE}/create", json=body)


def test_create_get_list_delete(api: httpx.Client, experiment_id: str) -> None:
    response = create(
        api,
        experiment_id,
        "summary_quality",
        title="Is this summary concise and helpful?",
        instruction="Please provide a rationale below.",
        enable_comment=True,
    )
    assert response.status_code == 200, response.text
    schema = response.json()["label_schema"]
    assert schema["schema_id"].startswith("ls-") and len(schema["schema_id"]) == 35
    assert schema == {
        **schema,
        "experiment_id": experiment_id,
        "name": "summary_quality",
        "type": "FEEDBACK",
        "title": "Is this summary concise and helpful?",
        "instruction": "Please provide a rationale below.",
        "enable_comment": True,
        "is_default": False,
        "input": {"categorical": {"options": ["Yes", "No"], "multi_select": False}},
    }
    assert isinstance(schema["created_at"], int)

    got = api.get(f"{BASE}/get", params={"schema_id": schema["schema_id"]}).json()["label_schema"]
    assert got == schema
    by_name = api.get(f"{BASE}/get-by-name", params={"experiment_id": experiment_id, "name": "summary_quality"})
    assert by_name.json()["label_schema"] == schema

    expected = api.post(
        f"{BASE}/create",
        json={"experiment_id": experiment_id, "name": "expected_summary", "type": "expectation", "input": {"text": {}}},
    )
    assert expected.status_code == 200, expected.text
    assert expected.json()["label_schema"]["input"] == {"text": {}}
    # the experiment's default question (MLflow 3.14, seeded by this first list) comes first
    listed = api.get(f"{BASE}/list", params={"experiment_id": experiment_id, "max_results": 2}).json()
    assert [s["name"] for s in listed["label_schemas"]] == ["Feedback", "summary_quality"]
    page2 = api.get(f"{BASE}/list", params={"experiment_id": experiment_id, "page_token": listed["next_page_token"]})
    assert [s["name"] for s in page2.json()["label_schemas"]] == ["expected_summary"]
    assert "next_page_token" not in page2.json()

    assert api.request("DELETE", f"{BASE}/delete", json={"schema_id": schema["schema_id"]}).status_code == 200
    assert api.request("DELETE", f"{BASE}/delete", json={"schema_id": schema["schema_id"]}).status_code == 200
    missing = api.get(f"{BASE}/get-by-name", params={"experiment_id": experiment_id, "name": "summary_quality"})
    assert missing.status_code == 404
    assert missing.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Label schema with name `summary_quality` not found",
    }


def test_duplicate_name_needs_overwrite(api: httpx.Client, experiment_id: str) -> None:
    first = create(api, experiment_id, "tone").json()["label_schema"]
    again = create(api, experiment_id, "tone")
    assert again.status_code == 400
    assert again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert again.json()["message"].startswith(
        f"Label schema with name 'tone' already exists for experiment '{experiment_id}'."
    )
    replaced = create(
        api,
        experiment_id,
        "tone",
        overwrite=True,
        type="EXPECTATION",
        input={"numeric": {"min_value": 1, "max_value": 5}},
    )
    assert replaced.status_code == 200, replaced.text
    schema = replaced.json()["label_schema"]
    assert (schema["schema_id"], schema["type"], schema["input"]) == (
        first["schema_id"],
        "EXPECTATION",
        {"numeric": {"min_value": 1, "max_value": 5}},
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"input": {"categorical": {"options": []}}}, "Label schema 'bad': input options must be a non-empty list"),
        ({"input": {"categorical": {"options": ["a", "a"]}}}, "Label schema 'bad': duplicate options ['a']"),
        ({"input": {"categorical": {"options": [str(i) for i in range(11)]}}}, "11 options, more than the limit of 10"),
        (
            {"input": {"numeric": {"min_value": 5, "max_value": 5}}},
            "Label schema 'bad': min_value (5) must be less than max_value (5).",
        ),
        ({"input": {"numeric": {"min_value": 9, "max_value": 1}}}, "min_value (9) must be less than max_value (1)"),
        ({"input": {"numeric": {"min_value": "low"}}}, "min_value must be a number or null"),
        ({"input": {"text": {"max_length": 0}}}, "max_length must be a positive integer"),
        ({"input": {"text_list": {"max_count": -1}}}, "max_count must be a positive integer"),
        ({"input": {"pass_fail": {"positive_label": "ok", "negative_label": "ok"}}}, "must differ"),
        ({"input": {"text": {}, "numeric": {}}}, "exactly one of pass_fail, categorical, numeric, text, text_list"),
        ({"input": {}}, "exactly one of"),
        ({"type": "opinion"}, "type must be 'feedback' or 'expectation', got 'opinion'"),
        ({"instruction": "x" * 1001}, "instruction is longer than 1000 characters"),
        ({"enable_comment": "yes"}, "'enable_comment'"),
    ],
)
def test_validation(api: httpx.Client, experiment_id: str, fields: dict[str, Any], message: str) -> None:
    response = create(api, experiment_id, "bad", **fields)
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in response.json()["message"]


def test_missing_fields(api: httpx.Client, experiment_id: str) -> None:
    response = api.post(f"{BASE}/create", json={"experiment_id": experiment_id, "name": "x", "type": "FEEDBACK"})
    assert response.status_code == 400
    assert "'input'" in response.json()["message"]
    assert api.get(f"{BASE}/get", params={"schema_id": "ls-nope"}).status_code == 404


# -- the experiment's default question (MLflow 3.14) ----------------------------------------------
DEFAULT = {
    "name": "Feedback",
    "type": "FEEDBACK",
    "input": {"text": {}},
    "instruction": "Share any feedback on this trace.",
    "enable_comment": False,
    "is_default": True,
}


def listed(api: httpx.Client, experiment_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{BASE}/list", params={"experiment_id": experiment_id})
    assert response.status_code == 200, response.text
    schemas: list[dict[str, Any]] = response.json()["label_schemas"]
    return schemas


def test_list_seeds_one_default_per_experiment(api: httpx.Client, experiment_id: str) -> None:
    first = listed(api, experiment_id)
    assert len(first) == 1
    default = first[0]
    assert default == {**default, **DEFAULT, "experiment_id": experiment_id}
    assert default["schema_id"].startswith("ls-") and "title" not in default
    assert listed(api, experiment_id) == first  # listing again seeds nothing more
    got = api.get(f"{BASE}/get", params={"schema_id": default["schema_id"]}).json()["label_schema"]
    assert got == default
    by_name = api.get(f"{BASE}/get-by-name", params={"experiment_id": experiment_id, "name": "Feedback"})
    assert by_name.json()["label_schema"] == default

    other = api.post("/api/2.0/mlflow/experiments/create", json={"name": f"other-{default['schema_id']}"})
    other_id = other.json()["experiment_id"]
    assert create(api, other_id, "tone").status_code == 200
    theirs = listed(api, other_id)
    assert [(s["name"], s["is_default"]) for s in theirs] == [("Feedback", True), ("tone", False)]
    assert theirs[0]["schema_id"] != default["schema_id"]
    assert listed(api, experiment_id) == first


def test_concurrent_lists_seed_one_default(api: httpx.Client, experiment_id: str) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: listed(api, experiment_id), range(16)))
    assert {len(r) for r in results} == {1}
    assert len({r[0]["schema_id"] for r in results}) == 1


def test_unknown_experiment_gets_no_default(api: httpx.Client) -> None:
    assert listed(api, "987654321") == []


def test_default_cannot_be_deleted(api: httpx.Client, experiment_id: str) -> None:
    default = listed(api, experiment_id)[0]
    response = api.request("DELETE", f"{BASE}/delete", json={"schema_id": default["schema_id"]})
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "The experiment's default question cannot be deleted.",
    }
    assert listed(api, experiment_id) == [default]


@pytest.mark.parametrize("name", ["Feedback", "feedback", "FEEDBACK", " fEEdback "])
def test_default_name_is_reserved(api: httpx.Client, experiment_id: str, name: str) -> None:
    for overwrite in (False, True):
        response = create(api, experiment_id, name, overwrite=overwrite)
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": f"`{name}` is reserved for the experiment's default question; choose another name for this "
            "label schema.",
        }
    assert [s["name"] for s in listed(api, experiment_id)] == ["Feedback"]


def test_a_session_can_ask_the_default_question(api: httpx.Client, experiment_id: str) -> None:
    response = api.post(
        "/api/v1/labeling/sessions", json={"experiment_id": experiment_id, "name": "r", "label_schemas": ["Feedback"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["labeling_session"]["label_schemas"] == ["Feedback"]
    assert [(s["name"], s["is_default"]) for s in listed(api, experiment_id)] == [("Feedback", True)]


def test_a_schema_for_an_experiment_that_does_not_exist_is_a_404(api: httpx.Client) -> None:
    response = create(api, "987654321", "rating")
    assert response.status_code == 404, response.text
    assert response.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "No Experiment with id=987654321 exists",
    }
    bad_name = create(api, "0", "nul\x00name")
    assert bad_name.status_code == 400 and "U+0000" in bad_name.json()["message"]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"text": {"max_length": 2**64}}, "max_length"),
        ({"text": {"max_length": 2**63}}, "max_length"),
        ({"text_list": {"max_length_each": 2**64}}, "max_length_each"),
    ],
)
def test_limits_beyond_int64_are_a_400(api: httpx.Client, experiment_id: str, spec: dict[str, Any], words: str) -> None:
    response = api.post(
        f"{BASE}/create",
        json={"experiment_id": experiment_id, "name": f"big-{words}", "type": "FEEDBACK", "input": spec},
    )
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]
