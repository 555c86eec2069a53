"""The case page: the case form, its timeline, private notes and internal comments."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from clientcard.cases import service as cases
from clientcard.cases.models import NOTE_COLORS, PRIORITIES, STATUSES
from clientcard.cases.schemas import CaseCommentCreate, CaseNoteCreate, CaseUpdate
from clientcard.customers import service as customers
from clientcard.errors import Conflict, Invalid, PreconditionFailed
from clientcard.interactions import timeline
from clientcard.web import forms
from clientcard.web.context import CSRF, Page, page, web_router
from clientcard.web.forms import Form, form_data
from clientcard.web.i18n import N_, tr
from clientcard.web.render import field_errors, is_htmx, redirect, render

router = web_router()
TIMELINE_PAGE = 20


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    case_id: int,
    ctx: Page = Depends(page),
    previous: bool = False,
    cursor: str | None = Query(None, max_length=1000),
) -> Response:
    return show_case(request, ctx, case_id, previous=previous, cursor=cursor)


def show_case(
    request: Request,
    ctx: Page,
    case_id: int,
    *,
    previous: bool = False,
    cursor: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    with ctx.db.read() as session:
        case = cases.get_case(session, actor=ctx.actor, case_id=case_id)
        items, next_cursor = timeline.case_timeline(
            session,
            actor=ctx.actor,
            case_id=case_id,
            include_previous=previous,
            cursor=cursor,
            limit=TIMELINE_PAGE,
        )
        context = {
            "case": case,
            "customer": customers.read_card(session, actor=ctx.actor, customer_id=case.customer_id),
            "notes": cases.list_notes(session, actor=ctx.actor, case_id=case_id),
            "comments": cases.list_comments(session, actor=ctx.actor, case_id=case_id),
            "case_types": cases.list_case_types(session, actor=ctx.actor),
        }
    more = {"previous": "true" if previous else "", "cursor": next_cursor or ""}
    context |= {
        "items": items,
        "previous": previous,
        "more_url": f"/cases/{case_id}?{urlencode({k: v for k, v in more.items() if v})}"
        if next_cursor
        else None,
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "colors": NOTE_COLORS,
        "flash": request.session.pop("flash", None),
        **extra,
    }
    return render(
        request,
        "cases/case.html",
        context,
        status=status,
        fragments={"timeline-next": "_timeline.html"},
    )


def _done(request: Request, ctx: Page, case_id: int, message: str) -> Response:
    """After a write; `message` is an English text of the catalogue (marked N_)."""
    request.session["flash"] = tr(request, message)
    if is_htmx(request):
        return show_case(request, ctx, case_id)
    return redirect(request, f"/cases/{case_id}")


def _assignee(form: Form, ctx: Page) -> int | str | None:
    """The assignee select offers nobody, me, and whoever is assigned now."""
    choice = form.get("assigned_to", "")
    if choice == "me":
        return ctx.actor.user_id
    return forms.integer(form, "assigned_to")


@router.post("/cases/{case_id}", dependencies=CSRF)
def case_update(
    request: Request, case_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    values = {
        "subject": forms.text(form, "subject"),
        "description": forms.text(form, "description"),
        "type": form.get("type"),
        "status": form.get("status"),
        "priority": form.get("priority"),
        "assigned_to": _assignee(form, ctx),
    }
    submitted = {**values, "version": form.get("version")}
    try:
        data = forms.parse(CaseUpdate, values)
        with ctx.db.write() as session:
            cases.update_case(
                session,
                actor=ctx.actor,
                case_id=case_id,
                data=data,
                expected_version=forms.version(form),
            )
    except PreconditionFailed as exc:
        return show_case(request, ctx, case_id, status=412, form=submitted, stale=exc.extra)
    except (Invalid, Conflict) as exc:
        errors = field_errors(exc.errors) or {"form": exc.detail}
        return show_case(request, ctx, case_id, status=exc.status, form=submitted, errors=errors)
    return _done(request, ctx, case_id, N_("Case saved."))


@router.post("/cases/{case_id}/notes", dependencies=CSRF)
def case_note_add(
    request: Request, case_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    values = {"text": forms.text(form, "text"), "color": form.get("color") or "yellow"}
    try:
        data = forms.parse(CaseNoteCreate, values)
        with ctx.db.write() as session:
            cases.add_note(session, actor=ctx.actor, case_id=case_id, data=data)
    except Invalid as exc:
        errors = {f"note_{k}": v for k, v in field_errors(exc.errors).items()}
        return show_case(request, ctx, case_id, status=422, note=values, errors=errors)
    return _done(request, ctx, case_id, N_("Note added."))


@router.post("/cases/{case_id}/notes/{note_id}/delete", dependencies=CSRF)
def case_note_delete(
    request: Request, case_id: int, note_id: int, ctx: Page = Depends(page)
) -> Response:
    with ctx.db.write() as session:
        cases.delete_note(session, actor=ctx.actor, case_id=case_id, note_id=note_id)
    return _done(request, ctx, case_id, N_("Note deleted."))


@router.post("/cases/{case_id}/comments", dependencies=CSRF)
def case_comment_add(
    request: Request, case_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    values = {"text": forms.text(form, "text")}
    try:
        data = forms.parse(CaseCommentCreate, values)
        with ctx.db.write() as session:
            cases.add_comment(session, actor=ctx.actor, case_id=case_id, data=data)
    except (Invalid, Conflict) as exc:
        errors = {f"comment_{k}": v for k, v in field_errors(exc.errors).items()}
        return show_case(
            request, ctx, case_id, status=exc.status, comment=values["text"], errors=errors
        )
    return _done(request, ctx, case_id, N_("Comment posted."))
