"""Shared bases for API shapes."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

# The databases store ids (and every other integer a request names) in 64 bits: a larger
# number is refused as input, naming its field, before it can reach a query.
MAX_INTEGER = 2**63 - 1
Id = Annotated[int, Field(ge=-MAX_INTEGER, le=MAX_INTEGER)]

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
