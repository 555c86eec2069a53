from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from clientcard.campaigns import service
from clientcard.campaigns.schemas import (
    CampaignAgentsSet,
    CampaignCreate,
    CampaignRead,
    CampaignUpdate,
)
from clientcard.http import Ctx, context, etag, expected_version

router = APIRouter(prefix="/api/v1")
TAGS: list[str] = ["campaigns"]


def _read(view: service.CampaignView) -> CampaignRead:
    campaign = view.campaign
    data = {name: getattr(campaign, name) for name in CampaignRead.model_fields if name != "agents"}
    return CampaignRead(**data, agents=view.agents)


@router.get("/campaigns", response_model=dict[str, list[CampaignRead]], tags=TAGS)
def list_campaigns(ctx: Ctx = Depends(context), active: bool | None = None):
    """Every campaign, by name."""
    with ctx.db.read() as session:
        views = service.list_campaigns(session, actor=ctx.actor, active=active)
        return {"items": [_read(v) for v in views]}


@router.post("/campaigns", response_model=CampaignRead, status_code=201, tags=TAGS)
def create_campaign(data: CampaignCreate, response: Response, ctx: Ctx = Depends(context)):
    """Administrators create a campaign. Its name is unique (409)."""
    with ctx.db.write() as session:
        body = _read(service.create_campaign(session, actor=ctx.actor, data=data))
    response.headers["ETag"] = etag(body.version)
    response.headers["Location"] = f"/api/v1/campaigns/{body.id}"
    return body


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead, tags=TAGS)
def get_campaign(campaign_id: int, response: Response, ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        body = _read(service.get_campaign(session, actor=ctx.actor, campaign_id=campaign_id))
    response.headers["ETag"] = etag(body.version)
    return body


@router.patch("/campaigns/{campaign_id}", response_model=CampaignRead, tags=TAGS)
def update_campaign(
    campaign_id: int,
    data: CampaignUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Administrators change the fields sent. Needs If-Match (412 when stale)."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        view = service.update_campaign(
            session, actor=ctx.actor, campaign_id=campaign_id, data=data, expected_version=version
        )
        body = _read(view)
    response.headers["ETag"] = etag(body.version)
    return body


@router.put("/campaigns/{campaign_id}/agents", response_model=CampaignRead, tags=TAGS)
def set_agents(
    campaign_id: int,
    data: CampaignAgentsSet,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Administrators set the campaign's members (all of them). If-Match is honoured."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        view = service.set_agents(
            session, actor=ctx.actor, campaign_id=campaign_id, data=data, expected_version=version
        )
        body = _read(view)
    response.headers["ETag"] = etag(body.version)
    return body
