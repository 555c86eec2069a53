"""Ingestion's routes: channel platforms push interactions in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from clientcard.http import Ctx, context
from clientcard.ingestion import service
from clientcard.interactions.schemas import BatchIn, BatchResult, InteractionIn, ItemResult

router = APIRouter(prefix="/api/v1")


@router.post("/interactions", response_model=ItemResult, status_code=201, tags=["interactions"])
def ingest_one(data: InteractionIn, response: Response, ctx: Ctx = Depends(context)):
    """One interaction from a channel platform. Sending it again creates nothing (200)."""
    with ctx.db.write() as session:
        (result,) = service.ingest(
            session,
            actor=ctx.actor,
            items=[data.model_dump(by_alias=True, mode="json")],
        )
    if result.result == "duplicate":
        response.status_code = 200
    return result


@router.post("/interactions/batch", response_model=BatchResult, tags=["interactions"])
def ingest_batch(data: BatchIn, ctx: Ctx = Depends(context)) -> BatchResult:
    """Up to 1,000 interactions; each item answers for itself, a bad one sinks no other."""
    with ctx.db.write() as session:
        results = service.ingest(session, actor=ctx.actor, items=data.items)
    return BatchResult(items=results)
