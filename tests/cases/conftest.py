"""Helpers for the case tests."""

from __future__ import annotations

from typing import Any


def create_case(api, customer_id: int, **fields: Any) -> dict[str, Any]:
    body = {"subject": "Router does not start", **fields}
    response = api.post(f"/api/v1/customers/{customer_id}/cases", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def history(api, customer_id: int) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/customers/{customer_id}/history")
    assert response.status_code == 200, response.text
    return response.json()["items"]
