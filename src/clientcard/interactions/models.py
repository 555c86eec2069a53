from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clientcard.base import Base, BigId, JsonData, UTCDateTime, partial_index, utcnow

# The values its columns may hold, defined once: the API's schemas, the pages and other
# domains read them from here.
Channel = Literal["voice", "email", "sms", "chat", "whatsapp", "social", "web"]
Direction = Literal["inbound", "outbound"]
Status = Literal["ringing", "answered", "missed", "sent", "delivered", "read", "failed"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)
STATUSES: tuple[Status, ...] = get_args(Status)


class Interaction(Base):
    """One call, e-mail, SMS, chat, WhatsApp or social message, or web form, any channel."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_interactions_customer_id_started_at_id", "customer_id", "started_at", "id"),
        Index("ix_interactions_case_id_started_at_id", "case_id", "started_at", "id"),
        partial_index("ix_interactions_ambiguous_id", "id", where="ambiguous"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))
    from_address: Mapped[str | None] = mapped_column(String(500))
    to_address: Mapped[str | None] = mapped_column(String(500))
    contact_normalized: Mapped[str | None] = mapped_column(String(500))
    agent: Mapped[str | None] = mapped_column(String(150))
    queue: Mapped[str | None] = mapped_column(String(100))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    status: Mapped[str | None] = mapped_column(String(20))
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    preview: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ambiguous: Mapped[bool] = mapped_column(Boolean, default=False)
    candidates: Mapped[list[int]] = mapped_column(JsonData, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))


class CustomerNote(Base):
    """A note in the customer's activity feed (the card's comment box)."""

    __tablename__ = "customer_notes"
    __table_args__ = (
        Index("ix_customer_notes_customer_id_created_at_id", "customer_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
