"""The authenticated caller (``Principal``) and what their role and experiment permissions allow.

Roles say what kind of work a user does; permissions (MLflow's READ / EDIT / MANAGE) say on which
experiments. A user without any permission row works on every experiment at their role's level
(editor: EDIT, viewer and labeler: READ); a user with rows is restricted to those experiments.
The role caps a permission: a viewer or labeler granted EDIT still only reads. Admins MANAGE all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

Role = Literal["admin", "editor", "labeler", "viewer"]
Via = Literal["token", "basic", "session"]
PERMISSION_RANK = {"NO_PERMISSIONS": 0, "READ": 1, "EDIT": 2, "MANAGE": 3}
ROLE_DEFAULT = {"admin": "MANAGE", "editor": "EDIT", "labeler": "READ", "viewer": "READ"}
ROLE_CAP = {"admin": "MANAGE", "editor": "MANAGE", "labeler": "READ", "viewer": "READ"}
STATE_KEY = "annotrace.principal"


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    via: Via
    grants: Mapping[str, str] = field(default_factory=dict)
    """experiment_id -> permission; empty means the role's level on every experiment."""
    csrf_token: str | None = None
    """Set when signed in through the Review App: writes must send it back."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def restricted(self) -> bool:
        """Whether only some experiments are visible (the user has permission rows)."""
        return not self.is_admin and bool(self.grants)

    def permission(self, experiment_id: str) -> str:
        """The effective permission on one experiment."""
        if self.is_admin:
            return "MANAGE"
        granted = self.grants.get(experiment_id, "NO_PERMISSIONS") if self.grants else ROLE_DEFAULT[self.role]
        return min(granted, ROLE_CAP[self.role], key=PERMISSION_RANK.__getitem__)

    def can(self, permission: str, experiment_id: str) -> bool:
        return PERMISSION_RANK[self.permission(experiment_id)] >= PERMISSION_RANK[permission]

    def readable(self) -> frozenset[str] | None:
        """The experiments this user may read, or None for all of them."""
        if not self.restricted:
            return None
        return frozenset(e for e in self.grants if self.can("READ", e))


def principal_of(connection: HTTPConnection | Mapping[str, Any]) -> Principal | None:
    """Who made this request (set by ``auth.middleware``); None when authentication is off."""
    scope = connection if isinstance(connection, Mapping) else connection.scope
    state = scope.get("state") or {}
    return state.get(STATE_KEY)


def user_name(connection: HTTPConnection | Mapping[str, Any]) -> str | None:
    principal = principal_of(connection)
    return principal.name if principal is not None else None
