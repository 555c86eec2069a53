from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, HttpUrl

from clientcard.customers.schemas import LeadSource
from clientcard.interactions.models import Channel, Direction, Status
from clientcard.schemas import Id, ReadModel, Timestamp, WriteModel

MAX_BATCH = 1000


class InteractionDetails(WriteModel):
    """Channel specifics."""

    duration_s: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    recording_url: HttpUrl | None = None
    ivr_path: str | None = Field(None, max_length=200)
    disposition: str | None = Field(None, max_length=100)
    rating: Literal["positive", "neutral", "negative"] | None = Field(
        None, description="Chat rating, the three faces."
    )
    cc: list[str] = Field(default_factory=list, max_length=100)
    bcc: list[str] = Field(default_factory=list, max_length=100)
    source_number: str | None = Field(None, max_length=60)
    destination_number: str | None = Field(None, max_length=60)


class InteractionIn(WriteModel):
    source: str = Field(min_length=1, max_length=100, description="The pushing platform.")
    external_id: str = Field(min_length=1, max_length=200, description="Its id there.")
    channel: Channel
    direction: Direction
    from_: str | None = Field(None, alias="from", max_length=500)
    to: str | None = Field(None, max_length=500)
    customer_id: Id | None = Field(None, description="Skips identity resolution.")
    started_at: Timestamp
    ended_at: Timestamp | None = None
    agent: str | None = Field(None, max_length=150, description="Username of the agent.")
    queue: str | None = Field(None, max_length=100)
    campaign_id: Id | None = None
    case_id: Id | None = None
    status: Status | None = None
    read: bool = False
    subject: str | None = Field(None, max_length=500)
    body: str | None = Field(None, max_length=200_000)
    details: InteractionDetails = Field(default_factory=InteractionDetails)
    lead_source: LeadSource | None = None


class BatchIn(WriteModel):
    items: list[dict[str, Any]] = Field(max_length=MAX_BATCH)


class ItemResult(ReadModel):
    index: int
    id: int | None = None
    customer_id: int | None = None
    result: Literal["created", "duplicate", "error"]
    ambiguous: bool = False
    candidates: list[int] = Field(default_factory=list)
    errors: list[dict[str, str]] = Field(default_factory=list)


class BatchResult(ReadModel):
    items: list[ItemResult]


class InteractionRead(ReadModel):
    id: int
    customer_id: int
    source: str
    external_id: str
    channel: Channel
    direction: Direction
    from_: str | None = Field(serialization_alias="from", validation_alias="from_address")
    to: str | None = Field(validation_alias="to_address")
    agent: str | None
    queue: str | None
    campaign_id: int | None
    case_id: int | None
    status: str | None
    read: bool
    subject: str | None
    body: str | None
    preview: str | None
    details: dict[str, Any]
    started_at: dt.datetime
    ended_at: dt.datetime | None
    ambiguous: bool
    candidates: list[int]
    created_at: dt.datetime
    created_by: str


class ResolveIn(WriteModel):
    customer_id: Id


class CustomerNoteIn(WriteModel):
    text: str = Field(min_length=1, max_length=5000)


class CustomerNoteRead(ReadModel):
    id: int
    customer_id: int
    text: str
    created_at: dt.datetime
    created_by: str


class TimelineItem(ReadModel):
    kind: Literal["interaction", "note", "case_opened", "case_closed"]
    at: dt.datetime
    id: int
    preview: str | None = None
    channel: str | None = None
    direction: str | None = None
    status: str | None = None
    agent: str | None = None
    actor: str | None = None
    case_id: int | None = None
    case_number: str | None = None


class ChannelStats(ReadModel):
    channel: str
    inbound: int
    outbound: int
    total: int
    successful: int
    success_rate: float | None


class CampaignStats(ReadModel):
    campaign_id: int | None
    name: str | None
    cases: int
    interactions: int


class Dashboard(ReadModel):
    since: dt.datetime | None
    until: dt.datetime | None
    cases_by_status: dict[str, int]
    by_campaign: list[CampaignStats]
    channels: list[ChannelStats]
    preferred_channel: str | None
