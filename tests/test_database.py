"""The database layer's own promises: SQLite checkpoints in the background, not in commits;
bulk inserts and the ids of new rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from clientcard.audit import service as audit
from clientcard.audit.models import AuditEntry
from clientcard.auth.actor import system_actor
from clientcard.config import Settings
from clientcard.customers import service as customers
from clientcard.customers.schemas import CustomerCreate
from clientcard.db import Database, insert_many, make_engine, reserve_ids
from clientcard.db import bulk as db_bulk
from clientcard.interactions.models import Interaction
from tests.conftest import postgres_url_or_skip

ACTOR = system_actor("test")


def _write_rows(database: Database, count: int) -> None:
    for n in range(count):
        with database.write() as session:
            session.execute(
                text("INSERT INTO notes (body) VALUES (:body)"), {"body": "x" * 3000 * n}
            )


def test_sqlite_commits_leave_checkpoints_to_the_background(tmp_path: Path):
    database = Database(make_engine(Settings(database_url=f"sqlite:///{tmp_path}/c.db")))
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            connection.commit()
        checkpointer = database.checkpointer
        assert checkpointer is not None
        _write_rows(database, 40)
        deadline = time.monotonic() + 10
        while checkpointer.completed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.completed >= 1, "no checkpoint ran after the writes"
        _write_rows(database, 5)
        checkpointer.stop()  # so that its own checkpoint cannot hold ours off (busy)
        busy, frames, done = checkpointer.checkpoint()
        assert busy == 0 and frames > 0 and done == frames  # everything reached the file
        with database.read() as session:
            assert session.execute(text("SELECT count(*) FROM notes")).scalar() == 45
    finally:
        database.dispose()
    reopened = Database(make_engine(Settings(database_url=f"sqlite:///{tmp_path}/c.db")))
    try:
        with reopened.read() as session:
            assert session.execute(text("SELECT count(*) FROM notes")).scalar() == 45
    finally:
        reopened.dispose()


def _interaction(customer_id: int, external_id: str) -> dict:
    at = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    return {
        "customer_id": customer_id,
        "source": "pbx",
        "external_id": external_id,
        "channel": "voice",
        "direction": "inbound",
        "read": False,
        "details": {"duration_s": 30},
        "started_at": at,
        "ambiguous": False,
        "candidates": [],
        "created_at": at,
        "created_by": "pbx",
    }


def _customer(db: Database) -> int:
    with db.write() as session:
        (customer,) = customers.create_customers(
            session, actor=ACTOR, items=[CustomerCreate(first_name="Ewa")], default_region="PL"
        )
        return customer.id


def test_insert_many_skips_conflicting_rows_and_returns_the_inserted(db, monkeypatch):
    monkeypatch.setattr(db_bulk, "_VALUES_PER_STATEMENT", 40)  # 3 rows per statement
    customer_id = _customer(db)
    table = Interaction.__table__
    with db.write() as session:
        first = insert_many(
            session.connection(),
            table,
            [_interaction(customer_id, f"c-{n}") for n in range(10)],
            skip_conflicts_on=("source", "external_id"),
            returning=("id", "external_id"),
        )
    with db.write() as session:
        again = insert_many(
            session.connection(),
            table,
            [_interaction(customer_id, f"c-{n}") for n in range(5, 15)],
            skip_conflicts_on=("source", "external_id"),
            returning=("id", "external_id"),
        )
    assert sorted(e for _, e in first) == sorted(f"c-{n}" for n in range(10))
    assert sorted(e for _, e in again) == sorted(f"c-{n}" for n in range(10, 15))
    with db.read() as session:
        stored = session.scalars(select(Interaction).order_by(Interaction.id)).all()
    assert len(stored) == 15 and len({i.id for i in stored}) == 15
    assert stored[0].started_at == dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    assert stored[0].details == {"duration_s": 30} and stored[0].read is False


def test_insert_many_rolls_back_with_its_transaction(db):
    customer_id = _customer(db)
    with pytest.raises(IntegrityError), db.write() as session:
        insert_many(session.connection(), Interaction.__table__, [_interaction(customer_id, "x")])
        insert_many(session.connection(), Interaction.__table__, [_interaction(customer_id, "x")])
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_new_rows_are_numbered_in_the_order_they_were_added(db):
    customer_id = _customer(db)
    with db.write() as session:
        reserved = reserve_ids(session.connection(), AuditEntry.__table__, 3)
        insert_many(
            session.connection(),
            AuditEntry.__table__,
            [
                {"id": id_, "actor": "test", "action": "x", "entity": "customer", "entity_id": 0}
                | {"changes": {}, "origin": "api", "at": dt.datetime.now(dt.UTC)}
                for id_ in reserved
            ],
        )
        entries = [
            audit.record(
                session,
                actor=ACTOR,
                action="customer.updated",
                entity="customer",
                entity_id=customer_id,
                customer_id=customer_id,
                changes={"note": {"before": None, "after": str(n)}},
            )
            for n in range(5)
        ]
        session.flush()
        ids = [e.id for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert len(set(reserved)) == 3 and min(ids) > max(reserved)
    with db.read() as session:
        notes = session.scalars(
            select(AuditEntry.changes)
            .where(AuditEntry.action == "customer.updated")
            .order_by(AuditEntry.id)
        ).all()
    assert [n["note"]["after"] for n in notes] == ["0", "1", "2", "3", "4"]


def test_a_screen_pop_read_without_its_server_is_an_operational_error():
    """No server (or a database gone) is a 503 for the screen pop, never a 500, and the
    next read tries again."""
    url = make_url(postgres_url_or_skip()).set(database="clientcard_no_such_database")
    lost = Database(make_engine(Settings(database_url=url.render_as_string(False))))

    async def read_twice() -> None:
        for _ in range(2):
            with pytest.raises(OperationalError):
                await lost.fetch_all("SELECT 1", ())

    try:
        asyncio.run(read_twice())
    finally:
        lost.dispose()
