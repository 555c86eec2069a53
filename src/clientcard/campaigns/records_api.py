from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from clientcard.campaigns import records as service
from clientcard.campaigns.records import (
    CallAgain,
    CampaignBrief,
    CampaignRecordCreate,
    CampaignRecordRead,
    CampaignRecordUpdate,
)
from clientcard.http import Ctx, context, etag, expected_version
from clientcard.schemas import Page

router = APIRouter(prefix="/api/v1/customers/{customer_id}/campaigns", tags=["campaign records"])


def _read(view: service.RecordView) -> CampaignRecordRead:
    record = view.record
    data = {
        name: getattr(record, name)
        for name in CampaignRecordRead.model_fields
        if name != "campaign"
    }
    return CampaignRecordRead(**data, campaign=CampaignBrief.model_validate(view.campaign))


def _with_etag(body: CampaignRecordRead, response: Response) -> CampaignRecordRead:
    response.headers["ETag"] = etag(body.version)
    return body


@router.get("", response_model=Page[CampaignRecordRead])
def list_records(
    customer_id: int,
    ctx: Ctx = Depends(context),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[CampaignRecordRead]:
    """The customer's campaign records, newest first, with each campaign's name and
    direction."""
    with ctx.db.read() as session:
        views, next_cursor = service.list_records(
            session, actor=ctx.actor, customer_id=customer_id, cursor=cursor, limit=limit
        )
        return Page[CampaignRecordRead](items=[_read(v) for v in views], next_cursor=next_cursor)


@router.post("", response_model=CampaignRecordRead, status_code=201)
def create_record(
    customer_id: int, data: CampaignRecordCreate, response: Response, ctx: Ctx = Depends(context)
):
    """Adds the customer to a campaign (one record per campaign, 409)."""
    with ctx.db.write() as session:
        body = _read(
            service.create_record(session, actor=ctx.actor, customer_id=customer_id, data=data)
        )
    response.headers["Location"] = f"/api/v1/customers/{customer_id}/campaigns/{body.id}"
    return _with_etag(body, response)


@router.get("/{record_id}", response_model=CampaignRecordRead)
def get_record(customer_id: int, record_id: int, response: Response, ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        body = _read(
            service.get_record(
                session, actor=ctx.actor, customer_id=customer_id, record_id=record_id
            )
        )
    return _with_etag(body, response)


@router.patch("/{record_id}", response_model=CampaignRecordRead)
def update_record(
    customer_id: int,
    record_id: int,
    data: CampaignRecordUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Changes the fields sent. Needs If-Match (412 when stale)."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        view = service.update_record(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            record_id=record_id,
            data=data,
            expected_version=version,
        )
        body = _read(view)
    return _with_etag(body, response)


@router.post("/{record_id}/call-again", response_model=CampaignRecordRead)
def call_again(
    customer_id: int,
    record_id: int,
    data: CallAgain,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Sets status `callback` and the recontact time. If-Match is honoured."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        view = service.call_again(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            record_id=record_id,
            data=data,
            expected_version=version,
        )
        body = _read(view)
    return _with_etag(body, response)


@router.delete("/{record_id}", status_code=204)
def delete_record(
    customer_id: int, record_id: int, request: Request, ctx: Ctx = Depends(context)
) -> Response:
    """Takes the customer out of the campaign; If-Match is honoured."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        service.delete_record(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            record_id=record_id,
            expected_version=version,
        )
    return Response(status_code=204)
