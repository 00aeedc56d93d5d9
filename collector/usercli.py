"""``annotrace users`` and ``annotrace tokens``: manage who may call a collector.

They work on the store's file (``--db``, or the duckdb exporter's ``path`` in ``--config``), so the
first admin can be added before the collector ever starts with an authenticator. A running
collector holds the file: then the same changes go through its REST API (``/api/v1/users``,
``/api/v1/tokens``) with an admin's token, and this command says so. Every change is written
with its ``audit_log`` row (actor ``cli``).

On a DuckLake store (the exporter's ``ducklake``) there is no file to hold: the command writes to
the lake while its collectors run, and each of them sees the change at its next request
(``auth.authenticator`` checks the lake's users version).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import duckdb

from annotrace.collector.auth.secrets import hash_password, new_token
from annotrace.collector.config import CollectorConfig
from annotrace.collector.errors import InvalidParameter, Unavailable
from annotrace.collector.store.queries import users as users_queries

T = TypeVar("T")
ACTOR = "cli"


class StoreLocation(NamedTuple):
    """Where the users are: the file, or a DuckLake catalog and data path."""

    path: str
    lake_catalog: str | None = None
    lake_data_path: str | None = None


def add_parsers(commands: Any, default_config: str) -> None:
    users = commands.add_parser("users", help="add, list, change or delete users").add_subparsers(
        dest="action", required=True
    )
    add = users.add_parser("add", help="add a user (asks for the password, or reads it with --password-stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=users_queries.ROLES)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--no-password", action="store_true", help="a user that signs in with tokens only")
    users.add_parser("list", help="list users and their permissions")
    role = users.add_parser("set-role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=users_queries.ROLES)
    password = users.add_parser("set-password", help="change a user's password (ends their sign-ins)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")
    delete = users.add_parser("delete", help="delete a user (revokes their tokens)")
    delete.add_argument("name")
    grant = users.add_parser(
        "grant",
        help="give a user a permission on one experiment (READ, EDIT, MANAGE, "
        "NO_PERMISSIONS); a user with grants sees only those experiments",
    )
    grant.add_argument("name")
    grant.add_argument("experiment_id")
    grant.add_argument("permission", choices=users_queries.PERMISSIONS)
    ungrant = users.add_parser("ungrant", help="remove a user's permission row on one experiment")
    ungrant.add_argument("name")
    ungrant.add_argument("experiment_id")
    tokens = commands.add_parser("tokens", help="create, list or revoke API tokens").add_subparsers(
        dest="action", required=True
    )
    create = tokens.add_parser("create", help="create a token for a user; it is printed once")
    create.add_argument("name", help="the user the token acts as")
    create.add_argument("--description")
    create.add_argument("--expires-days", type=int)
    listing = tokens.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.add_argument("--user")
    revoke = tokens.add_parser("revoke", help="revoke a token by its id (tok-...)")
    revoke.add_argument("token_id")
    for sub in (*users.choices.values(), *tokens.choices.values()):
        sub.add_argument("--config", default=default_config, help="find the store through this config")
        sub.add_argument("--db", help="the store's DuckDB file (of a stopped collector)")


def run(args: argparse.Namespace, load: Callable[[str], CollectorConfig] | None) -> int:
    path = StoreLocation(args.db) if args.db else (_location(load(args.config)) if load is not None else None)
    if not path:
        raise InvalidParameter(f"No store to change: pass --db FILE (no config at {args.config})")
    now = datetime.now(UTC).replace(tzinfo=None)
    if args.command == "users":
        return _users(args, path, now)
    return _tokens(args, path, now)


def _users(args: argparse.Namespace, path: StoreLocation, now: datetime) -> int:
    action = args.action
    if action == "add":
        password_hash = None if args.no_password else hash_password(_password(args.password_stdin))
        _write(
            path,
            lambda c: users_queries.add_user(
                c, name=args.name, role=args.role, password_hash=password_hash, now=now, actor=ACTOR
            ),
        )
        print(f"added {args.name} ({args.role})")
    elif action == "list":
        users, permissions = _write(path, lambda c: (users_queries.list_users(c), users_queries.list_permissions(c)))
        for user in users:
            grants = (
                ", ".join(
                    f"{p['experiment_id']}:{p['permission']}" for p in permissions if p["user_name"] == user["name"]
                )
                or "all experiments"
            )
            sign_in = "password" if user["has_password"] else "tokens only"
            print(f"{user['name']}\t{user['role']}\t{sign_in}\t{grants}")
    elif action == "set-role":
        _write(path, lambda c: users_queries.set_role(c, name=args.name, role=args.role, now=now, actor=ACTOR))
        print(f"{args.name} is now {args.role}")
    elif action == "set-password":
        password_hash = hash_password(_password(args.password_stdin))
        _write(
            path,
            lambda c: users_queries.set_password(c, name=args.name, password_hash=password_hash, now=now, actor=ACTOR),
        )
        print(f"changed the password of {args.name}")
    elif action == "delete":
        _write(path, lambda c: users_queries.delete_user(c, name=args.name, now=now, actor=ACTOR))
        print(f"deleted {args.name} (tokens revoked)")
    elif action == "grant":
        _write(
            path,
            lambda c: users_queries.set_permission(
                c,
                experiment_id=args.experiment_id,
                user_name=args.name,
                permission=args.permission,
                now=now,
                actor=ACTOR,
            ),
        )
        print(f"{args.name}: {args.permission} on experiment {args.experiment_id}")
    else:
        _write(
            path,
            lambda c: users_queries.delete_permission(
                c, experiment_id=args.experiment_id, user_name=args.name, now=now, actor=ACTOR
            ),
        )
        print(f"{args.name}: no permission row on experiment {args.experiment_id}")
    return 0


def _tokens(args: argparse.Namespace, path: StoreLocation, now: datetime) -> int:
    if args.action == "create":
        token_id, token, token_hash = new_token()
        expire = now + timedelta(days=args.expires_days) if args.expires_days else None
        _write(
            path,
            lambda c: users_queries.create_token(
                c,
                token_id=token_id,
                user_name=args.name,
                token_hash=token_hash,
                description=args.description,
                expire_time=expire,
                now=now,
                actor=ACTOR,
            ),
        )
        print(f"token {token_id} for {args.name} (shown once, keep it secret):", file=sys.stderr)
        print(token)
    elif args.action == "list":
        for t in _write(path, lambda c: users_queries.list_tokens(c, args.user)):
            state = f"revoked {t['revoke_time']:%Y-%m-%d %H:%M}" if t["revoke_time"] else "active"
            print(f"{t['token_id']}\t{t['user_name']}\t{state}\t{t['description'] or ''}")
    else:
        _write(path, lambda c: users_queries.revoke_token(c, token_id=args.token_id, now=now, actor=ACTOR))
        print(f"revoked {args.token_id}")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise InvalidParameter("the two passwords differ")
    return first


def _write(path: StoreLocation, job: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``job`` in one transaction on the file (brought to the current schema first)."""
    from annotrace.collector.store.db import Database

    try:
        db = Database(path.path, lake_catalog=path.lake_catalog, lake_data_path=path.lake_data_path)
    except Unavailable as exc:
        raise Unavailable(
            f"{exc.message}. While the collector runs, manage users through it: "
            "/api/v1/users and /api/v1/tokens with an admin's token"
        ) from None
    try:
        db.conn.execute("BEGIN TRANSACTION")
        try:
            result = job(db.conn)
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")
        return result
    finally:
        db.close()


def _location(config: CollectorConfig) -> StoreLocation | None:
    for cid, exporter in config.exporters.items():
        if cid.type == "duckdb":
            lake = exporter.ducklake
            if lake is None:
                return StoreLocation(str(exporter.path))
            return StoreLocation(str(exporter.path), lake.catalog, lake.data_path or None)
    return None
