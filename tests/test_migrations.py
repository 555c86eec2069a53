"""The Alembic migrations: up to head, down to base and up again on a fresh database, and a
migrated schema that is the one the models describe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import clientcard.models  # noqa: F401  (every table on the metadata)
from clientcard.auth.actor import system_actor
from clientcard.base import Base, UTCDateTime, utcnow
from clientcard.config import Settings
from clientcard.customers import service as customers
from clientcard.customers.schemas import CustomerCreate
from clientcard.db import Database, make_engine
from clientcard.migrate import alembic_config
from tests.process_helpers import fresh_database

APP_TABLES = {t.name for t in Base.metadata.sorted_tables}
SQLITE_SEARCH_TABLES = {"customers_fts", "contact_points_fts"}
POSTGRES_SEARCH_INDEXES = {"ix_customers_search_text_trgm", "ix_contact_points_normalized_trgm"}
# SQLite's high-water marks of deleted ids (ids are never reused), kept by triggers.
SQLITE_ID_TABLES = {"id_high_water"}


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database(request.param, tmp_path) as url:
        engine = make_engine(Settings(database_url=url, demo_on_first_start=False))
        yield engine
        engine.dispose()


def _migrate(engine: Engine, action: Any, revision: str) -> None:
    """What clientcard.migrate.upgrade does, for either direction."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


def _current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _tables(engine: Engine) -> set[str]:
    names = set(inspect(engine).get_table_names())
    # FTS5 keeps its index in shadow tables named after the virtual table.
    return {n for n in names if not any(n.startswith(f"{t}_") for t in SQLITE_SEARCH_TABLES)}


def _schema_objects(engine: Engine) -> set[str]:
    """Every table, index, trigger and view the database holds, by name."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(
                text("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            )
        else:
            rows = connection.execute(
                text(
                    "SELECT relname FROM pg_class JOIN pg_namespace n "
                    "ON n.oid = relnamespace WHERE n.nspname = 'public'"
                )
            )
        return {row[0] for row in rows}


def _differences(engine: Engine) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models,
    leaving out the search structures that only the migration knows about."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, Base.metadata)
    kept = []
    for diff in differences:
        kind = diff[0] if isinstance(diff, tuple) else None
        name = diff[1].name if kind in ("remove_table", "remove_index") else None
        if kind == "remove_table" and any(name.startswith(t) for t in SQLITE_SEARCH_TABLES):
            continue
        if kind == "remove_table" and name in SQLITE_ID_TABLES:
            continue
        if kind == "remove_index" and name in POSTGRES_SEARCH_INDEXES:
            continue
        kept.append(diff)
    return kept


def _search_works(engine: Engine, expected: int = 1) -> None:
    """A customer written now is found by name and by part of its phone number, which
    needs the search structures (FTS5 tables and triggers, or pg_trgm)."""
    database = Database(engine, Settings(default_region="PL"))
    with database.write() as session:
        customers.create_customer(
            session,
            actor=system_actor("tests"),
            data=CustomerCreate(
                first_name="Małgorzata",
                last_name="Wiśniewska",
                contact_points=[{"type": "mobile", "value": "601 234 567"}],
            ),
        )
    with database.read() as session:
        for query in ("wisniew", "234 567"):
            found, _ = customers.list_customers(
                session,
                actor=system_actor("tests"),
                filters=customers.CustomerFilter(q=query),
                cursor=None,
                limit=10,
            )
            assert [c.last_name for c in found] == ["Wiśniewska"] * expected, query


def test_upgrade_downgrade_upgrade(engine: Engine):
    _migrate(engine, command.upgrade, "head")
    assert _current(engine) == _head()
    migrated = _schema_objects(engine)
    assert _tables(engine) >= APP_TABLES | {"alembic_version"}
    if engine.dialect.name == "sqlite":
        assert migrated >= SQLITE_SEARCH_TABLES
    else:
        assert migrated >= POSTGRES_SEARCH_INDEXES

    _migrate(engine, command.downgrade, "base")
    assert _current(engine) is None
    # Nothing is left behind but Alembic's own bookkeeping.
    assert _schema_objects(engine) <= {"alembic_version", "alembic_version_pkc"}

    _migrate(engine, command.upgrade, "head")
    assert _current(engine) == _head()
    assert _schema_objects(engine) == migrated
    _search_works(engine)


def test_downgrading_one_revision_keeps_the_customers(engine: Engine):
    """Rolling a release back undoes its migration and keeps the cards and their contact
    points written before; upgrading again works on that data."""
    script = ScriptDirectory.from_config(alembic_config())
    previous = script.get_revision(_head()).down_revision
    if previous is None:
        pytest.skip("a single revision: downgrading it drops every table")
    _migrate(engine, command.upgrade, "head")
    _search_works(engine)

    _migrate(engine, command.downgrade, str(previous))
    assert _current(engine) == previous
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.last_name, p.normalized FROM customers c "
                "JOIN contact_points p ON p.customer_id = c.id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("Wiśniewska", "+48601234567")]

    _migrate(engine, command.upgrade, "head")
    _search_works(engine, expected=2)


def test_migrated_schema_matches_the_models(engine: Engine):
    _migrate(engine, command.upgrade, "head")
    assert _differences(engine) == []


# users as revision 0004 left them: two language settings.
_USERS_0004 = sa.Table(
    "users",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String),
    sa.Column("display_name", sa.String),
    sa.Column("role", sa.String),
    sa.Column("language", sa.String),
    sa.Column("locale", sa.String),
    sa.Column("password_hash", sa.String),
    sa.Column("active", sa.Boolean),
    sa.Column("version", sa.Integer),
    sa.Column("created_at", UTCDateTime(timezone=True)),
    sa.Column("updated_at", UTCDateTime(timezone=True)),
)


def _locales(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT username, locale FROM users")).all())


def test_a_user_keeps_one_language_setting_and_loses_no_choice(engine: Engine):
    """0006 folds `users.language` into `users.locale`: a choice made in either column
    survives, a `locale` wins over a `language` that differs, and the column's default
    ('en' beside no locale) leaves the user following their browser."""
    _migrate(engine, command.upgrade, "0004")
    now = utcnow()
    held = {  # username: (language, locale)
        "both": ("pl", "es"),
        "only_language": ("pl", None),
        "only_locale": ("en", "pl"),
        "spanish": ("es", None),
        "default": ("en", None),
    }
    with engine.begin() as connection:
        connection.execute(
            _USERS_0004.insert(),
            [
                {
                    "id": n,
                    "username": name,
                    "display_name": name,
                    "role": "agent",
                    "language": language,
                    "locale": locale,
                    "password_hash": "x",
                    "active": True,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, (name, (language, locale)) in enumerate(held.items(), start=1)
            ],
        )

    _migrate(engine, command.upgrade, "0006")
    assert "language" not in {c["name"] for c in inspect(engine).get_columns("users")}
    assert _locales(engine) == {
        "both": "es",
        "only_language": "pl",
        "only_locale": "pl",
        "spanish": "es",
        "default": None,
    }

    _migrate(engine, command.downgrade, "0004")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT username, language, locale FROM users")).all()
    assert {name: (language, locale) for name, language, locale in rows} == {
        "both": ("es", "es"),
        "only_language": ("pl", "pl"),
        "only_locale": ("pl", "pl"),
        "spanish": ("es", "es"),
        "default": ("en", None),
    }
