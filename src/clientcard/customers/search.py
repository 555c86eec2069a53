"""Reading a search query's shape, and the indexed condition that answers it.

Something with ``@`` searches e-mails; something phone-like searches normalized phone
numbers (and identification numbers, which may be all digits); anything else searches
names, company and identification by word prefix. Each kind uses its own index: the
normalized contact point B-tree, FTS5 (SQLite) or pg_trgm (PostgreSQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, false, func, or_, select, text
from sqlalchemy.orm import Session

from clientcard.addresses import try_normalize_phone
from clientcard.contacts.models import PHONE_TYPES, ContactPoint
from clientcard.customers.models import Customer
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
    sqlite = session.get_bind().dialect.name == "sqlite"
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
        if sqlite:
            part = ContactPoint.id.in_(
                select(text("rowid"))
                .select_from(text("contact_points_fts"))
                .where(text("contact_points_fts MATCH :digits").bindparams(digits=f'"{digits}"'))
            )
        else:
            part = ContactPoint.normalized.like(f"%{digits}%")
        exact = ContactPoint.normalized == query.e164 if query.e164 else false()
        phones = select(ContactPoint.customer_id).where(
            or_(exact, part), ContactPoint.type.in_(PHONE_TYPES)
        )
        return or_(
            Customer.id.in_(phones),
            Customer.identification_number == re.sub(r"[\s\-]", "", query.raw).upper(),
        )
    if sqlite:
        match = " ".join(f'"{term}"*' for term in query.terms)
        return Customer.id.in_(
            select(text("rowid"))
            .select_from(text("customers_fts"))
            .where(text("customers_fts MATCH :match").bindparams(match=match))
        )
    # search_text starts with a space, so '% term%' is a word prefix, like FTS5's "term"*.
    conditions = [
        Customer.search_text.like("% " + _escape_like(term) + "%", escape="\\")
        for term in query.terms
    ]
    return and_(*conditions)


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """Customers whose JSON list of tags holds `tag`."""
    if session.get_bind().dialect.name == "sqlite":
        return text(
            "EXISTS (SELECT 1 FROM json_each(customers.tags) WHERE json_each.value = :tag)"
        ).bindparams(tag=tag)
    return Customer.tags.op("@>")(func.jsonb_build_array(tag))
