from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clientcard.base import Base, BigId, JsonData, UTCDateTime, utcnow

# The values its columns may hold, defined once: the API's schemas, the pages and other
# domains read them from here.
Direction = Literal["inbound", "outbound"]
RecordStatus = Literal[
    "pending", "in_progress", "contacted", "callback", "completed", "refused", "excluded"
]
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)
RECORD_STATUSES: tuple[RecordStatus, ...] = get_args(RecordStatus)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    direction: Mapped[str] = mapped_column(String(10))  # inbound | outbound
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))


class CampaignAgent(Base):
    """An agent's membership of a campaign."""

    __tablename__ = "campaign_agents"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CampaignRecord(Base):
    """A customer's place in a campaign: record status, agent, when to call again."""

    __tablename__ = "campaign_records"
    __table_args__ = (
        UniqueConstraint("customer_id", "campaign_id"),
        Index("ix_campaign_records_recontact_at", "recontact_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(30))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recontact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
