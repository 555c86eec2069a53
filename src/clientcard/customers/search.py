"""Reading a search query's shape, and the indexed condition that answers it.

Something with ``@`` searches e-mails; something phone-like searches normalized phone
numbers (and identification numbers, which may be all digits); anything else searches
names, company and identification by word prefix. Each kind uses its own index: the
normalized contact point B-tree, or the search index of the database (`db.search`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from clientcard.addresses import try_normalize_phone
from clientcard.contacts.models import PHONE_TYPES, ContactPoint
from clientcard.customers.models import Customer
from clientcard.db import search
from clientcard.text import words

_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")
MIN_PHONE_DIGITS = 3


@dataclass(frozen=True)
class SearchQuery:
    kind: Literal["email", "phone", "text"]
    raw: str
    terms: tuple[str, ...]
    e164: str | None = None


def classify(q: str, *, region: str) -> SearchQuery | None:
    q = q.strip()
    if not q:
        return None
    if "@" in q:
        return SearchQuery("email", q, (q.lower(),))
    digits = re.sub(r"\D", "", q)
    if _PHONE_LIKE.match(q) and len(digits) >= MIN_PHONE_DIGITS:
        return SearchQuery("phone", q, (digits,), try_normalize_phone(q, region=region))
    terms = tuple(words(q))
    return SearchQuery("text", q, terms) if terms else None


def condition(session: Session, query: SearchQuery) -> ColumnElement[bool]:
    """A WHERE condition on Customer that selects the customers matching the query."""
    if query.kind == "email":
        (prefix,) = query.terms
        # A range on the normalized B-tree index: the whole address, or its beginning.
        matching = select(ContactPoint.customer_id).where(
            ContactPoint.normalized >= prefix,
            ContactPoint.normalized < prefix + "\uffff",
            ContactPoint.type == "email",
        )
        return Customer.id.in_(matching)
    if query.kind == "phone":
        (digits,) = query.terms
        part = search.digits_within(
            session, id_column=ContactPoint.id, text_column=ContactPoint.normalized, digits=digits
        )
        exact = ContactPoint.normalized == query.e164 if query.e164 else false()
        phones = select(ContactPoint.customer_id).where(
            or_(exact, part), ContactPoint.type.in_(PHONE_TYPES)
        )
        return or_(
            Customer.id.in_(phones),
            Customer.identification_number == re.sub(r"[\s\-]", "", query.raw).upper(),
        )
    return search.words_starting_with(
        session, id_column=Customer.id, text_column=Customer.search_text, terms=query.terms
    )


def has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """Customers whose JSON list of tags holds `tag`."""
    return search.json_list_holds(session, Customer.tags, tag)
