"""Helpers for the custom field tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from clientcard.audit.models import AuditEntry
from clientcard.db import Database


def define(api, key: str, type: str = "text", **fields: Any) -> dict[str, Any]:
    response = api.post(
        "/api/v1/custom-fields", json={"key": key, "label": key, "type": type, **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


def define_group(api, key: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/custom-field-groups", json={"key": key, "label": key, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def history(api, customer_id: int) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/customers/{customer_id}/history")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def definition_entries(db: Database, entity: str) -> list[AuditEntry]:
    """The history entries about definitions (they carry no customer), oldest first."""
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
            )
        )


def field_names(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]
