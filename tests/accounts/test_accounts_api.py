"""Accounts of a customer over the REST API (A1)."""

from __future__ import annotations

import pytest

from clientcard.accounts import service
from clientcard.cases.models import Case
from tests.cases.conftest import create_case, history
from tests.conftest import create_customer


def accounts_url(customer_id: int) -> str:
    return f"/api/v1/customers/{customer_id}/accounts"


def create_account(api, customer_id: int, **fields):
    body = {"number": "PL61 1090 1014", "type": "bank_account", **fields}
    response = api.post(accounts_url(customer_id), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_read_list_with_etag_and_history(agent):
    customer = create_customer(agent)
    response = agent.post(
        accounts_url(customer["id"]),
        json={
            "number": "  C-2024/77  ",
            "type": " Contract ",
            "data": {"plan": "Gold", "monthly_fee": 49.9, "auto_renew": True, "ends": None},
        },
    )
    assert response.status_code == 201, response.text
    account = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"{accounts_url(customer['id'])}/{account['id']}"
    assert account["number"] == "C-2024/77"
    assert account["type"] == "contract"
    assert account["status"] == "active"
    assert account["data"] == {
        "plan": "Gold",
        "monthly_fee": 49.9,
        "auto_renew": True,
        "ends": None,
    }
    assert account["customer_id"] == customer["id"] and account["version"] == 1
    assert account["created_by"] == account["updated_by"] == "ana"

    read = agent.get(f"{accounts_url(customer['id'])}/{account['id']}")
    assert read.status_code == 200 and read.json() == account
    assert read.headers["ETag"] == '"1"'
    listed = agent.get(accounts_url(customer["id"])).json()
    assert listed == {"items": [account], "next_cursor": None}

    entry = history(agent, customer["id"])[0]
    assert (entry["action"], entry["entity"], entry["entity_id"]) == (
        "account.created",
        "account",
        account["id"],
    )
    assert entry["changes"] == {
        "data.auto_renew": {"before": None, "after": True},
        "data.monthly_fee": {"before": None, "after": 49.9},
        "data.plan": {"before": None, "after": "Gold"},
        "number": {"before": None, "after": "C-2024/77"},
        "status": {"before": None, "after": "active"},
        "type": {"before": None, "after": "contract"},
    }


def test_list_pages_by_cursor_and_only_shows_the_customers_accounts(agent):
    customer, other = create_customer(agent), create_customer(agent, last_name="Nowak")
    ids = [create_account(agent, customer["id"], number=f"N-{i}")["id"] for i in range(3)]
    create_account(agent, other["id"], number="N-other")
    first = agent.get(accounts_url(customer["id"]), params={"limit": 2}).json()
    assert [a["id"] for a in first["items"]] == ids[:2]
    second = agent.get(
        accounts_url(customer["id"]), params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [a["id"] for a in second["items"]] == ids[2:]
    assert second["next_cursor"] is None
    bad = agent.get(accounts_url(customer["id"]), params={"cursor": "nope"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


def test_update_needs_if_match_and_records_field_by_field(agent):
    customer = create_customer(agent)
    account = create_account(agent, customer["id"], data={"plan": "Gold", "limit": 100})
    url = f"{accounts_url(customer['id'])}/{account['id']}"
    body = {"status": "blocked", "data": {"plan": "Silver", "branch": "Kraków"}}

    missing = agent.patch(url, json=body)
    assert missing.status_code == 428
    assert missing.json()["errors"] == [{"field": "If-Match", "message": "is required"}]
    stale = agent.patch(url, json=body, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 1

    response = agent.patch(url, json=body, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert response.headers["ETag"] == '"2"'
    assert updated["status"] == "blocked"
    assert updated["data"] == {"plan": "Silver", "branch": "Kraków"}
    assert updated["version"] == 2
    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "account.updated"
    assert entry["changes"] == {
        "data.branch": {"before": None, "after": "Kraków"},
        "data.limit": {"before": 100, "after": None},
        "data.plan": {"before": "Gold", "after": "Silver"},
        "status": {"before": "active", "after": "blocked"},
    }
    # The same values again change nothing and record nothing.
    same = agent.patch(url, json=body, headers={"If-Match": '"2"'})
    assert same.status_code == 200 and same.json()["version"] == 2
    assert len(history(agent, customer["id"])) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": ""}, "number"),
        ({"number": "   "}, "number"),
        ({"number": "x" * 101}, "number"),
        ({"type": ""}, "type"),
        ({"type": "t" * 51}, "type"),
        ({"status": "frozen"}, "status"),
        ({"data": {"address": {"city": "Kraków"}}}, "data.address"),
        ({"data": {"items": [1, 2]}}, "data.items"),
        ({"data": {"k" * 51: 1}}, f"data.{'k' * 51}"),
        ({"data": {"": 1}}, "data."),
        ({"data": {f"k{i}": i for i in range(51)}}, "data"),
        ({"data": ["not", "an", "object"]}, "data"),
        ({"version": 2}, "version"),
        ({"customer_id": 2}, "customer_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_account_is_422_naming_the_field_and_writes_nothing(agent, body, field):
    customer = create_customer(agent)
    response = agent.post(
        accounts_url(customer["id"]), json={"number": "A-1", "type": "loan", **body}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert agent.get(accounts_url(customer["id"])).json()["items"] == []
    assert [e["action"] for e in history(agent, customer["id"])] == ["customer.created"]


def test_missing_fields_and_nulls_are_named(agent):
    customer = create_customer(agent)
    response = agent.post(accounts_url(customer["id"]), json={})
    assert {e["field"] for e in response.json()["errors"]} == {"number", "type"}
    account = create_account(agent, customer["id"])
    response = agent.patch(
        f"{accounts_url(customer['id'])}/{account['id']}",
        json={"number": None, "data": None, "status": "closed"},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "data", "message": "may not be null"},
        {"field": "number", "message": "may not be null"},
    ]
    nested = agent.patch(
        f"{accounts_url(customer['id'])}/{account['id']}",
        json={"data": {"owner": {"name": "x"}}},
        headers={"If-Match": '"1"'},
    )
    assert nested.status_code == 422
    assert nested.json()["errors"][0]["field"] == "data.owner"
    assert agent.get(f"{accounts_url(customer['id'])}/{account['id']}").json() == account


def test_type_and_number_are_unique_across_customers(agent):
    first, second = create_customer(agent), create_customer(agent, last_name="Nowak")
    account = create_account(agent, first["id"], number="123", type="card")
    for customer in (first, second):
        response = agent.post(
            accounts_url(customer["id"]), json={"number": "123", "type": " CARD "}
        )
        assert response.status_code == 409, response.text
        assert response.json()["errors"][0]["field"] == "number"
        assert response.json()["existing_id"] == account["id"]
    # The same number under another type is another account.
    create_account(agent, second["id"], number="123", type="loan")
    other = create_account(agent, second["id"], number="456", type="card")
    clash = agent.patch(
        f"{accounts_url(second['id'])}/{other['id']}",
        json={"number": "123"},
        headers={"If-Match": '"1"'},
    )
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["field"] == "number"


def test_delete_records_the_account_and_honours_if_match(agent):
    customer = create_customer(agent)
    account = create_account(agent, customer["id"], data={"plan": "Gold"})
    url = f"{accounts_url(customer['id'])}/{account['id']}"
    assert agent.delete(url, headers={"If-Match": '"3"'}).status_code == 412
    assert agent.delete(url).status_code == 204
    assert agent.get(url).status_code == 404
    assert agent.delete(url).status_code == 404
    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "account.deleted"
    assert entry["changes"] == {
        "data.plan": {"before": "Gold", "after": None},
        "number": {"before": "PL61 1090 1014", "after": None},
        "status": {"before": "active", "after": None},
        "type": {"before": "bank_account", "after": None},
    }
    # The number is free again.
    create_account(agent, customer["id"])


def test_an_account_named_by_a_case_is_not_deleted(db, agent):
    customer = create_customer(agent)
    account = create_account(agent, customer["id"])
    case = create_case(agent, customer["id"])
    with db.write() as session:
        session.get(Case, case["id"]).account_id = account["id"]
    response = agent.delete(f"{accounts_url(customer['id'])}/{account['id']}")
    assert response.status_code == 409
    assert response.json()["cases"] == [case["number"]]


def test_account_of_customer_checks_the_owner(db, agent):
    customer, other = create_customer(agent), create_customer(agent, last_name="Nowak")
    account = create_account(agent, customer["id"])
    with db.read() as session:
        found = service.account_of_customer(
            session, customer_id=customer["id"], account_id=account["id"]
        )
        assert found is not None and found.id == account["id"]
        assert (
            service.account_of_customer(session, customer_id=other["id"], account_id=account["id"])
            is None
        )
        assert (
            service.account_of_customer(session, customer_id=customer["id"], account_id=987654)
            is None
        )


def test_unknown_or_deleted_customer_and_unknown_account_are_404(supervisor, admin, agent):
    assert agent.get(accounts_url(987654)).status_code == 404
    assert agent.post(accounts_url(987654), json={"number": "1", "type": "loan"}).status_code == 404
    customer, other = create_customer(agent), create_customer(agent, last_name="Nowak")
    account = create_account(agent, customer["id"])
    url = f"{accounts_url(customer['id'])}/{account['id']}"
    # Another customer's account is not found under this one.
    foreign = f"{accounts_url(other['id'])}/{account['id']}"
    assert agent.get(foreign).status_code == 404
    assert agent.patch(foreign, json={}, headers={"If-Match": '"1"'}).status_code == 404
    assert agent.delete(foreign).status_code == 404
    assert agent.get(f"{accounts_url(customer['id'])}/987654").status_code == 404

    assert supervisor.delete(f"/api/v1/customers/{customer['id']}").status_code == 204
    assert agent.get(accounts_url(customer["id"])).status_code == 404
    assert agent.get(url).status_code == 404
    assert (
        agent.post(accounts_url(customer["id"]), json={"number": "2", "type": "loan"}).status_code
        == 404
    )
    assert (
        agent.patch(url, json={"status": "closed"}, headers={"If-Match": '"1"'}).status_code == 404
    )
    assert agent.delete(url).status_code == 404
    # Administrators still read a deleted customer's accounts.
    assert admin.get(url).status_code == 200


def test_every_role_works_with_accounts_and_anonymous_is_401(client, admin, supervisor, agent):
    customer = create_customer(agent)
    for number, api in enumerate((admin, supervisor, agent)):
        account = create_account(api, customer["id"], number=str(number))
        url = f"{accounts_url(customer['id'])}/{account['id']}"
        assert api.get(url).status_code == 200
        assert (
            api.patch(url, json={"status": "closed"}, headers={"If-Match": '"1"'}).status_code
            == 200
        )
        assert api.delete(url).status_code == 204
    url = accounts_url(customer["id"])
    for response in (
        client.get(url),
        client.post(url, json={"number": "1", "type": "loan"}),
        client.get(f"{url}/1"),
        client.patch(f"{url}/1", json={}, headers={"If-Match": '"1"'}),
        client.delete(f"{url}/1"),
    ):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
