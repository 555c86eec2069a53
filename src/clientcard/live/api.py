from __future__ import annotations

from fastapi import APIRouter, Depends

from clientcard.http import Ctx, context
from clientcard.live import service
from clientcard.live.schemas import ScreenPopIn, ScreenPopRead

router = APIRouter(prefix="/api/v1")


@router.post("/screen-pops", response_model=ScreenPopRead, status_code=202, tags=["screen pop"])
def create_screen_pop(data: ScreenPopIn, ctx: Ctx = Depends(context)) -> ScreenPopRead:
    """A contact rings for an agent: their open pages go to the customer's card. Stores
    nothing (ingest the interaction as usual)."""
    with ctx.db.read() as session:
        return service.screen_pop(session, actor=ctx.actor, data=data)
