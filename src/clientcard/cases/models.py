from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clientcard.base import Base, BigId, UTCDateTime, utcnow

# The values its columns may hold, defined once: the API's schemas, the pages and other
# domains read them from here.
Priority = Literal["critical", "high", "medium", "low"]
Status = Literal["new", "open", "pending", "closed", "cancelled"]
NoteColor = Literal["yellow", "green", "blue", "red", "purple", "gray"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
STATUSES: tuple[Status, ...] = get_args(Status)
NOTE_COLORS: tuple[NoteColor, ...] = get_args(NoteColor)


class Counter(Base):
    """Named sequences that work the same on both databases (case numbers)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigId, default=0)


class CaseType(Base):
    __tablename__ = "case_types"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_customer_id_created_at_id", "customer_id", "created_at", "id"),
        Index("ix_cases_customer_id_closed_at_id", "customer_id", "closed_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(ForeignKey("case_types.key"))
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(BigId)
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CaseNote(Base):
    """Private to the case; never in dashboards, reports or the external view."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId)
    text: Mapped[str] = mapped_column(Text)
    color: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))


class CaseComment(Base):
    """Internal; can be neither edited nor deleted, and goes when the case is cancelled."""

    __tablename__ = "case_comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId)
    interaction_id: Mapped[int | None] = mapped_column(BigId)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
