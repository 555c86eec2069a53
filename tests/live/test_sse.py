"""The live streams over real HTTP: a server process (`clientcard serve`) on SQLite and on
PostgreSQL, agents logged in through the login form, an interaction or a screen pop posted
through the API with a bearer token, and the event read from the stream. On PostgreSQL, two
server processes on one database hear each other's events. Heartbeats, logout and the
unsubscribe on disconnect are checked against the app served in this process, where the
bus can be inspected."""

from __future__ import annotations

import datetime as dt
import json
import queue
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from clientcard.app import create_app
from clientcard.auth.actor import Role
from clientcard.config import Settings
from clientcard.db import Database
from clientcard.live import bus as live
from tests.conftest import make_user
from tests.process_helpers import (
    REQUEST_TIMEOUT,
    Server,
    api_client,
    free_port,
    fresh_database,
    login,
    running_server,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "live-secret-pass"
CLOSED = "<closed>"


class Stream:
    """An SSE stream read in a thread of its own: events go to a queue as (name, data)."""

    def __init__(self, client: httpx.Client, path: str) -> None:
        self._context = client.stream(
            "GET",
            path,
            headers={"Accept": "text/event-stream"},
            timeout=httpx.Timeout(REQUEST_TIMEOUT, read=None),
        )
        self.response = self._context.__enter__()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.comments: queue.Queue[str] = queue.Queue()
        self.retry: str | None = None
        if self.response.status_code == 200:
            self._thread = threading.Thread(target=self._read, daemon=True)
            self._thread.start()

    def _read(self) -> None:
        name, data = "message", []
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if data:
                        self.events.put((name, json.loads("\n".join(data))))
                    name, data = "message", []
                elif line.startswith(":"):
                    self.comments.put(line)
                else:
                    key, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if key == "event":
                        name = value
                    elif key == "data":
                        data.append(value)
                    elif key == "retry":
                        self.retry = value
        except (httpx.HTTPError, OSError, ValueError):
            pass
        finally:
            self.events.put((CLOSED, None))

    def next(self, timeout: float = 5.0) -> tuple[str, Any]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout}s") from None

    def nothing(self, wait: float = 0.5) -> None:
        try:
            event = self.events.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected event {event}")

    def close(self) -> None:
        self.response.close()
        self._context.__exit__(None, None, None)


@contextmanager
def stream(client: httpx.Client, path: str) -> Iterator[Stream]:
    opened = Stream(client, path)
    try:
        assert opened.response.status_code == 200, opened.response.read()
        assert opened.response.headers["content-type"].startswith("text/event-stream")
        assert opened.next() == ("ready", {})  # subscribed: what is published now arrives
        yield opened
    finally:
        opened.close()


def web_login(base_url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """A client holding the session cookie, logged in through the login form."""
    client = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT)
    form = client.get("/login")
    match = CSRF.search(form.text)
    assert match, form.text
    response = client.post(
        "/login",
        data={
            "csrf_token": match.group(1),
            "username": username,
            "password": password,
            "next": "/customers",
        },
    )
    assert response.status_code == 303, response.text
    return client


def _call(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "source": "pbx",
        "external_id": f"live-{n}-{time.monotonic_ns()}",
        "channel": "voice",
        "direction": "inbound",
        "from": "+48601234567",
        "started_at": dt.datetime.now(dt.UTC).isoformat(),
        "status": "answered",
        **fields,
    }


# ---- a real server process -------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(request, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A server with two agents (ana, bob) and two customers."""
    directory = tmp_path_factory.mktemp(f"live-{request.param}")
    with (
        fresh_database(request.param, directory) as url,
        running_server(url, directory) as server,
    ):
        admin = api_client(server.url, login(server.url, "admin", server.admin_password()))
        for username in ("ana", "bob"):
            created = admin.post(
                "/api/v1/users", json={"username": username, "password": PASSWORD, "role": "agent"}
            )
            assert created.status_code == 201, created.text
        ids = []
        for first, phone in (("Ewa", "+48 601 234 567"), ("Jan", "+48 602 345 678")):
            created = admin.post(
                "/api/v1/customers",
                json={
                    "first_name": first,
                    "last_name": "Nowak",
                    "contact_points": [{"type": "mobile", "value": phone}],
                },
            )
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        platform = api_client(server.url, login(server.url, "ana", PASSWORD))
        yield {"server": server, "url": url, "dir": directory, "api": platform, "customers": ids}
        admin.close()
        platform.close()


def test_a_new_interaction_appears_on_every_open_card_of_the_customer(deployment):
    server: Server = deployment["server"]
    api: httpx.Client = deployment["api"]
    ewa, jan = deployment["customers"]
    ana, bob = web_login(server.url, "ana"), web_login(server.url, "bob")
    with (
        stream(ana, f"/live/customers/{ewa}") as ana_card,
        stream(bob, f"/live/customers/{ewa}") as bob_card,
        stream(bob, f"/live/customers/{jan}") as other_card,
    ):
        assert ana_card.retry == "2000"
        response = api.post("/api/v1/interactions", json=_call(1, customer_id=ewa))
        posted = time.monotonic()
        assert response.status_code == 201, response.text
        created = response.json()["id"]
        for card in (ana_card, bob_card):
            name, data = card.next(timeout=1.0)
            assert time.monotonic() - posted < 1.0
            assert name == "interaction"
            assert data == {"customer_id": ewa, "ids": [created], "count": 1}
        other_card.nothing()

        # A batch: one event per customer, whatever the number of items.
        batch = [_call(n) for n in range(40)] + [_call(99, **{"from": "+48602345678"})]
        response = api.post("/api/v1/interactions/batch", json={"items": batch})
        assert response.status_code == 200, response.text
        name, data = ana_card.next(timeout=1.0)
        assert (name, data["count"]) == ("interaction", 40)
        assert other_card.next(timeout=1.0)[1]["count"] == 1
        ana_card.nothing(0.3)
    ana.close()
    bob.close()


def test_an_inbound_call_pops_the_card_for_its_agent_only(deployment):
    server: Server = deployment["server"]
    api: httpx.Client = deployment["api"]
    ewa, jan = deployment["customers"]
    ana, bob = web_login(server.url, "ana"), web_login(server.url, "bob")
    with stream(ana, "/live/me") as ana_pages, stream(bob, "/live/me") as bob_pages:
        response = api.post("/api/v1/interactions", json=_call(2, agent="ana"))
        assert response.status_code == 201, response.text
        name, data = ana_pages.next(timeout=1.0)
        assert name == "screen-pop"
        assert data == {
            "customer_id": ewa,
            "channel": "voice",
            "interaction_id": response.json()["id"],
            "url": f"/customers/{ewa}",
        }
        bob_pages.nothing()

        # Outbound, finished or missed contacts pop nothing.
        for fields in (
            {"direction": "outbound", "from": "100", "to": "+48601234567"},
            {"status": "missed"},
            {"ended_at": dt.datetime.now(dt.UTC).isoformat()},
            {"channel": "sms"},
        ):
            response = api.post("/api/v1/interactions", json=_call(3, agent="ana", **fields))
            assert response.status_code == 201, response.text
        ana_pages.nothing()

        # The explicit ringing event, by the caller's number in any notation.
        response = api.post(
            "/api/v1/screen-pops",
            json={"agent": "bob", "from": "0048 602-345-678", "channel": "chat"},
        )
        assert response.status_code == 202, response.text
        assert response.json() == {
            "agent": "bob",
            "customer_id": jan,
            "channel": "chat",
            "url": f"/customers/{jan}",
            "candidates": [jan],
        }
        assert bob_pages.next(timeout=1.0) == (
            "screen-pop",
            {
                "customer_id": jan,
                "channel": "chat",
                "interaction_id": None,
                "url": f"/customers/{jan}",
            },
        )
        ana_pages.nothing()

        # A card page hears its agent's screen pops too (one connection per tab).
        with stream(bob, f"/live/customers/{ewa}") as card:
            response = api.post(
                "/api/v1/screen-pops", json={"agent": "bob", "customer_id": ewa, "channel": "voice"}
            )
            assert response.status_code == 202, response.text
            assert card.next(timeout=1.0)[0] == "screen-pop"
            assert bob_pages.next(timeout=1.0)[1]["customer_id"] == ewa
    ana.close()
    bob.close()


def test_the_screen_pop_call_names_what_is_wrong(deployment):
    api: httpx.Client = deployment["api"]
    ewa, _ = deployment["customers"]

    def errors(body: dict[str, Any], status: int) -> set[str]:
        response = api.post("/api/v1/screen-pops", json=body)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        return {e["field"] for e in response.json().get("errors", [])}

    assert errors({"customer_id": ewa, "channel": "voice"}, 422) == {"agent"}
    assert errors({"agent": "ana", "customer_id": ewa}, 422) == {"channel"}
    assert errors({"agent": "ana", "customer_id": ewa, "channel": "fax"}, 422) == {"channel"}
    assert errors({"agent": "ana", "channel": "voice"}, 422) == {"customer_id", "from"}
    both = {"agent": "ana", "channel": "voice", "customer_id": ewa, "from": "+48601234567"}
    assert errors(both, 422) == {"customer_id", "from"}
    assert errors({"agent": "ana", "channel": "voice", "from": "12"}, 422) == {"from"}
    assert errors({"agent": "ana", "channel": "voice", "customer_id": ewa, "x": 1}, 422) == {"x"}
    assert errors({"agent": "nobody", "channel": "voice", "customer_id": ewa}, 404) == {"agent"}
    assert errors({"agent": "ana", "channel": "voice", "customer_id": 999_999}, 404) == set()
    unknown = {"agent": "ana", "channel": "voice", "from": "+48 699 999 999"}
    assert errors(unknown, 404) == {"from"}
    anonymous = httpx.post(
        f"{deployment['server'].url}/api/v1/screen-pops",
        json={"agent": "ana", "channel": "voice", "customer_id": ewa},
    )
    assert anonymous.status_code == 401


def test_streams_need_a_session_and_a_card_the_agent_may_see(deployment):
    server: Server = deployment["server"]
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as anonymous:
        response = anonymous.get("/live/me")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    ana = web_login(server.url, "ana")
    missing = ana.get("/live/customers/999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    ana.close()


@pytest.mark.parametrize("deployment", ["postgresql"], indirect=True)  # SQLite: one process
def test_two_server_processes_on_postgresql_hear_each_other(deployment):
    server: Server = deployment["server"]
    ewa, _ = deployment["customers"]
    with running_server(deployment["url"], deployment["dir"]) as second:
        token = login(second.url, "bob", PASSWORD)
        with api_client(second.url, token) as api_second:
            ana = web_login(server.url, "ana")
            with stream(ana, f"/live/customers/{ewa}") as card, stream(ana, "/live/me") as me:
                response = api_second.post(
                    "/api/v1/interactions", json=_call(5, customer_id=ewa, agent="ana")
                )
                assert response.status_code == 201, response.text
                assert card.next(timeout=1.0)[1]["ids"] == [response.json()["id"]]
                assert me.next(timeout=1.0)[1]["customer_id"] == ewa
            ana.close()


# ---- the app served in this process: heartbeats, logout, unsubscribe --------------------


@pytest.fixture
def served(settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app on uvicorn in a thread of this process, with a heartbeat of 0.3 s."""
    monkeypatch.setattr(db, "settings", settings.model_copy(update={"live_heartbeat_seconds": 0.3}))
    app = create_app(database=db)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{config.port}"
    server.should_exit = True
    thread.join(timeout=10)


def _wait_for(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.02)


def test_streams_beat_and_a_browser_that_leaves_unsubscribes(db: Database, served: str):
    make_user(db, "wanda", Role.AGENT, PASSWORD)
    bus = live.bus_for(db)
    before = bus.subscriber_count()
    clients = [web_login(served, "wanda") for _ in range(3)]
    streams = [Stream(client, "/live/me") for client in clients]
    try:
        for opened in streams:
            assert opened.next() == ("ready", {})
        assert bus.subscriber_count() == before + 3
        assert streams[0].comments.get(timeout=2.0) == ": keep-alive"
    finally:
        for opened, client in zip(streams, clients, strict=True):
            opened.close()
            client.close()
    _wait_for(lambda: bus.subscriber_count() == before)


def test_logging_out_ends_the_stream(db: Database, served: str):
    make_user(db, "wanda", Role.AGENT, PASSWORD)
    client = web_login(served, "wanda")
    opened = Stream(client, "/live/me")
    try:
        assert opened.next() == ("ready", {})
        page = client.get("/customers")
        csrf = CSRF.search(page.text)
        assert csrf
        cookies = dict(client.cookies)
        assert client.post("/logout", data={"csrf_token": csrf.group(1)}).status_code == 303
        assert opened.next(timeout=3.0) == ("logout", {})
        assert opened.next(timeout=3.0) == (CLOSED, None)
        # The old cookie names a revoked token: it opens no stream.
        with httpx.Client(base_url=served, cookies=cookies, timeout=REQUEST_TIMEOUT) as replay:
            assert replay.get("/live/me").status_code == 303
    finally:
        opened.close()
        client.close()
