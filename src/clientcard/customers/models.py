from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clientcard.base import Base, BigId, JsonData, UTCDateTime, partial_index, utcnow
from clientcard.contacts.models import ContactPoint

# The values its columns may hold, defined once: the API's schemas, the pages and other
# domains read them from here.
CustomerKind = Literal["person", "company"]
Gender = Literal["female", "male", "other", "unspecified"]
KINDS: tuple[CustomerKind, ...] = get_args(CustomerKind)
GENDERS: tuple[Gender, ...] = get_args(Gender)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        # Identification is unique per document type among customers not deleted.
        partial_index(
            "uq_customers_identification",
            "identification_type",
            "identification_number",
            unique=True,
            where="deleted_at IS NULL AND identification_number IS NOT NULL",
        ),
        Index("ix_customers_sort_name_id", "sort_name", "id"),
        Index("ix_customers_identification_number", "identification_number"),
        Index("ix_customers_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    company_name: Mapped[str | None] = mapped_column(String(300))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    identification_type: Mapped[str | None] = mapped_column(String(30))
    identification_number: Mapped[str | None] = mapped_column(String(60))
    gender: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    language: Mapped[str | None] = mapped_column(String(10))
    tags: Mapped[list[str]] = mapped_column(JsonData, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deleted_by: Mapped[str | None] = mapped_column(String(150))
    # Folded (lower-case, no accents) name, company and identification, for search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Folded display name, for sorting lists by name.
    sort_name: Mapped[str] = mapped_column(String(400), default="")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
    last_interaction_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Owner (P4): set by anyone who may edit when empty; changed only by admins or the owner.
    # (No foreign keys on these two: the embedded database can add a column with one only
    # by rebuilding the table, which would drop its search triggers. Users are deactivated,
    # never deleted, and the service checks both.)
    assigned_to: Mapped[int | None] = mapped_column(BigId, index=True)
    lead_status: Mapped[str | None] = mapped_column(String(40))
    rating: Mapped[int | None] = mapped_column()
    # Uploaded avatar; without one, the Gravatar of the primary e-mail.
    avatar_attachment_id: Mapped[int | None] = mapped_column(BigId)
    # Values of the administrator-defined custom fields, keyed by field key.
    custom: Mapped[dict[str, Any]] = mapped_column(
        JsonData, default=dict, server_default=text("'{}'")
    )
    # How a lead reached us: entry method, site, landing URL, referrer, UTM, IP, location.
    lead_source: Mapped[dict[str, Any] | None] = mapped_column(JsonData)

    contact_points: Mapped[list[ContactPoint]] = relationship(
        order_by="ContactPoint.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
