from __future__ import annotations

from pydantic import Field

from clientcard.interactions.models import Channel
from clientcard.schemas import Id, ReadModel, WriteModel


class ScreenPopIn(WriteModel):
    """A contact ringing for an agent now: open their browser at the customer's card."""

    agent: str = Field(min_length=1, max_length=150, description="Username of the agent.")
    customer_id: Id | None = Field(None, description="The card to open; or send `from`.")
    from_: str | None = Field(
        None,
        alias="from",
        max_length=500,
        description="The caller's phone number (any notation) or e-mail, looked up like "
        "GET /api/v1/lookup; the most recently active owner's card opens.",
    )
    channel: Channel


class ScreenPopRead(ReadModel):
    agent: str
    customer_id: int
    channel: str
    url: str
    candidates: list[int] = Field(
        default_factory=list, description="Every card that owns `from`, the opened one first."
    )
