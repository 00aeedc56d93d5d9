"""``/login``: a labeler says who they are (see ``web/identity.py``), then goes back to ``next``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from annotrace.collector.web import identity
from annotrace.collector.web.page import render

if TYPE_CHECKING:
    from starlette.requests import Request

    from annotrace.collector.store.access import Access


@dataclass(frozen=True, slots=True)
class LoginPage:
    next: str
    name: str
    error: str | None


def _safe_next(value: str | None) -> str:
    """Only a local path: ``next`` must not send the labeler to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/review"
    return value


async def login_form(api: Access, request: Request) -> Response:
    name = identity.current_user(request) or ""
    return render(request, "login.html", LoginPage(next=_safe_next(request.query_params.get("next")), name=name,
                                                   error=None))


async def login_submit(api: Access, request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name") or "")
    target = _safe_next(str(form.get("next") or ""))
    error = identity.check_name(name)
    if error is not None:
        return render(request, "login.html", LoginPage(next=target, name=name, error=error), status_code=400)
    response = RedirectResponse(target, status_code=303)
    identity.remember(response, name)
    return response


async def logout(api: Access, request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    identity.forget(response)
    return response


def routes(api: Access) -> list[BaseRoute]:
    return [
        Route("/login", partial(login_form, api), methods=["GET"]),
        Route("/login", partial(login_submit, api), methods=["POST"]),
        Route("/logout", partial(logout, api), methods=["POST"]),
    ]
