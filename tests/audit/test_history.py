"""The change history: every change, exact before/after, nothing for a failed write."""

from __future__ import annotations

from tests.conftest import create_customer


def history(api, customer_id, **params):
    response = api.get(f"/api/v1/customers/{customer_id}/history", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_creation_is_recorded_with_every_value(agent):
    customer = create_customer(
        agent, vip=True, tags=["b2b"], contact_points=[{"type": "mobile", "value": "601 234 567"}]
    )
    entries = history(agent, customer["id"])
    assert [e["action"] for e in entries] == ["contact_point.created", "customer.created"]
    point_entry, customer_entry = entries
    assert customer_entry["actor"] == "ana"
    assert customer_entry["entity"] == "customer"
    assert customer_entry["entity_id"] == customer["id"]
    assert customer_entry["changes"]["last_name"] == {"before": None, "after": "Kowalska"}
    assert customer_entry["changes"]["vip"] == {"before": None, "after": True}
    assert customer_entry["changes"]["tags"] == {"before": None, "after": ["b2b"]}
    assert point_entry["entity"] == "contact_point"
    assert point_entry["changes"]["normalized"] == {"before": None, "after": "+48601234567"}
    assert point_entry["changes"]["primary"] == {"before": None, "after": True}


def test_update_records_exactly_the_fields_that_changed(agent):
    customer = create_customer(agent, note="old note")
    agent.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"note": "new note", "first_name": "Ana", "birth_date": "1990-02-03"},
        headers={"If-Match": '"1"'},
    )
    latest = history(agent, customer["id"])[0]
    assert latest["action"] == "customer.updated"
    assert latest["changes"] == {
        "birth_date": {"before": None, "after": "1990-02-03"},
        "note": {"before": "old note", "after": "new note"},
    }


def test_an_update_that_changes_nothing_records_nothing(agent):
    customer = create_customer(agent)
    response = agent.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"first_name": "Ana"},
        headers={"If-Match": '"1"'},
    )
    assert response.json()["version"] == 1
    assert len(history(agent, customer["id"])) == 1


def test_contact_point_update_and_delete_are_recorded(agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}/contact-points"
    point = agent.post(url, json={"type": "email", "value": "a@example.com"}).json()
    agent.patch(
        f"{url}/{point['id']}",
        json={"value": "b@example.com", "label": "work"},
        headers={"If-Match": '"1"'},
    )
    agent.delete(f"{url}/{point['id']}")
    deleted, updated, created, _ = history(agent, customer["id"])
    assert created["action"] == "contact_point.created"
    assert updated["action"] == "contact_point.updated"
    assert updated["changes"] == {
        "label": {"before": "other", "after": "work"},
        "normalized": {"before": "a@example.com", "after": "b@example.com"},
        "value": {"before": "a@example.com", "after": "b@example.com"},
    }
    assert deleted["action"] == "contact_point.deleted"
    assert deleted["entity_id"] == point["id"]
    assert deleted["changes"]["value"] == {"before": "b@example.com", "after": None}


def test_primary_moving_to_another_point_is_recorded_on_both(agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}/contact-points"
    first = agent.post(url, json={"type": "email", "value": "a@example.com"}).json()
    agent.post(url, json={"type": "email", "value": "b@example.com", "primary": True})
    entries = history(agent, customer["id"])
    moved = [e for e in entries if e["action"] == "contact_point.updated"]
    assert moved == [
        {
            **moved[0],
            "entity_id": first["id"],
            "changes": {"primary": {"before": True, "after": False}},
        }
    ]
    assert entries[0]["changes"]["primary"] == {"before": None, "after": True}


def test_delete_and_restore_are_recorded(admin, agent):
    customer = create_customer(agent)
    admin.delete(f"/api/v1/customers/{customer['id']}")
    admin.post(f"/api/v1/customers/{customer['id']}/restore")
    restored, deleted, _ = history(admin, customer["id"])
    assert deleted["action"] == "customer.deleted" and deleted["actor"] == "root-admin"
    assert deleted["changes"]["deleted_at"]["before"] is None
    assert deleted["changes"]["deleted_at"]["after"] is not None
    assert restored["action"] == "customer.restored"
    assert restored["changes"]["deleted_at"] == {
        "before": deleted["changes"]["deleted_at"]["after"],
        "after": None,
    }


def test_failed_writes_leave_no_entry(agent, other_agent):
    customer = create_customer(agent, identification_type="dni", identification_number="1X")
    url = f"/api/v1/customers/{customer['id']}"
    points = f"{url}/contact-points"
    agent.post(points, json={"type": "email", "value": "a@example.com"})
    before = history(agent, customer["id"])
    failures = [
        agent.patch(url, json={"first_name": "B"}, headers={"If-Match": '"99"'}),
        agent.patch(
            url, json={"note": "x", "birth_date": "2999-01-01"}, headers={"If-Match": '"2"'}
        ),
        agent.post(points, json={"type": "email", "value": "A@example.com"}),
        agent.post(points, json={"type": "phone", "value": "1"}),
        other_agent.delete(url),
        agent.post(
            "/api/v1/customers",
            json={"first_name": "Dup", "identification_type": "dni", "identification_number": "1x"},
        ),
    ]
    assert [r.status_code for r in failures] == [412, 422, 409, 422, 403, 409]
    assert history(agent, customer["id"]) == before
    assert len(agent.get("/api/v1/customers").json()["items"]) == 1


def test_history_pages_newest_first(agent):
    customer = create_customer(agent)
    for version in range(1, 6):
        agent.patch(
            f"/api/v1/customers/{customer['id']}",
            json={"note": f"n{version}"},
            headers={"If-Match": f'"{version}"'},
        )
    first = agent.get(f"/api/v1/customers/{customer['id']}/history?limit=4").json()
    second = agent.get(
        f"/api/v1/customers/{customer['id']}/history",
        params={"limit": 4, "cursor": first["next_cursor"]},
    ).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    assert second["next_cursor"] is None
    assert first["items"][0]["changes"]["note"] == {"before": "n4", "after": "n5"}


def test_history_of_unknown_customer_is_404(agent):
    assert agent.get("/api/v1/customers/4040/history").status_code == 404
