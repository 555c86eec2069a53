"""Custom field and group definitions over the REST API: administrators only, rules, history."""

from __future__ import annotations

import pytest

from tests.custom_fields.conftest import define, define_group, definition_entries, field_names


def test_admin_defines_a_field_everyone_reads_it(admin, agent, db):
    response = admin.post(
        "/api/v1/custom-fields",
        json={
            "key": "tier",
            "label": " Tier ",
            "type": "choice",
            "options": ["gold", "silver"],
            "required": True,
            "position": 3,
        },
    )
    assert response.status_code == 201, response.text
    field = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/custom-fields/{field['id']}"
    assert {k: field[k] for k in ("key", "group", "label", "type", "options", "required")} == {
        "key": "tier",
        "group": None,
        "label": "Tier",
        "type": "choice",
        "options": ["gold", "silver"],
        "required": True,
    }
    assert (field["position"], field["active"], field["version"]) == (3, True, 1)
    listed = agent.get("/api/v1/custom-fields")
    assert listed.status_code == 200
    assert listed.json()["items"] == [field]
    assert agent.get(f"/api/v1/custom-fields/{field['id']}").json() == field

    (entry,) = definition_entries(db, "custom_field")
    assert (entry.action, entry.entity_id, entry.customer_id) == (
        "custom_field.created",
        field["id"],
        None,
    )
    assert entry.changes == {
        "key": {"before": None, "after": "tier"},
        "label": {"before": None, "after": "Tier"},
        "options": {"before": None, "after": ["gold", "silver"]},
        "position": {"before": None, "after": 3},
        "required": {"before": None, "after": True},
        "type": {"before": None, "after": "choice"},
        "active": {"before": None, "after": True},
    }


def test_only_administrators_manage_definitions(admin, supervisor, agent):
    field = define(admin, "note_x")
    define_group(admin, "orders")
    for user in (agent, supervisor):
        attempts = [
            user.post("/api/v1/custom-fields", json={"key": "a", "label": "A", "type": "text"}),
            user.patch(
                f"/api/v1/custom-fields/{field['id']}",
                json={"label": "B"},
                headers={"If-Match": '"1"'},
            ),
            user.delete(f"/api/v1/custom-fields/{field['id']}"),
            user.post("/api/v1/custom-field-groups", json={"key": "g", "label": "G"}),
            user.patch(
                "/api/v1/custom-field-groups/orders",
                json={"label": "B"},
                headers={"If-Match": '"1"'},
            ),
            user.delete("/api/v1/custom-field-groups/orders"),
        ]
        assert [r.status_code for r in attempts] == [403] * 6
        assert attempts[0].headers["content-type"].startswith("application/problem+json")
        assert user.get("/api/v1/custom-fields").status_code == 200
        assert user.get("/api/v1/custom-field-groups").status_code == 200
    assert admin.get(f"/api/v1/custom-fields/{field['id']}").json() == field


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"key": "Tier"}, ["key"]),
        ({"key": "1tier"}, ["key"]),
        ({"key": "a" * 51}, ["key"]),
        ({"type": "colour"}, ["type"]),
        ({"label": ""}, ["label"]),
        ({"type": "choice"}, ["options"]),
        ({"type": "multi_choice", "options": []}, ["options"]),
        ({"type": "choice", "options": ["a", "a"]}, ["options"]),
        ({"type": "choice", "options": ["a", " "]}, ["options.1"]),
        ({"type": "text", "options": ["a"]}, ["options"]),
        ({"group": "nosuchgroup"}, ["group"]),
        ({"version": 2}, ["version"]),
    ],
)
def test_an_invalid_definition_is_422_naming_the_field(admin, body, fields):
    response = admin.post(
        "/api/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text", **body}
    )
    assert response.status_code == 422, response.text
    assert field_names(response) == fields
    assert admin.get("/api/v1/custom-fields").json()["items"] == []


def test_keys_are_unique_within_their_group_and_stay_taken_after_deletion(admin):
    define_group(admin, "orders")
    field = define(admin, "product")
    assert define(admin, "product", group="orders")["group"] == "orders"
    again = admin.post(
        "/api/v1/custom-fields", json={"key": "product", "label": "P", "type": "text"}
    )
    assert again.status_code == 409 and field_names(again) == ["key"]
    in_group = admin.post(
        "/api/v1/custom-fields",
        json={"key": "product", "label": "P", "type": "number", "group": "orders"},
    )
    assert in_group.status_code == 409

    assert admin.delete(f"/api/v1/custom-fields/{field['id']}").status_code == 204
    after = admin.get(f"/api/v1/custom-fields/{field['id']}").json()
    assert (after["active"], after["version"]) == (False, 2)
    reused = admin.post(
        "/api/v1/custom-fields", json={"key": "product", "label": "P", "type": "date"}
    )
    assert reused.status_code == 409
    active = admin.get("/api/v1/custom-fields", params={"active": "true"}).json()["items"]
    assert [(f["key"], f["group"]) for f in active] == [("product", "orders")]


def test_patch_changes_definition_with_if_match_and_refuses_key_type_and_group(admin, db):
    field = define(admin, "tier", "choice", options=["gold", "silver"])
    url = f"/api/v1/custom-fields/{field['id']}"
    assert admin.patch(url, json={"label": "Level"}).status_code == 428
    stale = admin.patch(url, json={"label": "Level"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412

    refused = admin.patch(
        url,
        json={"key": "level", "type": "text", "group": "orders", "label": "Level"},
        headers={"If-Match": '"1"'},
    )
    assert refused.status_code == 422
    assert field_names(refused) == ["key", "type", "group"]
    assert all(e["message"] == "cannot be changed" for e in refused.json()["errors"])

    # The same key and type sent back are accepted.
    response = admin.patch(
        url,
        json={"key": "tier", "type": "choice", "label": "Level", "options": ["gold", "bronze"]},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    body = response.json()
    assert (body["label"], body["options"], body["version"]) == ("Level", ["gold", "bronze"], 2)
    entry = definition_entries(db, "custom_field")[-1]
    assert entry.action == "custom_field.updated"
    assert entry.changes == {
        "label": {"before": "tier", "after": "Level"},
        "options": {"before": ["gold", "silver"], "after": ["gold", "bronze"]},
    }

    for bad, name in (
        ({"options": []}, "options"),
        ({"options": None}, "options"),
        ({"options": ["x", "x"]}, "options"),
        ({"label": None}, "label"),
        ({"required": None}, "required"),
    ):
        response = admin.patch(url, json=bad, headers={"If-Match": '"2"'})
        assert response.status_code == 422, (bad, response.text)
        assert field_names(response) == [name]

    text_field = define(admin, "remark")
    response = admin.patch(
        f"/api/v1/custom-fields/{text_field['id']}",
        json={"options": ["a"]},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 422 and field_names(response) == ["options"]


def test_delete_retires_the_field_and_patch_can_bring_it_back(admin, db):
    field = define(admin, "remark")
    url = f"/api/v1/custom-fields/{field['id']}"
    assert admin.delete(url, headers={"If-Match": '"5"'}).status_code == 412
    assert admin.delete(url, headers={"If-Match": '"1"'}).status_code == 204
    assert admin.delete(url).status_code == 204  # already retired: nothing changes
    assert admin.get(url).json()["version"] == 2
    entries = definition_entries(db, "custom_field")
    assert [e.action for e in entries] == ["custom_field.created", "custom_field.deleted"]
    assert entries[-1].changes == {"active": {"before": True, "after": False}}
    back = admin.patch(url, json={"active": True}, headers={"If-Match": '"2"'})
    assert back.status_code == 200 and back.json()["active"] is True
    assert admin.delete("/api/v1/custom-fields/999999").status_code == 404


def test_groups_are_created_changed_and_retired_by_administrators(admin, agent, db):
    response = admin.post(
        "/api/v1/custom-field-groups", json={"key": "orders", "label": "Orders", "position": 2}
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "key": "orders",
        "label": "Orders",
        "position": 2,
        "active": True,
        "version": 1,
    }
    assert response.headers["Location"] == "/api/v1/custom-field-groups/orders"
    duplicate = admin.post("/api/v1/custom-field-groups", json={"key": "orders", "label": "X"})
    assert duplicate.status_code == 409 and field_names(duplicate) == ["key"]
    bad = admin.post("/api/v1/custom-field-groups", json={"key": "Orders!", "label": "X"})
    assert bad.status_code == 422 and field_names(bad) == ["key"]

    url = "/api/v1/custom-field-groups/orders"
    assert admin.patch(url, json={"label": "Purchases"}).status_code == 428
    refused = admin.patch(url, json={"key": "buys"}, headers={"If-Match": '"1"'})
    assert refused.status_code == 422 and field_names(refused) == ["key"]
    changed = admin.patch(url, json={"label": "Purchases"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["label"] == "Purchases"
    assert changed.headers["ETag"] == '"2"'
    assert admin.delete(url).status_code == 204
    assert agent.get(url).json()["active"] is False
    assert agent.get("/api/v1/custom-field-groups").json()["items"][0]["key"] == "orders"
    assert admin.get("/api/v1/custom-field-groups/nosuch").status_code == 404
    assert (
        admin.patch(
            "/api/v1/custom-field-groups/nosuch", json={"label": "x"}, headers={"If-Match": '"1"'}
        ).status_code
        == 404
    )

    entries = definition_entries(db, "custom_group")
    assert [(e.action, e.customer_id) for e in entries] == [
        ("custom_group.created", None),
        ("custom_group.updated", None),
        ("custom_group.deleted", None),
    ]
    assert entries[1].changes == {
        "key": {"before": "orders", "after": "orders"},
        "label": {"before": "Orders", "after": "Purchases"},
    }
    assert entries[2].changes == {
        "key": {"before": "orders", "after": "orders"},
        "active": {"before": True, "after": False},
    }
