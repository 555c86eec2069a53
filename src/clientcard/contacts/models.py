from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clientcard.base import Base, BigId, UTCDateTime, utcnow

if TYPE_CHECKING:
    from clientcard.customers.models import Customer


class ContactPoint(Base):
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

    customer: Mapped[Customer] = relationship(back_populates="contact_points")
