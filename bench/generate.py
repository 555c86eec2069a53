"""Synthetic bench databases: N customers with about two contact points each, built fast.

The schema comes from the project's own Alembic migration, so the benchmarks run against
exactly the indexes, FTS tables and triggers the app ships. Rows then go in with raw SQL
(one big SQLite transaction of executemany; PostgreSQL COPY), bypassing the ORM, which
would take hours for a million cards. Each card's rows are built by the function the
service builds them with (`customers.rows.new_rows`), so every column is filled as the
service fills it; `_self_check` compares a sample of the contact points, whose normalized
values the generator writes itself, with the service's normalization.

The data is seeded: the same size gives the same rows (same ids, numbers and e-mails) on
SQLite and PostgreSQL. Built databases are cached (SQLite: var/bench/clientcard-N.db;
PostgreSQL: schema bench_N in the bench database) and recognised by a `bench_meta` row.
"""

from __future__ import annotations

import bisect
import datetime as dt
import operator
import os
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from clientcard.config import Settings
from clientcard.contacts.models import PHONE_TYPES
from clientcard.contacts.service import ADDRESS_PARTS
from clientcard.customers.rows import new_rows
from clientcard.customers.service import PROFILE_FIELDS
from clientcard.db import make_engine
from clientcard.demo import LOCALES
from clientcard.migrate import upgrade
from clientcard.text import fold

# Bump when the generated data changes: cached databases of another version are rebuilt.
GENERATOR_VERSION = 2
SEED = 20261123
ACTOR = "bench"
CHUNK = 20_000  # customers per generated batch
CACHE_DIR = Path("var/bench")

# A generated card's profile before its own values: what a create through the service
# leaves (no tags, not VIP nor hidden, no custom values; the JSON columns as their text).
_PROFILE = dict.fromkeys(PROFILE_FIELDS) | {"tags": "[]", "vip": False, "hidden": False}
_PROFILE["custom"] = "{}"
_POINT = {"primary": True, "network": None, **dict.fromkeys(ADDRESS_PARTS)}
# The columns of the rows `new_rows` builds, in the order they are written.
_CUSTOMER_KEYS = (
    *PROFILE_FIELDS,
    "search_text",
    "sort_name",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
)
_POINT_KEYS = (
    "type",
    "value",
    "normalized",
    "label",
    "primary",
    "network",
    *ADDRESS_PARTS,
    "version",
    "created_at",
    "updated_at",
)
CUSTOMER_COLUMNS = ("id", *_CUSTOMER_KEYS)
POINT_COLUMNS = ("id", "customer_id", *('"primary"' if k == "primary" else k for k in _POINT_KEYS))
_customer_values = operator.itemgetter(*_CUSTOMER_KEYS)
_point_values = operator.itemgetter(*_POINT_KEYS)

# Country code, then national number prefixes with the count of digits that follow.
# Every prefix was checked against phonenumbers (see `_self_check`, which keeps checking).
PHONE_PLANS: dict[str, tuple[str, list[tuple[str, int]], list[tuple[str, int]]]] = {
    "PL": (
        "48",
        [(p, 7) for p in ("50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88")],
        [(p, 7) for p in ("22", "12", "58", "71", "61")],
    ),
    "ES": ("34", [("6", 8), ("71", 7), ("72", 7)], [(p, 7) for p in ("91", "93", "95", "96")]),
    "GB": (
        "44",
        [("71", 8), ("72", 8), ("73", 8), ("790", 7), ("792", 7), ("795", 7)],
        [("207", 7), ("203", 7), ("161", 7)],
    ),
    "US": ("1", [], []),  # NPA-NXX-XXXX, built in `_us_number`
    "DE": (
        "49",
        [(p, 8) for p in ("151", "152", "157", "170", "171", "172", "175", "176", "177", "179")],
        [("30", 8), ("40", 8), ("89", 8)],
    ),
    "FR": (
        "33",
        [(p, 7) for p in ("60", "61", "62", "64", "65", "66", "67", "68", "73", "75", "76", "77")],
        [("1", 8), ("3", 8)],
    ),
}
US_AREA_CODES = (212, 213, 312, 415, 617, 646, 702, 713, 305, 404, 206, 303)

_EXTRA_LOCALES = {
    "DE": (
        "de",
        ["Anna", "Lena", "Leonie", "Hannah", "Lea", "Sophie", "Jana", "Katharina", "Jülide"],
        ["Lukas", "Jonas", "Leon", "Felix", "Maximilian", "Paul", "Jürgen", "Stefan"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"],
    ),
    "FR": (
        "fr",
        ["Léa", "Chloé", "Manon", "Camille", "Inès", "Zoé", "Élodie", "Margaux"],
        ["Lucas", "Hugo", "Louis", "Théo", "Nathan", "Raphaël", "Gaël", "Jérôme"],
        ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Lefèvre", "Girard", "Faure"],
    ),
}
NAMES = {r: (v[0], v[1], v[2], v[3]) for r, v in LOCALES.items()} | _EXTRA_LOCALES
REGIONS = ("PL", "ES", "GB", "US", "DE", "FR")
REGION_WEIGHTS = (0.30, 0.25, 0.15, 0.12, 0.10, 0.08)
DOMAINS = {
    "PL": ("gmail.com", "wp.pl", "onet.pl", "interia.pl", "o2.pl"),
    "ES": ("gmail.com", "hotmail.es", "yahoo.es", "outlook.es", "telefonica.net"),
    "GB": ("gmail.com", "outlook.com", "btinternet.com", "yahoo.co.uk"),
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"),
    "DE": ("gmx.de", "web.de", "gmail.com", "t-online.de"),
    "FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net"),
}
COMPANY_WORDS = (
    "Logística",
    "Transportes",
    "Budimex",
    "Mleczarnia",
    "Thames",
    "Bluebird",
    "Nordwind",
    "Soleil",
    "Acme",
    "Hurtownia",
)
COMPANY_SUFFIX = {
    "PL": "sp. z o.o.",
    "ES": "S.L.",
    "GB": "Ltd",
    "US": "Inc.",
    "DE": "GmbH",
    "FR": "SARL",
}
ID_TYPES = {"PL": "pesel", "ES": "dni", "GB": "passport", "US": "ssn", "DE": "id_card", "FR": "cni"}
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_EPOCH = dt.datetime(2023, 1, 1)
_SPAN_SECONDS = 3 * 365 * 86_400


@dataclass(frozen=True)
class Dataset:
    """A built bench database and how it came to be."""

    backend: str
    size: int
    url: str
    customers: int
    contact_points: int
    generated_seconds: float
    cached: bool


@cache
def _ascii(name: str) -> str:
    return "".join(ch for ch in fold(name) if ch.isascii() and ch.isalpha())


def _identification(region: str, i: int) -> str:
    """A number unique per customer: i times an odd number not divisible by 5, mod 10^k,
    is a bijection, so no two customers share a document."""
    if region == "ES":
        n = (i * 2_654_435_761) % 10**8
        return f"{n:08d}{DNI_LETTERS[n % 23]}"
    if region == "PL":
        return f"{(i * 2_654_435_761) % 10**11:011d}"
    if region == "DE":
        return f"L{(i * 2_654_435_761) % 10**8:08d}"
    return f"{(i * 2_654_435_761) % 10**9:09d}"


def _us_number(rng: random.Random) -> tuple[str, str]:
    npa = US_AREA_CODES[int(rng.random() * len(US_AREA_CODES))]
    nxx = rng.randrange(200, 1000)
    if nxx % 100 == 11:
        nxx += 1
    line = rng.randrange(10_000)
    return f"+1{npa}{nxx}{line:04d}", f"({npa}) {nxx}-{line:04d}"


def _number(rng: random.Random, region: str, *, mobile: bool) -> tuple[str, str]:
    """(E.164, the value as a person would type it)."""
    if region == "US":
        return _us_number(rng)
    code, mobiles, landlines = PHONE_PLANS[region]
    plans = mobiles if mobile else landlines
    prefix, digits = plans[int(rng.random() * len(plans))]
    national = f"{prefix}{rng.randrange(10**digits):0{digits}d}"
    grouped = " ".join(national[k : k + 3] for k in range(0, len(national), 3))
    return f"+{code}{national}", f"+{code} {grouped}"


def generate(size: int, *, seed: int = SEED, tz_suffix: str = "") -> Iterator[tuple[list, list]]:
    """Batches of (customer rows, contact point rows), ids from 1, in CUSTOMER_COLUMNS and
    POINT_COLUMNS order. Timestamps are text: naive UTC for SQLite ('' suffix), '+00' for
    PostgreSQL."""
    rng = random.Random(seed)
    rand = rng.random
    point_id = 0
    cumulative = [sum(REGION_WEIGHTS[: k + 1]) for k in range(len(REGIONS))]
    customers: list[tuple] = []
    points: list[tuple] = []
    for i in range(1, size + 1):
        r = rand()
        region = REGIONS[min(bisect.bisect_right(cumulative, r), len(REGIONS) - 1)]
        language, female, male, last_names = NAMES[region]
        stamp = (_EPOCH + dt.timedelta(seconds=rand() * _SPAN_SECONDS)).isoformat(
            " ", "microseconds"
        ) + tz_suffix
        domains = DOMAINS[region]
        kinds: list[tuple[str, str, str, str]] = []  # type, value, normalized, label
        profile = _PROFILE | {"language": language}
        if rand() < 0.03:
            name = (
                f"{COMPANY_WORDS[int(rand() * len(COMPANY_WORDS))]} "
                f"{last_names[int(rand() * len(last_names))]} {COMPANY_SUFFIX[region]}"
            )
            profile["kind"], profile["company_name"] = "company", name
            slug = _ascii(name.split()[0])
            email = f"contact.{i}@{slug}.{domains[-1].rsplit('.', 1)[1]}"
            kinds.append(("email", email, email, "work"))
            e164, value = _number(rng, region, mobile=False)
            kinds.append(("phone", value, e164, "work"))
        else:
            woman = rand() < 0.5
            gender = "female" if woman else "male"
            firsts = female if woman else male
            first = firsts[int(rand() * len(firsts))]
            last = last_names[int(rand() * len(last_names))]
            if region == "ES":
                last = f"{last} {last_names[int(rand() * len(last_names))]}"
            elif region == "PL" and woman and last.endswith("ski"):
                last = last[:-1] + "a"
            profile["kind"], profile["first_name"], profile["last_name"] = "person", first, last
            if rand() < 0.6:
                profile["identification_type"] = ID_TYPES[region]
                profile["identification_number"] = _identification(region, i)
            year, month, day = 1940 + int(rand() * 66), 1 + int(rand() * 12), 1 + int(rand() * 28)
            profile["gender"], profile["birth_date"] = gender, f"{year}-{month:02d}-{day:02d}"
            if rand() < 0.80:
                local = f"{_ascii(first)}.{_ascii(last.split()[0])}{i}"
                domain = domains[int(rand() * len(domains))]
                value = f"{local}@{domain}"
                if rand() < 0.1:
                    value = value[0].upper() + value[1:]  # as typed, with a capital
                kinds.append(("email", value, value.lower(), "private"))
            mobile = None
            if rand() < 0.85:
                mobile = _number(rng, region, mobile=True)
                kinds.append(("mobile", mobile[1], mobile[0], "private"))
            if rand() < 0.18:
                e164, value = _number(rng, region, mobile=False)
                kinds.append(("phone", value, e164, "home"))
            if rand() < 0.15:
                e164, value = (
                    mobile if mobile and rand() < 0.7 else _number(rng, region, mobile=True)
                )
                kinds.append(("whatsapp", value, e164, "private"))
            if not kinds:
                e164, value = _number(rng, region, mobile=True)
                kinds.append(("mobile", value, e164, "private"))
        # Each type occurs once per customer here, so every point is its type's primary.
        row, point_rows = new_rows(
            profile,
            [
                _POINT | {"type": kind, "value": value, "normalized": normalized, "label": label}
                for kind, value, normalized, label in kinds
            ],
            by=ACTOR,
            at=stamp,
        )
        customers.append((i, *_customer_values(row)))
        for point in point_rows:
            point_id += 1
            points.append((point_id, i, *_point_values(point)))
        if i % CHUNK == 0 or i == size:
            yield customers, points
            customers, points = [], []


def _self_check(points: list[tuple]) -> None:
    """Compares a sample of the contact points, whose normalized values the generator writes
    itself (the phone library would take most of its time), with the service's
    normalization; raises on any difference."""
    from clientcard.addresses import normalize_email, normalize_phone

    kind_at, value_at, normalized_at = (
        POINT_COLUMNS.index(c) for c in ("type", "value", "normalized")
    )
    for row in points[::53]:
        kind, value, normalized = row[kind_at], row[value_at], row[normalized_at]
        if kind == "email":
            expected = normalize_email(value)
        else:  # only US numbers are written nationally; the rest carry their country code
            region = "PL" if value.startswith("+") else "US"
            expected = normalize_phone(value, region=region)
        if expected != normalized:
            raise RuntimeError(f"generator drifted from the service on point {row}")


# ---- SQLite ------------------------------------------------------------------------------


def sqlite_path(size: int) -> Path:
    return CACHE_DIR / f"clientcard-{size}.db"


def _insert_sql(table: str, columns: tuple[str, ...], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


_META = (
    "CREATE TABLE bench_meta (generator_version INTEGER, seed INTEGER, customers INTEGER, "
    "contact_points INTEGER, generated_seconds REAL, generated_at TEXT)"
)


_REVISIONS = "SELECT version_num FROM {}alembic_version"


@cache
def _schema_heads() -> frozenset[str]:
    """The migration heads of the code: a database built at another revision is rebuilt."""
    from alembic.script import ScriptDirectory

    from clientcard.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _meta_ok(row: tuple | None, size: int, revisions: set[str]) -> bool:
    return (
        row is not None
        and (row[0], row[1], row[2]) == (GENERATOR_VERSION, SEED, size)
        and revisions == _schema_heads()
    )


def ensure_sqlite(size: int, *, rebuild: bool = False, log=print) -> Dataset:
    """The cached SQLite database of `size` customers, built first when missing or stale."""
    path = sqlite_path(size)
    url = f"sqlite:///{path.resolve()}"
    if path.exists() and not rebuild:
        row, revisions = _read_meta_sqlite(path)
        if _meta_ok(row, size, revisions):
            return Dataset("sqlite", size, url, row[2], row[3], row[4], cached=True)
    log(f"generating SQLite database of {size:,} customers at {path} ...")
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        stale.unlink(missing_ok=True)
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp.resolve()}"))
    upgrade(engine)
    engine.dispose()

    connection = sqlite3.connect(tmp, isolation_level=None)
    try:
        # Only while building a throw-away file: no journal, no fsync, a big page cache.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-1048576")
        connection.execute("PRAGMA temp_store=MEMORY")
        connection.execute("BEGIN")
        insert_customer = _insert_sql("customers", CUSTOMER_COLUMNS, "?")
        insert_point = _insert_sql("contact_points", POINT_COLUMNS, "?")
        customers = points = 0
        for batch, point_rows in generate(size):
            _self_check(point_rows)
            connection.executemany(insert_customer, batch)
            connection.executemany(insert_point, point_rows)
            customers += len(batch)
            points += len(point_rows)
        seconds = time.perf_counter() - started
        connection.execute(_META)
        connection.execute(
            "INSERT INTO bench_meta VALUES (?, ?, ?, ?, ?, ?)",
            (GENERATOR_VERSION, SEED, customers, points, seconds, _now()),
        )
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")  # as the app runs it
    finally:
        connection.close()
    os.replace(tmp, path)
    for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    _write_seconds_sqlite(path, seconds)
    log(f"  {customers:,} customers, {points:,} contact points in {seconds:.1f} s")
    return Dataset("sqlite", size, url, customers, points, seconds, cached=False)


def _read_meta_sqlite(path: Path) -> tuple[tuple | None, set[str]]:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = connection.execute(
                "SELECT generator_version, seed, customers, contact_points, generated_seconds "
                "FROM bench_meta"
            ).fetchone()
            revisions = {
                r for (r,) in connection.execute("SELECT version_num FROM alembic_version")
            }
            return row, revisions
        finally:
            connection.close()
    except sqlite3.Error:
        return None, set()


def _write_seconds_sqlite(path: Path, seconds: float) -> None:
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.execute("UPDATE bench_meta SET generated_seconds = ?", (seconds,))
    finally:
        connection.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ---- PostgreSQL --------------------------------------------------------------------------


def postgres_schema(size: int) -> str:
    return f"bench_{size}"


def postgres_url(base_url: str, size: int) -> str:
    """The SQLAlchemy URL of one size: the bench database with its schema first on the
    search path (public stays on it for pg_trgm's operator classes)."""
    options = quote(f"-csearch_path={postgres_schema(size)},public", safe="")
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={options}"


def libpq_url(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


def ensure_postgres(base_url: str, size: int, *, rebuild: bool = False, log=print) -> Dataset:
    """The PostgreSQL schema of `size` customers in the bench database, built when missing."""
    import psycopg

    schema = postgres_schema(size)
    url = postgres_url(base_url, size)
    with psycopg.connect(libpq_url(base_url), autocommit=True) as connection:
        row, revisions = None, set()
        exists = connection.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'bench_meta'",
            (schema,),
        ).fetchone()
        if exists and not rebuild:
            row = connection.execute(
                f"SELECT generator_version, seed, customers, contact_points, generated_seconds "
                f"FROM {schema}.bench_meta"
            ).fetchone()
            revisions = {
                r
                for (r,) in connection.execute(f"SELECT version_num FROM {schema}.alembic_version")
            }
        if _meta_ok(row, size, revisions):
            return Dataset("postgresql", size, url, row[2], row[3], row[4], cached=True)
        log(f"generating PostgreSQL schema {schema} with {size:,} customers ...")
        started = time.perf_counter()
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")

    engine = make_engine(Settings(database_url=url))
    upgrade(engine)
    engine.dispose()

    with psycopg.connect(libpq_url(url)) as connection:
        connection.execute("SET synchronous_commit = off")
        connection.execute("SET maintenance_work_mem = '1GB'")
        # Secondary indexes are dropped for the load and rebuilt from their own definitions:
        # one sorted build is several times faster than two million GIN/B-tree insertions.
        indexes = connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = %s "
            "AND tablename IN ('customers', 'contact_points') AND NOT EXISTS ("
            "  SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            "  format('%%I.%%I', i.schemaname, i.indexname)::regclass)",
            (schema,),
        ).fetchall()
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{schema}"."{name}"')
        customers = points = 0
        customer_copy = f"COPY customers ({', '.join(CUSTOMER_COLUMNS)}) FROM STDIN"
        point_copy = f"COPY contact_points ({', '.join(POINT_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor:
            for batch, point_rows in generate(size, tz_suffix="+00"):
                _self_check(point_rows)
                with cursor.copy(customer_copy) as copy:
                    for row in batch:
                        copy.write_row(row)
                with cursor.copy(point_copy) as copy:
                    for row in point_rows:
                        copy.write_row(row)
                customers += len(batch)
                points += len(point_rows)
            log(f"  rows loaded in {time.perf_counter() - started:.1f} s; building indexes ...")
            for _, definition in indexes:
                cursor.execute(definition)
            for table in ("customers", "contact_points"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
        connection.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        # As autovacuum would leave it: statistics, hint bits and the visibility map.
        connection.execute("VACUUM (ANALYZE) customers")
        connection.execute("VACUUM (ANALYZE) contact_points")
        seconds = time.perf_counter() - started
        connection.execute(_META)
        connection.execute(
            "INSERT INTO bench_meta VALUES (%s, %s, %s, %s, %s, %s)",
            (GENERATOR_VERSION, SEED, customers, points, seconds, _now()),
        )
    log(f"  {customers:,} customers, {points:,} contact points in {seconds:.1f} s")
    return Dataset("postgresql", size, url, customers, points, seconds, cached=False)


# ---- known keys --------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """Known look-up keys sampled from a dataset: the same on every backend."""

    phones: list[str]
    emails: list[str]
    customer_ids: list[int]


def sample_keys(dataset: Dataset, count: int, *, seed: int = SEED) -> Keys:
    """`count` phones, e-mails and customer ids of random customers, read back from the
    database, so every key is known to exist."""
    rng = random.Random(seed + dataset.size)
    ids = rng.sample(range(1, dataset.customers + 1), min(dataset.customers, count * 3))
    wanted = sorted(ids)
    rows: dict[int, list[tuple[str, str]]] = {}
    if dataset.backend == "sqlite":
        connection = sqlite3.connect(f"file:{make_url(dataset.url).database}?mode=ro", uri=True)
        mark = "?"
    else:
        import psycopg

        connection = psycopg.connect(libpq_url(dataset.url))
        mark = "%s"
    try:
        cursor = connection.cursor()
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            cursor.execute(
                "SELECT customer_id, type, normalized FROM contact_points "
                f"WHERE customer_id IN ({', '.join([mark] * len(part))}) ORDER BY id",
                part,
            )
            for customer_id, kind, normalized in cursor.fetchall():
                rows.setdefault(customer_id, []).append((kind, normalized))
    finally:
        connection.close()
    phones: list[str] = []
    emails: list[str] = []
    for customer_id in ids:
        points = rows.get(customer_id, [])
        phone = next((n for k, n in points if k in PHONE_TYPES), None)
        email = next((n for k, n in points if k == "email"), None)
        if phone and len(phones) < count:
            phones.append(phone)
        if email and len(emails) < count:
            emails.append(email)
    return Keys(phones=phones, emails=emails, customer_ids=ids[:count])


# ---- interactions ------------------------------------------------------------------------
#
# A separate layer over a customer dataset, with its own marker table and version, so the
# cached customers are reused: SQLite gets a copy of the customer file with the interactions
# added (swapped in when complete); PostgreSQL loads them into the same schema in one
# transaction. Rows go in oldest first with ids in time order, as a live system fills the
# table, so one customer's rows are scattered over the whole table as they would be.

INTERACTIONS_VERSION = 2
INTERACTIONS_PER_CUSTOMER = 10
HEAVY_CUSTOMER = 1  # the customer with a long history
HEAVY_INTERACTIONS = 10_000
INTERACTION_CHUNK = 50_000
_I_EPOCH = dt.datetime(2024, 11, 1)
_I_SPAN_SECONDS = 2 * 365 * 86_400
INTERACTION_COLUMNS = (
    "id",
    "customer_id",
    "source",
    "external_id",
    "channel",
    "direction",
    "from_address",
    "to_address",
    "contact_normalized",
    "agent",
    "queue",
    "campaign_id",
    "case_id",
    "status",
    '"read"',
    "subject",
    "body",
    "preview",
    "details",
    "started_at",
    "ended_at",
    "ambiguous",
    "candidates",
    "created_at",
    "created_by",
)
CHANNELS = ("voice", "email", "sms", "whatsapp", "chat", "web")
CHANNEL_WEIGHTS = (0.45, 0.20, 0.10, 0.12, 0.08, 0.05)
SOURCES = {
    "voice": "pbx",
    "email": "mailbox",
    "sms": "sms-gateway",
    "whatsapp": "whatsapp",
    "chat": "web-chat",
    "web": "web-forms",
}
OUR_ADDRESS = {
    "voice": "+48221234567",
    "sms": "+48500100200",
    "whatsapp": "+48500100200",
    "email": "support@clientcard.example",
    "chat": "widget:main",
    "web": "form:contact",
}
QUEUES = ("sales", "support", "billing", "retention")
AGENTS = tuple(f"agent{n:02d}" for n in range(1, 41))
SUBJECTS = (
    "Invoice question",
    "Order status",
    "Change of address",
    "Complaint about a delivery",
    "Contract renewal",
    "Re: your ticket",
    "Payment confirmation",
    "Cancel my subscription",
)
BODIES = (
    "Hello, I would like to know when my order will arrive. Thank you.",
    "Please call me back about the last invoice, the amount looks wrong to me.",
    "I moved last month; could you update my address before the next delivery?",
    "The parcel came damaged. I attach a photo, what are the next steps?",
    "Is there a better offer if I renew for two years instead of one?",
    "Thanks for the quick answer yesterday, everything works now.",
)
PREVIEW_LENGTH = 140
INGEST_SOURCE = "bench-ingest"  # the source of the ingestion benchmark's items


@dataclass(frozen=True)
class InteractionSet:
    """The interactions loaded over one customer dataset."""

    backend: str
    customers: int
    interactions: int
    heavy_customer: int
    heavy_interactions: int
    generated_seconds: float
    cached: bool
    bytes: int | None = None  # SQLite file / PostgreSQL interactions table with indexes


def interaction_count(size: int) -> tuple[int, int]:
    """(all interactions, those of the heavy customer) for `size` customers."""
    total = INTERACTIONS_PER_CUSTOMER * size
    return total, min(HEAVY_INTERACTIONS, total // 5)


def _preview(
    channel: str,
    direction: str,
    status: str | None,
    duration: int | None,
    queue: str | None,
    subject: str | None,
    body: str | None,
) -> str | None:
    """`interactions.service.preview_of` without building an InteractionIn (self-checked)."""
    if channel == "voice":
        parts = [f"{direction} call"]
        if status:
            parts.append(status)
        if duration is not None:
            parts.append(f"{duration // 60} min {duration % 60} s")
        if queue:
            parts.append(f"queue {queue}")
        return ", ".join(parts)
    text = " — ".join(p for p in (subject, body) if p)
    if len(text) > PREVIEW_LENGTH:
        text = text[: PREVIEW_LENGTH - 1] + "…"
    return text or None


def generate_interactions(
    size: int,
    phones: list[str | None],
    emails: list[str | None],
    *,
    seed: int = SEED,
    tz_suffix: str = "",
) -> Iterator[list[tuple]]:
    """Batches of interaction rows in INTERACTION_COLUMNS order, oldest first, ids from 1;
    `phones[i]` and `emails[i]` are customer i's E.164 number and e-mail (or None)."""
    import json

    total, heavy = interaction_count(size)
    rng = random.Random(seed * 7 + size)
    rand = rng.random
    heavy_at = set(rng.sample(range(total), heavy))
    step = _I_SPAN_SECONDS / total
    cumulative = [sum(CHANNEL_WEIGHTS[: k + 1]) for k in range(len(CHANNELS))]
    timedelta = dt.timedelta
    rows: list[tuple] = []
    for k in range(total):
        customer = HEAVY_CUSTOMER if k in heavy_at else 1 + int(rand() * size)
        phone, email = phones[customer], emails[customer]
        channel = CHANNELS[min(bisect.bisect_right(cumulative, rand()), len(CHANNELS) - 1)]
        if channel in ("email", "chat", "web") and email is None:
            channel = "voice"
        elif channel in ("voice", "sms", "whatsapp") and phone is None:
            channel = "email"
        inbound = rand() < 0.6
        direction = "inbound" if inbound else "outbound"
        at = _I_EPOCH + timedelta(seconds=(k + rand() * 0.9) * step)
        started = at.isoformat(" ", "microseconds") + tz_suffix
        created = (at + timedelta(seconds=2)).isoformat(" ", "microseconds") + tz_suffix
        subject = body = queue = agent = ended = status = duration = None
        read = False
        details = "{}"
        if channel == "voice":
            customer_side = phone
            r = rand()
            if inbound:
                queue = QUEUES[int(rand() * len(QUEUES))]
                status = "answered" if r < 0.75 else "missed"
            else:
                status = "answered" if r < 0.6 else ("missed" if r < 0.9 else "failed")
            if status == "answered":
                agent = AGENTS[int(rand() * len(AGENTS))]
                duration = 20 + int(rand() * 600)
                details = json.dumps({"duration_s": duration})
                ended = (at + timedelta(seconds=duration)).isoformat(" ", "microseconds")
                ended += tz_suffix
        else:
            customer_side = phone if channel in ("sms", "whatsapp") else email
            body = BODIES[int(rand() * len(BODIES))]
            if channel == "email":
                subject = SUBJECTS[int(rand() * len(SUBJECTS))]
                body = f"{body} Reference {k}. Kind regards."
            if inbound:
                read = rand() < 0.85
            else:
                agent = AGENTS[int(rand() * len(AGENTS))]
                r = rand()
                status = "delivered" if r < 0.5 else ("read" if r < 0.9 else "failed")
        ours = OUR_ADDRESS[channel]
        from_, to = (customer_side, ours) if inbound else (ours, customer_side)
        rows.append(
            (
                k + 1,
                customer,
                SOURCES[channel],
                f"{k:010d}",
                channel,
                direction,
                from_,
                to,
                customer_side,  # already normalized: E.164, or the lower-case e-mail
                agent,
                queue,
                None,
                None,
                status,
                read,
                subject,
                body,
                _preview(channel, direction, status, duration, queue, subject, body),
                details,
                started,
                ended,
                False,
                "[]",
                created,
                ACTOR,
            )
        )
        if len(rows) == INTERACTION_CHUNK or k == total - 1:
            yield rows
            rows = []


def _self_check_interactions(rows: list[tuple]) -> None:
    """Builds the service's InteractionIn from a sample and compares preview, contact point
    and details with what `interactions.service` would store."""
    import json

    from clientcard.interactions.schemas import InteractionIn
    from clientcard.interactions.service import contact_point_of, preview_of

    for row in rows[::997]:
        values = dict(zip(INTERACTION_COLUMNS, row, strict=True))
        data = InteractionIn.model_validate(
            {
                "source": values["source"],
                "external_id": values["external_id"],
                "channel": values["channel"],
                "direction": values["direction"],
                "from": values["from_address"],
                "to": values["to_address"],
                "started_at": values["started_at"].replace(" ", "T").removesuffix("+00") + "+00:00",
                "agent": values["agent"],
                "queue": values["queue"],
                "status": values["status"],
                "read": values['"read"'],
                "subject": values["subject"],
                "body": values["body"],
                "details": json.loads(values["details"]),
            }
        )
        expected = (
            preview_of(data),
            contact_point_of(data, region="PL")[2],
            data.details.model_dump(mode="json", exclude_defaults=True),
        )
        got = (values["preview"], values["contact_normalized"], json.loads(values["details"]))
        if expected != got:
            raise RuntimeError(f"interaction generator drifted from the service: {row}")


def _addresses(cursor, customers: int) -> tuple[list[str | None], list[str | None]]:
    """Each customer's first phone (mobile first) and e-mail, by customer id."""
    phones: list[str | None] = [None] * (customers + 1)
    emails: list[str | None] = [None] * (customers + 1)
    whatsapp: list[str | None] = [None] * (customers + 1)
    cursor.execute(
        f"SELECT customer_id, type, normalized FROM contact_points WHERE customer_id <= "
        f"{int(customers)} ORDER BY id"
    )
    while batch := cursor.fetchmany(100_000):
        for customer_id, kind, normalized in batch:
            if kind == "email":
                emails[customer_id] = emails[customer_id] or normalized
            elif kind in ("mobile", "phone") and phones[customer_id] is None:
                phones[customer_id] = normalized
            elif kind == "whatsapp":
                whatsapp[customer_id] = normalized
    for customer_id, number in enumerate(whatsapp):
        if number and phones[customer_id] is None:  # a customer with WhatsApp only
            phones[customer_id] = number
    return phones, emails


_INTERACTIONS_META = (
    "CREATE TABLE IF NOT EXISTS bench_interactions_meta (version INTEGER, seed INTEGER, "
    "customers INTEGER, interactions INTEGER, heavy_customer INTEGER, heavy_interactions "
    "INTEGER, generated_seconds REAL, generated_at TEXT)"
)
_INTERACTIONS_META_READ = (
    "SELECT version, seed, customers, interactions, heavy_customer, heavy_interactions, "
    "generated_seconds FROM bench_interactions_meta"
)


def _interactions_meta_ok(row: tuple | None, size: int) -> bool:
    total, heavy = interaction_count(size)
    return row is not None and tuple(row[:6]) == (
        INTERACTIONS_VERSION,
        SEED,
        size,
        total,
        HEAVY_CUSTOMER,
        heavy,
    )


def ensure_interactions(dataset: Dataset, *, rebuild: bool = False, log=print) -> InteractionSet:
    """Interactions over a customer dataset (10 per customer, one heavy customer), loaded
    when missing; the customers stay as they are."""
    if dataset.backend == "sqlite":
        return _ensure_interactions_sqlite(dataset, rebuild=rebuild, log=log)
    return _ensure_interactions_postgres(dataset, rebuild=rebuild, log=log)


def _interaction_set(dataset: Dataset, row: tuple, *, cached: bool, size: int | None):
    return InteractionSet(
        dataset.backend, row[2], row[3], row[4], row[5], row[6], cached=cached, bytes=size
    )


def _ensure_interactions_sqlite(dataset: Dataset, *, rebuild: bool, log) -> InteractionSet:
    path = sqlite_path(dataset.size)
    row = None
    if not rebuild:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = connection.execute(_INTERACTIONS_META_READ).fetchone()
        except sqlite3.Error:
            row = None
        finally:
            connection.close()
    if _interactions_meta_ok(row, dataset.size):
        return _interaction_set(dataset, row, cached=True, size=path.stat().st_size)
    total, heavy = interaction_count(dataset.size)
    log(f"loading {total:,} interactions into a copy of {path} ...")
    started = time.perf_counter()
    tmp = path.with_name(path.name + ".interactions")
    for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        stale.unlink(missing_ok=True)
    source = sqlite3.connect(path)
    target = sqlite3.connect(tmp)
    try:
        source.backup(target)  # a consistent copy even with the WAL in use
    finally:
        source.close()
        target.close()
    connection = sqlite3.connect(tmp, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-1048576")
        connection.execute("PRAGMA temp_store=MEMORY")
        connection.execute("BEGIN")
        connection.execute("DROP TABLE IF EXISTS bench_interactions_meta")
        connection.execute("DELETE FROM interactions")
        _remove_ingested(connection, dataset.size, "?")
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'interactions' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        phones, emails = _addresses(connection.cursor(), dataset.size)
        insert = _insert_sql("interactions", INTERACTION_COLUMNS, "?")
        loaded = 0
        for rows in generate_interactions(dataset.size, phones, emails):
            if loaded % 1_000_000 == 0:
                _self_check_interactions(rows)
            connection.executemany(insert, rows)
            loaded += len(rows)
            if loaded % 1_000_000 == 0:
                log(f"  {loaded:,} interactions in {time.perf_counter() - started:.0f} s")
        log(f"  rows loaded in {time.perf_counter() - started:.1f} s; building indexes ...")
        for _, definition in indexes:
            connection.execute(definition)
        connection.execute("ANALYZE interactions")
        seconds = time.perf_counter() - started
        connection.execute(_INTERACTIONS_META)
        meta = (INTERACTIONS_VERSION, SEED, dataset.size, loaded, HEAVY_CUSTOMER, heavy)
        connection.execute(
            "INSERT INTO bench_interactions_meta VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*meta, seconds, _now()),
        )
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    os.replace(tmp, path)
    for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.execute(
                "UPDATE bench_interactions_meta SET generated_seconds = ?", (seconds,)
            )
    finally:
        connection.close()
    size = path.stat().st_size
    log(f"  {loaded:,} interactions in {seconds:.1f} s; file now {size / 2**30:.2f} GiB")
    return _interaction_set(dataset, (*meta, seconds), cached=False, size=size)


def _remove_ingested(connection, customers: int, mark: str) -> None:
    """Undoes an ingestion benchmark (see bench/interactions.py): its interactions, the
    leads it created (ids above the generated customers) and their history, and the
    last-interaction dates it moved (the generated data leaves them empty)."""
    connection.execute(f"DELETE FROM interactions WHERE source = {mark}", (INGEST_SOURCE,))
    for table, column in (
        ("interactions", "customer_id"),
        ("audit_entries", "customer_id"),
        ("contact_points", "customer_id"),
        ("customers", "id"),
    ):
        connection.execute(f"DELETE FROM {table} WHERE {column} > {mark}", (customers,))
    connection.execute(
        "UPDATE customers SET last_interaction_at = NULL WHERE last_interaction_at IS NOT NULL"
    )


def remove_ingested(dataset: Dataset) -> None:
    """`_remove_ingested` in a transaction of its own."""
    if dataset.backend == "sqlite":
        connection = sqlite3.connect(make_url(dataset.url).database, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            _remove_ingested(connection, dataset.size, "?")
            connection.execute("COMMIT")
        finally:
            connection.close()
        return
    import psycopg

    with psycopg.connect(libpq_url(dataset.url)) as connection:
        _remove_ingested(connection, dataset.size, "%s")


def _ensure_interactions_postgres(dataset: Dataset, *, rebuild: bool, log) -> InteractionSet:
    import psycopg

    url = libpq_url(dataset.url)
    schema = postgres_schema(dataset.size)

    def table_bytes(connection) -> int:
        return connection.execute(
            "SELECT pg_total_relation_size('interactions') + pg_total_relation_size('customers')"
            " + pg_total_relation_size('contact_points')"
        ).fetchone()[0]

    with psycopg.connect(url, autocommit=True) as connection:
        row = None
        exists = connection.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'bench_interactions_meta'",
            (schema,),
        ).fetchone()
        if exists and not rebuild:
            row = connection.execute(_INTERACTIONS_META_READ).fetchone()
        if _interactions_meta_ok(row, dataset.size):
            return _interaction_set(dataset, row, cached=True, size=table_bytes(connection))
    total, heavy = interaction_count(dataset.size)
    log(f"loading {total:,} interactions into PostgreSQL schema {schema} ...")
    started = time.perf_counter()
    with psycopg.connect(url) as connection:
        connection.execute("SET synchronous_commit = off")
        connection.execute("SET maintenance_work_mem = '1GB'")
        connection.execute("DROP TABLE IF EXISTS bench_interactions_meta")
        _remove_ingested(connection, dataset.size, "%s")
        connection.execute("TRUNCATE interactions, attachments")  # both empty in bench data
        # Secondary indexes and foreign keys go for the load: sorted index builds and one
        # validating join each are many times faster than 10M insertions and FK checks.
        indexes = connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = %s "
            "AND tablename = 'interactions' AND NOT EXISTS ("
            "  SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            "  format('%%I.%%I', i.schemaname, i.indexname)::regclass)",
            (schema,),
        ).fetchall()
        foreign_keys = connection.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'interactions'::regclass AND contype = 'f'"
        ).fetchall()
        for name, _ in foreign_keys:
            connection.execute(f'ALTER TABLE interactions DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{schema}"."{name}"')
        with connection.cursor() as cursor:
            phones, emails = _addresses(cursor, dataset.size)
            copy_sql = (
                f"COPY interactions ({', '.join(INTERACTION_COLUMNS)}) FROM STDIN WITH (FREEZE)"
            )
            loaded = 0
            for rows in generate_interactions(dataset.size, phones, emails, tz_suffix="+00"):
                if loaded % 1_000_000 == 0:
                    _self_check_interactions(rows)
                with cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
                loaded += len(rows)
                if loaded % 1_000_000 == 0:
                    log(f"  {loaded:,} interactions in {time.perf_counter() - started:.0f} s")
            log(f"  rows loaded in {time.perf_counter() - started:.1f} s; building indexes ...")
            for _, definition in indexes:
                cursor.execute(definition)
            for name, definition in foreign_keys:
                cursor.execute(f'ALTER TABLE interactions ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('interactions', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM interactions), false)"
            )
        connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) interactions")
        seconds = time.perf_counter() - started
        connection.execute(_INTERACTIONS_META)
        meta = (INTERACTIONS_VERSION, SEED, dataset.size, loaded, HEAVY_CUSTOMER, heavy)
        connection.execute(
            "INSERT INTO bench_interactions_meta VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (*meta, seconds, _now()),
        )
        size = table_bytes(connection)
    log(f"  {loaded:,} interactions in {seconds:.1f} s; {size / 2**30:.2f} GiB")
    return _interaction_set(dataset, (*meta, seconds), cached=False, size=size)
