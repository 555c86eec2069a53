from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from clientcard.errors import Invalid
from clientcard.http import Ctx, context
from clientcard.interactions import dashboard, service, timeline
from clientcard.interactions.schemas import (
    Channel,
    CustomerNoteIn,
    CustomerNoteRead,
    Dashboard,
    Direction,
    InteractionRead,
    ResolveIn,
    TimelineItem,
)
from clientcard.schemas import Page, Timestamp

router = APIRouter(prefix="/api/v1")


@router.get("/interactions", response_model=Page[InteractionRead], tags=["interactions"])
def list_ambiguous(
    ctx: Ctx = Depends(context),
    ambiguous: bool = Query(..., description="Must be true: the list of ambiguous interactions"),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[InteractionRead]:
    """Interactions whose contact point matched several customers, for an agent to resolve."""
    if not ambiguous:
        raise Invalid.field(
            "ambiguous",
            "only ambiguous=true is listed; read interactions through a customer's timeline",
        )
    with ctx.db.read() as session:
        rows, next_cursor = service.list_ambiguous(
            session, actor=ctx.actor, cursor=cursor, limit=limit
        )
        return Page[InteractionRead](
            items=[InteractionRead.model_validate(r) for r in rows], next_cursor=next_cursor
        )


@router.get("/interactions/{interaction_id}", response_model=InteractionRead, tags=["interactions"])
def get_interaction(interaction_id: int, ctx: Ctx = Depends(context)) -> InteractionRead:
    with ctx.db.read() as session:
        return InteractionRead.model_validate(
            service.get_interaction(session, actor=ctx.actor, interaction_id=interaction_id)
        )


@router.post(
    "/interactions/{interaction_id}/resolve", response_model=InteractionRead, tags=["interactions"]
)
def resolve(interaction_id: int, data: ResolveIn, ctx: Ctx = Depends(context)):
    """Moves an ambiguous interaction to the right customer."""
    with ctx.db.write() as session:
        return InteractionRead.model_validate(
            service.resolve_ambiguous(
                session,
                actor=ctx.actor,
                interaction_id=interaction_id,
                customer_id=data.customer_id,
            )
        )


@router.get(
    "/customers/{customer_id}/timeline", response_model=Page[TimelineItem], tags=["timeline"]
)
def customer_timeline(
    customer_id: int,
    ctx: Ctx = Depends(context),
    channel: Channel | None = None,
    direction: Direction | None = None,
    case_id: int | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[TimelineItem]:
    filters = timeline.TimelineFilter(
        channel=channel, direction=direction, case_id=case_id, since=since, until=until
    )
    with ctx.db.read() as session:
        items, next_cursor = timeline.customer_timeline(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            filters=filters,
            cursor=cursor,
            limit=limit,
        )
    return Page[TimelineItem](items=items, next_cursor=next_cursor)


@router.get("/cases/{case_id}/timeline", response_model=Page[TimelineItem], tags=["timeline"])
def case_timeline(
    case_id: int,
    ctx: Ctx = Depends(context),
    include_previous: bool = False,
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[TimelineItem]:
    with ctx.db.read() as session:
        items, next_cursor = timeline.case_timeline(
            session,
            actor=ctx.actor,
            case_id=case_id,
            include_previous=include_previous,
            cursor=cursor,
            limit=limit,
        )
    return Page[TimelineItem](items=items, next_cursor=next_cursor)


@router.post(
    "/customers/{customer_id}/notes",
    response_model=CustomerNoteRead,
    status_code=201,
    tags=["timeline"],
)
def add_customer_note(customer_id: int, data: CustomerNoteIn, ctx: Ctx = Depends(context)):
    with ctx.db.write() as session:
        return CustomerNoteRead.model_validate(
            timeline.add_note(session, actor=ctx.actor, customer_id=customer_id, text=data.text)
        )


@router.get("/customers/{customer_id}/dashboard", response_model=Dashboard, tags=["dashboard"])
def customer_dashboard(
    customer_id: int,
    ctx: Ctx = Depends(context),
    since: Timestamp | None = None,
    until: Timestamp | None = None,
) -> Dashboard:
    with ctx.db.read() as session:
        return dashboard.customer_dashboard(
            session, actor=ctx.actor, customer_id=customer_id, since=since, until=until
        )
