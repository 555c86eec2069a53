"""Ingestion throughput and the customer timeline, in one process.

Ingestion calls `interactions.service.ingest` as the API routes do: a batch of 1,000 raw
items per call inside one `Database.write()` (POST /api/v1/interactions/batch), or one item
per call and transaction (POST /api/v1/interactions), and serializes the answer. The items
are a realistic mix (`ingest_items`): most come from numbers and e-mails of existing
customers (resolution hits), some from unknown addresses (each a new lead, created through
the customers service) and a few repeat an item sent before (duplicates). What the run
stored is removed afterwards (`generate.remove_ingested`), so the cached data stays as built.
The batch calls run with the server's collector settings (`clientcard.process`) and, as a
reference, with Python's defaults, the two taking turns in rounds.

The timeline rows time `interactions.timeline.customer_timeline` (limit 50, no filters) in
a `Database.read()` session plus the JSON of the page, as GET /customers/{id}/timeline
answers it: the heavy customer's first page, its second page through the cursor, a deep
page (about item 5,000) and the first page of ordinary customers; beside them, the
interactions SELECT of the first page through the bare DB-API cursor.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from bench.generate import INGEST_SOURCE, SEED, Dataset, InteractionSet, Keys, remove_ingested
from bench.inprocess import DEFAULT_REGION, Measurement, _percentile
from clientcard.auth.actor import system_actor
from clientcard.config import Settings
from clientcard.context import open_database
from clientcard.customers.models import Customer
from clientcard.db import Database
from clientcard.interactions import service, timeline
from clientcard.interactions.schemas import BatchResult, TimelineItem
from clientcard.schemas import Page

BATCH_SIZE = 1_000
BATCH_OPERATION = f"ingest batch of {BATCH_SIZE:,}"
DEFAULT_GC_OPERATION = f"{BATCH_OPERATION}, Python's default GC"
# The tuned and the default-collector batches take turns in this many rounds, so that the
# page cache warming up and a drifting machine weigh on both alike.
INGEST_ROUNDS = 4
DUPLICATE_SHARE = 0.03  # an item sent before, again
NEW_SHARE = 0.07  # an address no customer has: a new lead
TIMELINE_LIMIT = 50
DEEP_PAGE = 100  # pages in for the deep-page row (about item 5,000)
_NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
_SUBJECTS = ("Order status", "Invoice question", "Change of address", "Contract renewal")


@dataclass
class Throughput:
    """Items ingested per second over a run of calls."""

    backend: str
    customers: int
    interactions: int  # in the base before the run
    operation: str
    mode: str  # in-process or HTTP
    items: int
    seconds: float
    call_ms: list[float] = field(repr=False)
    outcomes: dict[str, int] = field(default_factory=dict)
    leads: int = 0  # customers the run created
    errors: list[str] = field(default_factory=list)

    @classmethod
    def combined(cls, parts: list[Throughput]) -> Throughput:
        """One row from runs of the same operation."""
        first = parts[0]
        outcomes: Counter[str] = Counter()
        for part in parts:
            outcomes.update(part.outcomes)
        return cls(
            first.backend,
            first.customers,
            first.interactions,
            first.operation,
            first.mode,
            sum(p.items for p in parts),
            sum(p.seconds for p in parts),
            [ms for p in parts for ms in p.call_ms],
            dict(outcomes),
            sum(p.leads for p in parts),
            [e for p in parts for e in p.errors],
        )

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return _percentile(self.call_ms, 50)

    @property
    def p99_ms(self) -> float:
        return _percentile(self.call_ms, 99)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "ingestion",
            "backend": self.backend,
            "customers": self.customers,
            "interactions": self.interactions,
            "operation": self.operation,
            "mode": self.mode,
            "items": self.items,
            "calls": len(self.call_ms),
            "seconds": round(self.seconds, 3),
            "interactions_per_second": round(self.per_second, 1),
            "call_p50_ms": round(self.p50_ms, 3),
            "call_p99_ms": round(self.p99_ms, 3),
            "call_mean_ms": round(statistics.fmean(self.call_ms), 3),
            "outcomes": self.outcomes,
            "leads_created": self.leads,
            "errors": self.errors[:5],
        }


# ---- ingestion -----------------------------------------------------------------------------


def ingest_items(keys: Keys, count: int, *, prefix: str, seed: int = SEED) -> list[dict]:
    """`count` raw items (as a channel platform posts them): 90% from known customers' numbers
    (calls, SMS, WhatsApp) and e-mails, 7% from unknown addresses, 3% repeats."""
    rng = random.Random(f"{seed}-{prefix}")
    items: list[dict] = []
    for i in range(count):
        r = rng.random()
        if r < DUPLICATE_SHARE and items:
            items.append(dict(items[int(rng.random() * len(items))]))
            continue
        unknown = r < DUPLICATE_SHARE + NEW_SHARE
        by_phone = rng.random() < 0.7
        if unknown:
            address = f"+4850{i % 10_000_000:07d}" if by_phone else f"lead.{prefix}{i}@example.net"
        elif by_phone:
            address = keys.phones[int(rng.random() * len(keys.phones))]
        else:
            address = keys.emails[int(rng.random() * len(keys.emails))]
        inbound = rng.random() < 0.6
        started = _NOW + dt.timedelta(seconds=i)
        item: dict[str, Any] = {
            "source": INGEST_SOURCE,
            "external_id": f"{prefix}-{i:08d}",
            "direction": "inbound" if inbound else "outbound",
            "started_at": started.isoformat(),
        }
        ours = "support@clientcard.example"
        if by_phone:
            channel = "voice" if rng.random() < 0.75 else rng.choice(("sms", "whatsapp"))
            ours = "+48221234567"
            item["channel"] = channel
            if channel == "voice":
                duration = rng.randrange(20, 600)
                item |= {
                    "status": "answered",
                    "ended_at": (started + dt.timedelta(seconds=duration)).isoformat(),
                    "queue": "support" if inbound else None,
                    "details": {"duration_s": duration},
                }
            else:
                item |= {"status": "delivered", "body": "Your parcel is on its way."}
        else:
            item |= {
                "channel": "email",
                "subject": rng.choice(_SUBJECTS),
                "body": f"Hello, about my last order, reference {i}. Kind regards.",
            }
        item["from"], item["to"] = (address, ours) if inbound else (ours, address)
        items.append(item)
    return items


@contextmanager
def python_default_collector() -> Iterator[None]:
    """Python's own collector settings for a while, instead of the server's
    (`clientcard.process.tune_collector`), for the reference row beside the target."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.collect()
        gc.freeze()
        gc.set_threshold(*thresholds)


def batch_calls(keys: Keys, batches: int, *, prefix: str) -> list[list[dict]]:
    items = ingest_items(keys, batches * BATCH_SIZE, prefix=prefix)
    return [items[k : k + BATCH_SIZE] for k in range(0, len(items), BATCH_SIZE)]


def _leads(database: Database, customers: int) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).where(Customer.id > customers)) or 0


def run_ingestion(
    dataset: Dataset,
    keys: Keys,
    *,
    interactions: int,
    batches: int,
    singles: int,
    log=print,
) -> list[Throughput]:
    """Batch and single ingestion on one dataset, then the data put back as it was."""
    database = open_database(Settings(database_url=dataset.url, default_region=DEFAULT_REGION))
    actor = system_actor("bench")
    remove_ingested(dataset)
    results: list[Throughput] = []

    def ingest(items: list[dict]) -> list[Any]:
        with database.write() as session:
            answer = service.ingest(session, actor=actor, items=items)
        BatchResult(items=answer).model_dump_json()
        return answer

    def measure(name: str, calls: list[list[dict]]) -> Throughput:
        leads_before = _leads(database, dataset.size)
        call_ms: list[float] = []
        outcomes: Counter[str] = Counter()
        errors: list[str] = []
        clock = time.perf_counter_ns
        started = clock()
        for call in calls:
            t0 = clock()
            answer = ingest(call)
            call_ms.append((clock() - t0) / 1e6)
            for item in answer:
                outcomes[item.result] += 1
                if item.result == "error" and len(errors) < 5:
                    errors.append(str(item.errors))
        seconds = (clock() - started) / 1e9
        return Throughput(
            dataset.backend,
            dataset.size,
            interactions,
            name,
            "in-process",
            sum(len(c) for c in calls),
            seconds,
            call_ms,
            dict(outcomes),
            _leads(database, dataset.size) - leads_before,
            errors,
        )

    try:
        for warm in range(2):  # statement caches, page cache
            ingest(ingest_items(keys, BATCH_SIZE, prefix=f"warm{warm}"))
        tuned = batch_calls(keys, batches, prefix="batch")
        default = batch_calls(keys, batches, prefix="batch-default-gc")
        log(
            f"  batch ingestion: {batches} calls of {BATCH_SIZE:,} items, and as many with "
            "Python's default garbage collector, in alternating rounds ..."
        )
        rounds: dict[str, list[Throughput]] = {BATCH_OPERATION: [], DEFAULT_GC_OPERATION: []}
        per_round = max(1, batches // INGEST_ROUNDS)
        for start in range(0, batches, per_round):
            rounds[BATCH_OPERATION].append(
                measure(BATCH_OPERATION, tuned[start : start + per_round])
            )
            with python_default_collector():
                rounds[DEFAULT_GC_OPERATION].append(
                    measure(DEFAULT_GC_OPERATION, default[start : start + per_round])
                )
        results += [Throughput.combined(r) for r in rounds.values()]
        items = ingest_items(keys, singles, prefix="single")
        log(f"  single ingestion: {singles:,} calls of one item ...")
        results.append(measure("ingest one item per call", [[i] for i in items]))
    finally:
        database.dispose()
        remove_ingested(dataset)
    return results


# ---- timeline ------------------------------------------------------------------------------


_TIMELINE_SQL = (
    "SELECT id, started_at, preview, channel, direction, status, agent, case_id "
    "FROM interactions WHERE customer_id = {m}{after} ORDER BY started_at DESC, id DESC "
    "LIMIT {m}"
)
_AFTER = " AND (started_at < {m} OR (started_at = {m} AND id < {m}))"


def timeline_sql(sqlite: bool, *, after: bool) -> str:
    """The interactions SELECT `timeline._interactions` sends, with the cursor condition when
    `after` (the notes and case events SELECTs go to tables that are empty here)."""
    m = "?" if sqlite else "%s"
    return _TIMELINE_SQL.format(m=m, after=_AFTER.format(m=m) if after else "")


def _cursor_params(customer_id: int, item: TimelineItem, sqlite: bool) -> tuple:
    at: Any = item.at.astimezone(dt.UTC)
    if sqlite:
        at = at.replace(tzinfo=None).isoformat(" ", "microseconds")
    return (customer_id, at, at, item.id, TIMELINE_LIMIT + 1)


def run_timeline(
    dataset: Dataset, loaded: InteractionSet, keys: Keys, *, repeat: int, warmup: int = 50
) -> tuple[list[Measurement], dict[str, str]]:
    """Timeline pages on one dataset, and the query plans of the first and second page."""
    database = open_database(Settings(database_url=dataset.url, default_region=DEFAULT_REGION))
    actor = system_actor("bench")
    heavy = loaded.heavy_customer
    pages: dict[str | None, tuple[list[TimelineItem], str | None]] = {}

    def page(customer_id: int, cursor: str | None = None) -> int:
        with database.read() as session:
            items, next_cursor = timeline.customer_timeline(
                session,
                actor=actor,
                customer_id=customer_id,
                filters=timeline.TimelineFilter(),
                cursor=cursor,
                limit=TIMELINE_LIMIT,
            )
        Page[TimelineItem](items=items, next_cursor=next_cursor).model_dump_json()
        if customer_id == heavy:
            pages[cursor] = (items, next_cursor)
        return len(items)

    def timed(
        name: str, args: list[Any], call: Callable[[Any], int], *, warm: int = warmup
    ) -> Measurement:
        for arg in args[:warm]:
            call(arg)
        samples: list[float] = []
        found = 0
        clock = time.perf_counter_ns
        for arg in args:
            t0 = clock()
            found += call(arg) > 0
            samples.append((clock() - t0) / 1e6)
        return Measurement(dataset.backend, dataset.size, name, samples, found)

    raw = database.engine.raw_connection()
    sqlite = database.is_sqlite

    def raw_first(customer_id: int) -> int:
        cursor = raw.cursor()
        try:
            cursor.execute(timeline_sql(sqlite, after=False), (customer_id, TIMELINE_LIMIT + 1))
            return len(cursor.fetchall())
        finally:
            cursor.close()
            if not sqlite:
                raw.rollback()

    results: list[Measurement] = []
    plans: dict[str, str] = {}
    try:
        page(heavy)
        first, second_cursor = pages[None]
        cursor, deep = second_cursor, 2  # `cursor` opens page `deep`
        while cursor and deep < DEEP_PAGE:
            page(heavy, cursor)
            if pages[cursor][1] is None:
                break
            cursor, deep = pages[cursor][1], deep + 1
        deep_cursor = cursor
        ordinary = [c for c in keys.customer_ids if c != heavy][:repeat]
        n = f"{loaded.heavy_interactions:,}"
        results += [
            timed(f"timeline p1, customer with {n} (service)", [heavy] * repeat, page),
            timed(f"timeline p1, customer with {n} (raw SQL)", [heavy] * repeat, raw_first),
            timed(
                f"timeline p2 via cursor, customer with {n}",
                [second_cursor] * repeat,
                lambda c: page(heavy, c),
            ),
            timed(
                f"timeline p{deep} via cursor, customer with {n}",
                [deep_cursor] * max(50, repeat // 4),
                lambda c: page(heavy, c),
            ),
            # One warm-up pass over these customers, as over the look-ups' keys: the p99 of
            # a warm page cache, not of the first reads of a freshly built file.
            timed("timeline p1, ordinary customers (service)", ordinary, page, warm=len(ordinary)),
        ]
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
        statements = {
            "timeline p1 (heavy customer)": (
                timeline_sql(sqlite, after=False),
                (heavy, TIMELINE_LIMIT + 1),
            ),
            "timeline p2 (heavy customer)": (
                timeline_sql(sqlite, after=True),
                _cursor_params(heavy, first[-1], sqlite),
            ),
        }
        cursor_ = raw.cursor()
        for name, (sql, params) in statements.items():
            cursor_.execute(prefix + sql, params)
            rows = cursor_.fetchall()
            plans[name] = "\n".join(f"{'  ' * (r[1] > 0)}{r[-1]}" if sqlite else r[0] for r in rows)
        cursor_.close()
        if not sqlite:
            raw.rollback()
    finally:
        raw.close()
        database.dispose()
    return results, plans
