"""Errors are problem+json, never a 500 for bad input."""

from __future__ import annotations

from clientcard.web import forms


def test_malformed_json_is_422(agent):
    response = agent.post(
        "/api/v1/customers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"]


def test_wrong_body_type_is_422(agent):
    response = agent.post("/api/v1/customers", json=["a", "list"])
    assert response.status_code == 422


def test_non_integer_path_id_is_422_naming_it(agent):
    response = agent.get("/api/v1/customers/abc")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "customer_id"


def test_unknown_route_and_method_are_problems(agent):
    missing = agent.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong = agent.client.put(
        "/api/v1/customers", headers={"Authorization": f"Bearer {agent.token}"}
    )
    assert wrong.status_code == 405
    assert wrong.json()["status"] == 405


def test_huge_values_are_refused_not_truncated(agent):
    response = agent.post("/api/v1/customers", json={"first_name": "A" * 201})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "first_name"


def test_malformed_if_match_is_412(agent):
    created = agent.post("/api/v1/customers", json={"first_name": "Ana"}).json()
    response = agent.patch(
        f"/api/v1/customers/{created['id']}",
        json={"first_name": "B"},
        headers={"If-Match": "banana"},
    )
    assert response.status_code == 412
    assert agent.get(f"/api/v1/customers/{created['id']}").json()["first_name"] == "Ana"


TOO_BIG = 2**63  # one past the largest integer the databases store


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


def test_ids_too_large_for_the_database_are_422_naming_them(agent):
    customer = agent.post("/api/v1/customers", json={"first_name": "Ana"}).json()
    assert _fields(agent.get(f"/api/v1/customers/{TOO_BIG}")) == ["customer_id"]
    assert _fields(agent.get(f"/api/v1/cases/{-TOO_BIG - 1}")) == ["case_id"]
    assert _fields(agent.get("/api/v1/customers", params={"around": TOO_BIG})) == ["around"]
    assert _fields(agent.get(f"/api/v1/customers/{customer['id']}/accounts/{TOO_BIG}")) == [
        "account_id"
    ]
    assert _fields(agent.post("/api/v1/customers", json={"last_name": "B", "company_id": TOO_BIG}))
    patch = agent.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"assigned_to": TOO_BIG},
        headers={"If-Match": '"1"'},
    )
    assert _fields(patch) == ["assigned_to"]
    # A search for a long number is text, not an id: it is searched, not refused.
    assert agent.get("/api/v1/customers", params={"q": str(TOO_BIG)}).status_code == 200
    assert agent.get(f"/api/v1/customers/{customer['id']}").json()["version"] == 1


def test_ids_written_with_non_decimal_digits_are_422_not_500(agent):
    odd = "²" * 19  # digits to str.isdigit, not to int()
    assert _fields(agent.get(f"/api/v1/customers/{odd}")) == ["customer_id"]
    assert _fields(agent.get("/api/v1/customers", params={"around": odd})) == ["around"]


def test_a_page_form_integer_with_non_decimal_digits_is_left_to_the_schema():
    form = {"other_id": "²³", "position": "٣"}  # superscripts; an Arabic-Indic three
    assert forms.integer(form, "other_id") == "²³"  # not a number: the schema names it
    assert forms.integer(form, "position") == 3


def test_a_batch_item_with_a_too_large_id_fails_alone(agent):
    item = {
        "source": "pbx",
        "channel": "voice",
        "direction": "inbound",
        "from": "+48601234567",
        "started_at": "2026-11-30T10:00:00Z",
    }
    response = agent.post(
        "/api/v1/interactions/batch",
        json={
            "items": [
                {**item, "external_id": "a", "customer_id": TOO_BIG},
                {**item, "external_id": "b"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    first, second = response.json()["items"]
    assert first["result"] == "error"
    assert [e["field"] for e in first["errors"]] == ["customer_id"]
    assert second["result"] == "created"
