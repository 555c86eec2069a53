"""Locks and upserts, asked for by name.

Domain code says what it serializes on; this module knows how each database does it.
On SQLite a write unit of work holds the database's write lock from its first statement
(BEGIN IMMEDIATE), so writers are serialized already and the locks here cost nothing. On
PostgreSQL they are transaction-scoped advisory locks (`pg_advisory_xact_lock`, released at
commit or rollback) or row locks (`SELECT ... FOR UPDATE`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import Any

from sqlalchemy import Column, Table, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from clientcard.db.bulk import reserve_ids


class LockSpace(IntEnum):
    """The namespaces of advisory locks: one per kind of thing that writers serialize on
    (32-bit, the first key of PostgreSQL's two-key advisory locks)."""

    # Creating a custom field definition: the unique index on (group_key, key) treats NULL
    # group keys as distinct, so it cannot stop two concurrent creations of the same
    # customer-level key.
    CUSTOM_FIELD_DEFINITIONS = 0x636C_6366  # "clcf"
    # A lead for an unknown address: two batches reporting it at once make one lead.
    LEAD_FOR_ADDRESS = 1_818_580_324
    # A file's bytes, by hash: "is this hash still used?" against a new row naming it.
    FILE_BYTES = 0x636C_6662  # "clfb"


def _serialized(session: Session) -> bool:
    """True when the session's database serializes writers (SQLite)."""
    return session.get_bind().dialect.name == "sqlite"


_LOCK_KEYS = text(
    "SELECT pg_advisory_xact_lock(:space, key) FROM"
    " (SELECT DISTINCT hashtext(k) AS key FROM unnest(CAST(:keys AS text[])) AS k) AS wanted"
    # A volatile function of the select list is evaluated after the ORDER BY: the locks
    # are taken in key order, so two writers never wait on each other in a circle.
    " ORDER BY key"
)


def lock_keys(session: Session, space: LockSpace, keys: Iterable[str]) -> bool:
    """Holds a lock on each of `keys` in `space` until the write unit of work ends, taken in
    one order by every writer. Returns True when locks were taken now, after waiting for
    the writers holding them: rows those writers committed meanwhile may be new to this
    write, so a caller that looked before locking looks again. False when the write has
    held the database's lock since it began (SQLite): nothing can have changed."""
    if _serialized(session):
        return False
    wanted = sorted(set(keys))
    if wanted:
        session.execute(_LOCK_KEYS, {"space": int(space), "keys": wanted}).all()
    return True


def lock_key(session: Session, space: LockSpace, key: str = "") -> bool:
    """`lock_keys` for one key (or for the whole space, with none)."""
    return lock_keys(session, space, [key])


def lock_rows(session: Session, id_column: InstrumentedAttribute[int], ids: Iterable[int]) -> None:
    """Locks the rows whose `id_column` is one of `ids`, in id order, until the write ends,
    so that writers touching overlapping rows queue on their first shared row instead of
    deadlocking on each other's (FOR UPDATE; nothing on SQLite, whose writer holds the
    database lock already)."""
    if _serialized(session):
        return
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), 500):
        session.execute(
            select(id_column)
            .where(id_column.in_(ordered[start : start + 500]))
            .order_by(id_column)
            .with_for_update()
        ).all()


def insert_or_ignore(
    session: Session, table: Table | Any, values: dict[str, Any], *, unique: Sequence[str]
) -> None:
    """Inserts one row unless a row with the same `unique` columns exists (ON CONFLICT DO
    NOTHING, on both databases): concurrent writers both try, one insert wins, the other
    does nothing."""
    bind = session.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    target: Table = getattr(table, "__table__", table)
    id_column: Column[Any] | None = target.autoincrement_column  # type: ignore[assignment]
    if sqlite and id_column is not None and id_column.name not in values:
        (id_,) = reserve_ids(session.connection(), target, 1)
        values = {**values, id_column.name: id_}
    insert = sqlite_insert if sqlite else pg_insert
    session.execute(insert(target).values(**values).on_conflict_do_nothing(index_elements=unique))
