"""``annotrace.genai.label_schemas`` against a real collector: every input kind round-trips, the
current experiment scopes names, and the collector's rules arrive as ``MlflowException``."""

from __future__ import annotations

import re

import pytest

import annotrace as mlflow
from annotrace.genai import label_schemas as ls
from tests.collector_process import Collector
from tests.instrumentation.collector_sdk import app  # noqa: F401  (fixture)

INPUTS = [
    ls.InputCategorical(options=["Yes", "No"]),
    ls.InputCategoricalList(options=["a", "b"]),
    ls.InputNumeric(min_value=1, max_value=5),
    ls.InputNumeric(),
    ls.InputText(max_length=100),
    ls.InputText(),
    ls.InputTextList(max_length_each=10, max_count=3),
    ls.InputPassFail(),
]


@pytest.mark.parametrize("given", INPUTS, ids=[repr(i) for i in INPUTS])
def test_every_input_round_trips(app: Collector, given: ls.InputType) -> None:  # noqa: F811
    created = ls.create_label_schema(
        "q", type="feedback", title="Question?", input=given, instruction="Help", enable_comment=True
    )
    assert created.input == given
    assert (created.name, created.type, created.title, created.instruction, created.enable_comment) == (
        "q",
        "feedback",
        "Question?",
        "Help",
        True,
    )
    assert created.schema_id is not None and created.schema_id.startswith("ls-")
    assert ls.get_label_schema("q") == created


def test_create_list_overwrite_delete(app: Collector) -> None:  # noqa: F811
    assert (ls.EXPECTED_FACTS, ls.GUIDELINES, ls.EXPECTED_RESPONSE) == (
        "expected_facts",
        "guidelines",
        "expected_response",
    )
    first = ls.create_label_schema("tone", type="feedback", title="Tone?", input=ls.InputCategorical(["ok", "rude"]))
    ls.create_label_schema(ls.EXPECTED_RESPONSE, type="expectation", title="Answer", input=ls.InputText())
    with pytest.raises(mlflow.MlflowException, match="Label schema with name 'tone' already exists") as error:
        ls.create_label_schema("tone", type="feedback", title="Tone?", input=ls.InputText())
    assert error.value.error_code == "RESOURCE_ALREADY_EXISTS"
    replaced = ls.create_label_schema("tone", type="expectation", title="T", input=ls.InputText(), overwrite=True)
    assert replaced.schema_id == first.schema_id and replaced.input == ls.InputText()
    # the experiment's default question (MLflow 3.14, seeded by the first list) comes first
    assert [s.name for s in ls.list_label_schemas()] == ["Feedback", "tone", "expected_response"]
    ls.delete_label_schema("tone")
    assert [s.name for s in ls.list_label_schemas()] == ["Feedback", "expected_response"]
    with pytest.raises(mlflow.MlflowException, match="Label schema with name `tone` not found"):
        ls.get_label_schema("tone")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (ls.InputCategorical(options=[]), "Label schema 'bad': input options must be a non-empty list"),
        (ls.InputCategoricalList(options=[]), "Label schema 'bad': input options must be a non-empty list"),
        (
            ls.InputNumeric(min_value=3, max_value=3),
            "Label schema 'bad': min_value (3) must be less than max_value (3)",
        ),
        (ls.InputText(max_length=0), "max_length must be a positive integer"),
        (ls.InputTextList(max_length_each=0), "max_length_each must be a positive integer"),
    ],
)
def test_rules(app: Collector, given: ls.InputType, message: str) -> None:  # noqa: F811
    with pytest.raises(mlflow.MlflowException) as error:
        ls.create_label_schema("bad", type="feedback", title="?", input=given)
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in error.value.message


def test_client_side_checks(app: Collector) -> None:  # noqa: F811
    with pytest.raises(mlflow.MlflowException, match="type must be 'feedback' or 'expectation'"):
        ls.create_label_schema("x", type="opinion", title="?", input=ls.InputText())  # type: ignore[arg-type]
    with pytest.raises(mlflow.MlflowException, match="input must be one of"):
        ls.create_label_schema("x", type="feedback", title="?", input="text")  # type: ignore[arg-type]


def test_genai_namespace(app: Collector) -> None:  # noqa: F811
    assert mlflow.genai.create_label_schema is ls.create_label_schema
    assert mlflow.genai.label_schemas is ls
    assert mlflow.genai.labeling.create_labeling_session is mlflow.genai.create_labeling_session


def test_default_question_and_update(app: Collector) -> None:  # noqa: F811
    [default] = ls.list_label_schemas()
    assert (default.name, default.type, default.input, default.instruction, default.is_default) == (
        "Feedback",
        "feedback",
        ls.InputText(),
        "Share any feedback on this trace.",
        True,
    )
    assert ls.list_label_schemas() == [default]  # seeded once
    with pytest.raises(
        mlflow.MlflowException, match=re.escape("The experiment's default question cannot be deleted.")
    ) as error:
        ls.delete_label_schema("Feedback")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(mlflow.MlflowException, match="is reserved for the experiment's default question"):
        ls.create_label_schema("feedback", type="feedback", title="?", input=ls.InputText())

    tone = ls.create_label_schema(
        "tone", type="feedback", title="Tone?", input=ls.InputCategorical(["ok", "rude"]), instruction="Pick one."
    )
    assert tone.is_default is False and tone.schema_id is not None
    changed = ls.update_label_schema(
        tone.schema_id,
        name="tone_v2",
        instruction="",
        enable_comment=True,
        input=ls.InputCategorical(["ok", "rude", "terse"]),
    )
    assert (changed.schema_id, changed.name, changed.instruction, changed.enable_comment, changed.input) == (
        tone.schema_id,
        "tone_v2",
        "",
        True,
        ls.InputCategorical(["ok", "rude", "terse"]),
    )
    assert ls.update_label_schema(tone.schema_id).name == "tone_v2"  # nothing given, nothing changed
    with pytest.raises(mlflow.MlflowException, match="multi_select cannot be changed") as error:
        ls.update_label_schema(tone.schema_id, input=ls.InputCategoricalList(["ok"]))
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(mlflow.MlflowException, match="the input type cannot be changed"):
        ls.update_label_schema(tone.schema_id, input=ls.InputText())
    other = ls.create_label_schema("other", type="expectation", title="?", input=ls.InputText())
    assert other.schema_id is not None
    with pytest.raises(mlflow.MlflowException, match="Label schema with name 'tone_v2' already exists") as error:
        ls.update_label_schema(other.schema_id, name="tone_v2")
    assert error.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert default.schema_id is not None
    with pytest.raises(mlflow.MlflowException, match=re.escape("The experiment's default question cannot be renamed.")):
        ls.update_label_schema(default.schema_id, name="Overall")
    assert ls.update_label_schema(default.schema_id, enable_comment=True).is_default is True

    page = ls.list_label_schemas(max_results=2)
    assert [s.name for s in page] == ["Feedback", "tone_v2"] and page.token is not None
    rest = ls.list_label_schemas(page_token=page.token)
    assert [s.name for s in rest] == ["other"] and rest.token is None
    assert mlflow.genai.update_label_schema is ls.update_label_schema


def test_get_and_delete_by_schema_id_as_mlflow_3_14(app: Collector) -> None:  # noqa: F811
    tone = ls.create_label_schema("tone", type="feedback", title="Tone?", input=ls.InputText())
    assert tone.schema_id is not None
    assert ls.get_label_schema(schema_id=tone.schema_id) == tone
    with pytest.raises(
        mlflow.MlflowException, match=r"Pass either `schema_id` or `\(experiment_id, name\)`, not both."
    ):
        ls.get_label_schema("tone", schema_id=tone.schema_id)
    with pytest.raises(mlflow.MlflowException, match="Pass either `schema_id`"):
        ls.get_label_schema()
    ls.delete_label_schema(schema_id=tone.schema_id)
    ls.delete_label_schema(schema_id=tone.schema_id)  # gone already: nothing happens, as in MLflow's OSS store
    with pytest.raises(mlflow.MlflowException, match="Label schema with name `tone` not found"):
        ls.get_label_schema("tone")
    with pytest.raises(mlflow.MlflowException) as error:
        ls.get_label_schema(schema_id=tone.schema_id)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    [default] = ls.list_label_schemas()
    with pytest.raises(mlflow.MlflowException, match=re.escape("The experiment's default question cannot be deleted.")):
        ls.delete_label_schema(schema_id=default.schema_id)
