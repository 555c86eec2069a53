"""Ingestion's new leads (`create_leads`) are the customers `create_customers` makes: the same
rows, contact points and history, found by search and by the screen pop."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clientcard.audit.models import AuditEntry
from clientcard.auth.actor import system_actor
from clientcard.contacts.models import ContactPoint
from clientcard.contacts.schemas import ContactPointCreate
from clientcard.customers import service
from clientcard.customers.models import Customer
from clientcard.customers.schemas import CustomerCreate, LeadSource
from clientcard.errors import Invalid

ACTOR = system_actor("telephony")
GENERATED = {"id", "customer_id", "entity_id", "created_at", "updated_at", "at"}


def _leads() -> list[CustomerCreate]:
    return [
        CustomerCreate(
            kind="person",
            contact_points=[ContactPointCreate(type="mobile", value="+48601234567")],
            lead_source=LeadSource(entry_method="channel", site="example.com"),
        ),
        CustomerCreate(
            kind="person",
            first_name="  Zoë ",
            last_name="Álvarez",
            tags=["web", "web"],
            contact_points=[
                ContactPointCreate(type="email", value="Zoe@Example.com"),
                ContactPointCreate(type="email", value="zoe.work@example.com", primary=True),
                ContactPointCreate(type="phone", value="22 100 00 00", region="PL"),
            ],
        ),
        CustomerCreate(kind="company", company_name="Ibérica S.L.", contact_points=[]),
    ]


def _columns(row: object, table) -> dict:
    return {c.name: getattr(row, c.key) for c in table.columns if c.name not in GENERATED}


def _stored(session, customer_id: int) -> tuple[dict, list[dict], list[tuple]]:
    customer = session.get(Customer, customer_id)
    points = session.scalars(
        select(ContactPoint)
        .where(ContactPoint.customer_id == customer_id)
        .order_by(ContactPoint.id)
    ).all()
    history = session.execute(
        select(AuditEntry.action, AuditEntry.entity, AuditEntry.changes, AuditEntry.origin)
        .where(AuditEntry.customer_id == customer_id)
        .order_by(AuditEntry.id)
    ).all()
    return (
        _columns(customer, Customer.__table__),
        [_columns(p, ContactPoint.__table__) for p in points],
        [tuple(h) for h in history],
    )


def test_leads_are_stored_as_create_customers_stores_customers(db):
    with db.write() as session:
        made = [
            c.id
            for c in service.create_customers(
                session, actor=ACTOR, items=_leads(), origin="ingestion"
            )
        ]
    with db.write() as session:
        leads = service.create_leads(session, actor=ACTOR, items=_leads(), origin="ingestion")
    assert len(leads) == 3 and len(set(leads)) == 3 and min(leads) > max(made)
    with db.read() as session:
        for made_id, lead_id in zip(made, leads, strict=True):
            assert _stored(session, lead_id) == _stored(session, made_id)
        second = _stored(session, leads[1])
    customer, points, history = second
    assert customer["first_name"] == "Zoë" and customer["tags"] == ["web"]
    assert [(p["normalized"], p["primary"]) for p in points] == [
        ("zoe@example.com", False),
        ("zoe.work@example.com", True),
        ("+48221000000", True),
    ]
    assert [h[0] for h in history] == ["customer.created"] + ["contact_point.created"] * 3


def test_leads_are_found_by_search_and_by_the_screen_pop(db):
    with db.write() as session:
        lead_ids = service.create_leads(session, actor=ACTOR, items=_leads(), origin="ingestion")
    with db.read() as session:
        found = service.lookup(session, actor=ACTOR, phone="601 234 567", email=None, region=None)
        assert [c.id for c in found] == [lead_ids[0]]
        for query in ("alvarez", "zoe.work@example.com", "22 100 00 00"):
            by_query, _ = service.list_customers(
                session,
                actor=ACTOR,
                filters=service.CustomerFilter(q=query),
                cursor=None,
                limit=10,
            )
            assert [c.id for c in by_query] == [lead_ids[1]], query


def test_a_bad_contact_point_names_its_field_and_writes_nothing(db):
    items = [
        _leads()[0],
        CustomerCreate(contact_points=[ContactPointCreate(type="mobile", value="12")]),
    ]
    with pytest.raises(Invalid) as raised, db.write() as session:
        service.create_leads(session, actor=ACTOR, items=items, origin="ingestion")
    assert [e.field for e in raised.value.errors] == ["contact_points.0.value"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
