from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from clientcard.campaigns.models import Direction
from clientcard.schemas import Id, JsonObject, ReadModel, WriteModel


class CampaignCreate(WriteModel):
    name: str = Field(min_length=1, max_length=200)
    direction: Direction
    description: str | None = Field(None, max_length=5000)
    active: bool = True
    settings: JsonObject = Field(
        default_factory=dict, description="Campaign settings, a JSON object."
    )


class CampaignUpdate(WriteModel):
    """Only the fields sent are changed."""

    name: str | None = Field(None, min_length=1, max_length=200)
    direction: Direction | None = None
    description: str | None = Field(None, max_length=5000)
    active: bool | None = None
    settings: JsonObject | None = None


class CampaignAgentsSet(WriteModel):
    user_ids: list[Id] = Field(max_length=1000, description="The campaign's members, all of them")


class CampaignRead(ReadModel):
    id: int
    name: str
    direction: Direction
    description: str | None
    active: bool
    settings: dict[str, Any]
    agents: list[int]
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
