"""MLflow 3.14's ``update_label_schema``: the writer job that edits a label schema in place.

Separate from ``label_schemas.py`` because a rename reaches past the schema table: labeling
sessions name their schemas, so a renamed schema is renamed in every session of its experiment in
the same job (``labeling.rename_schema``), and the sessions keep asking it. Answers already given
stay assessments under the old name (they are history, as in MLflow). What may change: name,
instruction (``""`` is a value, not "unset"), enable_comment, title, and the input's settings.
What may not (MLflow's rules): the type, the input's variant, and a categorical's
``multi_select``; nor the default question's name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb
import orjson

from annotrace.collector.errors import AlreadyExists, InvalidParameter
from annotrace.collector.store.queries import audit, labeling
from annotrace.collector.store.queries import label_schemas as label_schemas_queries

UPDATE = (
    "UPDATE label_schemas SET name = ?, title = ?, instruction = ?, enable_comment = ?, input = ?, "
    "updated_at = ? WHERE schema_id = ?"
)
# MLflow's input variants: categorical_list is categorical with multi_select (fixed once created)
VARIANTS = {"categorical_list": "categorical"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaPatch:
    """The fields an update sets; None leaves a field as it is."""

    name: str | None = None
    instruction: str | None = None
    enable_comment: bool | None = None
    title: str | None = None
    type: str | None = None  # only checked: a schema's type never changes
    input_type: str | None = None
    input: dict[str, Any] | None = None


def _check_immutable(old: label_schemas_queries.LabelSchema, patch: SchemaPatch) -> None:
    if patch.type is not None and patch.type != old.type:
        raise InvalidParameter(
            f"Label schema '{old.name}': the type cannot be changed (it is {old.type!r}, got {patch.type!r})."
        )
    if patch.input_type is None or patch.input_type == old.input_type:
        return
    before, after = (VARIANTS.get(t, t) for t in (old.input_type, patch.input_type))
    if before != after:
        raise InvalidParameter(
            f"Label schema '{old.name}': the input type cannot be changed (it is {before}, got {after})."
        )
    raise InvalidParameter(
        f"Label schema '{old.name}': multi_select cannot be changed (it is "
        f"{'true' if old.input_type == 'categorical_list' else 'false'})."
    )


def update(
    conn: duckdb.DuckDBPyConnection, schema_id: str, patch: SchemaPatch, now: datetime
) -> label_schemas_queries.LabelSchema:
    """Apply ``patch`` to the schema ``schema_id`` (404 when missing), checked by the create rules."""
    old = label_schemas_queries.get(conn, schema_id)
    _check_immutable(old, patch)
    new = label_schemas_queries.NewLabelSchema(
        experiment_id=old.experiment_id,
        name=old.name if patch.name is None else patch.name,
        type=old.type,
        input_type=old.input_type,
        input=old.input if patch.input is None else patch.input,
        title=old.title if patch.title is None else patch.title,
        instruction=old.instruction if patch.instruction is None else patch.instruction,
        enable_comment=old.enable_comment if patch.enable_comment is None else patch.enable_comment,
    )
    label_schemas_queries.check(new)
    renamed = new.name != old.name
    if renamed:
        if old.is_default:
            raise InvalidParameter("The experiment's default question cannot be renamed.")
        label_schemas_queries.check_not_reserved(new.name)
        if label_schemas_queries.find(conn, old.experiment_id, new.name) is not None:
            raise AlreadyExists(
                f"Label schema with name '{new.name}' already exists for experiment '{old.experiment_id}'."
            )
    conn.execute(
        UPDATE,
        [new.name, new.title, new.instruction, new.enable_comment, orjson.dumps(new.input).decode(), now, schema_id],
    )
    if renamed:
        labeling.rename_schema(conn, old.experiment_id, old.name, new.name, now)
    updated = label_schemas_queries.get(conn, schema_id)
    audit.record(
        conn,
        action="update",
        object_type="label_schema",
        object_id=schema_id,
        previous=asdict(old),
        new=asdict(updated),
        time=now,
    )
    return updated
