"""Relations between customers over the REST API (A2): one row, seen from both sides."""

from __future__ import annotations

import threading

import pytest

from clientcard.accounts import service
from clientcard.accounts.schemas import RelationCreate
from clientcard.auth.actor import Actor, Role
from clientcard.errors import Conflict
from tests.cases.conftest import history
from tests.conftest import create_customer


def relations_url(customer_id: int) -> str:
    return f"/api/v1/customers/{customer_id}/relations"


def relate(api, customer_id: int, other_id: int, **fields):
    body = {"other_id": other_id, "labels": ["spouse"], **fields}
    response = api.post(relations_url(customer_id), json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def pair(agent):
    ana = create_customer(agent)
    jan = create_customer(agent, first_name="Jan", last_name="Kowalski")
    return ana, jan


def test_a_relation_is_seen_from_both_sides_and_in_both_histories(agent, pair):
    ana, jan = pair
    response = agent.post(
        relations_url(ana["id"]),
        json={"other_id": jan["id"], "labels": [" spouse ", "partner"], "note": "Married 2010"},
    )
    assert response.status_code == 201, response.text
    relation = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"{relations_url(ana['id'])}/{relation['id']}"
    assert relation["customer"] == {"id": jan["id"], "name": "Jan Kowalski", "kind": "person"}
    assert relation["labels"] == ["spouse", "partner"]
    assert relation["note"] == "Married 2010"
    assert relation["version"] == 1 and relation["created_by"] == "ana"

    from_ana = agent.get(relations_url(ana["id"])).json()
    assert from_ana == {"items": [relation], "next_cursor": None}
    from_jan = agent.get(relations_url(jan["id"])).json()["items"]
    assert from_jan == [
        {**relation, "customer": {"id": ana["id"], "name": "Ana Kowalska", "kind": "person"}}
    ]
    read = agent.get(f"{relations_url(jan['id'])}/{relation['id']}")
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.json() == from_jan[0]

    for customer, other in ((ana, jan), (jan, ana)):
        entry = history(agent, customer["id"])[0]
        assert (entry["action"], entry["entity"], entry["entity_id"]) == (
            "relation.created",
            "relation",
            relation["id"],
        )
        assert entry["changes"] == {
            "labels": {"before": None, "after": ["spouse", "partner"]},
            "note": {"before": None, "after": "Married 2010"},
            "other_id": {"before": None, "after": other["id"]},
        }


def test_a_company_is_shown_by_its_name(agent):
    person = create_customer(agent)
    company = create_customer(
        agent, kind="company", company_name="Acme S.A.", first_name=None, last_name=None
    )
    relation = relate(agent, person["id"], company["id"], labels=["employer"])
    assert relation["customer"] == {"id": company["id"], "name": "Acme S.A.", "kind": "company"}
    (seen,) = agent.get(relations_url(company["id"])).json()["items"]
    assert seen["customer"]["kind"] == "person"


def test_the_same_pair_twice_is_409_either_way(agent, pair):
    ana, jan = pair
    relation = relate(agent, ana["id"], jan["id"])
    for customer, other in ((ana, jan), (jan, ana)):
        response = agent.post(
            relations_url(customer["id"]), json={"other_id": other["id"], "labels": ["sibling"]}
        )
        assert response.status_code == 409, response.text
        assert response.json()["errors"][0]["field"] == "other_id"
        assert response.json()["existing_id"] == relation["id"]
    assert len(agent.get(relations_url(ana["id"])).json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"labels": []}, "labels"),
        ({"labels": [f"l{i}" for i in range(11)]}, "labels"),
        ({"labels": [""]}, "labels.0"),
        ({"labels": ["   "]}, "labels.0"),
        ({"labels": ["x" * 51]}, "labels.0"),
        ({"labels": ["spouse", "Spouse"]}, "labels.1"),
        ({"labels": "spouse"}, "labels"),
        ({"other_id": 987654}, "other_id"),
        ({"other_id": "someone"}, "other_id"),
        ({"note": "n" * 5001}, "note"),
        ({"version": 1}, "version"),
    ],
)
def test_invalid_relation_is_422_naming_the_field(agent, pair, body, field):
    ana, jan = pair
    response = agent.post(
        relations_url(ana["id"]), json={"other_id": jan["id"], "labels": ["spouse"], **body}
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert agent.get(relations_url(ana["id"])).json()["items"] == []
    assert [e["action"] for e in history(agent, jan["id"])] == ["customer.created"]


def test_missing_fields_and_self_relation(agent, pair):
    ana, _ = pair
    response = agent.post(relations_url(ana["id"]), json={})
    assert {e["field"] for e in response.json()["errors"]} == {"other_id", "labels"}
    response = agent.post(relations_url(ana["id"]), json={"other_id": ana["id"], "labels": ["x"]})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "other_id", "message": "a customer cannot be related to itself"}
    ]


def test_edit_from_the_other_side_needs_if_match_and_shows_in_both_histories(agent, pair):
    ana, jan = pair
    relation = relate(agent, ana["id"], jan["id"], labels=["employer"])
    url = f"{relations_url(jan['id'])}/{relation['id']}"
    body = {"labels": ["employer", "assistant"], "note": "Since May"}
    assert agent.patch(url, json=body).status_code == 428
    stale = agent.patch(url, json=body, headers={"If-Match": '"5"'})
    assert stale.status_code == 412 and stale.json()["current_version"] == 1

    response = agent.patch(url, json=body, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    updated = response.json()
    assert updated["labels"] == ["employer", "assistant"] and updated["note"] == "Since May"
    assert updated["customer"]["id"] == ana["id"]
    assert agent.get(relations_url(ana["id"])).json()["items"][0]["labels"] == body["labels"]
    for customer, other in ((ana, jan), (jan, ana)):
        entry = history(agent, customer["id"])[0]
        assert entry["action"] == "relation.updated"
        assert entry["changes"] == {
            "other_id": {"before": other["id"], "after": other["id"]},
            "labels": {"before": ["employer"], "after": ["employer", "assistant"]},
            "note": {"before": None, "after": "Since May"},
        }
    bad = agent.patch(url, json={"labels": None, "other_id": 3}, headers={"If-Match": '"2"'})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"other_id"}
    null = agent.patch(url, json={"labels": None}, headers={"If-Match": '"2"'})
    assert null.json()["errors"] == [{"field": "labels", "message": "may not be null"}]
    twice = agent.patch(url, json={"labels": ["a", "a"]}, headers={"If-Match": '"2"'})
    assert twice.json()["errors"][0]["field"] == "labels.1"


def test_delete_removes_it_for_both_and_records_both(agent, pair):
    ana, jan = pair
    relation = relate(agent, ana["id"], jan["id"], labels=["parent"], note="Father")
    url = f"{relations_url(jan['id'])}/{relation['id']}"
    assert agent.delete(url, headers={"If-Match": '"2"'}).status_code == 412
    assert agent.delete(url, headers={"If-Match": '"1"'}).status_code == 204
    assert agent.get(relations_url(ana["id"])).json()["items"] == []
    assert agent.get(relations_url(jan["id"])).json()["items"] == []
    assert agent.get(f"{relations_url(ana['id'])}/{relation['id']}").status_code == 404
    assert agent.delete(url).status_code == 404
    for customer, other in ((ana, jan), (jan, ana)):
        entry = history(agent, customer["id"])[0]
        assert entry["action"] == "relation.deleted"
        assert entry["changes"] == {
            "labels": {"before": ["parent"], "after": None},
            "note": {"before": "Father", "after": None},
            "other_id": {"before": other["id"], "after": None},
        }
    # The pair may be related again afterwards, from either side.
    relate(agent, jan["id"], ana["id"], labels=["child"])


def test_a_relation_is_not_found_under_a_third_customer(agent, pair):
    ana, jan = pair
    third = create_customer(agent, last_name="Nowak")
    relation = relate(agent, ana["id"], jan["id"])
    url = f"{relations_url(third['id'])}/{relation['id']}"
    assert agent.get(url).status_code == 404
    assert agent.patch(url, json={"note": "x"}, headers={"If-Match": '"1"'}).status_code == 404
    assert agent.delete(url).status_code == 404
    assert agent.get(f"{relations_url(ana['id'])}/987654").status_code == 404


def test_unknown_or_deleted_customers_are_404_and_hidden(supervisor, agent, pair):
    ana, jan = pair
    assert agent.get(relations_url(987654)).status_code == 404
    response = agent.post(relations_url(987654), json={"other_id": ana["id"], "labels": ["x"]})
    assert response.status_code == 404
    relation = relate(agent, ana["id"], jan["id"])
    assert supervisor.delete(f"/api/v1/customers/{jan['id']}").status_code == 204
    # Jan's card is gone; Ana's list hides the relation until Jan is restored.
    assert agent.get(relations_url(jan["id"])).status_code == 404
    assert agent.get(relations_url(ana["id"])).json()["items"] == []
    for url in (
        f"{relations_url(ana['id'])}/{relation['id']}",
        f"{relations_url(jan['id'])}/{relation['id']}",
    ):
        assert agent.get(url).status_code == 404
        assert agent.patch(url, json={"note": "x"}, headers={"If-Match": '"1"'}).status_code == 404
        assert agent.delete(url).status_code == 404
    third = create_customer(agent, last_name="Nowak")
    response = agent.post(relations_url(third["id"]), json={"other_id": jan["id"], "labels": ["x"]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "other_id"


def test_list_pages_by_cursor(agent):
    ana = create_customer(agent)
    others = [create_customer(agent, last_name=f"N{i}") for i in range(3)]
    # Two added from Ana's card, one from the other customer's card.
    ids = [
        relate(agent, ana["id"], others[0]["id"])["id"],
        relate(agent, others[1]["id"], ana["id"])["id"],
        relate(agent, ana["id"], others[2]["id"])["id"],
    ]
    first = agent.get(relations_url(ana["id"]), params={"limit": 2}).json()
    assert [r["id"] for r in first["items"]] == ids[:2]
    assert [r["customer"]["id"] for r in first["items"]] == [others[0]["id"], others[1]["id"]]
    second = agent.get(
        relations_url(ana["id"]), params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [r["id"] for r in second["items"]] == ids[2:] and second["next_cursor"] is None


def test_every_role_relates_and_anonymous_is_401(client, admin, supervisor, agent):
    customers = [create_customer(agent, last_name=f"N{i}") for i in range(4)]
    for index, api in enumerate((admin, supervisor, agent)):
        relation = relate(api, customers[index]["id"], customers[index + 1]["id"])
        url = f"{relations_url(customers[index + 1]['id'])}/{relation['id']}"
        assert api.get(url).status_code == 200
        assert api.patch(url, json={"note": "x"}, headers={"If-Match": '"1"'}).status_code == 200
        assert api.delete(url).status_code == 204
    url = relations_url(customers[0]["id"])
    for response in (
        client.get(url),
        client.post(url, json={"other_id": customers[1]["id"], "labels": ["x"]}),
        client.patch(f"{url}/1", json={}, headers={"If-Match": '"1"'}),
        client.delete(f"{url}/1"),
    ):
        assert response.status_code == 401


def test_adding_the_pair_from_both_sides_at_once_keeps_one_relation(db, agent, pair):
    ana, jan = pair
    actor = Actor(user_id=agent.user_id, username="ana", role=Role.AGENT)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def add(customer_id: int, other_id: int) -> None:
        start.wait()
        try:
            with db.write() as session:
                service.create_relation(
                    session,
                    actor=actor,
                    customer_id=customer_id,
                    data=RelationCreate(other_id=other_id, labels=["spouse"]),
                )
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=add, args=(ana["id"], jan["id"])),
        threading.Thread(target=add, args=(jan["id"], ana["id"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "created"]
    assert len(agent.get(relations_url(ana["id"])).json()["items"]) == 1
    assert len(agent.get(relations_url(jan["id"])).json()["items"]) == 1
