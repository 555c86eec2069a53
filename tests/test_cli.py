"""The operator's command line: `clientcard db upgrade | user create | demo | serve`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload
from typer.testing import CliRunner

from clientcard.app import create_app
from clientcard.auth.models import User
from clientcard.cli import app as cli_app
from clientcard.config import Settings, get_settings
from clientcard.context import open_database
from clientcard.customers.models import Customer
from clientcard.db import Database
from tests.process_helpers import (
    PYTHON,
    all_pages,
    api_client,
    fresh_database,
    login,
    process_env,
    run_cli,
    running_server,
)

EXPECTED_TABLES = {"alembic_version", "users", "api_tokens", "customers", "contact_points"}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Iterator[CliRunner]:
    """Runs clientcard.cli in this process against a fresh SQLite file."""
    for name in list(os.environ):
        if name.startswith("CLIENTCARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLIENTCARD_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _database(url: str) -> Database:
    return open_database(Settings(database_url=url, demo_on_first_start=False))


def _usernames(url: str) -> list[str]:
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists():
        return []
    database = _database(url)
    try:
        if "users" not in inspect(database.engine).get_table_names():
            return []
        with database.read() as session:
            return list(session.scalars(select(User.username)))
    finally:
        database.dispose()


def _api_login(url: str, username: str, password: str) -> tuple[int, dict]:
    """Logs in through the API; returns the status and, on success, /users/me."""
    database = _database(url)
    settings = Settings(database_url=url, demo_on_first_start=False)
    try:
        with TestClient(create_app(settings, database)) as client:
            response = client.post(
                "/api/v1/auth/token", json={"username": username, "password": password}
            )
            if response.status_code != 200:
                return response.status_code, {}
            token = response.json()["access_token"]
            me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200, me.text
            return 200, me.json()
    finally:
        database.dispose()


def test_python_m_clientcard_help(tmp_path: Path):
    result = subprocess.run(
        [PYTHON, "-m", "clientcard", "--help"],
        env=process_env(f"sqlite:///{tmp_path / 'unused.db'}"),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "db", "demo", "user"):
        assert command in result.stdout
    assert not (tmp_path / "unused.db").exists(), "--help must not touch the database"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_db_upgrade_creates_the_schema(backend: str, tmp_path: Path):
    with fresh_database(backend, tmp_path) as url:
        result = run_cli(["db", "upgrade"], url, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "head" in result.stdout

        database = _database(url)
        try:
            assert EXPECTED_TABLES | {"audit_entries"} <= set(
                inspect(database.engine).get_table_names()
            )
        finally:
            database.dispose()
        # `serve` upgrades on every start: upgrading an up-to-date database is harmless.
        again = run_cli(["db", "upgrade"], url, cwd=tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr


def test_user_create_makes_a_user_who_can_log_in(sqlite_url: str, tmp_path: Path):
    result = run_cli(
        [
            "user",
            "create",
            "--username",
            "ana.agent",
            "--password",
            "correct horse",
            "--role",
            "agent",
            "--display-name",
            "Ana Agent",
        ],
        sqlite_url,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ana.agent" in result.stdout

    status, me = _api_login(sqlite_url, "ana.agent", "correct horse")
    assert status == 200
    assert (me["username"], me["role"], me["display_name"]) == ("ana.agent", "agent", "Ana Agent")
    assert _api_login(sqlite_url, "ana.agent", "wrong horse")[0] == 401


def test_user_create_prompts_for_the_password_twice(cli: CliRunner, sqlite_url: str):
    args = ["user", "create", "--username", "sam", "--role", "supervisor"]
    result = cli.invoke(cli_app, args, input="typed-secret\ntyped-secret\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert "typed-secret" not in result.output, "the password must not be echoed"
    status, me = _api_login(sqlite_url, "sam", "typed-secret")
    assert (status, me.get("role")) == (200, "supervisor")


def test_user_create_refuses_a_password_confirmed_wrongly(cli: CliRunner, sqlite_url: str):
    args = ["user", "create", "--username", "sam", "--role", "agent"]
    result = cli.invoke(cli_app, args, input="typed-secret\ntyped-secreT\n")
    assert result.exit_code != 0
    assert "do not match" in result.output
    assert _usernames(sqlite_url) == []


@pytest.mark.parametrize(
    ("role", "password", "message"),
    [
        ("superuser", "long-enough-1", "role: Input should be 'admin', 'supervisor' or 'agent'"),
        ("agent", "short", "password: String should have at least 8 characters"),
    ],
)
def test_user_create_refuses_bad_input(
    cli: CliRunner, sqlite_url: str, role: str, password: str, message: str
):
    args = ["user", "create", "--username", "eve", "--role", role, "--password", password]
    result = cli.invoke(cli_app, args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert _usernames(sqlite_url) == []


def test_user_create_refuses_a_taken_username(cli: CliRunner, sqlite_url: str):
    args = ["user", "create", "--username", "eve", "--role", "agent", "--password"]
    assert cli.invoke(cli_app, [*args, "first-password"]).exit_code == 0
    result = cli.invoke(cli_app, [*args, "second-password"])
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert _api_login(sqlite_url, "eve", "first-password")[0] == 200
    assert _api_login(sqlite_url, "eve", "second-password")[0] == 401


def test_demo_loads_the_number_of_customers_asked_for(cli: CliRunner, sqlite_url: str):
    result = cli.invoke(cli_app, ["demo", "--count", "30"])
    assert result.exit_code == 0, result.output
    assert "30 demo customers loaded" in result.output

    database = _database(sqlite_url)
    try:
        with database.read() as session:
            loaded = [
                (c.kind, c.first_name, c.last_name, c.company_name, c.language, points)
                for c in session.scalars(
                    select(Customer).options(selectinload(Customer.contact_points))
                )
                for points in [[(p.type, p.normalized) for p in c.contact_points]]
            ]
    finally:
        database.dispose()
    assert len(loaded) == 30
    for kind, first_name, last_name, company_name, _, points in loaded:
        if kind == "company":
            assert company_name
        else:
            assert first_name and last_name
        assert points, f"{first_name} {last_name} {company_name} has no contact point"
    phones = [
        normalized
        for *_, points in loaded
        for kind, normalized in points
        if kind in ("phone", "mobile", "whatsapp")
    ]
    countries = {phonenumbers.region_code_for_number(phonenumbers.parse(p)) for p in phones}
    assert len(countries) >= 3, countries
    assert {language for *_, language, _ in loaded} >= {"es", "pl", "en"}


def test_demo_customers_have_a_history_to_show(cli: CliRunner, sqlite_url: str):
    """The demo's people have interactions, and some have cases, accounts and campaigns;
    a second run adds customers but no second set of activity."""
    from clientcard.accounts.models import Account
    from clientcard.cases.models import Case
    from clientcard.interactions.models import Interaction

    assert cli.invoke(cli_app, ["demo", "--count", "60"]).exit_code == 0
    database = _database(sqlite_url)

    def counts() -> dict[str, int]:
        with database.read() as session:
            return {
                name: len(session.scalars(select(model.id)).all())
                for name, model in (
                    ("interactions", Interaction),
                    ("cases", Case),
                    ("accounts", Account),
                )
            }

    try:
        first = counts()
        assert first["interactions"] >= 100 and first["cases"] > 0 and first["accounts"] > 0
        with database.read() as session:
            people = session.scalars(select(Customer).where(Customer.kind == "person")).all()
            assert all(p.last_interaction_at is not None for p in people)
        again = cli.invoke(cli_app, ["demo", "--count", "5"])
        assert again.exit_code == 0, again.output
        assert counts() == first
    finally:
        database.dispose()


@pytest.mark.slow
def test_serve_first_start_prints_an_admin_password_and_loads_demo_data(
    sqlite_url: str, tmp_path: Path
):
    with running_server(sqlite_url, tmp_path, demo=True) as server:
        password = server.admin_password()
        assert password, server.output
        with api_client(server.url, login(server.url, "admin", password)) as client:
            cards = all_pages(client, "/api/v1/customers", include_hidden="true", limit=50)
    assert len(cards) == 200
    assert len({c["id"] for c in cards}) == 200
    assert sum(bool(c["contact_points"]) for c in cards) == 200

    # A later start keeps the administrator's password and loads no second demo set.
    with running_server(sqlite_url, tmp_path, demo=True) as server:
        assert server.admin_password() is None, server.output
        with api_client(server.url, login(server.url, "admin", password)) as client:
            again = all_pages(client, "/api/v1/customers", include_hidden="true", limit=200)
    assert len(again) == 200


@pytest.mark.slow
def test_serve_applies_scheduled_changes_on_time_without_a_separate_worker(
    sqlite_url: str, tmp_path: Path
):
    import datetime as dt
    import time

    import httpx

    with running_server(sqlite_url, tmp_path) as server:
        password = server.admin_password()
        assert password, server.output
        with httpx.Client(base_url=server.url, timeout=10) as client:
            token = client.post(
                "/api/v1/auth/token", json={"username": "admin", "password": password}
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            customer = client.post(
                "/api/v1/customers", json={"last_name": "Nowak", "lead_status": "new"}
            ).json()
            due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
            scheduled = client.post(
                f"/api/v1/customers/{customer['id']}/scheduled-changes",
                json={"field": "status", "value": "sale", "due_at": due.isoformat()},
            )
            assert scheduled.status_code == 201, scheduled.text
            deadline = time.monotonic() + 10
            status = "new"
            while status != "sale" and time.monotonic() < deadline:
                time.sleep(0.2)
                status = client.get(f"/api/v1/customers/{customer['id']}").json()["lead_status"]
            assert status == "sale"
            history = client.get(f"/api/v1/customers/{customer['id']}/history").json()
            assert history["items"][0]["actor"] == "scheduler"


def test_serve_with_several_workers_and_no_secret_key_is_refused(tmp_path: Path):
    """Each worker would sign web sessions with a random key of its own, so a login would
    hold on one worker only: `serve` refuses before touching anything."""
    url = f"sqlite:///{tmp_path / 'refused.db'}"
    result = run_cli(["serve", "--workers", "2", "--port", "1"], url, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--workers 2 needs CLIENTCARD_SECRET_KEY" in " ".join(result.stderr.split())
    assert "serving" not in result.stdout
    assert not (tmp_path / "refused.db").exists(), "nothing may start before the refusal"
