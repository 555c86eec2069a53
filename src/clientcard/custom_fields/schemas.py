from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AliasChoices, Field

from clientcard.custom_fields.models import FieldType
from clientcard.schemas import JsonObject, ReadModel, WriteModel

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"
OPTIONS_NOTE = "Required (non-empty, distinct) for choice and multi_choice; refused for others."
Option = str


class CustomGroupCreate(WriteModel):
    key: str = Field(pattern=KEY_PATTERN)
    label: str = Field(min_length=1, max_length=100)
    position: int = Field(0, ge=0, le=1_000_000)


class CustomGroupUpdate(WriteModel):
    """Only the fields sent are changed. The key cannot change."""

    key: str | None = Field(None, description="Cannot change; sent only to be refused.")
    label: str | None = Field(None, min_length=1, max_length=100)
    position: int | None = Field(None, ge=0, le=1_000_000)
    active: bool | None = None


class CustomGroupRead(ReadModel):
    key: str
    label: str
    position: int
    active: bool
    version: int


class CustomFieldCreate(WriteModel):
    key: str = Field(pattern=KEY_PATTERN)
    label: str = Field(min_length=1, max_length=100)
    type: FieldType
    options: list[Option] | None = Field(None, max_length=500, description=OPTIONS_NOTE)
    required: bool = False
    group: str | None = Field(
        None, max_length=50, description="A group's key; null: a field of the customer itself."
    )
    position: int = Field(0, ge=0, le=1_000_000)


class CustomFieldUpdate(WriteModel):
    """Only the fields sent are changed. The key, type and group cannot change."""

    key: str | None = Field(None, description="Cannot change; sent only to be refused.")
    type: str | None = Field(None, description="Cannot change; sent only to be refused.")
    group: str | None = Field(None, description="Cannot change; sent only to be refused.")
    label: str | None = Field(None, min_length=1, max_length=100)
    options: list[Option] | None = Field(None, max_length=500, description=OPTIONS_NOTE)
    required: bool | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)
    active: bool | None = None


class CustomFieldRead(ReadModel):
    id: int
    key: str
    group: str | None = Field(validation_alias=AliasChoices("group", "group_key"))
    label: str
    type: FieldType
    options: list[str]
    required: bool
    position: int
    active: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class GroupRecordWrite(WriteModel):
    values: JsonObject = Field(
        default_factory=dict,
        description="Values keyed by the group's field keys. In a PATCH only the keys sent "
        "change, and null removes a value.",
    )


class GroupRecordRead(ReadModel):
    id: int
    customer_id: int
    group: str = Field(validation_alias=AliasChoices("group", "group_key"))
    values: dict[str, Any]
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
