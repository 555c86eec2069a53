"""Campaigns over the REST API: CRUD by administrators, unique names, agent membership."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from clientcard.audit.models import AuditEntry


def create_campaign(api, **fields):
    body = {"name": "Inbound support", "direction": "inbound", **fields}
    response = api.post("/api/v1/campaigns", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def put(api, url, *, json, headers=None):
    """The shared test client has no PUT helper; send one with the user's token."""
    return api.client.put(
        url, json=json, headers={"Authorization": f"Bearer {api.token}", **(headers or {})}
    )


def campaign_entries(db, campaign_id):
    """Campaign entries have no customer, so they are read from the table."""
    with db.read() as session:
        return [
            SimpleNamespace(action=e.action, customer_id=e.customer_id, changes=e.changes)
            for e in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "campaign", AuditEntry.entity_id == campaign_id)
                .order_by(AuditEntry.id)
            )
        ]


def test_admin_creates_and_everyone_reads(db, admin, agent):
    response = admin.post(
        "/api/v1/campaigns",
        json={
            "name": " Winter sale ",
            "direction": "outbound",
            "description": "Call lapsed customers",
            "settings": {"external_view": ["case"], "write_to_third_parties": False},
        },
    )
    assert response.status_code == 201, response.text
    campaign = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/campaigns/{campaign['id']}"
    assert campaign["name"] == "Winter sale"
    assert campaign["active"] is True and campaign["agents"] == []
    assert campaign["settings"] == {"external_view": ["case"], "write_to_third_parties": False}
    assert campaign["created_by"] == campaign["updated_by"] == "root-admin"
    assert agent.get(f"/api/v1/campaigns/{campaign['id']}").json() == campaign
    assert [c["id"] for c in agent.get("/api/v1/campaigns").json()["items"]] == [campaign["id"]]
    (entry,) = campaign_entries(db, campaign["id"])
    assert entry.action == "campaign.created" and entry.customer_id is None
    assert entry.changes["name"] == {"before": None, "after": "Winter sale"}
    assert entry.changes["settings"]["after"] == campaign["settings"]


def test_list_is_by_name_and_filters_active(admin, agent):
    b = create_campaign(admin, name="B team")
    a = create_campaign(admin, name="A team", active=False)
    assert [c["id"] for c in agent.get("/api/v1/campaigns").json()["items"]] == [a["id"], b["id"]]
    active = agent.get("/api/v1/campaigns", params={"active": True}).json()["items"]
    assert [c["id"] for c in active] == [b["id"]]


def test_only_admins_manage_campaigns(admin, supervisor, agent):
    campaign = create_campaign(admin)
    url = f"/api/v1/campaigns/{campaign['id']}"
    for api in (supervisor, agent):
        assert (
            api.post("/api/v1/campaigns", json={"name": "x", "direction": "inbound"}).status_code
            == 403
        )
        assert (
            api.patch(url, json={"active": False}, headers={"If-Match": '"1"'}).status_code == 403
        )
        assert put(api, url + "/agents", json={"user_ids": []}).status_code == 403
    assert agent.get(url).json()["version"] == 1


def test_names_are_unique(admin):
    create_campaign(admin, name="Retention")
    duplicate = admin.post("/api/v1/campaigns", json={"name": "Retention", "direction": "outbound"})
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "name"
    other = create_campaign(admin, name="Other")
    renamed = admin.patch(
        f"/api/v1/campaigns/{other['id']}", json={"name": "Retention"}, headers={"If-Match": '"1"'}
    )
    assert renamed.status_code == 409
    assert admin.get(f"/api/v1/campaigns/{other['id']}").json()["name"] == "Other"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"name": ""}, "name"),
        ({"settings": ["not", "an", "object"]}, "settings"),
        ({"id": 4}, "id"),
        ({"agents": [1]}, "agents"),
        ({"version": 2}, "version"),
    ],
)
def test_invalid_campaign_is_422_naming_the_field(admin, body, field):
    response = admin.post(
        "/api/v1/campaigns", json={"name": "Support", "direction": "inbound", **body}
    )
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert admin.get("/api/v1/campaigns").json()["items"] == []


def test_patch_with_if_match_and_exact_history(db, admin):
    campaign = create_campaign(admin, settings={"a": 1})
    url = f"/api/v1/campaigns/{campaign['id']}"
    assert admin.patch(url, json={"active": False}).status_code == 428
    response = admin.patch(
        url,
        json={"active": False, "settings": {"a": 2}, "name": campaign["name"]},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["active"] is False and response.json()["settings"] == {"a": 2}
    stale = admin.patch(url, json={"description": "late"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert admin.get(url).json()["description"] is None
    assert (
        admin.patch(url, json={"direction": None}, headers={"If-Match": '"2"'}).status_code == 422
    )
    _created, updated = campaign_entries(db, campaign["id"])
    assert updated.action == "campaign.updated" and updated.customer_id is None
    assert updated.changes == {
        "active": {"before": True, "after": False},
        "settings": {"before": {"a": 1}, "after": {"a": 2}},
    }
    assert admin.get("/api/v1/campaigns/424242").status_code == 404


def test_agents_membership(db, admin, agent, other_agent, supervisor):
    campaign = create_campaign(admin)
    url = f"/api/v1/campaigns/{campaign['id']}/agents"
    response = put(
        admin, url, json={"user_ids": [other_agent.user_id, agent.user_id, agent.user_id]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["agents"] == sorted([agent.user_id, other_agent.user_id])
    assert response.json()["version"] == 2
    assert agent.get(f"/api/v1/campaigns/{campaign['id']}").json()["agents"] == sorted(
        [agent.user_id, other_agent.user_id]
    )

    unknown = put(admin, url, json={"user_ids": [agent.user_id, 987654]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "user_ids.1", "message": "user 987654 does not exist"}
    ]

    replaced = put(
        admin,
        url,
        json={"user_ids": [supervisor.user_id, agent.user_id]},
        headers={"If-Match": '"2"'},
    )
    assert replaced.json()["agents"] == sorted([supervisor.user_id, agent.user_id])
    stale = put(admin, url, json={"user_ids": []}, headers={"If-Match": '"2"'})
    assert stale.status_code == 412
    same = put(admin, url, json={"user_ids": [agent.user_id, supervisor.user_id]})
    assert same.json()["version"] == 3

    entries = campaign_entries(db, campaign["id"])
    assert [e.action for e in entries] == [
        "campaign.created",
        "campaign.updated",
        "campaign.updated",
    ]
    assert entries[2].changes == {
        "agents": {
            "before": sorted([agent.user_id, other_agent.user_id]),
            "after": sorted([supervisor.user_id, agent.user_id]),
        }
    }
    assert put(admin, "/api/v1/campaigns/424242/agents", json={"user_ids": []}).status_code == 404
