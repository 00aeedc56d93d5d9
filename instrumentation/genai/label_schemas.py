"""``mlflow.genai.label_schemas`` for an annotrace collector: the questions domain experts answer.

Signatures follow the Databricks ReviewApp era (``title``, ``overwrite``, all five input kinds plus
MLflow 3.14's ``InputPassFail``); storage is the collector's ``/api/3.0/mlflow/label-schemas`` RPCs
(MLflow 3.14's OSS shapes), per experiment: the one chosen by ``set_experiment`` unless
``experiment_id`` is given. Rules (empty options, ``min_value >= max_value``, duplicate names...)
are checked by the collector, so every client gets the same messages. MLflow 3.14's additions:
``list_label_schemas`` shows (and on first use seeds) the experiment's default question
``Feedback`` (``is_default=True``, never deletable), and ``update_label_schema`` edits a schema
by its ``schema_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from annotrace.exceptions import AnnotraceException

__all__ = [
    "EXPECTED_FACTS",
    "EXPECTED_RESPONSE",
    "GUIDELINES",
    "InputCategorical",
    "InputCategoricalList",
    "InputNumeric",
    "InputPassFail",
    "InputText",
    "InputTextList",
    "LabelSchema",
    "LabelSchemaType",
    "PagedList",
    "create_label_schema",
    "delete_label_schema",
    "get_label_schema",
    "list_label_schemas",
    "update_label_schema",
]

EXPECTED_FACTS = "expected_facts"
GUIDELINES = "guidelines"
EXPECTED_RESPONSE = "expected_response"
LabelSchemaType = Literal["feedback", "expectation"]
_BASE = "/api/3.0/mlflow/label-schemas"
DEFAULT_EXPERIMENT_ID = "0"


@dataclass(frozen=True)
class InputCategorical:
    """One option out of ``options`` (radio buttons)."""

    options: list[str]

    def _to_json(self) -> dict[str, Any]:
        return {"categorical": {"options": list(self.options), "multi_select": False}}


@dataclass(frozen=True)
class InputCategoricalList:
    """Any number of ``options`` (checkboxes); MLflow 3.14's ``categorical`` with ``multi_select``."""

    options: list[str]

    def _to_json(self) -> dict[str, Any]:
        return {"categorical": {"options": list(self.options), "multi_select": True}}


@dataclass(frozen=True)
class InputNumeric:
    """A number, within ``[min_value, max_value]`` when given."""

    min_value: float | None = None
    max_value: float | None = None

    def _to_json(self) -> dict[str, Any]:
        return {
            "numeric": {
                k: v for k, v in (("min_value", self.min_value), ("max_value", self.max_value)) if v is not None
            }
        }


@dataclass(frozen=True)
class InputText:
    """Free text of at most ``max_length`` characters."""

    max_length: int | None = None

    def _to_json(self) -> dict[str, Any]:
        return {"text": {} if self.max_length is None else {"max_length": self.max_length}}


@dataclass(frozen=True)
class InputTextList:
    """Up to ``max_count`` texts of at most ``max_length_each`` characters."""

    max_length_each: int | None = None
    max_count: int | None = None

    def _to_json(self) -> dict[str, Any]:
        return {
            "text_list": {
                k: v
                for k, v in (("max_length_each", self.max_length_each), ("max_count", self.max_count))
                if v is not None
            }
        }


@dataclass(frozen=True)
class InputPassFail:
    """Pass or fail; the answer is stored as a boolean (``True`` = ``positive_label``)."""

    positive_label: str = "Pass"
    negative_label: str = "Fail"

    def _to_json(self) -> dict[str, Any]:
        return {"pass_fail": {"positive_label": self.positive_label, "negative_label": self.negative_label}}


InputType = InputCategorical | InputCategoricalList | InputNumeric | InputText | InputTextList | InputPassFail


@dataclass(frozen=True)
class LabelSchema:
    """A stored label schema (MLflow's fields; ``title`` from the ReviewApp era)."""

    name: str
    type: LabelSchemaType
    title: str | None
    input: InputType
    instruction: str | None = None
    enable_comment: bool = False
    schema_id: str | None = None
    experiment_id: str | None = None
    created_by: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    is_default: bool = field(default=False)

    @classmethod
    def _from_json(cls, d: dict[str, Any]) -> LabelSchema:
        return cls(
            name=d["name"],
            type=d["type"].lower(),
            title=d.get("title"),
            input=_input(d["input"]),
            instruction=d.get("instruction"),
            enable_comment=bool(d.get("enable_comment")),
            schema_id=d.get("schema_id"),
            experiment_id=d.get("experiment_id"),
            created_by=d.get("created_by"),
            created_at=d.get("created_at"),
            updated_at=d.get("last_updated_at"),
            is_default=bool(d.get("is_default")),
        )


class PagedList(list[LabelSchema]):
    """One page of schemas (MLflow's ``PagedList``): a list, plus ``token`` for the next page or None."""

    def __init__(self, items: list[LabelSchema], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def _input(d: dict[str, Any]) -> InputType:
    if "categorical" in d:
        options = list(d["categorical"].get("options", []))
        return InputCategoricalList(options) if d["categorical"].get("multi_select") else InputCategorical(options)
    if "numeric" in d:
        return InputNumeric(d["numeric"].get("min_value"), d["numeric"].get("max_value"))
    if "text" in d:
        return InputText(d["text"].get("max_length"))
    if "text_list" in d:
        return InputTextList(d["text_list"].get("max_length_each"), d["text_list"].get("max_count"))
    return InputPassFail(**d.get("pass_fail", {}))


def current_experiment_id(experiment_id: str | None = None) -> str:
    """``experiment_id``, else the one ``set_experiment`` chose (created now if it is new), else "0"."""
    from annotrace.client.experiments import current_experiment_id as resolve

    return resolve(experiment_id)


def create_label_schema(
    name: str,
    *,
    type: LabelSchemaType,
    title: str,
    input: InputType,
    instruction: str | None = None,
    enable_comment: bool = False,
    overwrite: bool = False,
    experiment_id: str | None = None,
) -> LabelSchema:
    """Create a label schema in the current experiment; ``overwrite`` replaces a same-named one
    (sessions using it see the new definition)."""
    from annotrace.client import rest

    if type not in ("feedback", "expectation"):
        raise AnnotraceException.invalid_parameter_value(f"type must be 'feedback' or 'expectation', got {type!r}.")
    if not hasattr(input, "_to_json"):
        raise AnnotraceException.invalid_parameter_value(
            f"input must be one of InputCategorical, InputCategoricalList, InputNumeric, InputText, InputTextList "
            f"or InputPassFail, got {input!r}."
        )
    body: dict[str, Any] = {
        "experiment_id": current_experiment_id(experiment_id),
        "name": name,
        "type": type.upper(),
        "title": title,
        "input": input._to_json(),
        "enable_comment": enable_comment,
        "overwrite": overwrite,
    }
    if instruction is not None:
        body["instruction"] = instruction
    return LabelSchema._from_json(rest.call("POST", f"{_BASE}/create", json=body)["label_schema"])


def get_label_schema(
    name: str | None = None, *, schema_id: str | None = None, experiment_id: str | None = None
) -> LabelSchema:
    """The schema named ``name`` in the experiment (missing -> ``MlflowException("Label schema with
    name `{name}` not found")``), or, as in MLflow 3.14, the one with ``schema_id``."""
    from annotrace.client import rest

    _check_one_way(name, schema_id, experiment_id)
    if schema_id is not None:
        return LabelSchema._from_json(rest.call("GET", f"{_BASE}/get", params={"schema_id": schema_id})["label_schema"])
    answer = rest.call(
        "GET", f"{_BASE}/get-by-name", params={"experiment_id": current_experiment_id(experiment_id), "name": name}
    )
    return LabelSchema._from_json(answer["label_schema"])


def list_label_schemas(
    experiment_id: str | None = None, *, max_results: int | None = None, page_token: str | None = None
) -> PagedList:
    """The experiment's label schemas: its default question first (seeded by the collector on the
    first list), then oldest first. With ``max_results`` or ``page_token``, one page (MLflow 3.14;
    pass ``.token`` back for the next); without, every page."""
    from annotrace.client import rest

    one_page = max_results is not None or page_token is not None
    params: dict[str, Any] = {
        "experiment_id": current_experiment_id(experiment_id),
        "max_results": max_results or (100 if one_page else 1000),
    }
    if page_token is not None:
        params["page_token"] = page_token
    out: list[LabelSchema] = []
    while True:
        answer = rest.call("GET", f"{_BASE}/list", params=params)
        out.extend(LabelSchema._from_json(d) for d in answer.get("label_schemas", []))
        token = answer.get("next_page_token") or None
        if one_page or token is None:
            return PagedList(out, token)
        params["page_token"] = token


def update_label_schema(
    schema_id: str,
    *,
    name: str | None = None,
    instruction: str | None = None,
    enable_comment: bool | None = None,
    input: InputType | None = None,
) -> LabelSchema:
    """Change a schema in place (MLflow 3.14); None leaves a field as it is, ``""`` is a value.
    The type, the input's kind and ``multi_select`` cannot change, nor the default question's name."""
    from annotrace.client import rest

    body: dict[str, Any] = {"schema_id": schema_id}
    for key, value in (("name", name), ("instruction", instruction), ("enable_comment", enable_comment)):
        if value is not None:
            body[key] = value
    if input is not None:
        if not hasattr(input, "_to_json"):
            raise AnnotraceException.invalid_parameter_value(
                f"input must be one of InputCategorical, InputCategoricalList, InputNumeric, InputText, "
                f"InputTextList or InputPassFail, got {input!r}."
            )
        body["input"] = input._to_json()
    return LabelSchema._from_json(rest.call("PATCH", f"{_BASE}/update", json=body)["label_schema"])


def delete_label_schema(
    name: str | None = None, *, schema_id: str | None = None, experiment_id: str | None = None
) -> None:
    """Delete the schema named ``name`` (missing -> ``MlflowException``, as MLflow's ReviewApp era),
    or, as in MLflow 3.14, the one with ``schema_id`` (nothing happens if it is gone). The
    experiment's default question cannot be deleted."""
    from annotrace.client import rest

    _check_one_way(name, schema_id, experiment_id)
    if schema_id is None:
        schema_id = get_label_schema(name, experiment_id=experiment_id).schema_id
    rest.call("DELETE", f"{_BASE}/delete", json={"schema_id": schema_id})


def _check_one_way(name: str | None, schema_id: str | None, experiment_id: str | None) -> None:
    """A schema is named by its id or by (experiment, name), never both (MLflow 3.14's words)."""
    if schema_id is not None and (name is not None or experiment_id is not None):
        raise AnnotraceException.invalid_parameter_value(
            "Pass either `schema_id` or `(experiment_id, name)`, not both."
        )
    if schema_id is None and name is None:
        raise AnnotraceException.invalid_parameter_value("Pass either `schema_id` or `(experiment_id, name)`.")
