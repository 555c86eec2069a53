"""The live bus: in-memory fan-out, events only after commit, one publish per unit of work,
and on PostgreSQL LISTEN/NOTIFY between two buses on engines of their own (two processes)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from clientcard.auth.actor import Role, system_actor
from clientcard.config import Settings
from clientcard.context import open_database
from clientcard.customers import service as customers
from clientcard.customers.schemas import CustomerCreate
from clientcard.db import Database, after_commit
from clientcard.interactions import service as interactions
from clientcard.live import bus as live
from clientcard.live.bus import ChannelBus, Event, MemoryBus, agent_topic, customer_topic
from tests.conftest import make_user, postgres_url_or_skip

SYSTEM = system_actor("tests")
NOTHING_WAIT = 0.4  # seconds to wait for an event that must not come


async def _next(subscription: live.Subscription, timeout: float = 5.0) -> Event:
    event = await subscription.get(timeout=timeout)
    assert event is not None, f"no event on {subscription.topics} within {timeout}s"
    return event


async def _nothing(subscription: live.Subscription, wait: float = NOTHING_WAIT) -> None:
    event = await subscription.get(timeout=wait)
    assert event is None, f"unexpected event {event}"


def _customer(db: Database, phone: str = "+48 601 234 567") -> int:
    with db.write() as session:
        customer = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(
                first_name="Ewa",
                last_name="Nowak",
                contact_points=[{"type": "mobile", "value": phone}],
            ),
        )
        return customer.id


def _item(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "source": "pbx",
        "external_id": f"call-{n}",
        "channel": "voice",
        "direction": "inbound",
        "from": "+48601234567",
        "started_at": dt.datetime.now(dt.UTC).isoformat(),
        **fields,
    }


# ---- in memory -------------------------------------------------------------------------


def test_memory_bus_fans_out_by_topic_and_forgets_closed_subscriptions():
    async def scenario() -> None:
        bus = MemoryBus()
        card_a1 = await bus.subscribe([customer_topic(1)])
        card_a2 = await bus.subscribe([customer_topic(1), agent_topic("ana")])
        card_b = await bus.subscribe([customer_topic(2)])
        assert bus.subscriber_count() == 3

        bus.publish([Event(customer_topic(1), "interaction", {"ids": [7]})])
        assert (await _next(card_a1)).data == {"ids": [7]}
        assert (await _next(card_a2)).data == {"ids": [7]}
        await _nothing(card_b)

        bus.publish([Event(agent_topic("ana"), "screen-pop", {"customer_id": 1})])
        assert (await _next(card_a2)).name == "screen-pop"
        await _nothing(card_a1, 0.05)

        for subscription in (card_a1, card_a2, card_b):
            subscription.close()
        assert bus.subscriber_count() == 0
        bus.publish([Event(customer_topic(1), "interaction")])  # nobody left: no error

    asyncio.run(scenario())


def test_a_subscriber_that_falls_behind_gets_a_resync_not_an_unbounded_queue():
    async def scenario() -> None:
        bus = MemoryBus()
        async with await bus.subscribe([customer_topic(1)]) as subscription:
            bus.publish([Event(customer_topic(1), "interaction", {"n": n}) for n in range(1000)])
            await asyncio.sleep(0.05)  # let the loop deliver
            assert subscription.queue.qsize() == live.QUEUE_SIZE
            assert (await _next(subscription)).name == live.RESYNC
            assert subscription.queue.empty()
        assert bus.subscriber_count() == 0

    asyncio.run(scenario())


def test_publishing_from_another_thread_reaches_the_subscribers_loop():
    async def scenario() -> None:
        bus = MemoryBus()
        async with await bus.subscribe([agent_topic("ana")]) as subscription:
            event = Event(agent_topic("ana"), "screen-pop", {"customer_id": 3})
            await asyncio.to_thread(bus.publish, [event])
            assert await _next(subscription) == event

    asyncio.run(scenario())


# ---- after commit (SQLite and PostgreSQL) ----------------------------------------------


def test_events_leave_after_the_commit_and_never_after_a_rollback(db: Database):
    async def scenario() -> None:
        async with await live.bus_for(db).subscribe([customer_topic(5)]) as subscription:
            with db.write() as session:
                live.publish(session, [Event(customer_topic(5), "interaction", {"ids": [1]})])
                live.publish(session, [Event(customer_topic(5), "interaction", {"ids": [2]})])
                await _nothing(subscription)  # queued, not sent: nothing is committed yet
            assert (await _next(subscription)).data == {"ids": [1]}
            assert (await _next(subscription)).data == {"ids": [2]}

            with pytest.raises(RuntimeError), db.write() as session:
                live.publish(session, [Event(customer_topic(5), "interaction", {"ids": [3]})])
                raise RuntimeError("the unit of work fails")
            await _nothing(subscription)

    asyncio.run(scenario())


def test_after_commit_callbacks_run_once_in_order_and_a_failing_one_spares_the_rest(db: Database):
    ran: list[str] = []
    with db.write() as session:
        after_commit(session, lambda: ran.append("first"))
        after_commit(session, lambda: 1 / 0)
        after_commit(session, lambda: ran.append("third"))
        assert ran == []
    assert ran == ["first", "third"]

    with pytest.raises(ValueError), db.write() as session:
        after_commit(session, lambda: ran.append("rolled back"))
        raise ValueError
    with db.read() as session:  # a read unit of work that ends well runs them too
        after_commit(session, lambda: ran.append("read"))
    assert ran == ["first", "third", "read"]


def test_ingestion_queues_one_event_per_customer_and_one_pop_per_agent(db: Database):
    make_user(db, "ana", Role.AGENT)
    make_user(db, "bob", Role.AGENT)
    first, second = _customer(db, "+48 601 234 567"), _customer(db, "+48 602 345 678")
    now = dt.datetime.now(dt.UTC)
    items = [_item(n, **{"from": "+48601234567" if n % 2 else "+48602345678"}) for n in range(300)]
    items[10] |= {"agent": "ana", "started_at": (now - dt.timedelta(seconds=30)).isoformat()}
    items[11] |= {"agent": "ana", "channel": "chat", "from": "chat-visitor-1"}  # a new lead
    items[12] |= {"agent": "bob", "status": "missed"}  # a missed call pops nothing
    items[13] |= {"agent": "bob", "channel": "email", "from": "ewa@example.com"}  # not live

    async def scenario() -> None:
        bus = live.bus_for(db)
        topics = [customer_topic(first), customer_topic(second), agent_topic("ana")]
        async with (
            await bus.subscribe(topics) as subscription,
            await bus.subscribe([agent_topic("bob")]) as bob,
        ):
            with db.write() as session:
                results = interactions.ingest(session, actor=SYSTEM, items=items)
            assert all(r.result == "created" for r in results), results
            got = [await _next(subscription) for _ in range(3)]
            await _nothing(subscription)
            await _nothing(bob, 0.05)
            by_customer = {e.data["customer_id"]: e for e in got if e.name == "interaction"}
            assert set(by_customer) == {first, second}
            ids = {r.customer_id: [] for r in results}
            for r in results:
                ids[r.customer_id].append(r.id)
            # Items 11 and 13 went to new leads (a chat visitor, an unknown e-mail): no event
            # for them, since no card of theirs was open.
            for customer_id, count in ((first, 148), (second, 150)):
                event = by_customer[customer_id]
                assert event.data["count"] == len(ids[customer_id]) == count
                assert event.data["ids"] == ids[customer_id][-50:]
            (pop,) = [e for e in got if e.name == "screen-pop"]
            lead = results[11].customer_id
            assert pop.data == {
                "customer_id": lead,
                "channel": "chat",
                "interaction_id": results[11].id,
                "url": f"/customers/{lead}",
            }

            with db.write() as session:  # sending the same items again creates nothing
                again = interactions.ingest(session, actor=SYSTEM, items=items)
            assert {r.result for r in again} == {"duplicate"}
            await _nothing(subscription)

    asyncio.run(scenario())


def test_resolving_an_ambiguous_interaction_tells_both_cards(db: Database):
    first, second = _customer(db), _customer(db)  # the same number on two cards

    async def scenario() -> None:
        topics = [customer_topic(first), customer_topic(second)]
        async with await live.bus_for(db).subscribe(topics) as subscription:
            with db.write() as session:
                (result,) = interactions.ingest(session, actor=SYSTEM, items=[_item(1)])
            assert result.ambiguous
            ingested = await _next(subscription)
            assert ingested.topic == customer_topic(result.customer_id)
            other = first if result.customer_id == second else second

            with db.write() as session:
                interactions.resolve_ambiguous(
                    session, actor=SYSTEM, interaction_id=result.id, customer_id=other
                )
            moved_from, moved_to = await _next(subscription), await _next(subscription)
            assert (moved_from.name, moved_from.topic) == (
                "timeline",
                customer_topic(result.customer_id),
            )
            assert (moved_to.name, moved_to.topic) == ("interaction", customer_topic(other))
            assert moved_to.data["ids"] == [result.id]

    asyncio.run(scenario())


# ---- PostgreSQL: two processes ---------------------------------------------------------


@pytest.fixture
def two_postgres_processes():
    """Two Databases on engines of their own, each with its bus: two app processes."""
    url = postgres_url_or_skip()
    databases = [open_database(Settings(database_url=url)) for _ in range(2)]
    yield databases
    for database in databases:
        live.bus_for(database).close()
        database.dispose()


def test_postgres_notify_reaches_the_subscribers_of_another_process(two_postgres_processes):
    one, other = two_postgres_processes
    bus_one, bus_other = live.bus_for(one), live.bus_for(other)
    assert isinstance(bus_one, ChannelBus) and bus_one is not bus_other

    async def scenario() -> None:
        async with (
            await bus_one.subscribe([customer_topic(42)]) as here,
            await bus_other.subscribe([customer_topic(42)]) as there,
        ):
            with other.write() as session:
                live.publish(session, [Event(customer_topic(42), "interaction", {"ids": [9]})])
                await _nothing(there)  # NOTIFY is sent after the commit
            # Both processes hear it once: the publisher's own subscribers through its LISTEN.
            assert (await _next(here)).data == {"ids": [9]}
            assert (await _next(there)).data == {"ids": [9]}
            await _nothing(here)
            await _nothing(there, 0.05)

            with pytest.raises(RuntimeError), one.write() as session:
                live.publish(session, [Event(customer_topic(42), "interaction", {"ids": [10]})])
                raise RuntimeError
            await _nothing(there)

            big = Event(customer_topic(42), "interaction", {"text": "x" * 10_000})
            bus_one.publish([big])  # too large for NOTIFY: a resync goes instead
            assert (await _next(there)).name == live.RESYNC

    asyncio.run(scenario())


def test_postgres_listener_comes_back_after_its_connection_is_killed(two_postgres_processes):
    from sqlalchemy import text

    one, other = two_postgres_processes

    async def scenario() -> None:
        async with await live.bus_for(one).subscribe([customer_topic(7)]) as subscription:
            with other.engine.connect() as connection:
                killed = connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE query LIKE 'LISTEN clientcard_live%' "
                        "AND datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            assert killed
            assert (await _next(subscription, timeout=10)).name == live.RESYNC
            with other.write() as session:
                live.publish(session, [Event(customer_topic(7), "interaction", {"ids": [1]})])
            event = await _next(subscription)
            while event.name == live.RESYNC:  # another test process's listener came back too
                event = await _next(subscription)
            assert event.data == {"ids": [1]}

    asyncio.run(scenario())
