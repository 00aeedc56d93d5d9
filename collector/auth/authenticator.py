"""Turns a request's credentials into a ``Principal``: ``Authorization: Bearer <token>``,
``Authorization: Basic <user:password>`` or the Review App's sign-in cookie.

Every lookup is in memory. The users, token hashes, permissions and sign-ins are read from the
store once (``reload``) and again after each change made through the collector; a token costs one
SHA-256 and a dict lookup. A Basic password is checked with argon2 (~50 ms of CPU) the first time
only: a verified (user, password) pair is remembered by its SHA-256, until the user's password
hash changes. So authentication costs ingest next to nothing (``make bench``).

On a DuckLake store several collectors share the users, and a change made through one (or with
``annotrace users`` / ``tokens``) must reach the others: every change adds one to the lake's users
version (``store.lake.BUMP_USERS``), and each request here first reads that version (one one-row
query) and reloads when it moved. A revoked token is refused by the next request on every
collector, not after a delay: a TTL would leave a window in which a revoked token still works,
which is what revoking is meant to close. While the catalog is unreachable the copy in memory is
used and the version is tried again at most once a second (exports still reach the spool, and a
hung catalog does not hang every request; nothing can be revoked meanwhile either).
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Literal

from annotrace.collector.auth.principal import Principal, Role, Via
from annotrace.collector.auth.secrets import sha256, verify_password
from annotrace.collector.errors import Unauthenticated
from annotrace.collector.store.queries.users import Snapshot

Scheme = Literal["bearer", "basic"]
SESSION_COOKIE = "annotrace_session"
log = logging.getLogger(__name__)
MAX_REMEMBERED_PASSWORDS = 10_000
RECHECK_AFTER_FAILURE_S = 1.0


class _Directory:
    """What every entry point's authenticator shares: the snapshot and the verified passwords."""

    def __init__(self, load: Callable[[], Snapshot], version: Callable[[], int] | None) -> None:
        self.load = load
        self.version = version
        self.lock = threading.Lock()
        self.loaded_version = version() if version is not None else None
        self.stale = False  # the last version check failed: the users in memory may be out of date
        self.next_check = 0.0  # after a failed check, the next one waits (a hung catalog must not hang every request)
        self.snapshot = load()
        self.verified: dict[str, str] = {}  # sha256(user NUL password) -> the password hash it matched

    def refresh(self) -> None:
        """Reload when the store's users version moved (a lake: another collector changed them)."""
        if self.version is None or (self.stale and time.monotonic() < self.next_check):
            return
        try:
            current = self.version()
            if current == self.loaded_version and not self.stale:
                return
            snapshot = self.load()  # read after the version: a change meanwhile moves it again
        except Exception as exc:  # noqa: BLE001 - the catalog's errors (duckdb's, Unavailable) must not fail requests
            if not self.stale:  # once per outage, not once per request
                log.warning("auth: cannot check the users version, using the users read before: %s", exc)
            self.stale, self.next_check = True, time.monotonic() + RECHECK_AFTER_FAILURE_S
            return
        with self.lock:
            self.snapshot, self.loaded_version, self.stale = snapshot, current, False


class Authenticator:
    """One per entry point (its accepted schemes), all sharing one directory of users."""

    def __init__(
        self,
        load: Callable[[], Snapshot],
        schemes: frozenset[Scheme],
        directory: _Directory | None = None,
        version: Callable[[], int] | None = None,
    ) -> None:
        """``version``: the store's users version, read before each request (a lake's collectors
        share the users; see the module docstring). None for the file, which one collector owns."""
        self._directory = directory or _Directory(load, version)
        self.schemes = schemes

    def for_schemes(self, schemes: frozenset[Scheme]) -> Authenticator:
        """The same users, accepting only ``schemes`` (an entry point naming one extension)."""
        return Authenticator(self._directory.load, schemes, self._directory)

    def reload(self) -> None:
        """Read users, tokens, permissions and sign-ins again (after any change to them): every
        entry point sees the change at once (a revoked token is refused by the next request)."""
        directory = self._directory
        version = directory.version() if directory.version is not None else None
        snapshot = directory.load()
        with directory.lock:
            directory.snapshot, directory.loaded_version = snapshot, version

    @property
    def _snapshot(self) -> Snapshot:
        return self._directory.snapshot

    @property
    def user_count(self) -> int:
        return len(self._snapshot.users)

    def authenticate(self, authorization: str | None, session: str | None = None) -> Principal | None:
        """The caller, None when no credential was sent; ``Unauthenticated`` for a bad one."""
        self._directory.refresh()
        if authorization:
            scheme, _, credential = authorization.strip().partition(" ")
            scheme = scheme.lower()
            if scheme == "bearer" and "bearer" in self.schemes:
                return self._token(credential.strip())
            if scheme == "basic" and "basic" in self.schemes:
                return self._basic(credential.strip())
            accepted = " or ".join(s.capitalize() for s in sorted(self.schemes))
            raise Unauthenticated(f"Unsupported authorization scheme '{scheme}': send {accepted} credentials")
        if session:
            return self._session(session)
        return None

    def _principal(self, name: str, via: Via, csrf: str | None = None) -> Principal:
        snapshot = self._snapshot
        user = snapshot.users.get(name)
        if user is None:
            raise Unauthenticated("Invalid credentials: the user no longer exists")
        role: Role = user[0]  # type: ignore[assignment]  # the schema's CHECK allows only roles
        return Principal(name, role, via, snapshot.permissions.get(name, {}), csrf)

    def _token(self, token: str) -> Principal:
        found = self._snapshot.tokens.get(sha256(token)) if token else None
        if found is None:
            raise Unauthenticated("Invalid API token (unknown, revoked or mistyped)")
        _, user, expire = found
        if expire is not None and expire <= _now():
            raise Unauthenticated("API token expired")
        return self._principal(user, "token")

    def _basic(self, credential: str) -> Principal:
        try:
            name, sep, password = base64.b64decode(credential, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Invalid Basic credentials: not base64 of user:password") from None
        user = self._snapshot.users.get(name) if sep else None
        if user is None or user[1] is None:
            raise Unauthenticated("Invalid user name or password")
        key = sha256(f"{name}\0{password}")
        verified = self._directory.verified
        if verified.get(key) != user[1]:
            if not verify_password(user[1], password):
                raise Unauthenticated("Invalid user name or password")
            with self._directory.lock:
                if len(verified) >= MAX_REMEMBERED_PASSWORDS:
                    verified.clear()
                verified[key] = user[1]
        return self._principal(name, "basic")

    def _session(self, value: str) -> Principal:
        found = self._snapshot.sessions.get(sha256(value))
        if found is None or found[2] <= _now():
            raise Unauthenticated("Your sign-in has ended: sign in again")
        return self._principal(found[0], "session", found[1])

    def check_password(self, name: str, password: str) -> bool:
        """For the login page: whether ``password`` is ``name``'s (always argon2, never cached)."""
        self._directory.refresh()
        user = self._snapshot.users.get(name)
        return user is not None and verify_password(user[1], password)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if isinstance(value, str) else None
