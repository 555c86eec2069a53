"""Concurrent writes against a real server process: the optimistic lock (If-Match) and the
unique identification hold when two requests arrive at the same moment.

Two threads each open their connection, wait at a barrier and then send their request, so
that both are in the server together. Whatever the interleaving, the outcome must be the
same; each race is run a few times to meet more than one interleaving.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.process_helpers import api_client, fresh_database, login, running_server

ROUNDS = 4
pytestmark = pytest.mark.slow


@dataclass
class Live:
    url: str
    token: str
    database_url: str

    def client(self) -> httpx.Client:
        return api_client(self.url, self.token)

    def scalar(self, sql: str, **params: Any) -> Any:
        """A query straight on the server's database."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).scalar()
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    directory: Path = tmp_path_factory.mktemp("concurrency")
    with fresh_database(request.param, directory) as url, running_server(url, directory) as srv:
        password = srv.admin_password()
        assert password, srv.output
        yield Live(srv.url, login(srv.url, "admin", password), url)


Request = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments


def race(live: Live, *requests: Request) -> list[httpx.Response]:
    """Sends the requests from one thread each, released together by a barrier."""
    barrier = threading.Barrier(len(requests))
    results: list[httpx.Response | BaseException | None] = [None] * len(requests)

    def run(index: int) -> None:
        try:
            with live.client() as client:
                client.get("/healthz")  # the connection is open before the start line
                barrier.wait(timeout=15)
                method, path, kwargs = requests[index]
                results[index] = client.request(method, path, **kwargs)
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing request never finished"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, httpx.Response)]


def _history(client: httpx.Client, customer_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/customers/{customer_id}/history")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_concurrent_patches_with_the_same_if_match_one_wins(live: Live):
    with live.client() as client:
        for round_ in range(ROUNDS):
            created = client.post(
                "/api/v1/customers", json={"first_name": "Marta", "last_name": f"Race {round_}"}
            )
            assert created.status_code == 201, created.text
            customer_id = created.json()["id"]
            etag = created.headers["ETag"]
            notes = [f"agent A, round {round_}", f"agent B, round {round_}"]

            responses = race(
                live,
                *(
                    (
                        "PATCH",
                        f"/api/v1/customers/{customer_id}",
                        {"json": {"note": note}, "headers": {"If-Match": etag}},
                    )
                    for note in notes
                ),
            )

            assert sorted(r.status_code for r in responses) == [200, 412], [
                r.text for r in responses
            ]
            winner = notes[[r.status_code for r in responses].index(200)]
            loser = next(r for r in responses if r.status_code == 412)
            assert loser.headers["content-type"].startswith("application/problem+json")
            assert loser.json()["status"] == 412
            assert loser.json()["current_version"] == 2

            stored = client.get(f"/api/v1/customers/{customer_id}")
            assert stored.json()["note"] == winner
            assert stored.json()["version"] == 2
            assert stored.headers["ETag"] == '"2"'
            updates = [
                e for e in _history(client, customer_id) if e["action"] == "customer.updated"
            ]
            assert [e["changes"] for e in updates] == [{"note": {"before": None, "after": winner}}]


def test_concurrent_creation_with_the_same_identification_one_wins(live: Live):
    with live.client() as client:
        for round_ in range(ROUNDS):
            number = f"7{round_}123456"
            bodies = [
                {
                    "first_name": "Lucía",
                    "last_name": f"Primera {round_}",
                    "identification_type": "DNI",
                    "identification_number": f"{number}-z",
                    "contact_points": [{"type": "email", "value": f"a{round_}@race.example"}],
                },
                {
                    "first_name": "Lucia",
                    "last_name": f"Segunda {round_}",
                    "identification_type": "dni",
                    "identification_number": f"{number}Z",
                    "contact_points": [{"type": "email", "value": f"b{round_}@race.example"}],
                },
            ]

            responses = race(
                live, *(("POST", "/api/v1/customers", {"json": body}) for body in bodies)
            )

            assert sorted(r.status_code for r in responses) == [201, 409], [
                r.text for r in responses
            ]
            statuses = [r.status_code for r in responses]
            winner_body = bodies[statuses.index(201)]
            loser_body = bodies[statuses.index(409)]
            winner = responses[statuses.index(201)].json()
            conflict = responses[statuses.index(409)]
            assert conflict.headers["content-type"].startswith("application/problem+json")
            assert conflict.json()["status"] == 409

            # The winner is whole: its card, contact point and history.
            stored = client.get(f"/api/v1/customers/{winner['id']}").json()
            assert stored["last_name"] == winner_body["last_name"]
            assert stored["identification_number"] == f"{number}Z"
            assert [p["value"] for p in stored["contact_points"]] == [
                winner_body["contact_points"][0]["value"]
            ]
            actions = sorted(e["action"] for e in _history(client, winner["id"]))
            assert actions == ["contact_point.created", "customer.created"]

            # The loser left nothing behind: no card, no contact point, no history.
            found = client.get("/api/v1/customers", params={"q": f"{number}Z"}).json()["items"]
            assert [c["id"] for c in found] == [winner["id"]]
            lookup = client.get(
                "/api/v1/lookup", params={"email": loser_body["contact_points"][0]["value"]}
            )
            assert lookup.json()["items"] == []
            assert (
                live.scalar(
                    "SELECT count(*) FROM customers WHERE identification_number = :n",
                    n=f"{number}Z",
                )
                == 1
            )
            assert (
                live.scalar(
                    "SELECT count(*) FROM contact_points WHERE normalized = :e",
                    e=loser_body["contact_points"][0]["value"],
                )
                == 0
            )
            assert (
                live.scalar(
                    "SELECT count(*) FROM audit_entries WHERE CAST(changes AS TEXT) LIKE :name",
                    name=f"%{loser_body['last_name']}%",
                )
                == 0
            )
            assert (
                live.scalar(
                    "SELECT count(*) FROM audit_entries WHERE customer_id IS NOT NULL "
                    "AND customer_id NOT IN (SELECT id FROM customers)"
                )
                == 0
            )
            assert (
                live.scalar(
                    "SELECT count(*) FROM contact_points "
                    "WHERE customer_id NOT IN (SELECT id FROM customers)"
                )
                == 0
            )
