"""Synthetic bench databases: N customers with about two contact points each, built fast.

The schema comes from the project's own Alembic migration, so the benchmarks run against
exactly the indexes, FTS tables and triggers the app ships. Rows then go in with raw SQL
(one big SQLite transaction of executemany; PostgreSQL COPY), bypassing the ORM, which
would take hours for a million cards. Every column is filled as the service fills it;
`_self_check` compares a sample against the service's own normalization and derivation.

The data is seeded: the same size gives the same rows (same ids, numbers and e-mails) on
SQLite and PostgreSQL. Built databases are cached (SQLite: var/bench/clientcard-N.db;
PostgreSQL: schema bench_N in the bench database) and recognised by a `bench_meta` row.
"""

from __future__ import annotations

import bisect
import datetime as dt
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
PHONE_TYPES = ("phone", "mobile", "whatsapp")

CUSTOMER_COLUMNS = (
    "id",
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "identification_type",
    "identification_number",
    "gender",
    "birth_date",
    "language",
    "tags",
    "vip",
    "hidden",
    "search_text",
    "sort_name",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
)
POINT_COLUMNS = (
    "id",
    "customer_id",
    "type",
    "value",
    "normalized",
    "label",
    '"primary"',
    "version",
    "created_at",
    "updated_at",
)

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


@cache
def _fold_pair(first: str, second: str) -> str:
    return fold(f"{first} {second}")


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


def _customer_row(head: tuple, language: str, search: str, sort: str, stamp: str) -> tuple:
    """head: id, kind, first and last name, company, document type and number, gender, birth
    date. The rest is what a create through the service leaves: no tags, not VIP nor hidden,
    version 1, created and updated by the bench actor at the same instant."""
    return (*head, language, "[]", False, False, " " + search, sort, 1, stamp, ACTOR, stamp, ACTOR)


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
        if rand() < 0.03:
            name = (
                f"{COMPANY_WORDS[int(rand() * len(COMPANY_WORDS))]} "
                f"{last_names[int(rand() * len(last_names))]} {COMPANY_SUFFIX[region]}"
            )
            folded = fold(name)
            head = (i, "company", None, None, name, None, None, None, None)
            customers.append(_customer_row(head, language, folded, folded, stamp))
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
            id_type = id_number = None
            search = _fold_pair(first, last)
            if rand() < 0.6:
                id_type, id_number = ID_TYPES[region], _identification(region, i)
                search = f"{search} {id_number.lower()}"
            year, month, day = 1940 + int(rand() * 66), 1 + int(rand() * 12), 1 + int(rand() * 28)
            birth = f"{year}-{month:02d}-{day:02d}"
            head = (i, "person", first, last, None, id_type, id_number, gender, birth)
            customers.append(_customer_row(head, language, search, _fold_pair(last, first), stamp))
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
        for kind, value, normalized, label in kinds:
            point_id += 1
            points.append((point_id, i, kind, value, normalized, label, True, 1, stamp, stamp))
        if i % CHUNK == 0 or i == size:
            yield customers, points
            customers, points = [], []


def _self_check(customers: list[tuple], points: list[tuple]) -> None:
    """Compares a sample with what the service would store; raises on any difference."""
    from clientcard.contacts.normalize import normalize_email, normalize_phone
    from clientcard.customers.models import Customer
    from clientcard.customers.service import _derive

    for row in customers[::97]:
        values = dict(zip(CUSTOMER_COLUMNS, row, strict=True))
        customer = Customer(
            kind=values["kind"],
            first_name=values["first_name"],
            last_name=values["last_name"],
            company_name=values["company_name"],
            identification_number=values["identification_number"],
        )
        _derive(customer)
        if (customer.search_text, customer.sort_name) != (
            values["search_text"],
            values["sort_name"],
        ):
            raise RuntimeError(f"generator drifted from the service on customer {row}")
    for row in points[::53]:
        kind, value, normalized = row[2:5]
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
            _self_check(batch, point_rows)
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
                _self_check(batch, point_rows)
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
