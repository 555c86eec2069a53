from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from clientcard.schemas import ReadModel, Timestamp, WriteModel

STATUS_KEY = r"^[a-z][a-z0-9_]{0,39}$"


class LeadStatusCreate(WriteModel):
    key: str = Field(pattern=STATUS_KEY)
    label: str = Field(min_length=1, max_length=100)
    position: int = Field(0, ge=0, le=10_000)


class LeadStatusUpdate(WriteModel):
    label: str | None = Field(None, min_length=1, max_length=100)
    position: int | None = Field(None, ge=0, le=10_000)
    active: bool | None = None


class LeadStatusRead(ReadModel):
    key: str
    label: str
    position: int
    active: bool


class ScheduledChangeCreate(WriteModel):
    field: Literal["status"] = Field(description="What changes: the lead status.")
    value: str = Field(min_length=1, max_length=40, description="The lead status key.")
    due_at: Timestamp


class ScheduledChangeRead(ReadModel):
    id: int
    customer_id: int
    field: str
    value: str | None
    due_at: dt.datetime
    state: Literal["pending", "applied", "cancelled", "failed"]
    error: str | None
    created_at: dt.datetime
    created_by: str
    applied_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancelled_by: str | None
