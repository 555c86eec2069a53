"""Two channel platforms sending overlapping batches at the same moment, in opposite
orders: both are answered, every item is stored once, and none of them deadlocks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from clientcard.auth.actor import system_actor
from clientcard.contacts.models import ContactPoint
from clientcard.db import Database
from clientcard.interactions import service
from clientcard.interactions.models import Interaction
from tests.conftest import create_customer


@pytest.mark.parametrize("named", [True, False], ids=["customer named", "resolved by number"])
def test_overlapping_batches_in_opposite_orders_both_succeed(db: Database, agent, named: bool):
    phones = [f"+4860123{i:04d}" for i in range(20)]
    customers = [
        create_customer(
            agent, last_name=f"C{i}", contact_points=[{"type": "mobile", "value": phone}]
        )["id"]
        for i, phone in enumerate(phones)
    ]
    items = [
        {
            "source": "pbx",
            "external_id": f"call-{n}",
            "channel": "voice",
            "direction": "inbound",
            # named: a number new to the card, which is added to it (C6) by one batch only
            "from": "+48601234567" if named else phones[n % len(phones)],
            **({"customer_id": customers[n % len(customers)]} if named else {}),
            "started_at": f"2026-11-{1 + n % 28:02d}T10:{n % 60:02d}:00Z",
        }
        for n in range(400)
    ]
    batches = [items, list(reversed(items))]
    barrier = threading.Barrier(len(batches))
    outcomes: list[list[str]] = [[] for _ in batches]
    failures: list[BaseException] = []

    def send(index: int) -> None:
        try:
            barrier.wait()
            with db.write() as session:
                results = service.ingest(
                    session,
                    actor=system_actor("pbx"),
                    items=batches[index],
                )
            outcomes[index] = [r.result for r in results]
        except BaseException as exc:  # a deadlock surfaces here
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert all(len(o) == len(items) for o in outcomes)
    assert sum(o.count("created") for o in outcomes) == len(items)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Interaction)) == len(items)


def test_two_platforms_reporting_one_unknown_number_at_once_make_one_lead(db: Database):
    """The first batch creates the lead and has not committed yet when the second reads the
    number: the second must wait for it and use that lead, not create another."""
    number = "+48601999111"

    def item(source: str) -> dict:
        return {
            "source": source,
            "external_id": f"{source}-1",
            "channel": "voice" if source == "pbx" else "sms",
            "direction": "inbound",
            "from": number,
            "started_at": "2026-11-20T10:00:00Z",
        }

    first_written, first_may_commit = threading.Event(), threading.Event()
    outcomes: dict[str, list] = {}
    failures: list[BaseException] = []

    def send(source: str, *, hold: bool) -> None:
        try:
            with db.write() as session:
                outcomes[source] = service.ingest(
                    session, actor=system_actor(source), items=[item(source)]
                )
                if hold:  # the lead is written, not yet committed
                    first_written.set()
                    first_may_commit.wait(timeout=30)
        except BaseException as exc:
            failures.append(exc)
            first_written.set()

    first = threading.Thread(target=send, args=("pbx",), kwargs={"hold": True})
    second = threading.Thread(target=send, args=("sms-gateway",), kwargs={"hold": False})
    first.start()
    assert first_written.wait(timeout=30)
    second.start()
    second.join(timeout=0.5)  # PostgreSQL: waits on the first; SQLite: on the database lock
    first_may_commit.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert not failures, failures
    assert [r.result for r in outcomes["pbx"] + outcomes["sms-gateway"]] == ["created", "created"]
    with db.read() as session:
        owners = session.scalars(
            select(ContactPoint.customer_id).where(ContactPoint.normalized == number)
        ).all()
        stored = session.scalars(select(Interaction.customer_id)).all()
    assert len(owners) == 1, "one lead for the number"
    assert stored == [owners[0], owners[0]]
