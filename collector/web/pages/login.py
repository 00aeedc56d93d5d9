"""``/login`` and ``/logout``. With an authenticator on the web port: a password sign-in that
starts a server-side session (cookie ``annotrace_session``: HttpOnly, SameSite=Lax, Secure behind
https) with its own CSRF token. Without one (single-user development on loopback): the labeler
says who they are (``web/identity.py``). Either way the browser then goes back to ``next``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from annotrace.collector.auth.authenticator import SESSION_COOKIE
from annotrace.collector.auth.middleware import session_cookie
from annotrace.collector.auth.secrets import new_secret, sha256
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import users
from annotrace.collector.web import identity
from annotrace.collector.web.page import PageRoute, render, url_path

if TYPE_CHECKING:
    from starlette.requests import Request

    from annotrace.collector.store.access import Access

SESSION_DAYS = 14


@dataclass(frozen=True, slots=True)
class LoginPage:
    next: str
    name: str
    error: str | None
    login_with_password: bool = False


def _safe_next(request: Request, value: str | None) -> str:
    """Only a local path: ``next`` must not send the labeler to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return url_path(request, "review_sessions")
    return value


def _secure(request: Request) -> bool:
    """Behind https (directly, or a proxy that says so): the cookie is sent over https only."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


async def login_form(access: Access, request: Request) -> Response:
    name = identity.current_user(request) or ""
    return render(
        request,
        "login.html",
        LoginPage(
            next=_safe_next(request, request.query_params.get("next")),
            name=name,
            error=None,
            login_with_password=identity.authenticator(request) is not None,
        ),
    )


async def login_submit(access: Access, request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name") or "")
    target = _safe_next(request, str(form.get("next") or ""))
    authenticator = identity.authenticator(request)
    if authenticator is not None:
        password = str(form.get("password") or "")
        if not name or not await run_in_threadpool(authenticator.check_password, name, password):
            await access.write(partial(users.record_failed_sign_in, user_name=name, now=now_ms()))
            page = LoginPage(next=target, name=name, error="Wrong user name or password.", login_with_password=True)
            return render(request, "login.html", page, status_code=401)
        value, value_hash = new_secret()
        csrf, _ = new_secret()
        now = now_ms()
        await access.write(
            partial(
                users.start_web_session,
                session_hash=value_hash,
                user_name=name,
                csrf_token=csrf,
                now=now,
                expire_time=now + timedelta(days=SESSION_DAYS),
            )
        )
        authenticator.reload()
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE, value, max_age=SESSION_DAYS * 86400, httponly=True, samesite="lax", secure=_secure(request)
        )
        return response
    error = identity.check_name(name)
    if error is not None:
        return render(request, "login.html", LoginPage(next=target, name=name, error=error), status_code=400)
    response = RedirectResponse(target, status_code=303)
    identity.remember(response, name)
    return response


async def logout(access: Access, request: Request) -> Response:
    response = RedirectResponse(url_path(request, "login"), status_code=303)
    authenticator = identity.authenticator(request)
    value = session_cookie(request.headers)
    if authenticator is not None and value:
        await access.write(partial(users.end_web_session, session_hash=sha256(value)))
        authenticator.reload()
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=_secure(request))
    identity.forget(response)
    return response


def routes(access: Access) -> list[BaseRoute]:
    return [
        PageRoute("/login", partial(login_form, access), methods=["GET"], name="login"),
        PageRoute("/login", partial(login_submit, access), methods=["POST"], name="login_submit"),
        PageRoute("/logout", partial(logout, access), methods=["POST"], name="logout"),
    ]
