"""Records of custom field groups over the REST API: CRUD, validation, history, pages."""

from __future__ import annotations

import pytest

from tests.conftest import create_customer
from tests.custom_fields.conftest import define, define_group, field_names, history


@pytest.fixture
def orders(admin) -> str:
    define_group(admin, "orders", label="Orders")
    define(admin, "product", group="orders", required=True)
    define(admin, "quantity", "number", group="orders")
    define(admin, "ordered_on", "date", group="orders")
    define(admin, "channel", "choice", group="orders", options=["web", "phone"])
    define(admin, "contact", "phone", group="orders")
    return "orders"


def url(customer_id: int, record_id: int | None = None) -> str:
    base = f"/api/v1/customers/{customer_id}/groups/orders/records"
    return base if record_id is None else f"{base}/{record_id}"


def test_records_are_added_edited_and_removed_with_exact_history(agent, orders):
    customer = create_customer(agent)
    response = agent.post(
        url(customer["id"]),
        json={
            "values": {
                "product": "Fibre 600",
                "quantity": 2,
                "ordered_on": "2025-03-01",
                "contact": "601 234 567",
            }
        },
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == url(customer["id"], record["id"])
    assert record["values"] == {
        "product": "Fibre 600",
        "quantity": 2,
        "ordered_on": "2025-03-01",
        "contact": "+48601234567",
    }
    assert (record["customer_id"], record["group"], record["version"]) == (
        customer["id"],
        "orders",
        1,
    )
    assert record["created_by"] == record["updated_by"] == "ana"
    assert agent.get(url(customer["id"], record["id"])).json() == record

    entry = history(agent, customer["id"])[0]
    assert (entry["action"], entry["entity"], entry["entity_id"]) == (
        "custom_group_record.created",
        "custom_group_record",
        record["id"],
    )
    assert entry["changes"] == {
        "orders.contact": {"before": None, "after": "+48601234567"},
        "orders.ordered_on": {"before": None, "after": "2025-03-01"},
        "orders.product": {"before": None, "after": "Fibre 600"},
        "orders.quantity": {"before": None, "after": 2},
    }

    record_url = url(customer["id"], record["id"])
    assert agent.patch(record_url, json={"values": {"quantity": 3}}).status_code == 428
    stale = agent.patch(record_url, json={"values": {"quantity": 3}}, headers={"If-Match": '"9"'})
    assert stale.status_code == 412
    response = agent.patch(
        record_url,
        json={"values": {"quantity": 3, "ordered_on": None, "channel": "web"}},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["values"] == {
        "product": "Fibre 600",
        "quantity": 3,
        "contact": "+48601234567",
        "channel": "web",
    }
    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "custom_group_record.updated"
    assert entry["changes"] == {
        "orders.channel": {"before": None, "after": "web"},
        "orders.ordered_on": {"before": "2025-03-01", "after": None},
        "orders.quantity": {"before": 2, "after": 3},
    }
    # sending what is stored changes nothing and writes no entry
    same = agent.patch(record_url, json={"values": {"quantity": 3}}, headers={"If-Match": '"2"'})
    assert same.status_code == 200 and same.json()["version"] == 2
    assert len(history(agent, customer["id"])) == 3

    assert agent.delete(record_url, headers={"If-Match": '"1"'}).status_code == 412
    assert agent.delete(record_url, headers={"If-Match": '"2"'}).status_code == 204
    assert agent.get(record_url).status_code == 404
    entry = history(agent, customer["id"])[0]
    assert (entry["action"], entry["entity_id"]) == ("custom_group_record.deleted", record["id"])
    assert entry["changes"] == {
        "orders.channel": {"before": "web", "after": None},
        "orders.contact": {"before": "+48601234567", "after": None},
        "orders.product": {"before": "Fibre 600", "after": None},
        "orders.quantity": {"before": 3, "after": None},
    }
    assert [e["action"] for e in history(agent, customer["id"])] == [
        "custom_group_record.deleted",
        "custom_group_record.updated",
        "custom_group_record.created",
        "customer.created",
    ]


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"quantity": 1}, {"values.product": "is required"}),
        ({"product": "TV", "quantity": "two"}, {"values.quantity": "must be a number"}),
        ({"product": "TV", "channel": "fax"}, {"values.channel": None}),
        ({"product": "TV", "colour": "red"}, {"values.colour": "no such custom field"}),
        ({"product": "TV", "contact": "12"}, {"values.contact": None}),
    ],
)
def test_invalid_records_are_422_naming_the_value_and_write_nothing(agent, orders, values, errors):
    customer = create_customer(agent)
    response = agent.post(url(customer["id"]), json={"values": values})
    assert response.status_code == 422, response.text
    got = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(got) == set(errors)
    assert all(errors[k] in (None, got[k]) for k in errors)
    assert agent.get(url(customer["id"])).json()["items"] == []
    assert [e["action"] for e in history(agent, customer["id"])] == ["customer.created"]


def test_a_patch_that_breaks_a_rule_is_422_and_changes_nothing(agent, orders):
    customer = create_customer(agent)
    record = agent.post(url(customer["id"]), json={"values": {"product": "TV"}}).json()
    response = agent.patch(
        url(customer["id"], record["id"]),
        json={"values": {"product": None, "quantity": True}},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 422
    assert field_names(response) == ["values.quantity", "values.product"]
    assert agent.get(url(customer["id"], record["id"])).json() == record


def test_unknown_customer_group_or_record_is_404(agent, orders):
    customer = create_customer(agent)
    other = create_customer(agent, last_name="Nowak")
    record = agent.post(url(customer["id"]), json={"values": {"product": "TV"}}).json()
    assert agent.get(url(999999)).status_code == 404
    assert agent.post(url(999999), json={"values": {"product": "TV"}}).status_code == 404
    missing_group = f"/api/v1/customers/{customer['id']}/groups/nosuch/records"
    assert agent.get(missing_group).status_code == 404
    assert agent.post(missing_group, json={"values": {}}).status_code == 404
    assert agent.get(f"{missing_group}/{record['id']}").status_code == 404
    # a record is found only under its own customer and group
    assert agent.get(url(other["id"], record["id"])).status_code == 404
    assert agent.delete(url(other["id"], record["id"])).status_code == 404
    assert (
        agent.patch(
            url(other["id"], record["id"]), json={"values": {}}, headers={"If-Match": "*"}
        ).status_code
        == 404
    )
    unknown = agent.post(url(customer["id"]), json={"values": {"product": "TV"}, "id": 3})
    assert unknown.status_code == 422 and field_names(unknown) == ["id"]


def test_records_are_listed_newest_first_by_keyset(agent, orders):
    customer = create_customer(agent)
    ids = [
        agent.post(url(customer["id"]), json={"values": {"product": f"p{i}"}}).json()["id"]
        for i in range(5)
    ]
    other = create_customer(agent, last_name="Nowak")
    agent.post(url(other["id"]), json={"values": {"product": "elsewhere"}})
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = agent.get(url(customer["id"]), params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    bad = agent.get(url(customer["id"]), params={"cursor": "garbage"})
    assert bad.status_code == 422 and field_names(bad) == ["cursor"]


def test_a_retired_group_keeps_its_records_readable_and_deletable_not_writable(
    admin, agent, orders
):
    customer = create_customer(agent)
    record = agent.post(url(customer["id"]), json={"values": {"product": "TV"}}).json()
    assert admin.delete("/api/v1/custom-field-groups/orders").status_code == 204
    assert agent.get(url(customer["id"])).json()["items"] == [record]
    added = agent.post(url(customer["id"]), json={"values": {"product": "Radio"}})
    assert added.status_code == 409 and field_names(added) == ["group"]
    edited = agent.patch(
        url(customer["id"], record["id"]),
        json={"values": {"product": "Radio"}},
        headers={"If-Match": '"1"'},
    )
    assert edited.status_code == 409
    assert agent.delete(url(customer["id"], record["id"])).status_code == 204


def test_a_field_made_required_later_is_demanded_on_the_next_edit(admin, agent, orders):
    customer = create_customer(agent)
    record = agent.post(url(customer["id"]), json={"values": {"product": "TV"}}).json()
    fields = admin.get("/api/v1/custom-fields").json()["items"]
    quantity = next(f for f in fields if f["key"] == "quantity")
    response = admin.patch(
        f"/api/v1/custom-fields/{quantity['id']}",
        json={"required": True},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200
    # the stored record is untouched and readable
    assert agent.get(url(customer["id"], record["id"])).json() == record
    response = agent.patch(
        url(customer["id"], record["id"]),
        json={"values": {"product": "TV 2"}},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "values.quantity", "message": "is required"}]


def test_records_of_a_deleted_customer_are_hidden_from_agents(db, admin, agent, orders):
    customer = create_customer(agent)
    agent.post(url(customer["id"]), json={"values": {"product": "TV"}})
    assert admin.delete(f"/api/v1/customers/{customer['id']}").status_code == 204
    assert agent.get(url(customer["id"])).status_code == 404
    assert len(admin.get(url(customer["id"])).json()["items"]) == 1
    # Nothing is written under a deleted card: administrators, who see it, are told why.
    refused = admin.post(url(customer["id"]), json={"values": {"product": "x"}})
    assert refused.status_code == 409
    assert "restore" in refused.json()["detail"]
    assert agent.post(url(customer["id"]), json={"values": {"product": "x"}}).status_code == 404
