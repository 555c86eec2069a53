from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from clientcard.base import Base, BigId, JsonData, UTCDateTime, utcnow


class AuditEntry(Base):
    """One recorded change. Rows are only ever inserted."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_customer_id_id", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(BigId)
    # No foreign key: the history outlives what it describes.
    customer_id: Mapped[int | None] = mapped_column(BigId)
    changes: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    # Which way the change came in: api, ingestion, scheduler, cli, demo.
    origin: Mapped[str] = mapped_column(String(20), default="api", server_default="api")
