from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

from clientcard.contacts.schemas import ContactPointCreate, ContactPointRead
from clientcard.customers.models import Customer, CustomerKind, Gender
from clientcard.schemas import Id, JsonObject, ReadModel, WriteModel

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"


class LeadSource(WriteModel):
    """How a new customer reached us (P9)."""

    entry_method: Literal["chatbot", "form", "api", "import", "ad_lead_form", "channel"] | None = (
        None
    )
    site: str | None = Field(None, max_length=300)
    landing_url: str | None = Field(None, max_length=2000)
    referrer: str | None = Field(None, max_length=2000)
    utm_source: str | None = Field(None, max_length=200)
    utm_medium: str | None = Field(None, max_length=200)
    utm_campaign: str | None = Field(None, max_length=200)
    ip: str | None = Field(None, max_length=45)
    location: str | None = Field(None, max_length=300)


class CustomerCreate(WriteModel):
    kind: CustomerKind = "person"
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    company_name: str | None = Field(None, max_length=300)
    company_id: Id | None = None
    identification_type: str | None = Field(None, max_length=30)
    identification_number: str | None = Field(None, max_length=60)
    gender: Gender | None = None
    birth_date: dt.date | None = None
    language: str | None = Field(None, pattern=LANGUAGE_PATTERN)
    tags: list[str] = Field(default_factory=list, max_length=50)
    note: str | None = Field(None, max_length=5000)
    vip: bool = False
    hidden: bool = False
    assigned_to: Id | None = Field(None, description="The owner's user id.")
    lead_status: str | None = Field(None, max_length=40)
    rating: int | None = Field(None, ge=0, le=5)
    custom: JsonObject = Field(default_factory=dict, description="Custom field values.")
    lead_source: LeadSource | None = None
    contact_points: list[ContactPointCreate] = Field(default_factory=list, max_length=100)


class CustomerUpdate(WriteModel):
    """Only the fields sent are changed; null clears a field that may be empty."""

    kind: CustomerKind | None = None
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    company_name: str | None = Field(None, max_length=300)
    company_id: Id | None = None
    identification_type: str | None = Field(None, max_length=30)
    identification_number: str | None = Field(None, max_length=60)
    gender: Gender | None = None
    birth_date: dt.date | None = None
    language: str | None = Field(None, pattern=LANGUAGE_PATTERN)
    tags: list[str] | None = Field(None, max_length=50)
    note: str | None = Field(None, max_length=5000)
    vip: bool | None = None
    hidden: bool | None = None
    assigned_to: Id | None = None
    lead_status: str | None = Field(None, max_length=40)
    rating: int | None = Field(None, ge=0, le=5)
    custom: JsonObject | None = Field(
        None, description="Only the keys sent change; a key sent as null is removed."
    )
    lead_source: LeadSource | None = None


class CustomerRead(ReadModel):
    id: int
    kind: CustomerKind
    first_name: str | None
    last_name: str | None
    company_name: str | None
    company_id: int | None
    identification_type: str | None
    identification_number: str | None
    gender: Gender | None
    birth_date: dt.date | None
    language: str | None
    tags: list[str]
    note: str | None
    vip: bool
    hidden: bool
    avatar_url: str | None
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
    last_interaction_at: dt.datetime | None
    assigned_to: int | None = None
    lead_status: str | None = None
    rating: int | None = None
    custom: dict[str, Any] = Field(default_factory=dict)
    lead_source: dict[str, Any] | None = None
    deleted_at: dt.datetime | None = None
    deleted_by: str | None = None
    contact_points: list[ContactPointRead]

    @classmethod
    def of(cls, customer: Customer) -> CustomerRead:
        points = [ContactPointRead.model_validate(p) for p in customer.contact_points]
        data = {
            name: getattr(customer, name)
            for name in cls.model_fields
            if name not in ("avatar_url", "contact_points")
        }
        return cls(**data, avatar_url=gravatar_url(points), contact_points=points)


def gravatar_url(points: list[ContactPointRead]) -> str | None:
    """Gravatar of the primary e-mail (SHA-256 of the normalized address)."""
    email = next((p for p in points if p.type == "email" and p.primary), None)
    return None if email is None else gravatar_for(email.normalized)


def gravatar_for(normalized_email: str) -> str:
    digest = hashlib.sha256(normalized_email.encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=identicon&s=160"


class LookupResult(ReadModel):
    items: list[CustomerRead]


class ScreenPopQuery(BaseModel):
    """The query of `GET /api/v1/lookup`: a phone number or an e-mail."""

    phone: str | None = Field(
        None, max_length=60, description="In any common notation: +48 601 234 567, 0048 ..."
    )
    region: str | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="The country to read a national number in (default CLIENTCARD_DEFAULT_REGION)",
    )
    email: str | None = Field(None, max_length=320)
