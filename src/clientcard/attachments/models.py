from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from clientcard.base import Base, BigId, UTCDateTime, utcnow

# What a file is attached to: the card, a case or an interaction.
Source = Literal["customer", "case", "interaction"]
SOURCES: tuple[Source, ...] = get_args(Source)


class Attachment(Base):
    """A file of a customer, of one of their cases or of one of their interactions.
    The bytes live in the file store under their SHA-256 (content-addressed)."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_customer_id_id", "customer_id", "id"),
        Index("ix_attachments_case_id", "case_id"),
        Index("ix_attachments_interaction_id", "interaction_id"),
        Index("ix_attachments_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(150))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
