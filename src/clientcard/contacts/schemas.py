from __future__ import annotations

import datetime as dt

from pydantic import Field

from clientcard.contacts.models import ContactLabel, ContactType
from clientcard.schemas import ReadModel, WriteModel


class ContactPointCreate(WriteModel):
    type: ContactType
    value: str | None = Field(
        None, max_length=500, description="As given. For an address, optional: built from parts."
    )
    region: str | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="Country to read a national phone number in "
        "(default: CLIENTCARD_DEFAULT_REGION).",
    )
    label: ContactLabel = "other"
    primary: bool = False
    network: str | None = Field(None, max_length=40, description="Social profiles: the network.")
    street: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=30)
    state: str | None = Field(None, max_length=200)
    country: str | None = Field(None, min_length=2, max_length=2)


class ContactPointUpdate(WriteModel):
    type: ContactType | None = None
    value: str | None = Field(None, max_length=500)
    region: str | None = Field(None, min_length=2, max_length=2)
    label: ContactLabel | None = None
    primary: bool | None = None
    network: str | None = Field(None, max_length=40)
    street: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=30)
    state: str | None = Field(None, max_length=200)
    country: str | None = Field(None, min_length=2, max_length=2)


class ContactPointRead(ReadModel):
    id: int
    customer_id: int
    type: ContactType
    value: str
    normalized: str
    label: ContactLabel
    primary: bool
    network: str | None
    street: str | None
    city: str | None
    postal_code: str | None
    state: str | None
    country: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
