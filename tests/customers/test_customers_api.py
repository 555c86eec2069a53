"""Customers over the REST API: create, read, update, delete, restore, validation."""

from __future__ import annotations

import pytest

from tests.conftest import create_customer


def test_create_returns_the_card_with_audit_fields_and_etag(agent):
    response = agent.post(
        "/api/v1/customers",
        json={
            "first_name": "Lucía",
            "last_name": "García Pérez",
            "identification_type": "DNI",
            "identification_number": "12345678-z",
            "gender": "female",
            "birth_date": "1985-04-12",
            "language": "es",
            "tags": ["loyal", " loyal ", "newsletter"],
            "note": "Prefers e-mail",
            "vip": True,
            "contact_points": [
                {"type": "email", "value": "Lucia.Garcia@Example.COM", "label": "work"},
                {"type": "mobile", "value": "612 345 678", "region": "ES"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/customers/{body['id']}"
    assert body["kind"] == "person"
    assert body["identification_type"] == "dni"
    assert body["identification_number"] == "12345678Z"
    assert body["tags"] == ["loyal", "newsletter"]
    assert body["vip"] is True and body["hidden"] is False
    assert body["version"] == 1
    assert body["created_by"] == body["updated_by"] == "ana"
    assert body["created_at"].endswith("Z") or "+00:00" in body["created_at"]
    assert body["last_interaction_at"] is None
    email, mobile = body["contact_points"]
    assert email["normalized"] == "lucia.garcia@example.com"
    assert email["value"] == "Lucia.Garcia@Example.COM"
    assert email["primary"] is True
    assert mobile["normalized"] == "+34612345678"
    assert body["avatar_url"].startswith("https://www.gravatar.com/avatar/")


def test_avatar_follows_the_primary_email(agent):
    import hashlib

    body = create_customer(agent, contact_points=[{"type": "email", "value": "Ana@Example.com"}])
    digest = hashlib.sha256(b"ana@example.com").hexdigest()
    assert digest in body["avatar_url"]
    assert create_customer(agent, last_name="Nowak")["avatar_url"] is None


def test_company_and_its_people(agent):
    company = create_customer(
        agent, kind="company", company_name="Acme Hardware Inc.", first_name=None, last_name=None
    )
    person = create_customer(agent, company_id=company["id"])
    assert person["company_id"] == company["id"]
    people = agent.get("/api/v1/customers", params={"company_id": company["id"]}).json()
    assert [p["id"] for p in people["items"]] == [person["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "company", "first_name": "Ana"}, "company_name"),
        ({"first_name": None, "last_name": None}, "first_name"),
        ({"identification_type": "dni"}, "identification_number"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"birth_date": "not-a-date"}, "birth_date"),
        ({"gender": "robot"}, "gender"),
        ({"language": "Spanish!"}, "language"),
        ({"tags": ["ok", ""]}, "tags.1"),
        ({"vip": "very"}, "vip"),
        ({"kind": "alien"}, "kind"),
        ({"company_id": 999999}, "company_id"),
    ],
)
def test_invalid_profile_is_422_naming_the_field(agent, body, field):
    response = agent.post("/api/v1/customers", json={"first_name": "Ana", **body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]
    assert agent.get("/api/v1/customers").json()["items"] == []


def test_a_person_cannot_belong_to_a_person(agent):
    person = create_customer(agent)
    response = agent.post(
        "/api/v1/customers", json={"first_name": "Jo", "company_id": person["id"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "company_id"


@pytest.mark.parametrize("field", ["id", "version", "created_at", "updated_by", "avatar_url"])
def test_read_only_fields_are_refused_by_name(agent, field):
    response = agent.post("/api/v1/customers", json={"first_name": "Ana", field: 7})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": field, "message": "is read-only"}]


def test_unknown_fields_are_refused_on_create_and_update(agent):
    response = agent.post("/api/v1/customers", json={"first_name": "Ana", "nickname": "A"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "nickname", "message": "is not a known field"}]
    customer = create_customer(agent)
    response = agent.patch(
        f"/api/v1/customers/{customer['id']}", json={"version": 5}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0] == {"field": "version", "message": "is read-only"}
    assert agent.get(f"/api/v1/customers/{customer['id']}").json()["version"] == 1


def test_identification_is_unique_per_type(agent):
    create_customer(agent, identification_type="dni", identification_number="12345678Z")
    response = agent.post(
        "/api/v1/customers",
        json={
            "first_name": "Otro",
            "identification_type": "dni",
            "identification_number": "12345678z",
        },
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "identification_number"
    other_type = agent.post(
        "/api/v1/customers",
        json={
            "first_name": "Otro",
            "identification_type": "passport",
            "identification_number": "12345678Z",
        },
    )
    assert other_type.status_code == 201


def test_patch_changes_only_what_is_sent_and_bumps_the_version(agent):
    customer = create_customer(agent, note="keep me", vip=False)
    response = agent.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"first_name": "Anna", "vip": True, "birth_date": None},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["first_name"] == "Anna" and body["vip"] is True and body["note"] == "keep me"
    assert body["version"] == 2 and response.headers["ETag"] == '"2"'
    assert body["updated_by"] == "ana"


def test_patch_needs_if_match(agent):
    customer = create_customer(agent)
    response = agent.patch(f"/api/v1/customers/{customer['id']}", json={"first_name": "X"})
    assert response.status_code == 428
    assert response.json()["errors"][0]["field"] == "If-Match"
    assert agent.get(f"/api/v1/customers/{customer['id']}").json()["first_name"] == "Ana"


def test_second_patch_with_the_same_version_gets_412_and_writes_nothing(agent, other_agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}"
    first = agent.patch(url, json={"first_name": "Anna"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200
    second = other_agent.patch(
        url, json={"last_name": "Nowak", "note": "x"}, headers={"If-Match": '"1"'}
    )
    assert second.status_code == 412
    assert second.json()["current_version"] == 2
    stored = agent.get(url).json()
    assert (stored["first_name"], stored["last_name"], stored["note"]) == ("Anna", "Kowalska", None)
    history = agent.get(f"{url}/history").json()["items"]
    assert [e["action"] for e in history] == ["customer.updated", "customer.created"]


def test_null_is_refused_for_fields_that_cannot_be_empty(agent):
    customer = create_customer(agent)
    response = agent.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"vip": None, "tags": None},
        headers={"If-Match": "1"},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"vip", "tags"}


def test_patch_that_breaks_a_rule_writes_nothing(agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}"
    response = agent.patch(
        url,
        json={"first_name": None, "last_name": None, "note": "lost?"},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 422
    stored = agent.get(url).json()
    assert stored["note"] is None and stored["version"] == 1
    assert len(agent.get(f"{url}/history").json()["items"]) == 1


def test_a_person_with_a_contact_point_may_go_without_a_name(agent):
    customer = create_customer(agent, contact_points=[{"type": "email", "value": "a@b.es"}])
    response = agent.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"first_name": None, "last_name": None},
        headers={"If-Match": f'"{customer["version"]}"'},
    )
    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["last_name"]) == (None, None)


def test_unknown_customer_is_404_problem(agent):
    response = agent.get("/api/v1/customers/424242")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "424242" in response.json()["detail"]


def test_delete_and_restore(admin, supervisor, agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}"
    assert agent.delete(url).status_code == 403
    assert supervisor.delete(url).status_code == 204
    assert agent.get(url).status_code == 404
    assert agent.get("/api/v1/customers").json()["items"] == []
    assert supervisor.delete(url).status_code == 404

    deleted = admin.get(url)
    assert deleted.status_code == 200 and deleted.json()["deleted_by"] == "sam-supervisor"
    assert [c["id"] for c in admin.get("/api/v1/customers?deleted=true").json()["items"]] == [
        customer["id"]
    ]
    assert agent.get("/api/v1/customers?deleted=true").status_code == 403

    assert agent.post(f"{url}/restore").status_code == 403
    assert supervisor.post(f"{url}/restore").status_code == 403
    restored = admin.post(f"{url}/restore")
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert agent.get(url).status_code == 200
    assert admin.post(f"{url}/restore").status_code == 404


def test_delete_honours_if_match(supervisor, agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}"
    assert supervisor.delete(url, headers={"If-Match": '"7"'}).status_code == 412
    assert agent.get(url).status_code == 200


def test_restore_is_refused_when_the_identification_was_reused(admin, agent):
    first = create_customer(agent, identification_type="dni", identification_number="11111111H")
    assert admin.delete(f"/api/v1/customers/{first['id']}").status_code == 204
    create_customer(agent, identification_type="dni", identification_number="11111111H")
    response = admin.post(f"/api/v1/customers/{first['id']}/restore")
    assert response.status_code == 409
    assert admin.get(f"/api/v1/customers/{first['id']}").json()["deleted_at"] is not None


def test_hidden_customers_are_left_out_of_lists_unless_asked(agent):
    hidden = create_customer(agent, last_name="Oculto", hidden=True)
    visible = create_customer(agent, last_name="Visible")
    assert [c["id"] for c in agent.get("/api/v1/customers").json()["items"]] == [visible["id"]]
    listed = agent.get("/api/v1/customers?include_hidden=true").json()["items"]
    assert {c["id"] for c in listed} == {hidden["id"], visible["id"]}
    assert agent.get(f"/api/v1/customers/{hidden['id']}").status_code == 200
