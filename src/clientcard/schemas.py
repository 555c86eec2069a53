"""Shared bases for API shapes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from clientcard.validation import check_free_json, check_integer_text, check_time

# The databases store ids (and every other integer a request names) in 64 bits: a larger
# number is refused as input, naming its field, before it can reach a query.
MAX_INTEGER = 2**63 - 1
# Written as a number, or as text of plain digits: not " 1" or "1_000", which int() reads.
Id = Annotated[int, Field(ge=-MAX_INTEGER, le=MAX_INTEGER), BeforeValidator(check_integer_text)]

# A time a request gives: with its zone, and inside the years 1 to 9999 once in UTC (what
# Python and both databases hold); `Time` reads a time without a zone as UTC.
Timestamp = Annotated[AwareDatetime, AfterValidator(check_time)]
Time = Annotated[dt.datetime, AfterValidator(check_time)]

# A free-form JSON object (campaign settings, account data, custom values): bounded depth
# and size, finite numbers, no NUL (clientcard.validation).
JsonObject = Annotated[dict[str, Any], AfterValidator(check_free_json)]

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
