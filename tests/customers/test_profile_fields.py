"""Owner (P4), lead status (P5), rating (P6), lead source (P9), previous/next (P11)."""

from __future__ import annotations

import pytest

from tests.conftest import create_customer


def patch(api, customer, **body):
    current = api.get(f"/api/v1/customers/{customer['id']}").json()
    return api.patch(
        f"/api/v1/customers/{customer['id']}",
        json=body,
        headers={"If-Match": f'"{current["version"]}"'},
    )


def test_anyone_sets_an_owner_on_an_unowned_card(agent):
    customer = create_customer(agent)
    response = patch(agent, customer, assigned_to=agent.user_id)
    assert response.status_code == 200 and response.json()["assigned_to"] == agent.user_id


def test_only_the_owner_or_an_admin_changes_the_owner(admin, agent, other_agent):
    customer = create_customer(agent, assigned_to=agent.user_id)
    url = f"/api/v1/customers/{customer['id']}"
    refused = patch(other_agent, customer, assigned_to=other_agent.user_id)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "assigned_to"
    assert patch(other_agent, customer, assigned_to=None).status_code == 403
    assert agent.get(url).json()["assigned_to"] == agent.user_id

    assert patch(agent, customer, assigned_to=other_agent.user_id).status_code == 200
    assert patch(admin, customer, assigned_to=None).status_code == 200
    assert agent.get(url).json()["assigned_to"] is None
    owner_changes = [
        e["changes"]["assigned_to"]
        for e in agent.get(f"{url}/history").json()["items"]
        if "assigned_to" in e["changes"]
    ]
    assert owner_changes == [
        {"before": other_agent.user_id, "after": None},
        {"before": agent.user_id, "after": other_agent.user_id},
        {"before": None, "after": agent.user_id},
    ]


def test_owner_must_be_an_active_user(admin, agent, other_agent):
    customer = create_customer(agent)
    assert patch(agent, customer, assigned_to=999999).status_code == 422
    admin.patch(f"/api/v1/users/{other_agent.user_id}", json={"active": False})
    response = patch(agent, customer, assigned_to=other_agent.user_id)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "assigned_to"


def test_other_fields_stay_editable_by_anyone_on_an_owned_card(agent, other_agent):
    customer = create_customer(agent, assigned_to=agent.user_id)
    response = patch(other_agent, customer, note="called back", assigned_to=agent.user_id)
    assert response.status_code == 200 and response.json()["note"] == "called back"


def test_lead_status_and_rating(agent):
    customer = create_customer(agent, lead_status="new", rating=3)
    assert (customer["lead_status"], customer["rating"]) == ("new", 3)
    assert patch(agent, customer, lead_status="sale").json()["lead_status"] == "sale"
    bad = patch(agent, customer, lead_status="maybe")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lead_status"
    for rating in (-1, 6, 2.5):
        assert patch(agent, customer, rating=rating).status_code == 422
    assert patch(agent, customer, rating=0).json()["rating"] == 0
    assert patch(agent, customer, rating=None).json()["rating"] is None


def test_retired_status_cannot_be_given(admin, agent):
    assert admin.patch("/api/v1/lead-statuses/no_sale", json={"active": False}).status_code == 200
    customer = create_customer(agent)
    assert patch(agent, customer, lead_status="no_sale").status_code == 422
    assert agent.patch("/api/v1/lead-statuses/sale", json={"active": False}).status_code == 403


def test_lead_statuses_are_configurable(admin, agent):
    keys = [s["key"] for s in agent.get("/api/v1/lead-statuses").json()["items"]]
    assert keys == ["new", "in_progress", "sale", "no_sale"]
    created = admin.post(
        "/api/v1/lead-statuses", json={"key": "callback", "label": "Call back", "position": 5}
    )
    assert created.status_code == 201
    assert (
        admin.post("/api/v1/lead-statuses", json={"key": "callback", "label": "x"}).status_code
        == 409
    )
    assert agent.post("/api/v1/lead-statuses", json={"key": "x", "label": "x"}).status_code == 403
    customer = create_customer(agent, lead_status="callback")
    assert customer["lead_status"] == "callback"


def test_lead_source_is_readable_and_editable(agent):
    customer = create_customer(agent, lead_source={"entry_method": "form", "site": "shop.es"})
    assert customer["lead_source"] == {"entry_method": "form", "site": "shop.es"}
    updated = patch(agent, customer, lead_source={"entry_method": "form", "utm_campaign": "x"})
    assert updated.json()["lead_source"] == {"entry_method": "form", "utm_campaign": "x"}
    assert patch(agent, customer, lead_source={"entry_method": "fax"}).status_code == 422


@pytest.mark.parametrize("sort", ["name", "-created_at"])
def test_previous_and_next_in_the_list_the_agent_came_from(agent, sort):
    ids = [
        create_customer(agent, first_name=n, last_name="Ruiz", vip=n != "Carla")["id"]
        for n in ("Ana", "Bea", "Carla", "Dora")
    ]
    listed = [
        c["id"]
        for c in agent.get("/api/v1/customers", params={"sort": sort, "vip": "true"}).json()[
            "items"
        ]
    ]
    assert len(listed) == 3
    middle = listed[1]
    body = agent.get(
        "/api/v1/customers", params={"sort": sort, "vip": "true", "around": middle, "limit": 1}
    ).json()
    assert (body["previous_id"], body["next_id"]) == (listed[0], listed[2])
    first = agent.get(
        "/api/v1/customers", params={"sort": sort, "vip": "true", "around": listed[0]}
    ).json()
    assert first["previous_id"] is None and first["next_id"] == listed[1]
    outside = agent.get(
        "/api/v1/customers", params={"sort": sort, "vip": "true", "around": ids[2]}
    ).json()
    assert (outside["previous_id"], outside["next_id"]) == (None, None)


def test_a_company_lists_the_cases_of_its_people(agent):
    company = create_customer(
        agent, kind="company", company_name="Acme", first_name=None, last_name=None
    )
    person = create_customer(agent, company_id=company["id"])
    outsider = create_customer(agent, first_name="Other")
    own = agent.post(f"/api/v1/customers/{company['id']}/cases", json={"subject": "Invoice"})
    theirs = agent.post(f"/api/v1/customers/{person['id']}/cases", json={"subject": "Router"})
    agent.post(f"/api/v1/customers/{outsider['id']}/cases", json={"subject": "Unrelated"})
    listed = agent.get(f"/api/v1/customers/{company['id']}/cases").json()["items"]
    assert {c["id"] for c in listed} == {own.json()["id"], theirs.json()["id"]}
    person_cases = agent.get(f"/api/v1/customers/{person['id']}/cases").json()["items"]
    assert [c["id"] for c in person_cases] == [theirs.json()["id"]]
