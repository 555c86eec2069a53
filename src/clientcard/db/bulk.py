"""Bulk writes and the ids of new rows.

**Ids are never reused**, on either database: an id in a link, a history entry or an ETag
means one row forever. PostgreSQL draws ids from sequences, which never go back. SQLite
numbers an INTEGER PRIMARY KEY without AUTOINCREMENT as the highest rowid plus one, so
deleting the highest row would hand its id to the next insert. Rather than rebuilding every
table with AUTOINCREMENT (a rebuild drops the table's triggers, FTS5's among them), ids on
SQLite come from here: `reserve_ids` gives the ones after both the table's highest id and
its high-water mark, the highest id ever deleted from it, which an AFTER DELETE trigger per
table keeps in `id_high_water` (migration 0005). The trigger fires only when the row
deleted was the table's highest, so ordinary deletes cost nothing more. Every SQLite insert
of a new row takes its id from `reserve_ids`: the ORM's through `number_new_rows` (a
`before_flush` hook on the sessions of `Database`), bulk ones through `insert_many`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

# The SQLite table of high-water marks: (table_name, id), the highest id ever deleted.
HIGH_WATER_TABLE = "id_high_water"
# The AFTER DELETE trigger of each table with a generated id.
HIGH_WATER_TRIGGER = "{table}_id_high_water"

_next_id_sql: dict[tuple[str, str], str] = {}


def _next_id_query(table: Table, column: str) -> str:
    key = (table.name, column)
    found = _next_id_sql.get(key)
    if found is None:
        found = _next_id_sql[key] = (
            f'SELECT max(coalesce((SELECT max("{column}") FROM "{table.name}"), 0), '
            f"coalesce((SELECT id FROM {HIGH_WATER_TABLE} "
            f"WHERE table_name = '{table.name}'), 0))"
        )
    return found


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """`count` new ids for rows of `table` that the caller inserts in this write, before
    anything else is added to that table. PostgreSQL draws them from the id column's
    sequence. SQLite takes the ones after the table's highest id and its high-water mark
    (see the module's docstring), which no other writer can take, since a write
    transaction holds the database lock from its first statement (BEGIN IMMEDIATE);
    nothing holds them until they are inserted. Knowing its ids, a batch of new rows goes
    in as one INSERT, with no RETURNING to match ids to rows."""
    if count <= 0:
        return []
    column = table.autoincrement_column
    assert column is not None, f"{table.name} has no generated id"
    if connection.dialect.name == "sqlite":
        highest = connection.exec_driver_sql(_next_id_query(table, column.name)).scalar() or 0
        return list(range(highest + 1, highest + 1 + count))
    sequence = func.pg_get_serial_sequence(table.name, column.name)
    return list(
        connection.execute(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        ).scalars()
    )


def number_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    """Gives the new objects of a SQLite write their ids before the flush, in the order they
    were added (`reserve_ids`). Knowing the ids, the ORM sends each table's new rows as one
    `executemany`, instead of one INSERT ... RETURNING per row, which is what it must do on
    SQLite when the database numbers the rows: SQLite does not promise RETURNING rows in
    the order of a multi-row INSERT. And a row SQLite numbered itself could take the id of
    a deleted one."""
    unnumbered: dict[Any, list[tuple[int, Any, str]]] = defaultdict(list)
    for instance in session.new:
        state = inspect(instance)
        table = state.mapper.local_table
        column = table.autoincrement_column
        if column is None or len(state.mapper.primary_key) != 1:
            continue
        key = state.mapper.get_property_by_column(column).key
        if getattr(instance, key) is None:
            unnumbered[table].append((state.insert_order, instance, key))
    for table, rows in unnumbered.items():
        ids = reserve_ids(session.connection(), table, len(rows))
        for id_, (_, instance, key) in zip(ids, sorted(rows, key=lambda r: r[0]), strict=True):
            setattr(instance, key, id_)


# Values per INSERT statement of `insert_many`: under SQLite's limit of bound parameters
# (32,766) and PostgreSQL's (65,535).
_VALUES_PER_STATEMENT = 12_000


@dataclass(frozen=True)
class _BulkInsert:
    columns: tuple[str, ...]  # the rows' keys
    processors: tuple[Callable[[Any], Any] | None, ...]
    head: str  # INSERT INTO table ([id,] columns) VALUES
    group: str  # one row's placeholders
    tail: str  # ON CONFLICT ... RETURNING ...
    numbered: bool  # the ids come first, from `reserve_ids` (SQLite)


_bulk_inserts: dict[
    tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], _BulkInsert
] = {}


def _bulk_insert(
    dialect: Any,
    table: Table,
    columns: tuple[str, ...],
    skip: tuple[str, ...],
    returning: tuple[str, ...],
) -> _BulkInsert:
    key = (dialect.name, table.name, columns, skip, returning)
    found = _bulk_inserts.get(key)
    if found is None:
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        id_column = table.autoincrement_column
        numbered = (
            dialect.name == "sqlite" and id_column is not None and id_column.name not in columns
        )
        names = ((id_column.name,) if numbered else ()) + columns  # type: ignore[union-attr]
        tail = f" ON CONFLICT ({', '.join(map(quote, skip))}) DO NOTHING" if skip else ""
        if returning:
            tail += f" RETURNING {', '.join(map(quote, returning))}"
        found = _bulk_inserts[key] = _BulkInsert(
            columns,
            tuple(
                table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
            ),
            f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) VALUES ",
            "(" + ", ".join([mark] * len(names)) + ")",
            tail,
            numbered,
        )
    return found


def insert_many(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    skip_conflicts_on: tuple[str, ...] = (),
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """Inserts many rows of one table with multi-row INSERT statements, each value through
    its column's own bind processing, and returns the `returning` columns of the rows
    inserted (in no particular order). Rows that collide on the unique `skip_conflicts_on`
    columns are left out (ON CONFLICT DO NOTHING, on both databases; on SQLite their
    reserved ids go unused). Every row has the keys of the first; rows without the
    generated id get one (`reserve_ids` on SQLite, the sequence's default on PostgreSQL).
    This is SQLAlchemy's "insertmanyvalues" without its per-row parameter bookkeeping,
    which costs more than the database's own work for ingestion's batches of 1,000
    interactions (see docs/benchmarks.md)."""
    if not rows:
        return []
    dialect = connection.dialect
    bulk = _bulk_insert(dialect, table, tuple(rows[0]), skip_conflicts_on, returning)
    width = len(bulk.columns) + bulk.numbered
    per_statement = max(1, _VALUES_PER_STATEMENT // width)
    pairs = tuple(zip(bulk.columns, bulk.processors, strict=True))
    ids = iter(reserve_ids(connection, table, len(rows))) if bulk.numbered else None
    cursor = connection.connection.driver_connection.cursor()
    inserted: list[tuple[Any, ...]] = []
    try:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            if ids is None:
                values = [
                    process(row[name]) if process else row[name]
                    for row in chunk
                    for name, process in pairs
                ]
            else:
                values = []
                for row in chunk:
                    values.append(next(ids))
                    values += [
                        process(row[name]) if process else row[name] for name, process in pairs
                    ]
            sql = bulk.head + ", ".join([bulk.group] * len(chunk)) + bulk.tail
            try:
                cursor.execute(sql, values)
            except dialect.loaded_dbapi.Error as exc:
                raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from exc
            if returning:
                inserted.extend(tuple(r) for r in cursor.fetchall())
    finally:
        cursor.close()
    return inserted
