from __future__ import annotations

import datetime as dt

from pydantic import Field

from clientcard.cases.models import NoteColor, Priority, Status
from clientcard.schemas import Id, ReadModel, WriteModel

TYPE_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
ACCOUNT_NOTE = "One of the customer's own accounts (the case is about it), or null."


class CaseTypeCreate(WriteModel):
    key: str = Field(pattern=TYPE_KEY_PATTERN)
    label: str = Field(min_length=1, max_length=100)


class CaseTypeUpdate(WriteModel):
    label: str | None = Field(None, min_length=1, max_length=100)
    active: bool | None = None


class CaseTypeRead(ReadModel):
    key: str
    label: str
    active: bool


class CaseCreate(WriteModel):
    subject: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=20000)
    type: str = Field("question", max_length=40, description="An active case type's key.")
    priority: Priority = "medium"
    status: Status = "new"
    campaign_id: Id | None = None
    account_id: Id | None = Field(None, description=ACCOUNT_NOTE)
    assigned_to: Id | None = Field(None, description="An active user's id.")


class CaseUpdate(WriteModel):
    """Only the fields sent are changed; null clears a field that may be empty."""

    subject: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=20000)
    type: str | None = Field(None, max_length=40)
    priority: Priority | None = None
    status: Status | None = Field(
        None, description="Cancelling a case deletes its comments; closing sets closed_at."
    )
    campaign_id: Id | None = None
    account_id: Id | None = Field(None, description=ACCOUNT_NOTE)
    assigned_to: Id | None = None


class CaseRead(ReadModel):
    id: int
    number: str
    customer_id: int
    subject: str
    description: str | None
    type: str
    priority: Priority
    status: Status
    campaign_id: int | None
    account_id: int | None
    assigned_to: int | None
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
    closed_at: dt.datetime | None


class CaseNoteCreate(WriteModel):
    text: str = Field(min_length=1, max_length=5000)
    color: NoteColor = "yellow"


class CaseNoteRead(ReadModel):
    id: int
    case_id: int
    text: str
    color: NoteColor
    created_at: dt.datetime
    created_by: str


class CaseCommentCreate(WriteModel):
    text: str = Field(min_length=1, max_length=5000)
    interaction_id: Id | None = Field(
        None, description="The message the comment is about: an interaction of the customer."
    )


class CaseCommentRead(ReadModel):
    id: int
    case_id: int
    interaction_id: int | None
    text: str
    created_at: dt.datetime
    created_by: str
