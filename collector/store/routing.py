"""Routing: after each commit of ingested spans, add the new traces that match a routing rule to its session.

Where it runs, and why there: on the writer thread, right after the commit of span batches and
BEFORE their futures resolve (``Writer._commit``). The spool counts a record as stored only when
its future resolves, and the read barrier (``app.ReadBarrier``) waits for that count, so a client
that exports a trace and then lists the queue's items sees the item, with no flush, sleep or poll.

    commit spans --> evaluate rules (read-only cursor) --> one transaction: items + counters --> futures resolve
                     \\-- a failing rule: last_error, adds nothing --/

Which traces: those whose ROOT span the commit stored (``root_trace_ids``). A trace exported in
several batches is evaluated once its root arrives, which for OpenTelemetry SDKs is the last span
to end (their batch processors export it last, annotrace's SDK exports the trace when the root
ends); a span of a trace that arrives after its root is stored but not re-evaluated. Rules see only
traces whose root arrives after the rule is created.

Safe to replay: if the collector dies between the span commit and the routing commit, the spool
still holds the records (their futures never resolved) and replays them; the spans are skipped as
copies, but their root trace ids are routed again. Sampling is a pure function of the trace id
(OpenTelemetry's TraceIdRatioBased rule: keep when the low 64 bits are below ``rate * 2^64``) and
adding a trace a session already holds is a no-op that the cap does not count, so a replay adds
exactly what the first run would have.

The user's SQL runs as ``POST /api/v1/sql`` runs it: on its own cursor in a read-only transaction
that is rolled back, checked by ``sandbox.check_query`` first, with a time limit. Its failure is the
rule's (``last_error``), never the batch's: the commit it follows is already durable.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from annotrace.collector.errors import CollectorError, InvalidParameter, NotFound
from annotrace.collector.store import sandbox
from annotrace.collector.store.queries import labeling, labeling_copy, review_queue_items, routing_rules
from annotrace.collector.store.queries.trace_search import compile_filter

if TYPE_CHECKING:
    from annotrace.collector.store.db import Database
    from annotrace.collector.store.queries.routing_rules import RoutingRule

RULE_TIME_LIMIT_S = 5.0
"""The longest one rule's query may run after a commit; it holds up the acknowledgement of that
commit's batches, so a slower rule is stopped and records ``last_error``."""
CANDIDATES = (
    "(SELECT rowid FROM traces WHERE trace_key IN "
    "(SELECT coalesce(try_cast('0x' || right(i, 16) AS UBIGINT), 0) FROM unnest(?::VARCHAR[]) AS ids(i)))"
)
"""The rows of the commit's traces, found by ``trace_key`` (schema 0080): ``traces`` has no index, and
a scan of that one fixed-width column for the rowids costs ~2.4 ms of CPU a commit at 5M traces,
against ~15-17 ms for a scan that also reads ``trace_id`` (measured with 100 ids), whether it filters
on ``trace_id`` alone or on both columns at once. On a lake ``traces`` is a view over ``trace_parts`` and has no rowid, so the
lookup stays on ``trace_id``, which the view's GROUP BY pushes down to the parts."""
FILTER_MATCHES = (
    "SELECT t.trace_id FROM traces t WHERE t.rowid IN " + CANDIDATES + " "
    "AND t.trace_id IN (SELECT unnest(?::VARCHAR[])) AND t.experiment_id = ? AND ({where})"
)
SQL_MATCHES = (
    "SELECT DISTINCT CAST(rule_query.trace_id AS VARCHAR) FROM ({query}) AS rule_query "
    "WHERE CAST(rule_query.trace_id AS VARCHAR) IN "
    "(SELECT trace_id FROM traces WHERE rowid IN " + CANDIDATES + " "
    "AND trace_id IN (SELECT unnest(?::VARCHAR[])) AND experiment_id = ?)"
)
LAKE_FILTER_MATCHES = (
    "SELECT t.trace_id FROM traces t WHERE t.trace_id IN (SELECT unnest(?::VARCHAR[])) "
    "AND t.experiment_id = ? AND ({where})"
)
LAKE_SQL_MATCHES = (
    "SELECT DISTINCT CAST(rule_query.trace_id AS VARCHAR) FROM ({query}) AS rule_query "
    "WHERE CAST(rule_query.trace_id AS VARCHAR) IN "
    "(SELECT trace_id FROM traces WHERE trace_id IN (SELECT unnest(?::VARCHAR[])) AND experiment_id = ?)"
)


def root_trace_ids(spans: pa.Table) -> list[str]:
    """The trace ids of a batch's root spans (no parent), in order of first appearance."""
    roots = pc.filter(spans["trace_id"], pc.is_null(spans["parent_span_id"]))
    return list(dict.fromkeys(roots.to_pylist()))


def sampled(trace_id: str, rate: float) -> bool:
    """OpenTelemetry's TraceIdRatioBased decision: the low 64 bits of the id below ``rate * 2^64``."""
    if rate >= 1.0:
        return True
    try:
        low = int(trace_id[-16:], 16)
    except ValueError:
        return False
    return low < round(rate * 2**64)


class Router:
    """Evaluates the routing rules for the traces a commit stored; see the module docstring."""

    def __init__(self, db: Database, time_limit_s: float = RULE_TIME_LIMIT_S) -> None:
        self.db = db
        self.time_limit_s = time_limit_s

    def route(self, conn: duckdb.DuckDBPyConnection, trace_ids: list[str]) -> None:
        """Add the matching traces of ``trace_ids`` to the rules' sessions, in one transaction on
        ``conn`` (the writer's, between transactions). Raises only what the store raises."""
        if not trace_ids:
            return
        rules = routing_rules.all_rules(conn)
        if not rules:
            return
        ids = list(dict.fromkeys(trace_ids))
        matches, errors = self._evaluate(rules, ids)
        order = {trace_id: n for n, trace_id in enumerate(ids)}
        now = datetime.now(UTC).replace(tzinfo=None)
        work = [r for r in rules if matches.get(r.rule_id) or errors.get(r.rule_id) != r.last_error]
        if not work:
            return
        conn.execute("BEGIN TRANSACTION")
        try:
            for rule in work:
                if errors.get(rule.rule_id) != rule.last_error:
                    routing_rules.record_failure(conn, rule.rule_id, errors.get(rule.rule_id), now)
                found = sorted(matches.get(rule.rule_id, []), key=order.__getitem__)
                if found:
                    self._add(conn, rule, found, now)
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except duckdb.Error:
                pass  # DuckDB ended the transaction on the error
            raise

    def _evaluate(self, rules: list[RoutingRule], ids: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
        """Per rule: the sampled matching trace ids, or why the rule failed."""
        matches: dict[str, list[str]] = defaultdict(list)
        errors: dict[str, str] = {}
        cursor = self.db.cursor()
        try:
            experiments: dict[str, str | None] = {}
            for rule in rules:
                if rule.session_id not in experiments:
                    try:
                        experiments[rule.session_id] = labeling.get(cursor, rule.session_id).experiment_id
                    except NotFound:
                        experiments[rule.session_id] = None  # deleted meanwhile, with its rules
                experiment = experiments[rule.session_id]
                if experiment is None:
                    continue
                try:
                    found = self._matches(cursor, rule, ids, experiment)
                except CollectorError as exc:
                    errors[rule.rule_id] = exc.message
                    continue
                matches[rule.rule_id] = [t for t in found if sampled(t, rule.sample_rate)]
        finally:
            cursor.close()
        return matches, errors

    def _matches(
        self, cursor: duckdb.DuckDBPyConnection, rule: RoutingRule, ids: list[str], experiment: str
    ) -> list[str]:
        """The rule's query on ``ids``, read-only and rolled back, stopped after the time limit."""
        lake = self.db.is_lake
        keys: list[list[str]] = [] if lake else [ids]
        if rule.filter_string is not None:
            compiled = compile_filter(rule.filter_string)
            sql = (LAKE_FILTER_MATCHES if lake else FILTER_MATCHES).format(where=compiled.where)
            params = [*keys, ids, experiment, *compiled.params]
        else:
            assert rule.sql_query is not None
            query = rule.sql_query.rstrip().rstrip(";")
            sql, params = (LAKE_SQL_MATCHES if lake else SQL_MATCHES).format(query=query), [*keys, ids, experiment]
        timer = threading.Timer(self.time_limit_s, cursor.interrupt)
        try:
            with sandbox.read_only_transaction(cursor):
                if rule.sql_query is not None:
                    sandbox.check_query(cursor, rule.sql_query)
                timer.start()
                return [row[0] for row in cursor.execute(sql, params).fetchall()]
        except duckdb.InterruptException:
            raise InvalidParameter(f"stopped after the time limit of {self.time_limit_s:g} s") from None
        except duckdb.Error as exc:
            raise InvalidParameter(f"SQL error: {str(exc).splitlines()[0]}") from None
        finally:
            timer.cancel()

    @staticmethod
    def _add(conn: duckdb.DuckDBPyConnection, rule: RoutingRule, found: list[str], now: datetime) -> None:
        """Add what the session does not hold yet, up to the rule's cap, and count it."""
        try:
            current = routing_rules.get(conn, rule.session_id, rule.rule_id)  # deleted since, or its count moved
            session = labeling.get(conn, rule.session_id)
        except NotFound:
            return
        if session.is_queue:
            held = set(review_queue_items.already_attached(conn, session.session_id, found))
        else:
            held = set(labeling_copy.known(conn, session.session_id, found))
        new = [t for t in found if t not in held]
        if current.max_traces is not None:
            new = new[: max(0, current.max_traces - current.traces_added)]
        if new:
            labeling.add_traces(conn, session.session_id, new, now)
            routing_rules.count_added(conn, rule.rule_id, len(new))
