"""Errors are problem+json, never a 500 for bad input."""

from __future__ import annotations


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
