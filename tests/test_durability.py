"""A write the server answered 2xx survives the server being killed (SIGKILL) right after.

The test runs a stream of writes from two threads against a real server process, kills the
process in the middle of the stream, restarts it on the same database and checks that every
acknowledged write is there, with its values and its history entry. A write that was in
flight when the server died is allowed either outcome, but only as a whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.process_helpers import (
    api_client,
    fresh_database,
    login,
    running_server,
)

WRITERS = 2
ACKNOWLEDGED_BEFORE_KILL = 40  # writes answered 2xx before the server is killed
STREAM_DEADLINE = 60.0
PATCHES_PER_CUSTOMER = 2


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@dataclass
class Card:
    """What the writers know about one customer they created."""

    created: dict[str, Any]  # the POST body
    phone_e164: str
    id: int | None = None  # None: the POST was never answered
    # Profile values after each acknowledged write (index 0: as created).
    states: list[dict[str, Any]] = field(default_factory=list)
    in_doubt: dict[str, Any] | None = None  # a PATCH sent but never answered


@dataclass
class Ledger:
    cards: list[Card] = field(default_factory=list)
    acknowledged: int = 0
    unexpected: list[str] = field(default_factory=list)
    ended_by_connection_loss: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _profile(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "contact_points"}


def _writer(base_url: str, token: str, number: int, ledger: Ledger, stop: threading.Event):
    """Creates customers with a contact point and patches each with If-Match, until the
    server stops answering."""
    with api_client(base_url, token) as client:
        for i in range(10_000):
            if stop.is_set():
                return
            phone = f"601{number}{i % 100:02d}{i // 100 % 1000:03d}"
            body = {
                "first_name": f"Writer{number}",
                "last_name": f"Durable {number}-{i}",
                "identification_type": "ref",
                "identification_number": f"W{number}N{i}",
                "tags": [f"writer-{number}"],
                "vip": False,
                "contact_points": [
                    {"type": "mobile", "value": f"+48 {phone}", "label": "work", "primary": True}
                ],
            }
            card = Card(created=body, phone_e164=f"+48{phone}")
            with ledger.lock:
                ledger.cards.append(card)
            try:
                response = client.post("/api/v1/customers", json=body)
            except httpx.TransportError:
                with ledger.lock:
                    ledger.ended_by_connection_loss += 1
                return
            if response.status_code != 201:
                ledger.unexpected.append(f"POST {response.status_code} {response.text}")
                return
            card.id = response.json()["id"]
            card.states.append(_profile(body))
            etag = response.headers["ETag"]
            with ledger.lock:
                ledger.acknowledged += 1

            for k in range(PATCHES_PER_CUSTOMER):
                change = {
                    "note": f"call {k} by writer {number}",
                    "vip": k % 2 == 0,
                    "last_name": f"Durable {number}-{i} v{k + 2}",
                }
                card.in_doubt = change
                try:
                    response = client.patch(
                        f"/api/v1/customers/{card.id}", json=change, headers={"If-Match": etag}
                    )
                except httpx.TransportError:
                    with ledger.lock:
                        ledger.ended_by_connection_loss += 1
                    return
                if response.status_code != 200:
                    ledger.unexpected.append(f"PATCH {response.status_code} {response.text}")
                    return
                card.in_doubt = None
                card.states.append({**card.states[-1], **change})
                etag = response.headers["ETag"]
                with ledger.lock:
                    ledger.acknowledged += 1


def _history(client: httpx.Client, customer_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/customers/{customer_id}/history", params={"limit": 200})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return list(reversed(response.json()["items"]))  # oldest first


def _check_card(client: httpx.Client, card: Card) -> None:
    response = client.get(f"/api/v1/customers/{card.id}")
    assert response.status_code == 200, f"acknowledged customer {card.id} lost: {response.text}"
    stored = response.json()
    states = list(card.states)
    if card.in_doubt is not None and stored["version"] == len(states) + 1:
        states.append({**states[-1], **card.in_doubt})  # the unanswered PATCH committed
    assert stored["version"] == len(states), (card.id, stored, states)
    for name, value in states[-1].items():
        assert stored[name] == value, (card.id, name, stored)
    assert [(p["type"], p["normalized"]) for p in stored["contact_points"]] == [
        ("mobile", card.phone_e164)
    ]

    history = _history(client, card.id)
    customer_entries = [e for e in history if e["entity"] == "customer"]
    assert [e["action"] for e in customer_entries] == ["customer.created"] + [
        "customer.updated"
    ] * (len(states) - 1), (card.id, history)
    created = customer_entries[0]["changes"]
    for name, value in states[0].items():
        assert created[name] == {"before": None, "after": value}, (card.id, name, created)
    for entry, (before, after) in zip(customer_entries[1:], pairwise(states), strict=True):
        expected = {
            name: {"before": before.get(name), "after": after[name]}
            for name in after
            if before.get(name) != after[name]
        }
        assert entry["changes"] == expected, (card.id, entry)
    points = [e for e in history if e["action"] == "contact_point.created"]
    assert len(points) == 1
    assert points[0]["changes"]["normalized"]["after"] == card.phone_e164


def _check_unanswered_create(client: httpx.Client, card: Card) -> None:
    """A POST cut off by the kill is either entirely there or not there at all."""
    response = client.get("/api/v1/lookup", params={"phone": card.phone_e164})
    assert response.status_code == 200, response.text
    found = [c for c in response.json()["items"] if c["last_name"] == card.created["last_name"]]
    if not found:
        return
    (customer,) = found
    card.id = customer["id"]
    card.states = [_profile(card.created)]
    _check_card(client, card)


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(fresh_url: str, tmp_path: Path):
    ledger = Ledger()
    stop = threading.Event()
    with running_server(fresh_url, tmp_path) as server:
        password = server.admin_password()
        assert password, server.output
        assert server.server_pid() == server.process.pid, "SIGKILL must hit the server itself"
        token = login(server.url, "admin", password)
        writers = [
            threading.Thread(target=_writer, args=(server.url, token, n, ledger, stop))
            for n in range(1, WRITERS + 1)
        ]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + STREAM_DEADLINE
        while ledger.acknowledged < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            if ledger.unexpected or not any(w.is_alive() for w in writers):
                break
            time.sleep(0.02)
        server.kill()
        for writer in writers:
            writer.join(timeout=30)
        stop.set()
        assert not any(w.is_alive() for w in writers)

    assert not ledger.unexpected, ledger.unexpected
    assert ledger.acknowledged >= ACKNOWLEDGED_BEFORE_KILL
    # The kill hit a running stream: every writer lost its connection mid-way.
    assert ledger.ended_by_connection_loss == WRITERS
    acknowledged = [card for card in ledger.cards if card.id is not None]

    with running_server(fresh_url, tmp_path) as server:
        assert server.admin_password() is None, "a restart must not create another admin"
        with api_client(server.url, login(server.url, "admin", password)) as client:
            for card in acknowledged:
                _check_card(client, card)
            for card in ledger.cards:
                if card.id is None:
                    _check_unanswered_create(client, card)
