"""Administration: campaigns (name, direction, description, active, settings) and their
members."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from clientcard.auth import service as auth
from clientcard.campaigns import service as campaigns
from clientcard.campaigns.models import DIRECTIONS
from clientcard.campaigns.schemas import (
    CampaignAgentsSet,
    CampaignCreate,
    CampaignRead,
    CampaignUpdate,
)
from clientcard.errors import Conflict, Invalid, PreconditionFailed
from clientcard.web import forms
from clientcard.web.admin_views import admin_page, done, errors_of, show
from clientcard.web.context import CSRF, Page, web_router
from clientcard.web.forms import Form, form_data
from clientcard.web.i18n import N_

router = web_router()
MEMBER_PREFIX = "agent-"


def _read(view: campaigns.CampaignView) -> CampaignRead:
    campaign = view.campaign
    data = {name: getattr(campaign, name) for name in CampaignRead.model_fields if name != "agents"}
    return CampaignRead(**data, agents=view.agents)


def _settings(form: Form) -> Any:
    """The settings textarea: a JSON object, or empty for none."""
    raw = (form.get("settings") or "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise Invalid.field("settings", f"is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise Invalid.field("settings", "must be a JSON object: {...}")
    return value


def _values(form: Form) -> dict[str, Any]:
    return {
        "name": forms.text(form, "name"),
        "direction": form.get("direction", ""),
        "description": forms.text(form, "description"),
        "active": forms.checkbox(form, "active"),
    }


def _shown(form: Form, values: dict[str, Any]) -> dict[str, Any]:
    """What the form shows again after a refusal: what was typed."""
    return {**values, "settings": form.get("settings", ""), "version": form.get("version")}


def _campaigns_page(request: Request, ctx: Page, *, status: int = 200, **extra: Any) -> Response:
    with ctx.db.read() as session:
        items = [_read(v) for v in campaigns.list_campaigns(session, actor=ctx.actor)]
    context = {"campaigns": items, "directions": DIRECTIONS, **extra}
    return show(request, "admin/campaigns.html", context, status=status)


def _campaign_page(
    request: Request, ctx: Page, campaign_id: int, *, status: int = 200, **extra: Any
) -> Response:
    with ctx.db.read() as session:
        campaign = _read(campaigns.get_campaign(session, actor=ctx.actor, campaign_id=campaign_id))
        users = auth.list_users(session, actor=ctx.actor)
        people = [(u.id, u.username, u.display_name, u.role, u.active) for u in users]
    context = {
        "campaign": campaign,
        "users": people,
        "directions": DIRECTIONS,
        "member_prefix": MEMBER_PREFIX,
        **extra,
    }
    return show(request, "admin/campaign.html", context, status=status)


@router.get("/admin/campaigns")
def campaign_list(request: Request, ctx: Page = Depends(admin_page)) -> Response:
    return _campaigns_page(request, ctx)


@router.post("/admin/campaigns", dependencies=CSRF)
def campaign_create(
    request: Request, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    values = _values(form)
    try:
        data = forms.parse(CampaignCreate, {**values, "settings": _settings(form)})
        with ctx.db.write() as session:
            campaign_id = campaigns.create_campaign(session, actor=ctx.actor, data=data).campaign.id
    except (Invalid, Conflict) as exc:
        return _campaigns_page(
            request, ctx, status=exc.status, form=_shown(form, values), errors=errors_of(exc)
        )
    return done(request, f"/admin/campaigns/{campaign_id}", N_("Campaign created."))


@router.get("/admin/campaigns/{campaign_id}")
def campaign_detail(
    request: Request, campaign_id: int, ctx: Page = Depends(admin_page)
) -> Response:
    return _campaign_page(request, ctx, campaign_id)


@router.post("/admin/campaigns/{campaign_id}", dependencies=CSRF)
def campaign_update(
    request: Request,
    campaign_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(admin_page),
) -> Response:
    values = _values(form)
    try:
        data = forms.parse(CampaignUpdate, {**values, "settings": _settings(form)})
        with ctx.db.write() as session:
            campaigns.update_campaign(
                session,
                actor=ctx.actor,
                campaign_id=campaign_id,
                data=data,
                expected_version=forms.version(form),
            )
    except PreconditionFailed as exc:
        return _campaign_page(
            request, ctx, campaign_id, status=412, form=_shown(form, values), stale=exc.extra
        )
    except (Invalid, Conflict) as exc:
        return _campaign_page(
            request,
            ctx,
            campaign_id,
            status=exc.status,
            form=_shown(form, values),
            errors=errors_of(exc),
        )
    return done(request, f"/admin/campaigns/{campaign_id}", N_("Campaign saved."))


@router.post("/admin/campaigns/{campaign_id}/agents", dependencies=CSRF)
def campaign_agents(
    request: Request,
    campaign_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(admin_page),
) -> Response:
    """The members: one checkbox per user (`agent-<id>`), the ones ticked are the members."""
    chosen = [
        int(name.removeprefix(MEMBER_PREFIX))
        for name in form
        if name.startswith(MEMBER_PREFIX)
        and name.removeprefix(MEMBER_PREFIX).isdigit()
        and forms.checkbox(form, name)
    ]
    try:
        data = forms.parse(CampaignAgentsSet, {"user_ids": chosen})
        with ctx.db.write() as session:
            campaigns.set_agents(
                session,
                actor=ctx.actor,
                campaign_id=campaign_id,
                data=data,
                expected_version=forms.version(form),
            )
    except PreconditionFailed as exc:
        return _campaign_page(
            request, ctx, campaign_id, status=412, members=chosen, stale=exc.extra
        )
    except Invalid as exc:
        return _campaign_page(
            request,
            ctx,
            campaign_id,
            status=exc.status,
            members=chosen,
            errors=errors_of(exc, fallback="user_ids"),
        )
    return done(request, f"/admin/campaigns/{campaign_id}", N_("Members saved."))
