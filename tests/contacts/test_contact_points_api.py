"""Contact points: normalization, duplicates, primary per type, versions, history."""

from __future__ import annotations

import pytest

from tests.conftest import create_customer


def points_url(customer):
    return f"/api/v1/customers/{customer['id']}/contact-points"


def add(api, customer, **body):
    return api.post(points_url(customer), json=body)


def test_phone_is_stored_as_given_and_in_e164(agent):
    customer = create_customer(agent)
    response = add(agent, customer, type="mobile", value="601 234 567", region="PL")
    assert response.status_code == 201, response.text
    point = response.json()
    assert (point["value"], point["normalized"]) == ("601 234 567", "+48601234567")
    assert point["primary"] is True and point["label"] == "other"
    assert "region" not in point


def test_default_region_reads_national_numbers(agent):
    customer = create_customer(agent)
    point = add(agent, customer, type="phone", value="22 123 45 67").json()
    assert point["normalized"] == "+48221234567"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "phone", "value": "12"}, "value"),
        ({"type": "mobile", "value": "not a number"}, "value"),
        ({"type": "phone", "value": "601 234 567", "region": "XX"}, "region"),
        ({"type": "email", "value": "ana@"}, "value"),
        ({"type": "email", "value": "ana at example.com"}, "value"),
        ({"type": "email"}, "value"),
        ({"type": "fax", "value": "1"}, "type"),
        ({"type": "email", "value": "a@b.com", "label": "secret"}, "label"),
        ({"type": "social", "value": "@ana"}, "network"),
        ({"type": "email", "value": "a@b.com", "city": "Madrid"}, "city"),
        ({"type": "address"}, "value"),
        ({"type": "address", "city": "Madrid", "country": "QQ"}, "country"),
        ({"type": "email", "value": "a@b.com", "region": "PL"}, "region"),
    ],
)
def test_invalid_contact_point_is_422_naming_the_field(agent, body, field):
    customer = create_customer(agent)
    response = add(agent, customer, **body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert agent.get(points_url(customer)).json()["items"] == []


def test_invalid_point_in_a_create_names_its_position_and_creates_nothing(agent):
    response = agent.post(
        "/api/v1/customers",
        json={
            "first_name": "Ana",
            "contact_points": [
                {"type": "email", "value": "ok@example.com"},
                {"type": "phone", "value": "123"},
            ],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contact_points.1.value"
    assert agent.get("/api/v1/customers").json()["items"] == []


def test_the_same_point_twice_is_409(agent):
    customer = create_customer(agent)
    assert add(agent, customer, type="mobile", value="601 234 567").status_code == 201
    again = add(agent, customer, type="mobile", value="+48 601-234-567")
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "value"
    assert add(agent, customer, type="email", value="ana@example.com").status_code == 201
    assert add(agent, customer, type="email", value="ANA@example.com").status_code == 409
    assert len(agent.get(points_url(customer)).json()["items"]) == 2


def test_the_same_point_twice_in_one_create_is_409_and_creates_nothing(agent):
    response = agent.post(
        "/api/v1/customers",
        json={
            "first_name": "Ana",
            "contact_points": [
                {"type": "email", "value": "a@example.com"},
                {"type": "email", "value": "A@example.com"},
            ],
        },
    )
    assert response.status_code == 409
    assert agent.get("/api/v1/customers").json()["items"] == []


def test_two_customers_may_share_a_number(agent):
    first, second = create_customer(agent), create_customer(agent, first_name="Piotr")
    assert add(agent, first, type="phone", value="221234567").status_code == 201
    assert add(agent, second, type="phone", value="221234567").status_code == 201


def test_one_primary_per_type(agent):
    customer = create_customer(agent)
    first = add(agent, customer, type="email", value="one@example.com").json()
    second = add(agent, customer, type="email", value="two@example.com", primary=True).json()
    phone = add(agent, customer, type="phone", value="221234567").json()
    points = {p["id"]: p for p in agent.get(points_url(customer)).json()["items"]}
    assert points[first["id"]]["primary"] is False
    assert points[second["id"]]["primary"] is True
    assert points[phone["id"]]["primary"] is True

    gone = agent.delete(f"{points_url(customer)}/{second['id']}")
    assert gone.status_code == 204
    points = {p["id"]: p for p in agent.get(points_url(customer)).json()["items"]}
    assert points[first["id"]]["primary"] is True
    card = agent.get(f"/api/v1/customers/{customer['id']}").json()
    assert "one@example.com" in card["avatar_url"] or card["avatar_url"]


def test_unsetting_primary_promotes_another_point(agent):
    customer = create_customer(agent)
    first = add(agent, customer, type="email", value="one@example.com").json()
    second = add(agent, customer, type="email", value="two@example.com").json()
    response = agent.patch(
        f"{points_url(customer)}/{first['id']}",
        json={"primary": False},
        headers={"If-Match": f'"{first["version"]}"'},
    )
    assert response.status_code == 200
    points = {p["id"]: p["primary"] for p in agent.get(points_url(customer)).json()["items"]}
    assert points == {first["id"]: False, second["id"]: True}


def test_update_renormalizes_and_checks_versions(agent):
    customer = create_customer(agent)
    point = add(agent, customer, type="phone", value="221234567").json()
    url = f"{points_url(customer)}/{point['id']}"
    updated = agent.patch(
        url,
        json={"value": "612 345 678", "region": "ES", "label": "work"},
        headers={"If-Match": '"1"'},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["normalized"] == "+34612345678"
    assert updated.json()["label"] == "work" and updated.json()["version"] == 2
    stale = agent.patch(url, json={"label": "home"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert agent.patch(url, json={"label": "home"}).status_code == 428
    invalid = agent.patch(url, json={"value": "999"}, headers={"If-Match": '"2"'})
    assert invalid.status_code == 422
    assert agent.get(points_url(customer)).json()["items"][0]["normalized"] == "+34612345678"


def test_update_into_a_duplicate_is_409(agent):
    customer = create_customer(agent)
    add(agent, customer, type="email", value="one@example.com")
    second = add(agent, customer, type="email", value="two@example.com").json()
    response = agent.patch(
        f"{points_url(customer)}/{second['id']}",
        json={"value": "ONE@example.com"},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 409


def test_contact_point_changes_make_a_new_card_version(agent):
    customer = create_customer(agent)
    add(agent, customer, type="email", value="one@example.com")
    card = agent.get(f"/api/v1/customers/{customer['id']}")
    assert card.json()["version"] == 2 and card.headers["ETag"] == '"2"'


def test_address_and_social_profile(agent):
    customer = create_customer(agent)
    address = add(
        agent,
        customer,
        type="address",
        street="Calle de Alcalá 10",
        postal_code="28014",
        city="Madrid",
        country="es",
        label="home",
    ).json()
    assert address["value"] == "Calle de Alcalá 10, 28014, Madrid, ES"
    assert address["country"] == "ES"
    assert address["normalized"] == "calle de alcala 10 28014 madrid es"
    social = add(agent, customer, type="social", network="Instagram", value="@Ana.K").json()
    assert (social["network"], social["normalized"]) == ("instagram", "instagram:ana.k")
    web = add(agent, customer, type="web", value="visitor-8f2a").json()
    assert web["normalized"] == "visitor-8f2a"


def test_contact_points_of_unknown_or_deleted_customer_are_404(admin, agent):
    assert agent.get("/api/v1/customers/999/contact-points").status_code == 404
    customer = create_customer(agent)
    admin.delete(f"/api/v1/customers/{customer['id']}")
    assert add(agent, customer, type="email", value="a@example.com").status_code == 404
    assert agent.delete(f"{points_url(customer)}/1").status_code == 404
