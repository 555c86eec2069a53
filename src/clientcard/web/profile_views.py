"""The card's profile tabs: related customers, accounts, campaigns, attachments, personal
data and one tab per custom field group; the file downloads and the avatar for pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from clientcard.accounts import service as accounts
from clientcard.accounts.models import ACCOUNT_STATUSES
from clientcard.accounts.schemas import AccountCreate, RelationCreate
from clientcard.attachments import service as attachments
from clientcard.attachments import transfer
from clientcard.auth import service as auth
from clientcard.campaigns import records as campaign_records
from clientcard.campaigns import service as campaigns
from clientcard.campaigns.models import RECORD_STATUSES
from clientcard.campaigns.records import CampaignRecordCreate
from clientcard.custom_fields import service as custom_fields
from clientcard.errors import Conflict, DomainError, Invalid, PreconditionFailed
from clientcard.interactions import dashboard
from clientcard.web import forms
from clientcard.web.context import CSRF, Page, page, web_router
from clientcard.web.customer_views import (
    GROUP_TAB,
    PAGE_SIZE,
    STALE_NOTICE,
    after_write,
    card_page,
    remove_from_tab,
)
from clientcard.web.forms import Form, form_data
from clientcard.web.i18n import N_, tr
from clientcard.web.render import field_errors
from clientcard.web.session import csrf_header

router = web_router()


def _store(ctx: Page):
    return transfer.file_store(ctx.settings.files_dir)


def _key_values(text: str | None) -> dict[str, str]:
    """`key = value` lines (an account's additional data) as an object."""
    pairs: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if not line.strip():
            continue
        if not sep or not key.strip():
            raise Invalid.field("data", f"write each line as key = value, not {line.strip()!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def _refused(exc: Invalid | Conflict, fallback: str) -> dict[str, str]:
    return field_errors(exc.errors) or {fallback: exc.detail}


# ---- related customers -----------------------------------------------------------------


@router.get("/customers/{customer_id}/related")
def card_related(request: Request, customer_id: int, ctx: Page = Depends(page)) -> Response:
    return show_related(request, ctx, customer_id)


def show_related(
    request: Request, ctx: Page, customer_id: int, *, status: int = 200, **extra: Any
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        views, _ = accounts.list_relations(
            session, actor=ctx.actor, customer_id=customer_id, cursor=None, limit=200
        )
        return {"relations": views}

    return card_page(request, ctx, customer_id, "related", load, status=status, **extra)


@router.post("/customers/{customer_id}/related", dependencies=CSRF)
def relation_add(
    request: Request, customer_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    values = {
        "other_id": forms.integer(form, "other_id"),
        "labels": forms.tags(form, "labels"),
        "note": forms.text(form, "note"),
    }
    try:
        data = forms.parse(RelationCreate, values)
        with ctx.db.write() as session:
            accounts.create_relation(session, actor=ctx.actor, customer_id=customer_id, data=data)
    except (Invalid, Conflict) as exc:
        shown = {**values, "labels": form.get("labels", "")}
        errors = _refused(exc, "other_id")
        return show_related(request, ctx, customer_id, status=exc.status, form=shown, errors=errors)
    return after_write(request, ctx, customer_id, "related", N_("Relation added."), show_related)


@router.post("/customers/{customer_id}/related/{relation_id}/delete", dependencies=CSRF)
def relation_delete(
    request: Request,
    customer_id: int,
    relation_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(page),
) -> Response:
    version = forms.version(form)
    return remove_from_tab(
        request,
        ctx,
        customer_id,
        "related",
        show_related,
        lambda session: accounts.delete_relation(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            relation_id=relation_id,
            expected_version=version,
        ),
        N_("Relation removed."),
    )


# ---- accounts --------------------------------------------------------------------------


@router.get("/customers/{customer_id}/accounts")
def card_accounts(request: Request, customer_id: int, ctx: Page = Depends(page)) -> Response:
    return show_accounts(request, ctx, customer_id)


def show_accounts(
    request: Request, ctx: Page, customer_id: int, *, status: int = 200, **extra: Any
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        rows, _ = accounts.list_accounts(
            session, actor=ctx.actor, customer_id=customer_id, cursor=None, limit=200
        )
        return {"accounts": rows}

    return card_page(
        request,
        ctx,
        customer_id,
        "accounts",
        load,
        status=status,
        statuses=ACCOUNT_STATUSES,
        **extra,
    )


@router.post("/customers/{customer_id}/accounts", dependencies=CSRF)
def account_add(
    request: Request, customer_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    shown = {k: form.get(k, "") for k in ("number", "type", "status", "data")}
    try:
        values = {
            "number": forms.text(form, "number"),
            "type": forms.text(form, "type"),
            "status": form.get("status") or "active",
            "data": _key_values(form.get("data")),
        }
        data = forms.parse(AccountCreate, values)
        with ctx.db.write() as session:
            accounts.create_account(session, actor=ctx.actor, customer_id=customer_id, data=data)
    except (Invalid, Conflict) as exc:
        errors = _refused(exc, "number")
        return show_accounts(
            request, ctx, customer_id, status=exc.status, form=shown, errors=errors
        )
    return after_write(request, ctx, customer_id, "accounts", N_("Account added."), show_accounts)


@router.post("/customers/{customer_id}/accounts/{account_id}/delete", dependencies=CSRF)
def account_delete(
    request: Request,
    customer_id: int,
    account_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(page),
) -> Response:
    version = forms.version(form)
    return remove_from_tab(
        request,
        ctx,
        customer_id,
        "accounts",
        show_accounts,
        lambda session: accounts.delete_account(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            account_id=account_id,
            expected_version=version,
        ),
        N_("Account removed."),
    )


# ---- campaign records ------------------------------------------------------------------


@router.get("/customers/{customer_id}/campaigns")
def card_campaigns(request: Request, customer_id: int, ctx: Page = Depends(page)) -> Response:
    return show_campaigns(request, ctx, customer_id)


def show_campaigns(
    request: Request, ctx: Page, customer_id: int, *, status: int = 200, **extra: Any
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        views, _ = campaign_records.list_records(
            session, actor=ctx.actor, customer_id=customer_id, cursor=None, limit=200
        )
        agent_ids = {v.record.agent_id for v in views if v.record.agent_id}
        return {
            "records": views,
            "agents": auth.usernames(session, actor=ctx.actor, user_ids=agent_ids),
            "campaigns": campaigns.list_campaigns(session, actor=ctx.actor, active=True),
        }

    return card_page(
        request,
        ctx,
        customer_id,
        "campaigns",
        load,
        status=status,
        statuses=RECORD_STATUSES,
        **extra,
    )


def _recontact(form: Form) -> dt.datetime | str | None:
    """A datetime-local input, read as UTC (the page says so)."""
    value = forms.text(form, "recontact_at")
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    except ValueError:
        return value  # the schema names it


@router.post("/customers/{customer_id}/campaigns", dependencies=CSRF)
def campaign_record_add(
    request: Request, customer_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    values = {
        "campaign_id": forms.integer(form, "campaign_id"),
        "status": form.get("status") or "pending",
        "agent_id": ctx.actor.user_id if forms.checkbox(form, "assign_to_me") else None,
        "recontact_at": _recontact(form),
        "note": forms.text(form, "note"),
    }
    try:
        data = forms.parse(CampaignRecordCreate, values)
        with ctx.db.write() as session:
            campaign_records.create_record(
                session, actor=ctx.actor, customer_id=customer_id, data=data
            )
    except (Invalid, Conflict) as exc:
        shown = {**values, "recontact_at": form.get("recontact_at", "")}
        errors = _refused(exc, "campaign_id")
        return show_campaigns(
            request, ctx, customer_id, status=exc.status, form=shown, errors=errors
        )
    return after_write(
        request, ctx, customer_id, "campaigns", N_("Added to the campaign."), show_campaigns
    )


# ---- attachments -----------------------------------------------------------------------


@router.get("/customers/{customer_id}/attachments")
def card_attachments(
    request: Request,
    customer_id: int,
    ctx: Page = Depends(page),
    cursor: str | None = Query(None, max_length=1000),
) -> Response:
    return show_attachments(request, ctx, customer_id, cursor=cursor)


def show_attachments(
    request: Request,
    ctx: Page,
    customer_id: int,
    *,
    cursor: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        rows, next_cursor = attachments.list_for_customer(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            sources=(),
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        return {
            "files": rows,
            "next_url": f"/customers/{customer_id}/attachments?cursor={next_cursor}"
            if next_cursor
            else None,
        }

    return card_page(
        request,
        ctx,
        customer_id,
        "attachments",
        load,
        status=status,
        max_mb=round(ctx.settings.max_upload_bytes / 2**20, 1),
        **extra,
    )


@router.post("/customers/{customer_id}/attachments", dependencies=[Depends(csrf_header)])
async def attachment_upload(
    request: Request, customer_id: int, ctx: Page = Depends(page)
) -> Response:
    """The file streams into the store as it arrives; the CSRF token comes in the header
    (the page sends the form with htmx), so the body is read only once."""
    store = _store(ctx)
    policy = attachments.UploadPolicy.for_attachments(
        ctx.settings.max_upload_bytes, ctx.settings.allowed_content_types
    )
    target = attachments.Target("customer", customer_id)

    def check() -> None:
        with ctx.db.read() as session:
            attachments.resolve_target(session, actor=ctx.actor, target=target, write=True)

    def create(stored: attachments.StoredFile) -> None:
        with ctx.db.write() as session:
            attachments.create_attachment(
                session, actor=ctx.actor, store=store, target=target, stored=stored
            )

    await run_in_threadpool(check)
    try:
        stored = await transfer.receive(request, store, policy)
    except DomainError as exc:  # too large (413), a type not allowed (415), no file (422)
        if exc.status not in (413, 415, 422):
            raise
        errors = field_errors(exc.errors) if exc.errors else {"file": exc.detail}
        status = exc.status
        return await run_in_threadpool(
            lambda: show_attachments(request, ctx, customer_id, status=status, errors=errors)
        )
    try:
        await run_in_threadpool(create, stored)
    except BaseException:
        await run_in_threadpool(transfer.release, ctx.db, store, stored.sha256)
        raise
    return await run_in_threadpool(
        after_write,
        request,
        ctx,
        customer_id,
        "attachments",
        f"{stored.name} attached.",
        show_attachments,
    )


@router.post("/attachments/{attachment_id}/delete", dependencies=CSRF)
def attachment_delete(
    request: Request, attachment_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    customer_id = forms.integer(form, "customer_id")
    if not isinstance(customer_id, int):
        raise Invalid.field("customer_id", "the form lost the card it belongs to; reload")
    try:
        with ctx.db.write() as session:
            sha256 = attachments.delete_attachment(
                session,
                actor=ctx.actor,
                attachment_id=attachment_id,
                expected_version=forms.version(form),
            )
    except PreconditionFailed:
        return show_attachments(
            request, ctx, customer_id, status=412, notice=tr(request, STALE_NOTICE)
        )
    transfer.release(ctx.db, _store(ctx), sha256)
    return after_write(
        request, ctx, customer_id, "attachments", N_("File deleted."), show_attachments
    )


@router.get("/files/{attachment_id}")
def attachment_download(
    request: Request, attachment_id: int, ctx: Page = Depends(page)
) -> Response:
    with ctx.db.read() as session:
        located, stream = attachments.open_content(
            session, actor=ctx.actor, store=_store(ctx), attachment_id=attachment_id
        )
    return transfer.send(request, located.attachment, stream, disposition="attachment")


@router.get("/customers/{customer_id}/avatar")
def avatar(request: Request, customer_id: int, ctx: Page = Depends(page)) -> Response:
    with ctx.db.read() as session:
        attachment, stream = attachments.open_avatar(
            session, actor=ctx.actor, store=_store(ctx), customer_id=customer_id
        )
    return transfer.send(
        request, attachment, stream, disposition="inline", cache_control="private, no-cache"
    )


# ---- personal data ---------------------------------------------------------------------


@router.get("/customers/{customer_id}/personal-data")
def card_personal_data(request: Request, customer_id: int, ctx: Page = Depends(page)) -> Response:
    def load(session: Session) -> dict[str, Any]:
        board = dashboard.customer_dashboard(
            session, actor=ctx.actor, customer_id=customer_id, since=None, until=None
        )
        rows, _ = accounts.list_accounts(
            session, actor=ctx.actor, customer_id=customer_id, cursor=None, limit=200
        )
        files, more_files = attachments.list_for_customer(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            sources=(),
            cursor=None,
            limit=100,
        )
        fields = custom_fields.list_fields(session, actor=ctx.actor)
        return {
            "board": board,
            "accounts": rows,
            "files": files,
            "more_files": more_files is not None,
            "field_labels": {f.key: f.label for f in fields if f.group_key is None},
        }

    # The header's card read is the profile this tab lists.
    return card_page(request, ctx, customer_id, "personal-data", load, needs_customer=True)


# ---- custom field groups ---------------------------------------------------------------


@router.get("/customers/{customer_id}/groups/{group_key}")
def card_group(
    request: Request, customer_id: int, group_key: str, ctx: Page = Depends(page)
) -> Response:
    return show_group(request, ctx, customer_id, group_key)


def show_group(
    request: Request,
    ctx: Page,
    customer_id: int,
    group_key: str,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        group = custom_fields.get_group(session, actor=ctx.actor, key=group_key)
        rows, _ = custom_fields.list_records(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            group_key=group_key,
            cursor=None,
            limit=200,
        )
        fields = [
            f
            for f in custom_fields.list_fields(session, actor=ctx.actor, active=True)
            if f.group_key == group_key
        ]
        return {"group": group, "records": rows, "fields": fields}

    return card_page(
        request,
        ctx,
        customer_id,
        f"{GROUP_TAB}{group_key}",
        load,
        status=status,
        tab_template="customers/tab_group.html",
        group_key=group_key,
        **extra,
    )


@router.post("/customers/{customer_id}/groups/{group_key}", dependencies=CSRF)
def group_record_add(
    request: Request,
    customer_id: int,
    group_key: str,
    form: Form = Depends(form_data),
    ctx: Page = Depends(page),
) -> Response:
    values = forms.custom_values(form)
    try:
        with ctx.db.write() as session:
            custom_fields.create_record(
                session,
                actor=ctx.actor,
                customer_id=customer_id,
                group_key=group_key,
                values=values,
            )
    except (Invalid, Conflict) as exc:
        errors = {k.removeprefix("values."): v for k, v in _refused(exc, "form").items()}
        return show_group(
            request, ctx, customer_id, group_key, status=exc.status, form=values, errors=errors
        )
    request.session["flash"] = tr(request, "Record added.")
    return show_group(request, ctx, customer_id, group_key)


@router.post("/customers/{customer_id}/groups/{group_key}/{record_id}/delete", dependencies=CSRF)
def group_record_delete(
    request: Request,
    customer_id: int,
    group_key: str,
    record_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(page),
) -> Response:
    try:
        with ctx.db.write() as session:
            custom_fields.delete_record(
                session,
                actor=ctx.actor,
                customer_id=customer_id,
                group_key=group_key,
                record_id=record_id,
                expected_version=forms.version(form),
            )
    except PreconditionFailed:
        return show_group(
            request, ctx, customer_id, group_key, status=412, notice=tr(request, STALE_NOTICE)
        )
    request.session["flash"] = tr(request, "Record removed.")
    return show_group(request, ctx, customer_id, group_key)
