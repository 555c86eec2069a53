"""Administration: custom field definitions and their groups. Definitions are never removed,
only retired (see custom_fields.service); every change is checked against the version the
form was read at."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from clientcard.custom_fields import service as custom_fields
from clientcard.custom_fields.models import CHOICE_TYPES, FIELD_TYPES
from clientcard.custom_fields.schemas import (
    CustomFieldCreate,
    CustomFieldRead,
    CustomFieldUpdate,
    CustomGroupCreate,
    CustomGroupRead,
)
from clientcard.errors import Conflict, Invalid, PreconditionFailed
from clientcard.web import forms
from clientcard.web.admin_views import admin_page, done, errors_of, show
from clientcard.web.context import CSRF, Page, web_router
from clientcard.web.forms import Form, form_data
from clientcard.web.i18n import N_, tr

router = web_router()
FIELDS_URL = "/admin/custom-fields"
GROUPS_URL = "/admin/custom-field-groups"


def _options(form: Form) -> list[str] | None:
    """The options textarea: one option per line, blank lines left out; none at all is
    "no options"."""
    lines = [line.strip() for line in form.get("options", "").splitlines()]
    return [line for line in lines if line] or None


def _fields_page(request: Request, ctx: Page, *, status: int = 200, **extra: Any) -> Response:
    with ctx.db.read() as session:
        fields = [
            CustomFieldRead.model_validate(f)
            for f in custom_fields.list_fields(session, actor=ctx.actor)
        ]
        groups = [
            CustomGroupRead.model_validate(g)
            for g in custom_fields.list_groups(session, actor=ctx.actor)
        ]
    context = {
        "fields": fields,
        "groups": groups,
        "field_types": FIELD_TYPES,
        "choice_types": CHOICE_TYPES,
        **extra,
    }
    return show(request, "admin/custom_fields.html", context, status=status)


def _field_page(
    request: Request, ctx: Page, field_id: int, *, status: int = 200, **extra: Any
) -> Response:
    with ctx.db.read() as session:
        field = CustomFieldRead.model_validate(
            custom_fields.get_field(session, actor=ctx.actor, field_id=field_id)
        )
    context = {"field": field, "choice_types": CHOICE_TYPES, **extra}
    return show(request, "admin/custom_field.html", context, status=status)


@router.get(FIELDS_URL)
def field_list(request: Request, ctx: Page = Depends(admin_page)) -> Response:
    return _fields_page(request, ctx)


@router.post(FIELDS_URL, dependencies=CSRF)
def field_create(
    request: Request, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    values = {
        "key": forms.text(form, "key"),
        "label": forms.text(form, "label"),
        "type": form.get("type", ""),
        "options": _options(form),
        "required": forms.checkbox(form, "required"),
        "group": forms.text(form, "group"),
        "position": forms.integer(form, "position") or 0,
    }
    try:
        data = forms.parse(CustomFieldCreate, values)
        with ctx.db.write() as session:
            custom_fields.create_field(session, actor=ctx.actor, data=data)
    except (Invalid, Conflict) as exc:
        shown = {**values, "options": form.get("options", "")}
        return _fields_page(
            request, ctx, status=exc.status, form=shown, errors=errors_of(exc, fallback="key")
        )
    return done(request, FIELDS_URL, N_("Custom field %(key)s created."), key=data.key)


@router.get(FIELDS_URL + "/{field_id}")
def field_detail(request: Request, field_id: int, ctx: Page = Depends(admin_page)) -> Response:
    return _field_page(request, ctx, field_id)


@router.post(FIELDS_URL + "/{field_id}", dependencies=CSRF)
def field_update(
    request: Request,
    field_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(admin_page),
) -> Response:
    """Label, required, position, and the options of a choice field (its form has them)."""
    values: dict[str, Any] = {
        "label": forms.text(form, "label"),
        "required": forms.checkbox(form, "required"),
        "position": forms.integer(form, "position") or 0,
    }
    if "options" in form:
        values["options"] = _options(form) or []
    shown = {**values, "options": form.get("options", ""), "version": form.get("version")}
    try:
        data = forms.parse(CustomFieldUpdate, values)
        with ctx.db.write() as session:
            custom_fields.update_field(
                session,
                actor=ctx.actor,
                field_id=field_id,
                data=data,
                expected_version=forms.version(form),
            )
    except PreconditionFailed as exc:
        return _field_page(request, ctx, field_id, status=412, form=shown, stale=exc.extra)
    except (Invalid, Conflict) as exc:
        return _field_page(
            request, ctx, field_id, status=exc.status, form=shown, errors=errors_of(exc)
        )
    return done(request, f"{FIELDS_URL}/{field_id}", N_("Custom field saved."))


@router.post(FIELDS_URL + "/{field_id}/retire", dependencies=CSRF)
def field_retire(
    request: Request,
    field_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(admin_page),
) -> Response:
    try:
        with ctx.db.write() as session:
            custom_fields.delete_field(
                session, actor=ctx.actor, field_id=field_id, expected_version=forms.version(form)
            )
    except PreconditionFailed:
        return _field_page(
            request,
            ctx,
            field_id,
            status=412,
            notice=tr(
                request,
                "This field was changed by someone else meanwhile; it is shown as it is "
                "now. Retire it again if you still mean to.",
            ),
        )
    return done(request, FIELDS_URL, N_("Custom field retired."))


# ---- groups ----------------------------------------------------------------------------


@router.post(GROUPS_URL, dependencies=CSRF)
def group_create(
    request: Request, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    values = {
        "key": forms.text(form, "group_key"),
        "label": forms.text(form, "group_label"),
        "position": forms.integer(form, "group_position") or 0,
    }
    try:
        data = forms.parse(CustomGroupCreate, values)
        with ctx.db.write() as session:
            custom_fields.create_group(session, actor=ctx.actor, data=data)
    except (Invalid, Conflict) as exc:
        return _fields_page(
            request,
            ctx,
            status=exc.status,
            group_form=values,
            errors=errors_of(exc, fallback="key", prefix="group_"),
        )
    return done(request, FIELDS_URL, N_("Group %(key)s created."), key=data.key)


@router.post(GROUPS_URL + "/{key}/retire", dependencies=CSRF)
def group_retire(
    request: Request, key: str, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    try:
        with ctx.db.write() as session:
            custom_fields.delete_group(
                session, actor=ctx.actor, key=key, expected_version=forms.version(form)
            )
    except PreconditionFailed:
        return _fields_page(
            request,
            ctx,
            status=412,
            notice=f"Group {key} was changed by someone else meanwhile; it is shown as it is "
            "now. Retire it again if you still mean to.",
        )
    return done(request, FIELDS_URL, N_("Group %(key)s retired."), key=key)
