from __future__ import annotations

import datetime as dt

from pydantic import Field

from clientcard.attachments.models import Source
from clientcard.schemas import ReadModel, WriteModel


class AttachmentRead(ReadModel):
    id: int
    customer_id: int
    source: Source = Field(
        description="What the file is attached to: the card, a case or an interaction."
    )
    case_id: int | None
    case_number: str | None = Field(None, description="The case's number when source is case.")
    interaction_id: int | None
    interaction_channel: str | None = Field(
        None, description="The interaction's channel when source is interaction."
    )
    name: str
    content_type: str
    size: int
    sha256: str
    version: int
    created_at: dt.datetime
    created_by: str
    content_url: str


class AttachmentUpdate(WriteModel):
    name: str = Field(min_length=1, max_length=1000, description="Sanitized like an upload's name.")


class AvatarRead(ReadModel):
    customer_id: int
    customer_version: int
    avatar_attachment_id: int | None
    avatar_url: str | None = Field(
        None, description="Where the card's picture is read while an uploaded avatar is set."
    )
    attachment: AttachmentRead | None = None
