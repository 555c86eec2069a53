"""A customer's rows are built one way (`customers.rows.new_rows`): the bench generator's
cards are the rows the service stores for the same customers, and the search and sort
columns fold a profile as folding its words joined would."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bench import generate
from clientcard.auth.actor import system_actor
from clientcard.contacts.models import ContactPoint
from clientcard.contacts.schemas import ContactPointCreate
from clientcard.customers import service
from clientcard.customers.models import Customer
from clientcard.customers.rows import derived_columns
from clientcard.customers.schemas import CustomerCreate
from clientcard.text import fold

ACTOR = system_actor("bench")
# What differs by design: ids, and the instant and maker of a generated card.
NOT_COMPARED = {"id", "customer_id", "created_at", "updated_at", "created_by", "updated_by"}
JSON_COLUMNS = {"tags", "custom", "lead_source"}

names = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from("aZłŁß éÉ-'.,@+ ñ\u0301çØ1"), max_size=12),
)


@given(
    kind=st.sampled_from(["person", "company"]),
    first=names,
    last=names,
    company=names,
    number=names,
)
def test_derived_columns_fold_words_as_folding_them_joined(kind, first, last, company, number):
    profile = {
        "kind": kind,
        "first_name": first,
        "last_name": last,
        "company_name": company,
        "identification_number": number,
    }
    joined = " ".join(p for p in (first, last, company, number) if p)
    sort = fold(company) if kind == "company" else fold(f"{last or ''} {first or ''}")
    assert derived_columns(profile) == {"search_text": " " + fold(joined), "sort_name": sort}


def _as_stored(columns: tuple[str, ...], row: tuple) -> dict:
    values = {}
    for name, value in zip(columns, row, strict=True):
        name = name.strip('"')
        if name in NOT_COMPARED:
            continue
        if name in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        values[name] = None if value is None else str(value) if name == "birth_date" else value
    return values


def _orm_row(obj: object, columns: tuple[str, ...]) -> tuple:
    table = type(obj).__table__
    return tuple(getattr(obj, table.columns[c.strip('"')].key) for c in columns)


def _region(value: str) -> str | None:
    """US numbers are written nationally; the others carry their country code."""
    return None if value.startswith("+") or "@" in value else "US"


def test_generated_cards_are_the_rows_the_service_stores(db):
    (batch, points), *_ = generate.generate(40)
    at = generate.POINT_COLUMNS.index
    items = []
    for row in batch:
        card = dict(zip(generate.CUSTOMER_COLUMNS, row, strict=True))
        own = [p for p in points if p[at("customer_id")] == card["id"]]
        items.append(
            CustomerCreate(
                kind=card["kind"],
                first_name=card["first_name"],
                last_name=card["last_name"],
                company_name=card["company_name"],
                identification_type=card["identification_type"],
                identification_number=card["identification_number"],
                gender=card["gender"],
                birth_date=card["birth_date"],
                language=card["language"],
                contact_points=[
                    ContactPointCreate(
                        type=p[at("type")],
                        value=p[at("value")],
                        label=p[at("label")],
                        region=_region(p[at("value")]),
                    )
                    for p in own
                ],
            )
        )
    with db.write() as session:
        made = service.create_customers(session, actor=ACTOR, items=items, origin="demo")
        made_ids = [c.id for c in made]
    with db.read() as session:
        for row, customer_id in zip(batch, made_ids, strict=True):
            stored = session.get(Customer, customer_id)
            assert _as_stored(generate.CUSTOMER_COLUMNS, row) == _as_stored(
                generate.CUSTOMER_COLUMNS, _orm_row(stored, generate.CUSTOMER_COLUMNS)
            )
            stored_points = session.scalars(
                select(ContactPoint)
                .where(ContactPoint.customer_id == customer_id)
                .order_by(ContactPoint.id)
            ).all()
            generated = [p for p in points if p[at("customer_id")] == row[0]]
            assert [_as_stored(generate.POINT_COLUMNS, p) for p in generated] == [
                _as_stored(generate.POINT_COLUMNS, _orm_row(p, generate.POINT_COLUMNS))
                for p in stored_points
            ]
