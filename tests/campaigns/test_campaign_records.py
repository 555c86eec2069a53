"""A customer's campaign records over the REST API (M1), with "call again"."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.cases.conftest import history
from tests.conftest import create_customer


def records_url(customer_id: int) -> str:
    return f"/api/v1/customers/{customer_id}/campaigns"


def create_campaign(admin, name: str = "Winter sale", direction: str = "outbound"):
    response = admin.post("/api/v1/campaigns", json={"name": name, "direction": direction})
    assert response.status_code == 201, response.text
    return response.json()


def add_record(api, customer_id: int, campaign_id: int, **fields):
    response = api.post(records_url(customer_id), json={"campaign_id": campaign_id, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def future(days: int = 2) -> dt.datetime:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(microsecond=0)


@pytest.fixture
def campaign(admin):
    return create_campaign(admin)


def test_add_read_and_list_with_campaign_name_and_history(agent, campaign):
    customer = create_customer(agent)
    when = future()
    warsaw = when.astimezone(dt.timezone(dt.timedelta(hours=2)))
    response = agent.post(
        records_url(customer["id"]),
        json={
            "campaign_id": campaign["id"],
            "agent_id": agent.user_id,
            "recontact_at": warsaw.isoformat(),
            "note": " Interested in fibre ",
        },
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"{records_url(customer['id'])}/{record['id']}"
    assert record["campaign"] == {
        "id": campaign["id"],
        "name": "Winter sale",
        "direction": "outbound",
    }
    assert record["campaign_id"] == campaign["id"] and record["customer_id"] == customer["id"]
    assert record["status"] == "pending"
    assert record["agent_id"] == agent.user_id
    assert dt.datetime.fromisoformat(record["recontact_at"]) == when
    assert record["recontact_at"].endswith(("Z", "+00:00"))  # shown in UTC
    assert record["note"] == "Interested in fibre"
    assert record["version"] == 1 and record["created_by"] == "ana"

    read = agent.get(f"{records_url(customer['id'])}/{record['id']}")
    assert read.status_code == 200 and read.json() == record and read.headers["ETag"] == '"1"'
    assert agent.get(records_url(customer["id"])).json() == {"items": [record], "next_cursor": None}

    entry = history(agent, customer["id"])[0]
    assert (entry["action"], entry["entity"], entry["entity_id"]) == (
        "campaign_record.created",
        "campaign_record",
        record["id"],
    )
    assert entry["changes"] == {
        "agent_id": {"before": None, "after": agent.user_id},
        "campaign_id": {"before": None, "after": campaign["id"]},
        "note": {"before": None, "after": "Interested in fibre"},
        "recontact_at": {"before": None, "after": when.isoformat()},
        "status": {"before": None, "after": "pending"},
    }


def test_list_is_newest_first_and_pages(admin, agent):
    customer = create_customer(agent)
    campaigns = [create_campaign(admin, f"C{i}", "inbound") for i in range(3)]
    ids = [add_record(agent, customer["id"], c["id"])["id"] for c in campaigns]
    first = agent.get(records_url(customer["id"]), params={"limit": 2}).json()
    assert [r["id"] for r in first["items"]] == ids[::-1][:2]
    assert [r["campaign"]["name"] for r in first["items"]] == ["C2", "C1"]
    second = agent.get(
        records_url(customer["id"]), params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [r["id"] for r in second["items"]] == [ids[0]] and second["next_cursor"] is None
    other = create_customer(agent, last_name="Nowak")
    assert agent.get(records_url(other["id"])).json()["items"] == []


def test_one_record_per_customer_and_campaign(agent, campaign):
    customer = create_customer(agent)
    record = add_record(agent, customer["id"], campaign["id"])
    response = agent.post(records_url(customer["id"]), json={"campaign_id": campaign["id"]})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "campaign_id"
    assert response.json()["existing_id"] == record["id"]
    # Another customer may be in the same campaign.
    add_record(agent, create_customer(agent, last_name="Nowak")["id"], campaign["id"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"campaign_id": 987654}, "campaign_id"),
        ({"campaign_id": None}, "campaign_id"),
        ({"status": "done"}, "status"),
        ({"agent_id": 987654}, "agent_id"),
        ({"recontact_at": "2030-01-01T10:00:00"}, "recontact_at"),
        ({"recontact_at": "tomorrow"}, "recontact_at"),
        ({"note": "n" * 5001}, "note"),
        ({"customer_id": 1}, "customer_id"),
        ({"version": 1}, "version"),
    ],
)
def test_invalid_record_is_422_naming_the_field(agent, campaign, body, field):
    customer = create_customer(agent)
    response = agent.post(records_url(customer["id"]), json={"campaign_id": campaign["id"], **body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert agent.get(records_url(customer["id"])).json()["items"] == []
    assert [e["action"] for e in history(agent, customer["id"])] == ["customer.created"]


def test_inactive_agent_is_refused_and_errors_come_together(admin, agent, other_agent, campaign):
    customer = create_customer(agent)
    assert (
        admin.patch(f"/api/v1/users/{other_agent.user_id}", json={"active": False}).status_code
        == 200
    )
    response = agent.post(
        records_url(customer["id"]), json={"campaign_id": 987654, "agent_id": other_agent.user_id}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"campaign_id", "agent_id"}
    missing = agent.post(records_url(customer["id"]), json={})
    assert missing.json()["errors"] == [{"field": "campaign_id", "message": "is required"}]


def test_update_needs_if_match_and_is_recorded(agent, other_agent, campaign):
    customer = create_customer(agent)
    record = add_record(agent, customer["id"], campaign["id"], note="first call")
    url = f"{records_url(customer['id'])}/{record['id']}"
    body = {"status": "contacted", "agent_id": other_agent.user_id, "note": None}
    assert agent.patch(url, json=body).status_code == 428
    stale = agent.patch(url, json=body, headers={"If-Match": '"4"'})
    assert stale.status_code == 412 and stale.json()["current_version"] == 1
    response = agent.patch(url, json=body, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    updated = response.json()
    assert (updated["status"], updated["agent_id"], updated["note"]) == (
        "contacted",
        other_agent.user_id,
        None,
    )
    assert updated["campaign"]["name"] == "Winter sale"
    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "campaign_record.updated"
    assert entry["changes"] == {
        "agent_id": {"before": None, "after": other_agent.user_id},
        "note": {"before": "first call", "after": None},
        "status": {"before": "pending", "after": "contacted"},
    }
    for bad, field in (
        ({"status": None}, "status"),
        ({"status": "nope"}, "status"),
        ({"agent_id": 987654}, "agent_id"),
        ({"campaign_id": campaign["id"]}, "campaign_id"),
        ({"recontact_at": "2030-01-01T10:00:00"}, "recontact_at"),
    ):
        response = agent.patch(url, json=bad, headers={"If-Match": '"2"'})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["field"] == field


def test_call_again_sets_callback_and_the_time(agent, campaign):
    customer = create_customer(agent)
    record = add_record(agent, customer["id"], campaign["id"], status="contacted")
    url = f"{records_url(customer['id'])}/{record['id']}/call-again"
    when = future(3)
    assert (
        agent.post(url, json={"at": when.isoformat()}, headers={"If-Match": '"9"'}).status_code
        == 412
    )
    response = agent.post(url, json={"at": when.isoformat()})
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    again = response.json()
    assert again["status"] == "callback"
    assert dt.datetime.fromisoformat(again["recontact_at"]) == when
    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "campaign_record.call_again"
    assert entry["changes"] == {
        "recontact_at": {"before": None, "after": when.isoformat()},
        "status": {"before": "contacted", "after": "callback"},
    }
    for body, field in (
        ({}, "at"),
        ({"at": "2030-01-01T10:00:00"}, "at"),
        ({"at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()}, "at"),
    ):
        response = agent.post(url, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    assert (
        agent.post(
            f"{records_url(customer['id'])}/987654/call-again", json={"at": when.isoformat()}
        ).status_code
        == 404
    )


def test_delete_is_recorded_and_honours_if_match(agent, campaign):
    customer = create_customer(agent)
    record = add_record(agent, customer["id"], campaign["id"], agent_id=agent.user_id)
    url = f"{records_url(customer['id'])}/{record['id']}"
    assert agent.delete(url, headers={"If-Match": '"2"'}).status_code == 412
    assert agent.delete(url, headers={"If-Match": '"1"'}).status_code == 204
    assert agent.get(url).status_code == 404
    assert agent.delete(url).status_code == 404
    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "campaign_record.deleted"
    assert entry["changes"] == {
        "agent_id": {"before": agent.user_id, "after": None},
        "campaign_id": {"before": campaign["id"], "after": None},
        "status": {"before": "pending", "after": None},
    }
    add_record(agent, customer["id"], campaign["id"])  # the customer may join again


def test_unknown_or_deleted_customer_and_unknown_record_are_404(supervisor, agent, campaign):
    assert agent.get(records_url(987654)).status_code == 404
    assert agent.post(records_url(987654), json={"campaign_id": campaign["id"]}).status_code == 404
    customer, other = create_customer(agent), create_customer(agent, last_name="Nowak")
    record = add_record(agent, customer["id"], campaign["id"])
    foreign = f"{records_url(other['id'])}/{record['id']}"
    assert agent.get(foreign).status_code == 404
    assert agent.patch(foreign, json={}, headers={"If-Match": '"1"'}).status_code == 404
    assert agent.delete(foreign).status_code == 404
    assert supervisor.delete(f"/api/v1/customers/{customer['id']}").status_code == 204
    url = f"{records_url(customer['id'])}/{record['id']}"
    assert agent.get(records_url(customer["id"])).status_code == 404
    assert agent.get(url).status_code == 404
    assert (
        agent.patch(url, json={"status": "completed"}, headers={"If-Match": '"1"'}).status_code
        == 404
    )
    assert agent.post(f"{url}/call-again", json={"at": future().isoformat()}).status_code == 404
    assert agent.delete(url).status_code == 404


def test_every_role_works_with_records_and_anonymous_is_401(client, admin, supervisor, agent):
    customer = create_customer(agent)
    for index, api in enumerate((admin, supervisor, agent)):
        campaign = create_campaign(admin, f"C{index}")
        record = add_record(api, customer["id"], campaign["id"])
        url = f"{records_url(customer['id'])}/{record['id']}"
        assert api.get(url).status_code == 200
        assert (
            api.patch(url, json={"status": "in_progress"}, headers={"If-Match": '"1"'}).status_code
            == 200
        )
        assert api.post(f"{url}/call-again", json={"at": future().isoformat()}).status_code == 200
        assert api.delete(url).status_code == 204
    url = records_url(customer["id"])
    for response in (
        client.get(url),
        client.post(url, json={"campaign_id": 1}),
        client.patch(f"{url}/1", json={}, headers={"If-Match": '"1"'}),
        client.post(f"{url}/1/call-again", json={"at": future().isoformat()}),
        client.delete(f"{url}/1"),
    ):
        assert response.status_code == 401
