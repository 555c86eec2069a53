"""Lead status changes scheduled for a time and applied by the worker, exactly once."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clientcard.scheduler import worker
from tests.conftest import create_customer


def later(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat()


def schedule(api, customer, value="sale", seconds=1.0):
    return api.post(
        f"/api/v1/customers/{customer['id']}/scheduled-changes",
        json={"field": "status", "value": value, "due_at": later(seconds)},
    )


def test_a_due_change_is_applied_once_and_recorded(db, settings, agent):
    customer = create_customer(agent, lead_status="new")
    response = schedule(agent, customer, seconds=1.5)
    assert response.status_code == 201 and response.json()["state"] == "pending"
    assert worker.run_once(db) == 0  # not due yet
    time.sleep(1.6)
    assert worker.run_once(db) == 1
    assert worker.run_once(db) == 0
    card = agent.get(f"/api/v1/customers/{customer['id']}").json()
    assert card["lead_status"] == "sale"
    entry = agent.get(f"/api/v1/customers/{customer['id']}/history").json()["items"][0]
    assert (entry["actor"], entry["origin"], entry["action"]) == (
        "scheduler",
        "scheduler",
        "customer.updated",
    )
    assert entry["changes"] == {"lead_status": {"before": "new", "after": "sale"}}
    changes = agent.get(f"/api/v1/customers/{customer['id']}/scheduled-changes").json()["items"]
    assert changes[0]["state"] == "applied" and changes[0]["applied_at"] is not None


def test_a_cancelled_change_is_never_applied(db, agent):
    customer = create_customer(agent, lead_status="new")
    change = schedule(agent, customer, seconds=1.0).json()
    url = f"/api/v1/customers/{customer['id']}/scheduled-changes/{change['id']}"
    assert agent.delete(url).status_code == 204
    time.sleep(1.1)
    assert worker.run_once(db) == 0
    assert agent.get(f"/api/v1/customers/{customer['id']}").json()["lead_status"] == "new"
    assert agent.delete(url).status_code == 409


def test_an_applied_change_cannot_be_cancelled(db, agent):
    customer = create_customer(agent)
    change = schedule(agent, customer, seconds=1.0).json()
    time.sleep(1.1)
    worker.run_once(db)
    url = f"/api/v1/customers/{customer['id']}/scheduled-changes/{change['id']}"
    assert agent.delete(url).status_code == 409


def test_a_change_that_can_no_longer_apply_fails_alone(db, admin, agent):
    doomed, fine = create_customer(agent), create_customer(agent, first_name="Fine")
    first = schedule(agent, doomed, seconds=1.0).json()
    second = schedule(agent, fine, seconds=1.0).json()
    admin.delete(f"/api/v1/customers/{doomed['id']}")
    time.sleep(1.1)
    assert worker.run_once(db) == 2
    assert agent.get(f"/api/v1/customers/{fine['id']}").json()["lead_status"] == "sale"
    listed = admin.get(f"/api/v1/customers/{fine['id']}/scheduled-changes").json()["items"]
    assert [c["id"] for c in listed] == [second["id"]] and listed[0]["state"] == "applied"
    admin.post(f"/api/v1/customers/{doomed['id']}/restore")
    failed = admin.get(f"/api/v1/customers/{doomed['id']}/scheduled-changes").json()["items"]
    assert failed[0]["id"] == first["id"] and failed[0]["state"] == "failed"
    assert failed[0]["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"field": "status", "value": "sale", "due_at": "2001-01-01T00:00:00Z"}, "due_at"),
        ({"field": "status", "value": "sale", "due_at": "2099-01-01T00:00:00"}, "due_at"),
        ({"field": "status", "value": "nope", "due_at": "2099-01-01T00:00:00Z"}, "value"),
        ({"field": "vip", "value": "sale", "due_at": "2099-01-01T00:00:00Z"}, "field"),
    ],
)
def test_bad_schedules_are_422(agent, body, field):
    customer = create_customer(agent)
    response = agent.post(f"/api/v1/customers/{customer['id']}/scheduled-changes", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.slow
def test_two_workers_started_together_apply_each_change_once(settings, db, agent, tmp_path):
    customers = [create_customer(agent, first_name=f"C{n}", lead_status="new") for n in range(12)]
    for customer in customers:
        assert schedule(agent, customer, seconds=2.0).status_code == 201
    env = {**os.environ, "CLIENTCARD_DATABASE_URL": settings.database_url}
    command = [str(Path(sys.executable).with_name("clientcard")), "worker", "--interval", "0.1"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = {
                c["state"]
                for customer in customers
                for c in agent.get(f"/api/v1/customers/{customer['id']}/scheduled-changes").json()[
                    "items"
                ]
            }
            if states == {"applied"}:
                break
            time.sleep(0.3)
        assert states == {"applied"}
        assert all(w.poll() is None for w in workers)  # both were running all along
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=10)
    for customer in customers:
        entries = agent.get(f"/api/v1/customers/{customer['id']}/history").json()["items"]
        applied = [e for e in entries if e["actor"] == "scheduler"]
        assert len(applied) == 1
        assert applied[0]["changes"] == {"lead_status": {"before": "new", "after": "sale"}}
