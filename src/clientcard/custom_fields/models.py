from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from clientcard.base import Base, BigId, JsonData, UTCDateTime, utcnow

# The values its columns may hold, defined once: the API's schemas, the pages and other
# domains read them from here.
FieldType = Literal[
    "text", "number", "date", "boolean", "choice", "multi_choice", "email", "phone", "url"
]
FIELD_TYPES: tuple[FieldType, ...] = get_args(FieldType)
# The types whose values come from the field's options.
CHOICE_TYPES: tuple[FieldType, ...] = ("choice", "multi_choice")


class CustomGroup(Base):
    """A group of custom fields whose records a customer may have many of (e.g. Orders)."""

    __tablename__ = "custom_groups"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(default=1)


class CustomField(Base):
    """An administrator-defined field: on the customer itself (group None) or in a group."""

    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(50))
    group_key: Mapped[str | None] = mapped_column(
        ForeignKey("custom_groups.key", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[str]] = mapped_column(JsonData, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("uq_custom_fields_group_key_key", "group_key", "key", unique=True),)


class CustomGroupRecord(Base):
    __tablename__ = "custom_group_records"
    __table_args__ = (
        Index("ix_custom_group_records_customer_id_group_key_id", "customer_id", "group_key", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    group_key: Mapped[str] = mapped_column(ForeignKey("custom_groups.key", ondelete="CASCADE"))
    values: Mapped[dict[str, Any]] = mapped_column(JsonData, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
