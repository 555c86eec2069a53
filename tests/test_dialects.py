"""Only `db/` knows the dialect (docs/architecture.md, "Only db/ names a dialect"): locks,
upserts, bulk inserts, id sources, search operators and column types specific to SQLite
or PostgreSQL live in `src/clientcard/db/`, and domain code asks for them by name.
Migrations are exempt (they are the schema, per database), and so is `config.py`, whose
settings (`sqlite_busy_timeout_ms`, the default URL) are configuration, not code paths."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "clientcard"
EXEMPT = ("db/", "migrations/", "config.py")
DIALECT = re.compile(
    r"sqlite|postgres|dialect|pg_insert|pg_notify|pg_advisory|pg_trgm|fts5|asyncpg|psycopg",
    re.IGNORECASE,
)


def test_nothing_outside_db_names_a_dialect():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(EXEMPT):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DIALECT.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == [], "ask db/ for the operation by name instead:\n" + "\n".join(found)
