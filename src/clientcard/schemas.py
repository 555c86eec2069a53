"""Shared bases for API shapes."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

# Fields the server owns. Sent in a write, they are refused by name as read-only.
READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "version",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "last_interaction_at",
        "avatar_url",
        "normalized",
        "customer_id",
        "deleted_at",
        "deleted_by",
        "number",
        "closed_at",
    }
)


class WriteModel(BaseModel):
    """A request body: unknown and read-only fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
