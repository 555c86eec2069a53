from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clientcard.base import Base, BigId, JsonData, UTCDateTime, utcnow

# The values its columns may hold, defined once: the API's schemas, the pages and other
# domains read them from here.
AccountStatus = Literal["active", "inactive", "closed", "blocked"]
ACCOUNT_STATUSES: tuple[AccountStatus, ...] = get_args(AccountStatus)


class Account(Base):
    """A customer's account (contract, bank account, subscription), shown field by field."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("type", "number"),
        Index("ix_accounts_customer_id_id", "customer_id", "id"),
        Index("ix_accounts_number", "number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))


class Relation(Base):
    """Two customers related (spouse, employer, ...). One row, shown from both sides."""

    __tablename__ = "customer_relations"
    __table_args__ = (
        UniqueConstraint("customer_id", "other_id"),
        Index("ix_customer_relations_other_id", "other_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    other_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    labels: Mapped[list[str]] = mapped_column(JsonData, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
