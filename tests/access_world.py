"""Helpers of the access table (tests/test_access_matrix.py): the fixture world of one
customer with something of every kind under it, the app's routes, and a probe for the
pages' live streams (which never end, so a test client cannot read them whole)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.attachments.conftest import PDF, PNG
from tests.conftest import Api, create_customer

# An id no row of any table holds: the "missing" state points every id at it.
MISSING = 2_000_000_001
GROUP = "orders"
# The world's keys naming rows under the customer; the "missing" state replaces them.
OWNED = (
    "customer",
    "point",
    "point_del",
    "point_page_del",
    "case",
    "case_note",
    "case_note_del",
    "case_note_page_del",
    "comment",
    "interaction",
    "interaction_resolve",
    "account",
    "account_del",
    "account_page_del",
    "relation",
    "relation_del",
    "relation_page_del",
    "campaign_record",
    "campaign_record_del",
    "group_record",
    "group_record_del",
    "group_record_page_del",
    "attachment",
    "attachment_del",
    "attachment_page_del",
    "change",
    "change_del",
)


def routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD aside (it follows GET)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def future(days: int = 3) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(microsecond=0).isoformat()


def _created(response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


def build_world(admin: Api, state: str, tag: str) -> dict[str, Any]:
    """A customer in `state` (live, hidden, deleted, missing) with a contact point, a case
    with notes and a comment, interactions, accounts, relations, campaign records, custom
    group records, files, an avatar and scheduled changes: a spare one of each kind a row
    deletes, so that no row consumes what another reads. Built by an administrator; `tag`
    tells apart the names that are unique in the database (campaigns, account numbers)."""
    world: dict[str, Any] = {"state": state, "group": GROUP, "tag": tag}
    others = ["other", "other_del", "other_page_del", "other_new", "other_page_new"]
    for n, key in enumerate(others):
        world[key] = create_customer(admin, first_name=f"Other{n}", last_name="Related")["id"]
    for key in ("campaign", "campaign_del", "campaign_new", "campaign_page_new"):
        world[key] = _created(
            admin.post("/api/v1/campaigns", json={"name": f"{tag} {key}", "direction": "outbound"})
        )["id"]
    if state == "missing":  # every id names nothing; the ids in bodies name real rows
        return world | dict.fromkeys(OWNED, MISSING)

    customer = create_customer(
        admin,
        first_name="Tested",
        last_name="Customer",
        hidden=state == "hidden",
        contact_points=[
            {"type": "mobile", "value": "601 234 567", "region": "PL"},
            {"type": "email", "value": "one@example.com"},
            {"type": "email", "value": "two@example.com"},
        ],
    )
    assert customer["hidden"] is (state == "hidden")
    cid = world["customer"] = customer["id"]
    base = f"/api/v1/customers/{cid}"
    points = {p["value"]: p["id"] for p in customer["contact_points"]}
    world["point"] = points["601 234 567"]
    world["point_del"] = points["one@example.com"]
    world["point_page_del"] = points["two@example.com"]

    case = world["case"] = _created(admin.post(f"{base}/cases", json={"subject": "Router"}))["id"]
    for key in ("case_note", "case_note_del", "case_note_page_del"):
        note = admin.post(f"/api/v1/cases/{case}/notes", json={"text": key})
        world[key] = _created(note)["id"]
    comment = admin.post(f"/api/v1/cases/{case}/comments", json={"text": "Escalated"})
    world["comment"] = _created(comment)["id"]

    for key in ("interaction", "interaction_resolve"):
        call = {
            "source": "pbx",
            "external_id": f"{tag}-{key}",
            "channel": "voice",
            "direction": "inbound",
            "from": "+48601234567",
            "customer_id": cid,
            "started_at": "2026-01-05T10:00:00Z",
        }
        world[key] = _created(admin.post("/api/v1/interactions", json=call))["id"]

    for n, key in enumerate(("account", "account_del", "account_page_del")):
        body = {"number": f"{tag}-{n}", "type": "contract"}
        world[key] = _created(admin.post(f"{base}/accounts", json=body))["id"]
    for key, other in (
        ("relation", "other"),
        ("relation_del", "other_del"),
        ("relation_page_del", "other_page_del"),
    ):
        body = {"other_id": world[other], "labels": ["spouse"]}
        world[key] = _created(admin.post(f"{base}/relations", json=body))["id"]
    for key, campaign in (("campaign_record", "campaign"), ("campaign_record_del", "campaign_del")):
        body = {"campaign_id": world[campaign]}
        world[key] = _created(admin.post(f"{base}/campaigns", json=body))["id"]
    for key in ("group_record", "group_record_del", "group_record_page_del"):
        body = {"values": {"product": key}}
        world[key] = _created(admin.post(f"{base}/groups/{GROUP}/records", json=body))["id"]

    pdf = {"file": ("invoice.pdf", PDF, "application/pdf")}
    for key in ("attachment", "attachment_del", "attachment_page_del"):
        world[key] = _created(admin.post(f"{base}/attachments", files=pdf))["id"]
    world["case_attachment"] = _created(admin.post(f"/api/v1/cases/{case}/attachments", files=pdf))[
        "id"
    ]
    world["interaction_attachment"] = _created(
        admin.post(f"/api/v1/interactions/{world['interaction']}/attachments", files=pdf)
    )["id"]
    avatar = admin.client.put(
        f"{base}/avatar",
        files={"file": ("me.png", PNG, "image/png")},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    _created(avatar)

    for key in ("change", "change_del"):
        body = {"field": "status", "value": "sale", "due_at": future()}
        world[key] = _created(admin.post(f"{base}/scheduled-changes", json=body))["id"]
    _created(admin.post(f"{base}/notes", json={"text": "Called back"}))

    if state == "deleted":
        response = admin.delete(base)
        assert response.status_code == 204, response.text
    return world


def define_group(admin: Api) -> None:
    """The custom field group the worlds' records belong to."""
    _created(admin.post("/api/v1/custom-field-groups", json={"key": GROUP, "label": "Orders"}))
    field = {"key": "product", "label": "Product", "type": "text", "group": GROUP}
    _created(admin.post("/api/v1/custom-fields", json=field))


def stream_status(app: FastAPI, path: str, cookies: dict[str, str]) -> tuple[int, dict[str, str]]:
    """The status and headers a GET of a live stream starts with; the stream is then
    dropped, as a browser that goes away drops it."""
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    started: dict[str, Any] = {}

    async def probe() -> None:
        sent = False
        done = anyio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                done.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"testserver"),
                (b"accept", b"text/event-stream"),
                (b"cookie", cookie.encode()),
            ],
            "client": ("testclient", 50000),
            "server": ("testserver", 80),
            "app": app,
        }
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(app, scope, receive, send)
                await done.wait()
                group.cancel_scope.cancel()

    anyio.run(probe)
    headers = {k.decode().lower(): v.decode() for k, v in started.get("headers", [])}
    return started["status"], headers
