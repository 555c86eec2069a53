from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from clientcard.http import Ctx, context
from clientcard.statuses import service
from clientcard.statuses.schemas import (
    LeadStatusCreate,
    LeadStatusRead,
    LeadStatusUpdate,
    ScheduledChangeCreate,
    ScheduledChangeRead,
)

router = APIRouter(prefix="/api/v1")


@router.get(
    "/lead-statuses", response_model=dict[str, list[LeadStatusRead]], tags=["lead statuses"]
)
def list_statuses(ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        return {
            "items": [
                LeadStatusRead.model_validate(s)
                for s in service.list_statuses(session, actor=ctx.actor)
            ]
        }


@router.post(
    "/lead-statuses", response_model=LeadStatusRead, status_code=201, tags=["lead statuses"]
)
def create_status(data: LeadStatusCreate, ctx: Ctx = Depends(context)):
    """Administrators add a lead status."""
    with ctx.db.write() as session:
        return LeadStatusRead.model_validate(
            service.create_status(session, actor=ctx.actor, data=data)
        )


@router.patch("/lead-statuses/{key}", response_model=LeadStatusRead, tags=["lead statuses"])
def update_status(key: str, data: LeadStatusUpdate, ctx: Ctx = Depends(context)):
    """Administrators rename, reorder or retire (active=false) a lead status."""
    with ctx.db.write() as session:
        return LeadStatusRead.model_validate(
            service.update_status(session, actor=ctx.actor, key=key, data=data)
        )


@router.get(
    "/customers/{customer_id}/scheduled-changes",
    response_model=dict[str, list[ScheduledChangeRead]],
    tags=["lead statuses"],
)
def list_scheduled(customer_id: int, ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        changes = service.list_scheduled(session, actor=ctx.actor, customer_id=customer_id)
        return {"items": [ScheduledChangeRead.model_validate(c) for c in changes]}


@router.post(
    "/customers/{customer_id}/scheduled-changes",
    response_model=ScheduledChangeRead,
    status_code=201,
    tags=["lead statuses"],
)
def schedule(customer_id: int, data: ScheduledChangeCreate, ctx: Ctx = Depends(context)):
    """A lead status change due at `due_at`, applied on time by `clientcard worker`."""
    with ctx.db.write() as session:
        return ScheduledChangeRead.model_validate(
            service.schedule(session, actor=ctx.actor, customer_id=customer_id, data=data)
        )


@router.delete(
    "/customers/{customer_id}/scheduled-changes/{change_id}",
    status_code=204,
    tags=["lead statuses"],
)
def cancel(customer_id: int, change_id: int, ctx: Ctx = Depends(context)) -> Response:
    """Cancels a change not applied yet (409 once it is)."""
    with ctx.db.write() as session:
        service.cancel(session, actor=ctx.actor, customer_id=customer_id, change_id=change_id)
    return Response(status_code=204)
