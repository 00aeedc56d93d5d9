"""The Review App: ``/review`` (my labeling sessions) and ``/review/{session_id}`` (the queue, one
item at a time, or the "all done" summary), plus the two form posts of an item (answers, skip).

Everything goes through ``store.queries.labeling_review``: one read per screen (a fixed handful
of queries: moving to the next item is measured by ``bench/web_review.py``), and one writer job
per Submit that saves every answer of the item or none (``labeling_answers.answer_all``). Posts follow
POST -> 303 -> GET, so a reload never posts twice; a post that cannot be saved re-renders the
same item with what the labeler typed and an inline message per field: 422 for answers that
break a rule, 409 when the questions changed since the page was shown (nothing from that post
is saved). Every question is required for Submit (``review_form``). ``static/review.js`` posts
the same forms and follows the same links with ``fetch`` and swaps ``<main>``, so the server has
one behaviour with or without JS. Who is labeling comes from ``web/identity.py`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.access import now_ms
from annotrace.collector.store.queries import labeling_answers, labeling_review, review_leases
from annotrace.collector.web.identity import requires_user
from annotrace.collector.web.page import PageRoute, render, url_path
from annotrace.collector.web.pages import review_form
from annotrace.collector.web.pages.review_form import Question
from annotrace.collector.web.pages.review_view import Content, content, document_marks

if TYPE_CHECKING:
    from starlette.requests import Request

    from annotrace.collector.store.access import Access
    from annotrace.collector.store.queries.label_schemas import LabelSchema

STALE_NOTICE = (
    "The questions of this session changed after you opened this item, so nothing was saved. "
    "The current questions are below, with your answers kept where they still fit: check them and "
    "submit again."
)


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    completed: int
    skipped: int
    done: int
    percent: int


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_id: str
    name: str
    url: str
    assigned_users: list[str]
    create_time: datetime
    progress: Progress


@dataclass(frozen=True, slots=True)
class ReviewListPage:
    labeler: str  # (``user`` is every template's signed-in name already)
    sessions: list[SessionRow]


@dataclass(frozen=True, slots=True)
class ItemView:
    trace_id: str
    source_trace_id: str
    number: int  # 1-based place in the queue (``?item=<number>``)
    status: str  # mine
    action: str
    skip_action: str
    prev_url: str | None
    next_url: str | None
    content: Content
    # blind review (reviewers_per_item): the trace page shows everyone's answers and judge scores,
    # so it is linked only once I have answered the item
    trace_link: bool = True


@dataclass(frozen=True, slots=True)
class AnswerText:
    schema: str
    title: str
    value: str
    comment: str | None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    number: int
    trace_id: str
    status: str
    url: str
    preview: str | None
    answers: list[AnswerText]


@dataclass(frozen=True, slots=True)
class ReviewPage:
    session_id: str
    session_name: str
    labeler: str
    progress: Progress
    item: ItemView | None  # None: nothing left to do, see ``summary``
    questions: list[Question]
    fingerprint: str
    missing_schemas: list[str]
    notice: str | None
    error_count: int
    summary: list[SummaryRow]


def _progress(total: int, completed: int, skipped: int) -> Progress:
    done = completed + skipped
    return Progress(total, completed, skipped, done, round(100 * done / total) if total else 100)


def _item_url(request: Request, session_id: str, number: int) -> str:
    return url_path(request, "review_queue", session_id=session_id) + f"?item={number}"


def _answer_text(schema: LabelSchema | None, name: str, answer: labeling_review.MyAnswer) -> AnswerText:
    value = answer.value
    if isinstance(value, bool) and schema is not None:
        text = str(schema.input.get("positive_label" if value else "negative_label") or value)
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    return AnswerText(name, (schema.title or name) if schema is not None else name, text, answer.comment)


def _page(
    request: Request,
    screen: labeling_review.Screen,
    user: str,
    questions: list[Question] | None = None,
    notice: str | None = None,
    error_count: int = 0,
) -> ReviewPage:
    sid, queue = screen.session.session_id, screen.queue
    completed = sum(entry.status == "completed" for entry in queue)
    skipped = sum(entry.status == "skipped" for entry in queue)
    item = None
    summary: list[SummaryRow] = []
    if screen.index is not None and screen.content is not None:
        i, entry = screen.index, queue[screen.index]
        item = ItemView(
            entry.trace_id,
            entry.source_trace_id,
            i + 1,
            entry.status,
            url_path(request, "review_item", session_id=sid, trace_id=entry.trace_id),
            url_path(request, "review_skip", session_id=sid, trace_id=entry.trace_id),
            _item_url(request, sid, i) if i > 0 else None,
            _item_url(request, sid, i + 2) if i + 1 < len(queue) else None,
            content(screen.content),
            screen.session.reviewers_per_item is None or entry.status in ("completed", "skipped"),
        )
        if questions is None:
            questions = review_form.from_saved(screen.schemas, screen.answers.get(entry.trace_id, {}))
    else:
        by_name = {s.name: s for s in screen.schemas}
        summary = [
            SummaryRow(
                n + 1,
                e.trace_id,
                e.status,
                _item_url(request, sid, n + 1),
                screen.previews.get(e.trace_id),
                [_answer_text(by_name.get(name), name, a) for name, a in screen.answers.get(e.trace_id, {}).items()],
            )
            for n, e in enumerate(queue)
        ]
    return ReviewPage(
        sid,
        screen.session.name,
        user,
        _progress(len(queue), completed, skipped),
        item,
        questions or [],
        screen.fingerprint,
        screen.missing_schemas,
        notice,
        error_count,
        summary,
    )


def _next_url(request: Request, screen: labeling_review.Screen, after: str) -> str:
    """My next open item after ``after`` (wrapping round; ``after`` itself was just answered or
    skipped), else the session page (the summary)."""
    queue, sid = screen.queue, screen.session.session_id
    session_page = url_path(request, "review_queue", session_id=sid)
    if screen.session.reviewers_per_item is not None:
        return session_page  # the next item is whichever the server hands out
    start = next((i for i, e in enumerate(queue) if e.trace_id == after), -1)
    for step in range(1, len(queue) + 1):
        i = (start + step) % len(queue)
        if queue[i].trace_id != after and queue[i].status not in labeling_review.DONE:
            return _item_url(request, sid, i + 1)
    return session_page


def _item_param(raw: str | None) -> int | str | None:
    if not raw:
        return None
    return int(raw) - 1 if raw.isdigit() else raw


# -- pages ---------------------------------------------------------------------------------------
@requires_user
async def sessions_page(access: Access, request: Request, user: str) -> Response:
    found = await access.read(labeling_review.my_sessions, user)
    rows = [
        SessionRow(
            p.session.session_id,
            p.session.name,
            url_path(request, "review_queue", session_id=p.session.session_id),
            p.session.assigned_users,
            p.session.create_time,
            _progress(p.total, p.completed, p.skipped),
        )
        for p in found
    ]
    return render(request, "review_list.html", ReviewListPage(user, rows))


@requires_user
async def queue_page(access: Access, request: Request, user: str) -> Response:
    item = _item_param(request.query_params.get("item"))
    leased = False
    if item is None:  # reviewers_per_item: the server hands out the next item (review_leases.claim)
        leased, item = await access.write(
            partial(review_leases.claim, session_id=request.path_params["session_id"], user=user, now=now_ms())
        )
    screen = await access.read(
        partial(labeling_review.screen, summary=leased and item is None), request.path_params["session_id"], user, item
    )
    return render(request, "review.html", _page(request, screen, user))


@requires_user
async def submit_item(access: Access, request: Request, user: str) -> Response:
    """Judge every answer first; save them all in one writer job only when all are fine (PRG)."""
    session_id, trace_id = request.path_params["session_id"], request.path_params["trace_id"]
    form = await request.form()
    # without the item's content: only a page that must be shown again needs it
    screen = await access.read(partial(labeling_review.screen, with_content=False), session_id, user, trace_id)
    entry = screen.queue[screen.index or 0]
    parsed = review_form.parse(screen.schemas, form, screen.answers.get(entry.trace_id, {}))
    if form.get("_add_row"):
        questions = review_form.add_row(review_form.clear_errors(parsed.questions), str(form.get("_add_row")))
        return await _again(access, request, user, entry.trace_id, questions, None, 0, 200)
    if str(form.get("fingerprint") or "") != screen.fingerprint:
        return await _again(
            access, request, user, entry.trace_id, parsed.questions, STALE_NOTICE, parsed.error_count, 409
        )
    if parsed.error_count:
        return await _again(access, request, user, entry.trace_id, parsed.questions, None, parsed.error_count, 422)
    job = partial(
        labeling_review.submit,
        session_id=session_id,
        trace_id=entry.trace_id,
        user=user,
        shown=screen.fingerprint,
        answers=parsed.answers,
        now=now_ms(),
        documents=document_marks(form),
    )
    try:
        await access.write(job)
    except InvalidParameter as exc:  # the schemas changed between our read and the write: show the new ones
        fresh = await access.read(partial(labeling_review.screen, with_content=False), session_id, user, entry.trace_id)
        again = review_form.parse(fresh.schemas, form, fresh.answers.get(entry.trace_id, {}))
        stale = isinstance(exc, labeling_review.StaleForm)
        return await _again(
            access,
            request,
            user,
            entry.trace_id,
            again.questions,
            STALE_NOTICE if stale else exc.message,
            again.error_count,
            409 if stale else 422,
        )
    return RedirectResponse(_next_url(request, screen, entry.trace_id), status_code=303)


async def _again(
    access: Access,
    request: Request,
    user: str,
    trace_id: str,
    questions: list[Question],
    notice: str | None,
    error_count: int,
    status: int,
) -> Response:
    """The item shown again, with the questions as posted (typed values and inline messages)."""
    screen = await access.read(labeling_review.screen, request.path_params["session_id"], user, trace_id)
    return render(
        request, "review.html", _page(request, screen, user, questions, notice, error_count), status_code=status
    )


@requires_user
async def skip_item(access: Access, request: Request, user: str) -> Response:
    session_id = request.path_params["session_id"]
    screen = await access.read(
        partial(labeling_review.screen, with_content=False), session_id, user, request.path_params["trace_id"]
    )
    entry = screen.queue[screen.index or 0]
    await access.write(
        partial(labeling_answers.skip, session_id=session_id, trace_id=entry.trace_id, user=user, now=now_ms())
    )
    return RedirectResponse(_next_url(request, screen, entry.trace_id), status_code=303)


def routes(access: Access) -> list[BaseRoute]:
    return [
        PageRoute("/review", partial(sessions_page, access), methods=["GET"], name="review_sessions"),
        PageRoute("/review/{session_id}", partial(queue_page, access), methods=["GET"], name="review_queue"),
        PageRoute(
            "/review/{session_id}/items/{trace_id}", partial(submit_item, access), methods=["POST"], name="review_item"
        ),
        PageRoute(
            "/review/{session_id}/items/{trace_id}/skip",
            partial(skip_item, access),
            methods=["POST"],
            name="review_skip",
        ),
    ]
