"""``annotrace.genai.label_schemas`` against a real collector: every input kind round-trips, the
current experiment scopes names, and the collector's rules arrive as ``MlflowException``."""

from __future__ import annotations

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
    created = ls.create_label_schema("q", type="feedback", title="Question?", input=given, instruction="Help",
                                     enable_comment=True)
    assert created.input == given
    assert (created.name, created.type, created.title, created.instruction, created.enable_comment) == (
        "q", "feedback", "Question?", "Help", True)
    assert created.schema_id is not None and created.schema_id.startswith("ls-")
    assert ls.get_label_schema("q") == created


def test_create_list_overwrite_delete(app: Collector) -> None:  # noqa: F811
    assert (ls.EXPECTED_FACTS, ls.GUIDELINES, ls.EXPECTED_RESPONSE) == (
        "expected_facts", "guidelines", "expected_response")
    first = ls.create_label_schema("tone", type="feedback", title="Tone?", input=ls.InputCategorical(["ok", "rude"]))
    ls.create_label_schema(ls.EXPECTED_RESPONSE, type="expectation", title="Answer", input=ls.InputText())
    with pytest.raises(mlflow.MlflowException, match="Label schema with name 'tone' already exists") as error:
        ls.create_label_schema("tone", type="feedback", title="Tone?", input=ls.InputText())
    assert error.value.error_code == "RESOURCE_ALREADY_EXISTS"
    replaced = ls.create_label_schema("tone", type="expectation", title="T", input=ls.InputText(), overwrite=True)
    assert replaced.schema_id == first.schema_id and replaced.input == ls.InputText()
    assert [s.name for s in ls.list_label_schemas()] == ["tone", "expected_response"]
    ls.delete_label_schema("tone")
    assert [s.name for s in ls.list_label_schemas()] == ["expected_response"]
    with pytest.raises(mlflow.MlflowException, match="Label schema with name `tone` not found"):
        ls.get_label_schema("tone")


@pytest.mark.parametrize(("given", "message"), [
    (ls.InputCategorical(options=[]), "Label schema 'bad': input options must be a non-empty list"),
    (ls.InputCategoricalList(options=[]), "Label schema 'bad': input options must be a non-empty list"),
    (ls.InputNumeric(min_value=3, max_value=3), "Label schema 'bad': min_value (3) must be less than max_value (3)"),
    (ls.InputText(max_length=0), "max_length must be a positive integer"),
    (ls.InputTextList(max_length_each=0), "max_length_each must be a positive integer"),
])
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
