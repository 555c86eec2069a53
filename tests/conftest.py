"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from CLIENTCARD_TEST_POSTGRES_URL (`make test` starts a local server and
sets it). Without it the PostgreSQL half is skipped with a loud warning, except in CI
(CI=true), where a missing server fails the run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from clientcard.app import create_app
from clientcard.auth import service as auth
from clientcard.auth.actor import Role, system_actor
from clientcard.auth.schemas import UserCreate
from clientcard.base import Base
from clientcard.config import Settings
from clientcard.context import open_database
from clientcard.db import Database, make_engine
from clientcard.migrate import upgrade

POSTGRES_URL = os.environ.get("CLIENTCARD_TEST_POSTGRES_URL", "").strip()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", "postgresql"]


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return f"clientcard: databases sqlite + postgresql ({POSTGRES_URL})"
    return (
        "clientcard: !!! NO POSTGRESQL: the postgresql half of the suite is SKIPPED "
        "(set CLIENTCARD_TEST_POSTGRES_URL or run `make test` as root) !!!"
    )


def _settings_for(url: str) -> Settings:
    return Settings(
        database_url=url, default_region="PL", token_cache_seconds=30, demo_on_first_start=False
    )


def postgres_url_or_skip() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if IN_CI:
        pytest.fail("CI=true but no PostgreSQL server: CLIENTCARD_TEST_POSTGRES_URL is empty")
    warnings.warn("PostgreSQL tests skipped: no server", stacklevel=2)
    pytest.skip("no PostgreSQL server (set CLIENTCARD_TEST_POSTGRES_URL)")
    raise AssertionError("unreachable")


def reset_postgres(url: str) -> None:
    engine = make_engine(_settings_for(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'clientcard.db'}"
    url = postgres_url_or_skip()
    reset_postgres(url)
    return url


@pytest.fixture(scope="session")
def settings(backend_url: str) -> Settings:
    return _settings_for(backend_url)


@pytest.fixture(scope="session")
def _migrated(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    upgrade(database.engine)
    yield database
    database.dispose()


# Rows the migrations seed, put back after each test empties the tables.
SEEDED = [
    "INSERT INTO case_types (key, label, active) VALUES ('question', 'Question', true), "
    "('complaint', 'Complaint', true), ('suggestion', 'Suggestion', true), "
    "('claim', 'Claim', true)",
    "INSERT INTO counters (name, value) VALUES ('case_number', 0)",
    "INSERT INTO lead_statuses (key, label, position, active) VALUES ('new', 'New', 1, true), "
    "('in_progress', 'In progress', 2, true), ('sale', 'Sale', 3, true), "
    "('no_sale', 'No sale', 4, true)",
]


def _empty_tables(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.is_sqlite:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            connection.execute(text("DELETE FROM id_high_water"))  # ids start again
        else:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        for statement in SEEDED:
            connection.execute(text(statement))


@pytest.fixture
def db(_migrated: Database) -> Iterator[Database]:
    """The migrated database, emptied after the test."""
    yield _migrated
    _empty_tables(_migrated)


@pytest.fixture
def app(settings: Settings, db: Database):
    return create_app(settings, db)


@dataclass
class Api:
    """A test client acting as one user."""

    client: TestClient
    token: str
    username: str
    user_id: int

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url: str, **kw: Any):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, **kw: Any):
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, **kw: Any):
        return self.client.patch(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any):
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def make_user(db: Database, username: str, role: Role, password: str = "secret-pass-1") -> int:
    with db.write() as session:
        user = auth.create_user(
            session,
            actor=system_actor("tests"),
            data=UserCreate(username=username, password=password, role=role),
        )
        return user.id


def login(client: TestClient, username: str, password: str = "secret-pass-1") -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _api_for(db: Database, client: TestClient, username: str, role: Role) -> Api:
    user_id = make_user(db, username, role)
    return Api(client, login(client, username), username, user_id)


@pytest.fixture
def admin(db: Database, client: TestClient) -> Api:
    return _api_for(db, client, "root-admin", Role.ADMIN)


@pytest.fixture
def supervisor(db: Database, client: TestClient) -> Api:
    return _api_for(db, client, "sam-supervisor", Role.SUPERVISOR)


@pytest.fixture
def agent(db: Database, client: TestClient) -> Api:
    return _api_for(db, client, "ana", Role.AGENT)


@pytest.fixture
def other_agent(db: Database, client: TestClient) -> Api:
    return _api_for(db, client, "bob", Role.AGENT)


def create_customer(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Ana", "last_name": "Kowalska", **fields}
    response = api.post("/api/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]
