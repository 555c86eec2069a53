from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from clientcard.base import Base, BigId, UTCDateTime, utcnow

# The values its columns may hold, defined once: the API's schemas, the pages and other
# domains read them from here.
ContactType = Literal["phone", "mobile", "email", "whatsapp", "address", "social", "web"]
ContactLabel = Literal["private", "work", "home", "other"]
CONTACT_TYPES: tuple[ContactType, ...] = get_args(ContactType)
LABELS: tuple[ContactLabel, ...] = get_args(ContactLabel)
# The types whose values are phone numbers (stored in E.164).
PHONE_TYPES: frozenset[ContactType] = frozenset({"phone", "mobile", "whatsapp"})


class ContactPoint(Base):
    """A customer's phone, e-mail, address, ... (the customer reaches its points through
    `Customer.contact_points`; this table names the customer by its foreign key only)."""

    __tablename__ = "contact_points"
    __table_args__ = (
        Index(
            "uq_contact_points_customer_type_normalized",
            "customer_id",
            "type",
            "normalized",
            unique=True,
        ),
        # The screen pop: normalized value -> customers.
        Index("ix_contact_points_normalized", "normalized", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(500))
    normalized: Mapped[str] = mapped_column(String(500))
    label: Mapped[str] = mapped_column(String(20), default="other")
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    # Social profiles: the network (facebook, instagram, x, linkedin, telegram, ...).
    network: Mapped[str | None] = mapped_column(String(40))
    # Structured postal address.
    street: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(30))
    state: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
