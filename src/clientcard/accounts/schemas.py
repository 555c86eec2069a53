from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from clientcard.accounts.models import AccountStatus
from clientcard.schemas import Id, JsonObject, ReadModel, WriteModel

AccountType = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50)
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
DATA_NOTE = (
    "Additional data shown field by field: an object of at most 50 keys (1-50 characters) "
    "whose values are strings, numbers, booleans or null."
)
TYPE_NOTE = "bank_account, contract, subscription, loan, card, ...: free text, lower-cased."


class AccountCreate(WriteModel):
    number: str = Field(min_length=1, max_length=100)
    type: AccountType = Field(description=TYPE_NOTE)
    status: AccountStatus = "active"
    data: JsonObject = Field(default_factory=dict, description=DATA_NOTE)


class AccountUpdate(WriteModel):
    """Only the fields sent are changed; `data` sent replaces the whole object."""

    number: str | None = Field(None, min_length=1, max_length=100)
    type: AccountType | None = Field(None, description=TYPE_NOTE)
    status: AccountStatus | None = None
    data: JsonObject | None = Field(None, description=DATA_NOTE)


class AccountRead(ReadModel):
    id: int
    customer_id: int
    number: str
    type: str
    status: AccountStatus
    data: dict[str, Any]
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str


class RelationCreate(WriteModel):
    other_id: Id = Field(description="The related customer's id.")
    labels: list[Label] = Field(
        min_length=1,
        max_length=10,
        description="What the relation is: spouse, employer, employee, parent, child, ...",
    )
    note: str | None = Field(None, max_length=5000)


class RelationUpdate(WriteModel):
    """Only the fields sent are changed."""

    labels: list[Label] | None = Field(None, min_length=1, max_length=10)
    note: str | None = Field(None, max_length=5000)


class RelatedCustomer(ReadModel):
    id: int
    name: str
    kind: Literal["person", "company"]


class RelationRead(ReadModel):
    """A relation seen from one customer: `customer` is the other side."""

    id: int
    customer: RelatedCustomer
    labels: list[str]
    note: str | None
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
