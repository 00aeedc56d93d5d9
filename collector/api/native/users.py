"""``/api/v1/users`` and ``/api/v1/tokens``: manage users, permissions and API tokens on a running
collector (``annotrace users`` / ``tokens`` do the same on a stopped collector's file).

Users and permissions are for admins (``auth.rules``); tokens are self-service: anyone signed in
lists, creates and revokes their own, an admin anyone's. A new token is in the answer once and
never again. After each change every listener's authenticator reads the users again, so a revoked
token is refused by the very next request.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

from pydantic import Field, with_config
from pydantic.config import JsonDict
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from annotrace.collector.api.mlflow.wire import json_body, ok, rfc3339
from annotrace.collector.api.models import Integer, Text, Timestamp, parse, request_body
from annotrace.collector.api.native.openapi_operation import ERROR, path_parameter, query_parameters, response_schema
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.auth.middleware import AUTHENTICATOR_KEY
from annotrace.collector.auth.principal import principal_of
from annotrace.collector.auth.secrets import MIN_PASSWORD_CHARS, hash_password, new_token
from annotrace.collector.errors import InvalidParameter, PermissionDenied
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import users as users_queries

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from annotrace.collector.store.access import Access

MAX_TOKEN_DAYS = 3650
_NOT_IN_NAME = r":\u0000-\u001f\u007f-\u009f\ufffd"  # what users_queries.check_name refuses
_NAME: JsonDict = {
    "description": "no leading or trailing spaces, no ':', control characters or U+FFFD",
    "pattern": rf"^[^\s{_NOT_IN_NAME}]([^{_NOT_IN_NAME}]*[^\s{_NOT_IN_NAME}])?$",
}
"""What the store's checks refuse (``users_queries.check_name``, ``check_role``, ``hash_password``): in the
document only, as the store words those errors."""
_ROLE: JsonDict = {"enum": list(users_queries.ROLES)}
_PASSWORD: JsonDict = {"minLength": MIN_PASSWORD_CHARS}


class NewUserBody(TypedDict):
    name: Annotated[str, Text(max_chars=users_queries.MAX_NAME_CHARS, non_empty=True, documented=_NAME)]
    role: Annotated[str, Text(non_empty=True, documented=_ROLE)]
    password: NotRequired[Annotated[str, Text(documented=_PASSWORD)] | None]


@with_config(
    json_schema_extra={
        "anyOf": [
            {"required": ["role"], "properties": {"role": {"type": "string"}}},
            {"required": ["password"], "properties": {"password": {"type": "string"}}},
        ]
    }
)
class UserChangeBody(TypedDict):
    """A new role, a new password, or both."""

    role: NotRequired[Annotated[str, Text(documented=_ROLE)] | None]
    password: NotRequired[Annotated[str, Text(documented=_PASSWORD)] | None]


class PermissionBody(TypedDict):
    permission: Annotated[str, Text(non_empty=True, documented={"enum": list(users_queries.PERMISSIONS)})]


class NewTokenBody(TypedDict):
    """Every key optional: an empty body (no Content-Type needed) makes a token for the caller."""

    user: NotRequired[Annotated[str, Text()] | None]
    expires_days: NotRequired[Annotated[int, Integer(minimum=1, maximum=MAX_TOKEN_DAYS)] | None]
    description: NotRequired[Annotated[str, Text(max_chars=500)] | None]


class TokenListParams(TypedDict):
    user: NotRequired[Annotated[str, Text(documented={"description": "whose tokens (admins)"})] | None]


_ROLE_ENUM = Field(json_schema_extra=_ROLE)


class UserJson(TypedDict):
    name: str
    role: Annotated[str, _ROLE_ENUM]
    has_password: NotRequired[bool]
    create_time: Timestamp
    last_update_time: Timestamp


class PermissionJson(TypedDict):
    experiment_id: str
    user_name: str
    permission: Annotated[str, Field(json_schema_extra={"enum": list(users_queries.PERMISSIONS)})]
    create_time: NotRequired[str]


class UserList(TypedDict):
    users: list[UserJson]
    permissions: list[PermissionJson]


class OneUser(TypedDict):
    user: UserJson


class OnePermission(TypedDict):
    permission: PermissionJson


class TokenJson(TypedDict):
    """A token's row: never the token itself."""

    token_id: str
    user_name: str
    description: str | None
    create_time: Timestamp
    expire_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]
    revoke_time: Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]


class TokenList(TypedDict):
    tokens: list[TokenJson]


class NewToken(TypedDict):
    token_id: str
    token: Annotated[str, Field(description="the token, shown this once")]
    user_name: str


class OneToken(TypedDict):
    token: TokenJson


class Nothing(TypedDict):
    """``{}``."""


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: rfc3339(v) if hasattr(v, "isoformat") else v for k, v in row.items()}


def _reload(request: Request) -> None:
    authenticator = (request.scope.get("state") or {}).get(AUTHENTICATOR_KEY)
    if authenticator is not None:
        authenticator.reload()


def _actor(request: Request) -> str | None:
    principal = principal_of(request)
    return principal.name if principal is not None else None


async def list_users(access: Access, request: Request) -> Response:
    users = await access.read(users_queries.list_users)
    permissions = await access.read(users_queries.list_permissions)
    return ok({"users": [_jsonable(u) for u in users], "permissions": permissions})


async def add_user(access: Access, request: Request) -> Response:
    """``{"name", "role", "password"?}``; without a password the user signs in with tokens only."""
    body = parse(NewUserBody, await json_body(request))
    name, role, password = body["name"], body["role"], body.get("password")
    password_hash = hash_password(password) if password is not None else None
    user = await access.write(
        partial(
            users_queries.add_user,
            name=name,
            role=users_queries.check_role(role),
            password_hash=password_hash,
            now=now_ms(),
            actor=_actor(request),
        )
    )
    _reload(request)
    return ok({"user": _jsonable(user)})


async def update_user(access: Access, request: Request) -> Response:
    """``{"role"?, "password"?}``: a new password ends the user's Review App sign-ins."""
    name = request.path_params["name"]
    body = parse(UserChangeBody, await json_body(request))
    role, password = body.get("role"), body.get("password")
    if role is None and password is None:
        raise InvalidParameter("role, password: give at least one")
    actor = _actor(request)
    if password is not None:
        password_hash = hash_password(password)
        await access.write(
            partial(users_queries.set_password, name=name, password_hash=password_hash, now=now_ms(), actor=actor)
        )
    if role is not None:
        await access.write(partial(users_queries.set_role, name=name, role=role, now=now_ms(), actor=actor))
    _reload(request)
    return ok({})


async def delete_user(access: Access, request: Request) -> Response:
    await access.write(
        partial(users_queries.delete_user, name=request.path_params["name"], now=now_ms(), actor=_actor(request))
    )
    _reload(request)
    return ok({})


async def set_permission(access: Access, request: Request) -> Response:
    """``{"permission": "READ" | "EDIT" | "MANAGE" | "NO_PERMISSIONS"}``."""
    permission = parse(PermissionBody, await json_body(request))["permission"]
    row = await access.write(
        partial(
            users_queries.set_permission,
            experiment_id=request.path_params["experiment_id"],
            user_name=request.path_params["name"],
            permission=permission,
            now=now_ms(),
            actor=_actor(request),
        )
    )
    _reload(request)
    return ok({"permission": row})


async def delete_permission(access: Access, request: Request) -> Response:
    await access.write(
        partial(
            users_queries.delete_permission,
            experiment_id=request.path_params["experiment_id"],
            user_name=request.path_params["name"],
            now=now_ms(),
            actor=_actor(request),
        )
    )
    _reload(request)
    return ok({})


def _owner(request: Request, asked: str | None) -> str | None:
    """Whose tokens: the caller's own; an admin may name anyone (None: everyone's)."""
    principal = principal_of(request)
    if principal is None or principal.is_admin:
        return asked
    if asked is not None and asked != principal.name:
        raise PermissionDenied(f"User '{principal.name}' may manage only their own tokens")
    return principal.name


async def list_tokens(access: Access, request: Request) -> Response:
    asked = parse_query(TokenListParams, request.query_params).get("user")
    tokens = await access.read(users_queries.list_tokens, _owner(request, asked))
    return ok({"tokens": [_jsonable(t) for t in tokens]})


async def create_token(access: Access, request: Request) -> Response:
    """``{"user"?, "description"?, "expires_days"?}`` -> ``{"token_id", "token"}``: the token is shown
    this once."""
    body = parse(NewTokenBody, await json_body(request, content_type_required=False))
    user = _owner(request, body.get("user")) or _actor(request)
    if user is None:
        raise PermissionDenied('Name the user the token is for: {"user": ...}')
    days = body.get("expires_days")
    now = now_ms()
    token_id, token, token_hash = new_token()
    expire = None if days is None else now.__class__.fromtimestamp(now.timestamp() + days * 86400)
    row = await access.write(
        partial(
            users_queries.create_token,
            token_id=token_id,
            user_name=user,
            token_hash=token_hash,
            description=body.get("description"),
            expire_time=expire,
            now=now,
            actor=_actor(request),
        )
    )
    _reload(request)
    return ok({"token_id": token_id, "token": token, "user_name": row["user_name"]})


async def revoke_token(access: Access, request: Request) -> Response:
    principal = principal_of(request)
    owner = None if principal is None or principal.is_admin else principal.name
    row = await access.write(
        partial(
            users_queries.revoke_token,
            token_id=request.path_params["token_id"],
            now=now_ms(),
            actor=_actor(request),
            owner=owner,
        )
    )
    _reload(request)
    return ok({"token": _jsonable(row)})


def _op(
    summary: str,
    answer: type[Any],
    *,
    params: tuple[str, ...] = (),
    in_query: type[Any] | None = None,
    body: type[Any] | None = None,
) -> dict[str, Any]:
    error = {
        "description": "MLflow error envelope (401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 400, 404)",
        "content": {"application/json": {"schema": ERROR}},
    }
    ok_answer = {"description": "OK", "content": {"application/json": {"schema": response_schema(answer)}}}
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": ok_answer, "4XX": error},
        "parameters": [path_parameter(p) for p in params] + (query_parameters(in_query) if in_query else []),
    }
    if body is not None:
        op["requestBody"] = request_body(body)
    return op


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/users": {
        "get": _op("Users (no password hashes) and their per-experiment permissions (admins)", UserList),
        "post": _op(
            "Add a user (admins)",
            OneUser,
            body=NewUserBody,
        ),
    },
    "/api/v1/users/{name}": {
        "patch": _op(
            "Change a user's role or password; a new password ends their sign-ins (admins)",
            Nothing,
            params=("name",),
            body=UserChangeBody,
        ),
        "delete": _op("Delete a user, revoking their tokens (admins)", Nothing, params=("name",)),
    },
    "/api/v1/users/{name}/permissions/{experiment_id}": {
        "put": _op(
            "Grant a permission on one experiment; a user with grants sees only those experiments (admins)",
            OnePermission,
            params=("name", "experiment_id"),
            body=PermissionBody,
        ),
        "delete": _op(
            "Remove a user's permission row on one experiment (admins)", Nothing, params=("name", "experiment_id")
        ),
    },
    "/api/v1/tokens": {
        "get": _op(
            "Your API tokens (never the tokens themselves); an admin may pass ?user=",
            TokenList,
            in_query=TokenListParams,
        ),
        "post": _op(
            "Create an API token, answered once as `token` (an admin may pass `user`)",
            NewToken,
            body=NewTokenBody,
        ),
    },
    "/api/v1/tokens/{token_id}": {
        "delete": _op("Revoke an API token (yours; an admin's: anyone's)", OneToken, params=("token_id",))
    },
}
