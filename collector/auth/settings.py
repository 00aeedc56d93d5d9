"""The ``auth`` key of an entry point, as the OpenTelemetry Collector writes it::

    receivers:
      otlp:
        protocols:
          grpc:
            auth:
              authenticator: bearertokenauth
    extensions:
      web:
        auth:
          authenticator: [bearertokenauth, basicauth]

``authenticator`` names an authenticator extension (``bearertokenauth``, ``basicauth``, or
``type/name``) enabled in ``service::extensions``. annotrace also takes a list, tried by the
scheme of the request's ``Authorization`` header: the MLflow client sends Bearer with
``MLFLOW_TRACKING_TOKEN`` and Basic with ``MLFLOW_TRACKING_USERNAME`` / ``_PASSWORD``.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTHENTICATOR_TYPES = {"bearertokenauth": "bearer", "basicauth": "basic"}
"""Extension type -> the Authorization scheme it accepts (otelcol-contrib's names)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AuthConfig:
    authenticator: str | tuple[str, ...]
    """The authenticator extension(s) that check this entry point's callers."""

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.authenticator,) if isinstance(self.authenticator, str) else self.authenticator

    def validate(self) -> None:
        if not self.ids:
            raise ValueError("authenticator: name at least one authenticator extension")


@dataclass(frozen=True, kw_only=True, slots=True)
class BearerTokenAuthConfig:
    """``bearertokenauth``: ``Authorization: Bearer <token>`` with tokens from ``annotrace tokens create``
    (stored hashed in the store, not in this file)."""

    scheme: str = "Bearer"
    """The scheme word before the token; otelcol-contrib's default."""

    def validate(self) -> None:
        if self.scheme.lower() != "bearer":
            raise ValueError("scheme: only Bearer is supported")


@dataclass(frozen=True, kw_only=True, slots=True)
class BasicAuthConfig:
    """``basicauth``: ``Authorization: Basic`` with the users of ``annotrace users add`` (argon2
    password hashes in the store; no htpasswd file)."""
