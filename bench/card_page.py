"""The card page in the browser's shape: GET /customers/{id} (the header and the
information tab, as an agent opens it) rendered by the app in-process, through a
TestClient with a logged-in session, for known customers of the bench database. The time
is the app's own (no network, no browser), plus the TestClient's in-thread hop."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from bench.generate import Dataset, Keys
from bench.inprocess import Measurement
from clientcard.app import create_app
from clientcard.auth import service as auth
from clientcard.auth.actor import Role, system_actor
from clientcard.auth.models import User
from clientcard.auth.schemas import UserCreate
from clientcard.config import Settings
from clientcard.context import open_database
from clientcard.db import Database

USERNAME, PASSWORD = "bench-agent", "bench-agent-password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _ensure_agent(database: Database) -> None:
    """The bench's agent (kept in the cached database between runs)."""
    with database.write() as session:
        if session.scalars(select(User.id).where(User.username == USERNAME)).first():
            return
        auth.create_user(
            session,
            actor=system_actor("bench"),
            data=UserCreate(username=USERNAME, password=PASSWORD, role=Role.AGENT),
        )


def run(dataset: Dataset, keys: Keys, *, repeat: int, warmup: int = 50) -> list[Measurement]:
    settings = Settings(database_url=dataset.url, demo_on_first_start=False)
    database = open_database(settings)
    _ensure_agent(database)
    app = create_app(settings, database)
    ids: Sequence[int] = keys.customer_ids[:repeat]
    statements: list[int] = []
    samples: list[float] = []
    with TestClient(app) as client:
        login = client.get("/login")
        token = CSRF.search(login.text).group(1)
        logged_in = client.post(
            "/login",
            data={"username": USERNAME, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert logged_in.status_code == 303, logged_in.text
        for customer_id in ids[:warmup]:
            client.get(f"/customers/{customer_id}")

        def count(*_args) -> None:
            statements[-1] += 1

        event.listen(database.engine, "before_cursor_execute", count)
        try:
            for customer_id in ids:
                statements.append(0)
                started = time.perf_counter()
                response = client.get(f"/customers/{customer_id}")
                samples.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"card {customer_id}: {response.status_code}")
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
    database.dispose()
    queries = sorted(set(statements))
    shown = "/".join(str(q) for q in queries)
    return [
        Measurement(
            backend=dataset.backend,
            customers=dataset.size,
            operation=f"card page GET /customers/{{id}} ({shown} SQL per page)",
            samples_ms=samples,
            found=len(samples),
        )
    ]
