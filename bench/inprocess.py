"""In-process latency of the screen pop and of reading one card, beside raw SQL.

The service rows run what the API handlers run, minus HTTP: the service function
(`lookup_cards` for the screen pop, awaited in an event loop as the server runs it;
`read_card` in a `Database.read()` session for the card)
and the JSON serialization of the cards. The raw SQL rows send the same single SELECT
through a bare DB-API cursor without processing its rows, so the gap between the two is
the cost of Python (result processing, API shapes, serialization, the session); the raw
rows alone are the floor the database sets.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_json

from bench.generate import Dataset, Keys
from clientcard.auth.actor import system_actor
from clientcard.config import Settings
from clientcard.context import open_database
from clientcard.customers import cards, service
from clientcard.db import Database
from clientcard.db.fastread import Compiled, compile_for

DEFAULT_REGION = "PL"


@dataclass
class Measurement:
    """One operation timed over many keys."""

    backend: str
    customers: int
    operation: str
    samples_ms: list[float] = field(repr=False)
    found: int = 0  # keys that returned at least one card

    @property
    def p50_ms(self) -> float:
        return _percentile(self.samples_ms, 50)

    @property
    def p99_ms(self) -> float:
        return _percentile(self.samples_ms, 99)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "inprocess",
            "backend": self.backend,
            "customers": self.customers,
            "operation": self.operation,
            "n": len(self.samples_ms),
            "found": self.found,
            "p50_ms": round(self.p50_ms, 4),
            "p99_ms": round(self.p99_ms, 4),
            "mean_ms": round(statistics.fmean(self.samples_ms), 4),
            "max_ms": round(max(self.samples_ms), 4),
        }


def _percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: with 2,000 samples, p99 is the 20th slowest."""
    ordered = sorted(samples)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _time(keys: Sequence[Any], call: Callable[[Any], int], warmup: int) -> tuple[list[float], int]:
    """Runs `call` on a few keys to warm caches and prepared statements, then times each key."""
    for key in keys[:warmup]:
        call(key)
    samples: list[float] = []
    found = 0
    clock = time.perf_counter_ns
    for key in keys:
        started = clock()
        found += call(key) > 0
        samples.append((clock() - started) / 1e6)
    return samples, found


def _time_async(
    database: Database, keys: Sequence[Any], call: Callable[[Any], Awaitable[int]], warmup: int
) -> tuple[list[float], int]:
    """`_time` for a coroutine, timed inside one event loop as the server runs it."""

    async def run() -> tuple[list[float], int]:
        try:
            for key in keys[:warmup]:
                await call(key)
            samples: list[float] = []
            found = 0
            clock = time.perf_counter_ns
            for key in keys:
                started = clock()
                found += await call(key) > 0
                samples.append((clock() - started) / 1e6)
            return samples, found
        finally:
            await database.close_async()

    return asyncio.run(run())


class _Raw:
    """The service's SELECTs as SQL strings on a bare DB-API connection of the same engine
    (same PRAGMAs): no result processing, no API shapes."""

    def __init__(self, database: Database) -> None:
        self.connection = database.engine.raw_connection()
        self.sqlite = database.is_sqlite
        dialect = database.engine.dialect
        self.lookup_sql = compile_for(cards.OWNERS_OF_PHONE, dialect, {"normalized": ""})
        self.email_sql = compile_for(cards.OWNERS_OF_EMAIL, dialect, {"normalized": ""})
        self.customer_sql = compile_for(cards.BY_ID, dialect, {"customer_id": 0})

    def _run(self, compiled: Compiled, params: dict[str, Any]) -> int:
        cursor = self.connection.cursor()
        try:
            rows = compiled.execute(cursor, params)
        finally:
            cursor.close()
            if not self.sqlite:
                self.connection.rollback()
        return len(rows)

    def lookup_phone(self, phone: str) -> int:
        return self._run(self.lookup_sql, {"normalized": phone})

    def lookup_email(self, email: str) -> int:
        return self._run(self.email_sql, {"normalized": email})

    def get_customer(self, customer_id: int) -> int:
        return self._run(self.customer_sql, {"customer_id": customer_id})

    def close(self) -> None:
        self.connection.close()


def query_plans(dataset: Dataset, keys: Keys) -> dict[str, str]:
    """The database's plan for the look-up and the card read, for reading beside the timings
    (EXPLAIN QUERY PLAN on SQLite; EXPLAIN ANALYZE, BUFFERS on PostgreSQL)."""
    database = open_database(Settings(database_url=dataset.url, default_region=DEFAULT_REGION))
    raw = _Raw(database)
    prefix = "EXPLAIN QUERY PLAN " if raw.sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    statements = {
        "lookup by phone": (raw.lookup_sql, {"normalized": keys.phones[0]}),
        "lookup by e-mail": (raw.email_sql, {"normalized": keys.emails[0]}),
        "card by id": (raw.customer_sql, {"customer_id": keys.customer_ids[0]}),
    }
    plans = {}
    try:
        cursor = raw.connection.cursor()
        for name, (compiled, params) in statements.items():
            merged = {**compiled.defaults, **params}
            values = tuple(merged[n] for n in compiled.positional or ()) or merged
            cursor.execute(prefix + compiled.sql, values)
            rows = cursor.fetchall()
            lines = (
                [f"{'  ' * (r[1] > 0)}{r[-1]}" for r in rows]
                if raw.sqlite
                else [r[0] for r in rows]
            )
            plans[name] = "\n".join(lines)
        cursor.close()
        if not raw.sqlite:
            raw.connection.rollback()
    finally:
        raw.close()
        database.dispose()
    return plans


def run(dataset: Dataset, keys: Keys, *, warmup: int = 200) -> list[Measurement]:
    """Times every operation on one dataset; prints nothing, asserts nothing."""
    database = open_database(Settings(database_url=dataset.url, default_region=DEFAULT_REGION))
    actor = system_actor("bench")

    async def lookup(phone: str | None, email: str | None) -> int:
        found = await service.lookup_cards(
            database,
            actor=actor,
            phone=phone,
            email=email,
            region=None,
        )
        to_json({"items": found})
        return len(found)

    def get(customer_id: int) -> int:
        with database.read() as session:
            card = service.read_card(session, actor=actor, customer_id=customer_id)
        card.model_dump_json()
        return 1

    raw = _Raw(database)
    operations: list[tuple[str, Sequence[Any], Callable[[Any], Any]]] = [
        ("lookup by phone (service)", keys.phones, lambda k: lookup(k, None)),
        ("lookup by phone (raw SQL)", keys.phones, raw.lookup_phone),
        ("lookup by e-mail (service)", keys.emails, lambda k: lookup(None, k)),
        ("lookup by e-mail (raw SQL)", keys.emails, raw.lookup_email),
        ("GET customer (service)", keys.customer_ids, get),
        ("GET customer (raw SQL)", keys.customer_ids, raw.get_customer),
    ]
    results = []
    try:
        for name, values, call in operations:
            if name.startswith("lookup") and "service" in name:  # a coroutine, as served
                samples, found = _time_async(database, values, call, warmup)
            else:
                samples, found = _time(values, call, warmup)
            results.append(Measurement(dataset.backend, dataset.size, name, samples, found))
    finally:
        raw.close()
        database.dispose()
    return results
