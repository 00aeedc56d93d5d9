"""Hashing of the secrets users hold: passwords with argon2id (argon2-cffi's defaults, RFC 9106's
second recommended profile), tokens and sign-in cookies with SHA-256.

Why two hashes: a password is chosen by a person and must be slow to guess from its hash; a token
is 256 random bits, so a fast hash is as safe and lets the collector find it by its hash in a dict
(no per-request argon2, which costs ~50 ms of CPU).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from annotrace.collector.errors import InvalidParameter

TOKEN_PREFIX = "at_"
TOKEN_ID_PREFIX = "tok-"
MIN_PASSWORD_CHARS = 8
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidParameter(f"password: at least {MIN_PASSWORD_CHARS} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str, str]:
    """(token_id, token, token_hash): the token is shown once, the hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return TOKEN_ID_PREFIX + secrets.token_hex(8), token, sha256(token)


def new_secret() -> tuple[str, str]:
    """(value, its hash) for a sign-in cookie."""
    value = secrets.token_urlsafe(32)
    return value, sha256(value)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
