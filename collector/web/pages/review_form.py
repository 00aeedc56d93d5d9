"""The Review App's questions: one widget per label schema, filled from my saved answers or from a
posted form, and the judging of a posted form before anything is saved.

Why a module of its own: the same ``Question`` list is shown three ways (fresh from my saved
answers, re-shown with inline messages after a bad post, re-shown against changed schemas after a
stale post), and in every case what the labeler typed must come back exactly as typed, so parsing
and display state live together here. The rules an answer must meet are not repeated:
``label_schemas.check_answer`` judges every value (its message, minus the schema prefix, is the
inline message); this module only adds what a form needs on top (required, "is it a number").

Every question is required for Submit (MLflow's Review App lets a labeler leave some blank; we
prefer one clear rule: an item is either fully answered, and ``completed``, or skipped). Comments
are optional. Form fields: ``a:<schema>`` the answer (repeated for checkboxes and list rows),
``c:<schema>`` the comment.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import label_schemas as label_schemas_queries

if TYPE_CHECKING:
    from starlette.datastructures import FormData

    from annotrace.collector.store.queries.label_schemas import LabelSchema
    from annotrace.collector.store.queries.labeling_review import MyAnswer

ANSWER, COMMENT = "a:", "c:"
MAX_COMMENT_CHARS = 64 * 1024  # the REST API's limit
_INTEGER = re.compile(r"^[+-]?\d{1,15}$")
_REQUIRED = {
    "pass_fail": "Choose one of the options.",
    "categorical": "Choose one of the options.",
    "categorical_list": "Choose at least one option.",
    "numeric": "Enter a number.",
    "text": "Enter your answer.",
    "text_list": "Enter at least one entry.",
}


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True, slots=True)
class Question:
    """One widget: the schema as shown, what is in it now, and what is wrong with it."""

    name: str
    index: int  # element ids are q<index>-...; the schema name goes only into field names
    kind: str  # feedback | expectation
    input_type: str
    title: str
    instruction: str | None
    options: list[Option] = field(default_factory=list)
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    max_count: int | None = None
    max_length_each: int | None = None
    text: str = ""  # numeric and text answers, as typed
    rows: list[str] = field(default_factory=list)  # text_list entries, as typed
    enable_comment: bool = False
    comment: str = ""
    answered: bool = False  # I have a saved answer to it
    error: str | None = None
    comment_error: str | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    questions: list[Question]
    answers: list[tuple[str, Any, str | None]]  # (schema, value, comment), only when every question is fine

    @property
    def error_count(self) -> int:
        return sum((q.error is not None) + (q.comment_error is not None) for q in self.questions)


def _options(schema: LabelSchema, chosen: list[str]) -> list[Option]:
    spec = schema.input
    if schema.input_type == "pass_fail":
        pairs = [
            ("true", str(spec.get("positive_label") or "Pass")),
            ("false", str(spec.get("negative_label") or "Fail")),
        ]
    elif schema.input_type in ("categorical", "categorical_list"):
        pairs = [(str(o), str(o)) for o in spec.get("options") or []]
    else:
        return []
    return [Option(value, label, value in chosen) for value, label in pairs]


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _question(
    index: int, schema: LabelSchema, chosen: list[str], text: str, rows: list[str], comment: str, answered: bool
) -> Question:
    spec = schema.input
    rows = list(rows)
    if (
        schema.input_type == "text_list"
        and (not rows or rows[-1] != "")
        and (spec.get("max_count") is None or len(rows) < spec["max_count"])
    ):
        rows.append("")  # one empty row to type the next entry in (JS adds more; without JS, "Add an entry")
    return Question(
        name=schema.name,
        index=index,
        kind=schema.type,
        input_type=schema.input_type,
        title=schema.title or schema.name,
        instruction=schema.instruction,
        options=_options(schema, chosen),
        min_value=spec.get("min_value"),
        max_value=spec.get("max_value"),
        max_length=spec.get("max_length"),
        max_count=spec.get("max_count"),
        max_length_each=spec.get("max_length_each"),
        text=text,
        rows=rows,
        enable_comment=schema.enable_comment,
        comment=comment,
        answered=answered,
    )


def from_saved(schemas: list[LabelSchema], saved: dict[str, MyAnswer]) -> list[Question]:
    """The questions pre-filled with my earlier answers (editable; a re-submit updates them)."""
    out = []
    for index, schema in enumerate(schemas):
        mine = saved.get(schema.name)
        value = mine.value if mine is not None else None
        chosen: list[str] = []
        text, rows = "", []
        if isinstance(value, bool):
            chosen = ["true" if value else "false"]
        elif isinstance(value, list):
            chosen = rows = [str(v) for v in value]
        elif isinstance(value, (int, float)):
            text = _number_text(value)
        elif value is not None:
            chosen, text = [str(value)], str(value)
        out.append(
            _question(
                index,
                schema,
                chosen,
                text,
                rows if schema.input_type == "text_list" else [],
                (mine.comment or "") if mine is not None else "",
                mine is not None,
            )
        )
    return out


def _text(raw: Any) -> str:
    """Browsers post a textarea's line breaks as CRLF but count them as one character for
    ``maxlength``; count them the same way here."""
    return str(raw).replace("\r\n", "\n").replace("\r", "\n")


def _number(raw: str) -> float | int | None:
    cleaned = raw.strip()
    try:
        number: float | int = int(cleaned) if _INTEGER.match(cleaned) else float(cleaned)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _rule_message(schema: LabelSchema, value: Any) -> str | None:
    """``check_answer``'s verdict, worded for the page (its schema prefix dropped)."""
    try:
        label_schemas_queries.check_answer(schema, value)
    except InvalidParameter as exc:
        message = exc.message.split("': ", 1)[-1] if exc.message.startswith("Invalid answer for") else exc.message
        return message[:1].upper() + message[1:]
    return None


def _value(schema: LabelSchema, chosen: list[str], text: str, rows: list[str]) -> tuple[Any, str | None]:
    """(value, problem): the typed answer as the schema's value, or what is wrong with it."""
    kind = schema.input_type
    if kind in ("pass_fail", "categorical"):
        if not chosen:
            return None, _REQUIRED[kind]
        if len(chosen) > 1:
            return None, "Choose only one option."
        value: Any = chosen[0]
        if kind == "pass_fail":
            if value not in ("true", "false"):
                return None, _REQUIRED[kind]
            value = value == "true"
    elif kind == "categorical_list":
        if not chosen:
            return None, _REQUIRED[kind]
        value = chosen
    elif kind == "numeric":
        if not text.strip():
            return None, _REQUIRED[kind]
        value = _number(text)
        if value is None:
            return None, f"'{text.strip()[:40]}' is not a number."
    elif kind == "text":
        if not text.strip():
            return None, _REQUIRED[kind]
        value = text
    else:  # text_list
        value = [row for row in rows if row.strip()]
        if not value:
            return None, _REQUIRED[kind]
    return value, _rule_message(schema, value)


def parse(schemas: list[LabelSchema], form: FormData, saved: dict[str, MyAnswer]) -> Parsed:
    """The posted form against ``schemas`` (the current ones): every question keeps what was typed,
    with its problem if any; ``answers`` is filled only when there is no problem at all."""
    questions, answers = [], []
    for index, schema in enumerate(schemas):
        chosen = [str(v) for v in form.getlist(ANSWER + schema.name)]
        text = _text(chosen[0]) if schema.input_type in ("numeric", "text") and chosen else ""
        rows = [_text(v) for v in chosen] if schema.input_type == "text_list" else []
        comment = _text(form.get(COMMENT + schema.name) or "")
        question = _question(index, schema, chosen, text, rows, comment, schema.name in saved)
        value, problem = _value(schema, chosen, text, rows)
        comment_problem = None
        if comment and not schema.enable_comment:
            comment_problem = "Comments are not enabled for this question."
        elif len(comment) > MAX_COMMENT_CHARS:
            comment_problem = f"A comment has at most {MAX_COMMENT_CHARS} characters; this one has {len(comment)}."
        questions.append(replace(question, error=problem, comment_error=comment_problem))
        if problem is None and comment_problem is None:
            earlier = saved.get(schema.name)
            # an emptied comment box clears an earlier comment ("" does; None would keep it)
            note = comment if comment.strip() else ("" if earlier is not None and earlier.comment else None)
            answers.append((schema.name, value, note if schema.enable_comment else None))
    parsed = Parsed(questions, [])
    return Parsed(questions, answers) if parsed.error_count == 0 else parsed


def add_row(questions: list[Question], name: str) -> list[Question]:
    """The questions with one more empty entry in the text list ``name`` (the no-JS "Add an entry")."""
    return [
        replace(q, rows=[*q.rows, ""])
        if q.name == name and q.input_type == "text_list" and (q.max_count is None or len(q.rows) < q.max_count)
        else q
        for q in questions
    ]


def clear_errors(questions: list[Question]) -> list[Question]:
    return [replace(q, error=None, comment_error=None) for q in questions]
