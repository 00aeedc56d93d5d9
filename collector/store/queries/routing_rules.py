"""Routing rules: create, list, delete, and the checks a rule passes before it is stored.

Why a rule is checked when created, not only when it runs: a rule runs on the writer thread after
each commit of ingested spans (``store/routing.py``), where nobody is waiting to read an error. So a
filter that does not parse or names an unknown field, or a SQL query that writes, reads files, or
returns no ``trace_id`` column, is a 400 naming the problem at creation, and a rule that still
fails at run time (a cast that fails on a later trace, the time limit) records ``last_error`` and
adds nothing for that commit; ingestion never waits on it or fails because of it.

A rule is scoped to its session's experiment: it sees the traces the session would accept from
``add_traces`` (a review queue only attaches traces of its own experiment).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb

from annotrace.collector.errors import InvalidParameter, NotFound
from annotrace.collector.store import sandbox
from annotrace.collector.store.queries import audit, labeling
from annotrace.collector.store.queries.trace_search import compile_filter

MAX_RULES_PER_SESSION = 50
COLUMNS = (
    "rule_id, session_id, filter_string, sql_query, sample_rate, max_traces, traces_added, created_by, "
    "create_time, last_error, last_error_time"
)
INSERT = f"INSERT INTO routing_rules ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, NULL)"
LIST = f"SELECT {COLUMNS} FROM routing_rules WHERE session_id = ? ORDER BY create_time, rule_id"
ALL = f"SELECT {COLUMNS} FROM routing_rules ORDER BY create_time, rule_id"
GET = f"SELECT {COLUMNS} FROM routing_rules WHERE rule_id = ? AND session_id = ?"
COUNT = "SELECT count(*) FROM routing_rules WHERE session_id = ?"
DELETE = "DELETE FROM routing_rules WHERE rule_id = ?"
ADDED = "UPDATE routing_rules SET traces_added = traces_added + ? WHERE rule_id = ?"
FAILED = "UPDATE routing_rules SET last_error = ?, last_error_time = ? WHERE rule_id = ?"
# the SQL rule's query must give a trace_id column: bound (not run) through a LIMIT 0 wrapper
SHAPE = "SELECT trace_id FROM ({query}) AS rule_query LIMIT 0"


@dataclass(frozen=True, slots=True)
class RoutingRule:
    rule_id: str
    session_id: str
    filter_string: str | None
    sql_query: str | None
    sample_rate: float
    max_traces: int | None
    traces_added: int
    created_by: str | None
    create_time: datetime
    last_error: str | None
    last_error_time: datetime | None


@dataclass(frozen=True, slots=True)
class NewRule:
    session_id: str
    filter_string: str | None
    sql_query: str | None
    sample_rate: float
    max_traces: int | None


def _rules(rows: list[tuple[Any, ...]]) -> list[RoutingRule]:
    return [RoutingRule(*row) for row in rows]


def check(cursor: duckdb.DuckDBPyConnection, rule: NewRule) -> None:
    """Refuse a rule that could never run, with a 400 naming the field (a read: no transaction of the writer's)."""
    if (rule.filter_string is None) == (rule.sql_query is None):
        raise InvalidParameter("Give exactly one of parameters 'filter' and 'sql': the traces the rule matches.")
    if not 0.0 < rule.sample_rate <= 1.0:
        raise InvalidParameter(
            f"Invalid value {rule.sample_rate!r} for parameter 'sample_rate': must be above 0 and at most 1."
        )
    if rule.max_traces is not None and rule.max_traces < 1:
        raise InvalidParameter(f"Invalid value {rule.max_traces} for parameter 'max_traces': must be at least 1.")
    if rule.filter_string is not None:
        if not rule.filter_string.strip():
            raise InvalidParameter(
                "Invalid value for parameter 'filter': must not be empty (it would match every trace)."
            )
        compile_filter(rule.filter_string)  # InvalidParameter naming 'filter' and the clause
        return
    assert rule.sql_query is not None
    with sandbox.read_only_transaction(cursor):
        try:
            sandbox.check_query(cursor, rule.sql_query)
        except InvalidParameter as exc:
            raise InvalidParameter(f"Invalid value for parameter 'sql': {exc.message}") from None
        try:
            cursor.execute(SHAPE.format(query=rule.sql_query.rstrip().rstrip(";")))
        except duckdb.BinderException as exc:
            raise InvalidParameter(
                f"Invalid value for parameter 'sql': the query must return a trace_id column ({str(exc).splitlines()[0]})"
            ) from None
        except duckdb.Error as exc:
            raise InvalidParameter(f"Invalid value for parameter 'sql': {str(exc).splitlines()[0]}") from None


def create(conn: duckdb.DuckDBPyConnection, rule: NewRule, now: datetime) -> RoutingRule:
    """Store a checked rule (``check``) for an existing session, with its audit row."""
    labeling.get(conn, rule.session_id)  # NotFound for an unknown session or queue
    if conn.execute(COUNT, [rule.session_id]).fetchall()[0][0] >= MAX_RULES_PER_SESSION:
        raise InvalidParameter(
            f"Session '{rule.session_id}' already has {MAX_RULES_PER_SESSION} routing rules, the most it may have."
        )
    rule_id = "rr-" + uuid.uuid4().hex
    conn.execute(
        INSERT,
        [
            rule_id,
            rule.session_id,
            rule.filter_string,
            rule.sql_query,
            rule.sample_rate,
            rule.max_traces,
            audit.ACTOR.get(),
            now,
        ],
    )
    stored = get(conn, rule.session_id, rule_id)
    audit.record(conn, action="create", object_type="routing_rule", object_id=rule_id, new=asdict(stored), time=now)
    return stored


def get(cursor: duckdb.DuckDBPyConnection, session_id: str, rule_id: str) -> RoutingRule:
    rows = cursor.execute(GET, [rule_id, session_id]).fetchall()
    if not rows:
        raise NotFound(f"Routing rule '{rule_id}' not found in session '{session_id}'.")
    return _rules(rows)[0]


def list_rules(cursor: duckdb.DuckDBPyConnection, session_id: str) -> list[RoutingRule]:
    """The session's rules, oldest first (NotFound for an unknown session)."""
    labeling.get(cursor, session_id)
    return _rules(cursor.execute(LIST, [session_id]).fetchall())


def all_rules(cursor: duckdb.DuckDBPyConnection) -> list[RoutingRule]:
    return _rules(cursor.execute(ALL).fetchall())


def delete(conn: duckdb.DuckDBPyConnection, session_id: str, rule_id: str, now: datetime) -> None:
    """Remove a rule; the traces it added stay in the session."""
    previous = get(conn, session_id, rule_id)
    conn.execute(DELETE, [rule_id])
    audit.record(
        conn, action="delete", object_type="routing_rule", object_id=rule_id, previous=asdict(previous), time=now
    )


def count_added(conn: duckdb.DuckDBPyConnection, rule_id: str, added: int) -> None:
    conn.execute(ADDED, [added, rule_id])


def record_failure(conn: duckdb.DuckDBPyConnection, rule_id: str, error: str | None, now: datetime) -> None:
    conn.execute(FAILED, [error, None if error is None else now, rule_id])
