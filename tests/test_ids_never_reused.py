"""Ids are never reused, on either database: an id in a link, a history entry or an ETag
means one row forever. Deleting the row with the highest id and creating another never
gives the new row a used id."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, Table, delete, text

import clientcard.models  # noqa: F401  (every table on the metadata)
from clientcard.app import create_app
from clientcard.base import Base
from clientcard.config import Settings
from clientcard.db import Database, insert_many
from tests.attachments.conftest import uploaded
from tests.cases.conftest import create_case
from tests.conftest import create_customer

GENERATED = [t for t in Base.metadata.sorted_tables if t.autoincrement_column is not None]


@pytest.fixture
def app(settings: Settings, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    configured = settings.model_copy(update={"files_dir": str(tmp_path / "files")})
    monkeypatch.setattr(db, "settings", configured)  # for this test only
    return create_app(configured, db)


def test_a_deleted_attachment_id_is_never_given_to_another_customer(agent):
    ana = create_customer(agent)
    jan = create_customer(agent, first_name="Jan", last_name="Kowalski")
    first = uploaded(agent, f"/api/v1/customers/{ana['id']}/attachments", name="a.pdf")
    highest = uploaded(agent, f"/api/v1/customers/{ana['id']}/attachments", name="b.pdf")
    assert agent.delete(f"/api/v1/attachments/{highest['id']}").status_code == 204

    other = uploaded(agent, f"/api/v1/customers/{jan['id']}/attachments", name="c.pdf")
    assert other["id"] > highest["id"] > first["id"]
    # The old link still names the deleted file, not Jan's.
    assert agent.get(f"/api/v1/attachments/{highest['id']}").status_code == 404
    stale = agent.delete(f"/api/v1/attachments/{highest['id']}", headers={"If-Match": '"1"'})
    assert stale.status_code == 404
    assert agent.get(f"/api/v1/attachments/{other['id']}").json()["customer_id"] == jan["id"]


def test_a_deleted_relation_id_is_never_reused(agent):
    ana, jan, eva = (
        create_customer(agent, first_name=name, last_name="Nowak") for name in ("Ana", "Jan", "Eva")
    )
    url = f"/api/v1/customers/{ana['id']}/relations"
    first = agent.post(url, json={"other_id": jan["id"], "labels": ["spouse"]}).json()
    highest = agent.post(url, json={"other_id": eva["id"], "labels": ["sister"]}).json()
    deleted = agent.delete(f"{url}/{highest['id']}", headers={"If-Match": '"1"'})
    assert deleted.status_code == 204

    again = agent.post(url, json={"other_id": eva["id"], "labels": ["cousin"]})
    assert again.status_code == 201, again.text
    assert again.json()["id"] > highest["id"] > first["id"]
    assert agent.get(f"{url}/{highest['id']}").status_code == 404


def test_removed_comment_ids_are_never_reused(agent):
    customer = create_customer(agent)
    case = create_case(agent, customer["id"])
    url = f"/api/v1/cases/{case['id']}"
    posted = [agent.post(f"{url}/comments", json={"text": t}).json() for t in ("one", "two")]
    # Cancelling the case removes its comments, the highest id among them.
    cancelled = agent.patch(url, json={"status": "cancelled"}, headers={"If-Match": '"1"'})
    assert cancelled.status_code == 200, cancelled.text
    reopened = agent.patch(url, json={"status": "open"}, headers={"If-Match": '"2"'})
    assert reopened.status_code == 200, reopened.text

    again = agent.post(f"{url}/comments", json={"text": "three"})
    assert again.status_code == 201, again.text
    assert again.json()["id"] > max(p["id"] for p in posted)


def _value(column: Column[Any], n: int) -> Any:
    """A value of the column's type, distinct for each `n` (unique columns)."""
    kind = column.type
    kind = getattr(kind, "impl_instance", None) or getattr(kind, "impl", kind)
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, DateTime):
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=n)
    if isinstance(kind, Date):
        return dt.date(2026, 1, 1) + dt.timedelta(days=n)
    if isinstance(kind, Integer):
        return n
    return f"v{n}"


def _rows(table: Table, count: int, start: int) -> list[dict[str, Any]]:
    """Rows with every column the table requires, without the generated id."""
    needed = [
        c
        for c in table.columns
        if c is not table.autoincrement_column and not c.nullable and c.server_default is None
    ]
    return [{c.name: _value(c, start + n) for c in needed} for n in range(count)]


@pytest.mark.parametrize("table", GENERATED, ids=[t.name for t in GENERATED])
def test_no_table_gives_a_deleted_id_again(db: Database, table: Table):
    """Every table with a generated id, through the bulk path; foreign keys are left
    unchecked, and the transaction is rolled back."""
    id_column = table.autoincrement_column
    assert id_column is not None
    with db.engine.connect() as connection:
        if db.is_sqlite:
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        try:
            (low,), (high,) = insert_many(
                connection, table, _rows(table, 2, 1), returning=(id_column.name,)
            )
            assert low < high
            connection.execute(delete(table).where(id_column == high))
            [(after_highest,)] = insert_many(
                connection, table, _rows(table, 1, 3), returning=(id_column.name,)
            )
            assert after_highest > high
            connection.execute(delete(table))  # every row: the next id is still new
            [(after_all,)] = insert_many(
                connection, table, _rows(table, 1, 4), returning=(id_column.name,)
            )
            assert after_all > after_highest
        finally:
            connection.rollback()


def test_every_table_with_a_generated_id_is_guarded(db: Database):
    """A new table with a generated id needs its high-water trigger (see migration 0005):
    on SQLite, without it, deleting its highest row would hand that id out again."""
    if not db.is_sqlite:
        pytest.skip("sequences never go back")
    with db.engine.connect() as connection:
        triggers = set(
            connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
        )
    missing = [t.name for t in GENERATED if f"{t.name}_id_high_water" not in triggers]
    assert missing == []
