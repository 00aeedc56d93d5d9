"""Label schemas: their rules, the reads, and the writer jobs that create and delete them.

A schema is the question an expert answers; ``check_answer`` is the one place an answer is held
against it (option in the list, number within bounds, text and list sizes), so the REST API and
any later Review App page reject the same values with the same messages. Names are unique per
experiment; ``create`` checks that inside its writer job, so two racing creates cannot both win.
The built-in names (``expected_facts``, ``guidelines``, ``expected_response``) need no create: a
session that names one gets it materialised with its Databricks definition (``BUILTINS``).

Each experiment also has MLflow 3.14's default question (``DEFAULT_NAME``, ``is_default``): seeded
by ``seed_default`` in a writer job (the first list, or a session naming it), so two racing lists
cannot seed two; never deleted; its name reserved case-insensitively. An experiment that already
has a schema named like it (created before the default existed) keeps that one, as it is, and
gets no default until it is deleted.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb
import orjson

from annotrace.collector.errors import AlreadyExists, InvalidParameter, NotFound
from annotrace.collector.store.queries import audit
from annotrace.collector.store.queries import experiments as experiments_queries

SchemaType = Literal["feedback", "expectation"]
TYPES = ("feedback", "expectation")
INPUT_TYPES = ("pass_fail", "categorical", "categorical_list", "numeric", "text", "text_list")
PREFIX = "ls-"
MAX_NAME_CHARS = 250
MAX_INSTRUCTION_CHARS = 1000
MAX_TITLE_CHARS = 1000
MAX_OPTIONS = 10  # MLflow's limit, per categorical input
MAX_OPTION_CHARS = 64
MAX_LABEL_CHARS = 64
DEFAULT_NAME = "Feedback"  # MLflow 3.14's default question, one per experiment
DEFAULT_INSTRUCTION = "Share any feedback on this trace."

COLUMNS = (
    "schema_id, experiment_id, name, type, title, instruction, enable_comment, input_type, input, created_by, "
    "created_at, updated_at, is_default"
)
GET = f"SELECT {COLUMNS} FROM label_schemas WHERE schema_id = ?"
GET_BY_NAME = f"SELECT {COLUMNS} FROM label_schemas WHERE experiment_id = ? AND name = ?"
# the default question first (it is seeded by the first list, so its created_at says nothing), then oldest first
LIST = (
    f"SELECT {COLUMNS} FROM label_schemas WHERE experiment_id = ? "
    "ORDER BY is_default DESC, created_at, schema_id LIMIT ? OFFSET ?"
)
INSERT = f"INSERT INTO label_schemas ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# the experiment exists and has neither its default nor a schema named like it (see the docstring)
NEEDS_DEFAULT = (
    "SELECT EXISTS (SELECT 1 FROM experiments WHERE experiment_id = ?) AND NOT EXISTS ("
    "SELECT 1 FROM label_schemas WHERE experiment_id = ? AND (is_default OR lower(trim(name)) = ?))"
)
GET_DEFAULT = f"SELECT {COLUMNS} FROM label_schemas WHERE experiment_id = ? AND is_default"
REPLACE = (
    "UPDATE label_schemas SET type = ?, title = ?, instruction = ?, enable_comment = ?, input_type = ?, "
    "input = ?, updated_at = ? WHERE schema_id = ?"
)
DELETE = "DELETE FROM label_schemas WHERE schema_id = ?"
KIND = "label_schema"  # in the audit trail


@dataclass(frozen=True, slots=True, kw_only=True)
class NewLabelSchema:
    """A create request, already parsed; ``check`` applies the rules of reference 10."""

    experiment_id: str
    name: str
    type: str
    input_type: str
    input: dict[str, Any]
    title: str | None = None
    instruction: str | None = None
    enable_comment: bool = False
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class LabelSchema:
    schema_id: str
    experiment_id: str
    name: str
    type: SchemaType
    title: str | None
    instruction: str | None
    enable_comment: bool
    input_type: str
    input: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    is_default: bool = False


# Databricks' built-in schemas: the expectation keys built-in scorers read.
BUILTINS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "expected_facts": (
        "text_list",
        "Expected facts",
        {"max_length_each": None, "max_count": None},
        "List the facts a correct response must contain.",
    ),
    "guidelines": (
        "text_list",
        "Guidelines",
        {"max_length_each": None, "max_count": None},
        "List the guidelines a response must follow.",
    ),
    "expected_response": (
        "text",
        "Expected response",
        {"max_length": None},
        "Write the response the application should have given.",
    ),
}


def _row(row: tuple[Any, ...]) -> LabelSchema:
    values = list(row)
    values[8] = orjson.loads(values[8]) if values[8] else {}
    return LabelSchema(*values)


INT64_MAX = 2**63 - 1  # MLflow's limits are protobuf int64 fields


def _number(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return -INT64_MAX - 1 <= value <= INT64_MAX
    return isinstance(value, float) and math.isfinite(value)


def _options(name: str, options: Any) -> None:
    if not isinstance(options, list) or not options:
        raise InvalidParameter(f"Label schema '{name}': input options must be a non-empty list of strings.")
    if len(options) > MAX_OPTIONS:
        raise InvalidParameter(f"Label schema '{name}': {len(options)} options, more than the limit of {MAX_OPTIONS}.")
    for option in options:
        if not isinstance(option, str) or not option.strip() or len(option) > MAX_OPTION_CHARS:
            raise InvalidParameter(
                f"Label schema '{name}': option {option!r} must be a non-empty string of at most "
                f"{MAX_OPTION_CHARS} characters."
            )
    duplicates = sorted({o for o in options if options.count(o) > 1})
    if duplicates:
        raise InvalidParameter(f"Label schema '{name}': duplicate options {duplicates}.")


def _positive_int(name: str, key: str, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= INT64_MAX):
        raise InvalidParameter(
            f"Label schema '{name}': {key} must be a positive integer (at most 2^63-1) or null, got {value!r}."
        )


def is_reserved(name: str) -> bool:
    return name.strip().lower() == DEFAULT_NAME.lower()


def check_not_reserved(name: str) -> None:
    if is_reserved(name):
        raise InvalidParameter(
            f"`{name}` is reserved for the experiment's default question; choose another name for this label schema."
        )


def check(new: NewLabelSchema) -> None:
    """The rules of reference 10.2, each error naming the schema and what is wrong."""
    name = new.name
    if not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidParameter(f"Label schema name must be 1 to {MAX_NAME_CHARS} characters, got {len(name)}.")
    if new.type not in TYPES:
        raise InvalidParameter(f"Label schema '{name}': type must be 'feedback' or 'expectation', got {new.type!r}.")
    if new.instruction is not None and len(new.instruction) > MAX_INSTRUCTION_CHARS:
        raise InvalidParameter(f"Label schema '{name}': instruction is longer than {MAX_INSTRUCTION_CHARS} characters.")
    if new.title is not None and len(new.title) > MAX_TITLE_CHARS:
        raise InvalidParameter(f"Label schema '{name}': title is longer than {MAX_TITLE_CHARS} characters.")
    spec = new.input
    if new.input_type in ("categorical", "categorical_list"):
        _options(name, spec.get("options"))
    elif new.input_type == "numeric":
        low, high = spec.get("min_value"), spec.get("max_value")
        for key, value in (("min_value", low), ("max_value", high)):
            if value is not None and not _number(value):
                raise InvalidParameter(f"Label schema '{name}': {key} must be a number or null, got {value!r}.")
        if low is not None and high is not None and low >= high:
            raise InvalidParameter(f"Label schema '{name}': min_value ({low}) must be less than max_value ({high}).")
    elif new.input_type == "text":
        _positive_int(name, "max_length", spec.get("max_length"))
    elif new.input_type == "text_list":
        _positive_int(name, "max_length_each", spec.get("max_length_each"))
        _positive_int(name, "max_count", spec.get("max_count"))
    elif new.input_type == "pass_fail":
        labels = [spec.get("positive_label"), spec.get("negative_label")]
        for label in labels:
            if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_CHARS:
                raise InvalidParameter(
                    f"Label schema '{name}': pass/fail labels must be non-empty strings of at most "
                    f"{MAX_LABEL_CHARS} characters, got {label!r}."
                )
        if labels[0] == labels[1]:
            raise InvalidParameter(f"Label schema '{name}': positive_label and negative_label must differ.")
    else:
        raise InvalidParameter(
            f"Label schema '{name}': unknown input type {new.input_type!r}; one of {', '.join(INPUT_TYPES)}."
        )


def check_answer(schema: LabelSchema, value: Any) -> None:
    """Raise ``InvalidParameter`` naming the schema and the rule when ``value`` does not fit it."""
    spec, where = schema.input, f"Invalid answer for label schema '{schema.name}'"
    kind = schema.input_type
    if kind == "pass_fail":
        if not isinstance(value, bool):
            raise InvalidParameter(f"{where}: expected true or false (pass/fail), got {value!r}.")
    elif kind == "categorical":
        if not isinstance(value, str) or value not in spec["options"]:
            raise InvalidParameter(f"{where}: {value!r} is not one of the options {spec['options']}.")
    elif kind == "categorical_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidParameter(f"{where}: expected a list of options, got {value!r}.")
        outside = [v for v in value if v not in spec["options"]]
        if outside:
            raise InvalidParameter(f"{where}: {outside} not among the options {spec['options']}.")
    elif kind == "numeric":
        low, high = spec.get("min_value"), spec.get("max_value")
        if not _number(value):
            raise InvalidParameter(f"{where}: expected a number, got {value!r}.")
        if (low is not None and value < low) or (high is not None and value > high):
            raise InvalidParameter(f"{where}: {value} is outside the range [{low}, {high}] (min_value, max_value).")
    elif kind == "text":
        limit = spec.get("max_length")
        if not isinstance(value, str) or not value.strip():
            raise InvalidParameter(f"{where}: expected a non-empty text, got {value!r}.")
        if limit is not None and len(value) > limit:
            raise InvalidParameter(f"{where}: text of {len(value)} characters is longer than max_length {limit}.")
    elif kind == "text_list":
        each, count = spec.get("max_length_each"), spec.get("max_count")
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise InvalidParameter(f"{where}: expected a non-empty list of texts, got {value!r}.")
        if count is not None and len(value) > count:
            raise InvalidParameter(f"{where}: {len(value)} texts, more than max_count {count}.")
        longer = [v for v in value if each is not None and len(v) > each]
        if longer:
            raise InvalidParameter(
                f"{where}: text of {len(longer[0])} characters is longer than max_length_each {each}."
            )


# -- reads ---------------------------------------------------------------------------------------
def get(cursor: duckdb.DuckDBPyConnection, schema_id: str) -> LabelSchema:
    rows = cursor.execute(GET, [schema_id]).fetchall()
    if not rows:
        raise NotFound(f"Label schema with ID '{schema_id}' not found.")
    return _row(rows[0])


def find(cursor: duckdb.DuckDBPyConnection, experiment_id: str, name: str) -> LabelSchema | None:
    rows = cursor.execute(GET_BY_NAME, [experiment_id, name]).fetchall()
    return _row(rows[0]) if rows else None


def get_by_name(cursor: duckdb.DuckDBPyConnection, experiment_id: str, name: str) -> LabelSchema:
    found = find(cursor, experiment_id, name)
    if found is None:
        raise NotFound(f"Label schema with name `{name}` not found")
    return found


def list_schemas(cursor: duckdb.DuckDBPyConnection, experiment_id: str, limit: int, offset: int) -> list[LabelSchema]:
    return [_row(row) for row in cursor.execute(LIST, [experiment_id, limit, offset]).fetchall()]


def needs_default(cursor: duckdb.DuckDBPyConnection, experiment_id: str) -> bool:
    """True when ``seed_default`` would insert: lets a list skip the writer once the default exists."""
    row = cursor.execute(NEEDS_DEFAULT, [experiment_id, experiment_id, DEFAULT_NAME.lower()]).fetchone()
    return bool(row and row[0])


# -- writer jobs ---------------------------------------------------------------------------------
def create(conn: duckdb.DuckDBPyConnection, new: NewLabelSchema, *, overwrite: bool, now: datetime) -> LabelSchema:
    """Insert ``new``; with ``overwrite`` a same-named schema is replaced in place (same id)."""
    check(new)
    check_not_reserved(new.name)
    experiments_queries.get(conn, new.experiment_id)  # 404 RESOURCE_DOES_NOT_EXIST, as MLflow
    old = find(conn, new.experiment_id, new.name)
    encoded = orjson.dumps(new.input).decode()
    if old is not None:
        if not overwrite:
            raise AlreadyExists(
                f"Label schema with name '{new.name}' already exists for experiment '{new.experiment_id}'. "
                "Pass overwrite=True to replace it."
            )
        conn.execute(
            REPLACE,
            [new.type, new.title, new.instruction, new.enable_comment, new.input_type, encoded, now, old.schema_id],
        )
        replaced = get(conn, old.schema_id)
        audit.record(
            conn, action="replace", object_type=KIND, object_id=old.schema_id, previous=old, new=replaced, time=now
        )
        return replaced
    schema_id = PREFIX + uuid.uuid4().hex
    conn.execute(
        INSERT,
        [
            schema_id,
            new.experiment_id,
            new.name,
            new.type,
            new.title,
            new.instruction,
            new.enable_comment,
            new.input_type,
            encoded,
            new.created_by,
            now,
            now,
            False,
        ],
    )
    created = get(conn, schema_id)
    audit.record(conn, action="create", object_type=KIND, object_id=schema_id, new=created, time=now)
    return created


def seed_default(conn: duckdb.DuckDBPyConnection, experiment_id: str, now: datetime) -> LabelSchema | None:
    """The experiment's default question, inserted now if it is due (``needs_default``); None when
    the experiment does not exist or keeps an older schema named like it."""
    if needs_default(conn, experiment_id):
        schema_id = PREFIX + uuid.uuid4().hex
        conn.execute(
            INSERT,
            [
                schema_id,
                experiment_id,
                DEFAULT_NAME,
                "feedback",
                None,
                DEFAULT_INSTRUCTION,
                False,
                "text",
                orjson.dumps({"max_length": None}).decode(),
                None,
                now,
                now,
                True,
            ],
        )
        audit.record(conn, action="create", object_type=KIND, object_id=schema_id, new=get(conn, schema_id), time=now)
    rows = conn.execute(GET_DEFAULT, [experiment_id]).fetchall()
    return _row(rows[0]) if rows else None


def ensure(conn: duckdb.DuckDBPyConnection, experiment_id: str, name: str, now: datetime) -> LabelSchema:
    """The schema named ``name``; a missing built-in is created with its default definition."""
    found = find(conn, experiment_id, name)
    if found is not None:
        return found
    if name == DEFAULT_NAME:
        seeded = seed_default(conn, experiment_id, now)
        if seeded is not None and seeded.name == name:
            return seeded
    if name not in BUILTINS:
        raise InvalidParameter(f"Label schema {name} not found. Please create it first via `create_label_schema`.")
    input_type, title, spec, instruction = BUILTINS[name]
    new = NewLabelSchema(
        experiment_id=experiment_id,
        name=name,
        type="expectation",
        input_type=input_type,
        input=spec,
        title=title,
        instruction=instruction,
    )
    return create(conn, new, overwrite=False, now=now)


def delete(conn: duckdb.DuckDBPyConnection, schema_id: str) -> bool:
    """Delete (idempotent, as MLflow's OSS store): False when gone. The default question stays."""
    rows = conn.execute(GET, [schema_id]).fetchall()
    if not rows:
        return False
    if _row(rows[0]).is_default:
        raise InvalidParameter("The experiment's default question cannot be deleted.")
    conn.execute(DELETE, [schema_id])
    audit.record(conn, action="delete", object_type=KIND, object_id=schema_id, previous=_row(rows[0]))
    return True
