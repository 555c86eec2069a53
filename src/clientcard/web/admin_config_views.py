"""Administration: lead statuses (add, rename, reorder, retire) and case types (add, rename,
retire). Neither carries a version: the last write wins, as in the API."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from clientcard.cases import service as cases
from clientcard.cases.schemas import CaseTypeCreate, CaseTypeRead, CaseTypeUpdate
from clientcard.errors import Conflict, Invalid
from clientcard.statuses import service as statuses
from clientcard.statuses.schemas import LeadStatusCreate, LeadStatusRead, LeadStatusUpdate
from clientcard.web import forms
from clientcard.web.admin_views import admin_page, done, errors_of, show
from clientcard.web.context import CSRF, Page, web_router
from clientcard.web.forms import Form, form_data
from clientcard.web.i18n import N_

router = web_router()
STATUSES_URL = "/admin/lead-statuses"
TYPES_URL = "/admin/case-types"


# ---- lead statuses ---------------------------------------------------------------------


def _statuses_page(request: Request, ctx: Page, *, status: int = 200, **extra: Any) -> Response:
    with ctx.db.read() as session:
        items = [
            LeadStatusRead.model_validate(s)
            for s in statuses.list_statuses(session, actor=ctx.actor)
        ]
    return show(request, "admin/lead_statuses.html", {"statuses": items, **extra}, status=status)


@router.get(STATUSES_URL)
def lead_statuses(request: Request, ctx: Page = Depends(admin_page)) -> Response:
    return _statuses_page(request, ctx)


@router.post(STATUSES_URL, dependencies=CSRF)
def lead_status_create(
    request: Request, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    values = {
        "key": forms.text(form, "key"),
        "label": forms.text(form, "label"),
        "position": forms.integer(form, "position") or 0,
    }
    try:
        data = forms.parse(LeadStatusCreate, values)
        with ctx.db.write() as session:
            statuses.create_status(session, actor=ctx.actor, data=data)
    except (Invalid, Conflict) as exc:
        return _statuses_page(
            request, ctx, status=exc.status, form=values, errors=errors_of(exc, fallback="key")
        )
    return done(request, STATUSES_URL, N_("Lead status %(label)s added."), label=data.label)


def _status_change(
    request: Request, ctx: Page, key: str, values: dict[str, Any], message: str
) -> Response:
    try:
        data = forms.parse(LeadStatusUpdate, values)
        with ctx.db.write() as session:
            statuses.update_status(session, actor=ctx.actor, key=key, data=data)
    except Invalid as exc:
        return _statuses_page(
            request,
            ctx,
            status=exc.status,
            row=key,
            row_form=values,
            row_errors=errors_of(exc, fallback="label", prefix="row_"),
        )
    return done(request, STATUSES_URL, message)


@router.post(STATUSES_URL + "/{key}", dependencies=CSRF)
def lead_status_update(
    request: Request, key: str, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    """Renames and reorders (the position orders the list)."""
    values = {"label": forms.text(form, "label"), "position": forms.integer(form, "position")}
    return _status_change(request, ctx, key, values, N_("Lead status saved."))


@router.post(STATUSES_URL + "/{key}/retire", dependencies=CSRF)
def lead_status_retire(request: Request, key: str, ctx: Page = Depends(admin_page)) -> Response:
    return _status_change(request, ctx, key, {"active": False}, N_("Lead status retired."))


@router.post(STATUSES_URL + "/{key}/reinstate", dependencies=CSRF)
def lead_status_reinstate(request: Request, key: str, ctx: Page = Depends(admin_page)) -> Response:
    return _status_change(request, ctx, key, {"active": True}, N_("Lead status reinstated."))


# ---- case types ------------------------------------------------------------------------


def _types_page(request: Request, ctx: Page, *, status: int = 200, **extra: Any) -> Response:
    with ctx.db.read() as session:
        items = [
            CaseTypeRead.model_validate(t) for t in cases.list_case_types(session, actor=ctx.actor)
        ]
    return show(request, "admin/case_types.html", {"case_types": items, **extra}, status=status)


@router.get(TYPES_URL)
def case_types(request: Request, ctx: Page = Depends(admin_page)) -> Response:
    return _types_page(request, ctx)


@router.post(TYPES_URL, dependencies=CSRF)
def case_type_create(
    request: Request, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    values = {"key": forms.text(form, "key"), "label": forms.text(form, "label")}
    try:
        data = forms.parse(CaseTypeCreate, values)
        with ctx.db.write() as session:
            cases.create_case_type(session, actor=ctx.actor, data=data)
    except (Invalid, Conflict) as exc:
        return _types_page(
            request, ctx, status=exc.status, form=values, errors=errors_of(exc, fallback="key")
        )
    return done(request, TYPES_URL, N_("Case type %(label)s added."), label=data.label)


def _type_change(
    request: Request, ctx: Page, key: str, values: dict[str, Any], message: str
) -> Response:
    try:
        data = forms.parse(CaseTypeUpdate, values)
        with ctx.db.write() as session:
            cases.update_case_type(session, actor=ctx.actor, key=key, data=data)
    except Invalid as exc:
        return _types_page(
            request,
            ctx,
            status=exc.status,
            row=key,
            row_form=values,
            row_errors=errors_of(exc, fallback="label", prefix="row_"),
        )
    return done(request, TYPES_URL, message)


@router.post(TYPES_URL + "/{key}", dependencies=CSRF)
def case_type_update(
    request: Request, key: str, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    values = {"label": forms.text(form, "label")}
    return _type_change(request, ctx, key, values, N_("Case type saved."))


@router.post(TYPES_URL + "/{key}/retire", dependencies=CSRF)
def case_type_retire(request: Request, key: str, ctx: Page = Depends(admin_page)) -> Response:
    return _type_change(request, ctx, key, {"active": False}, N_("Case type retired."))


@router.post(TYPES_URL + "/{key}/reinstate", dependencies=CSRF)
def case_type_reinstate(request: Request, key: str, ctx: Page = Depends(admin_page)) -> Response:
    return _type_change(request, ctx, key, {"active": True}, N_("Case type reinstated."))
