"""Case notes (private, coloured, deletable) and internal comments (final; gone on cancel)."""

from __future__ import annotations

import pytest

from clientcard.base import utcnow
from clientcard.interactions.models import Interaction
from tests.cases.conftest import create_case, history
from tests.conftest import create_customer


@pytest.fixture
def case(agent):
    customer = create_customer(agent)
    return create_case(agent, customer["id"])


def test_notes_add_list_delete_with_colours_and_history(agent, other_agent, case):
    url = f"/api/v1/cases/{case['id']}/notes"
    first = agent.post(url, json={"text": "Calls back after 5 pm"})
    assert first.status_code == 201, first.text
    assert first.json()["color"] == "yellow"
    assert first.json()["created_by"] == "ana"
    second = other_agent.post(url, json={"text": "Angry", "color": "red"}).json()
    listed = agent.get(url).json()["items"]
    assert [(n["text"], n["color"]) for n in listed] == [
        ("Calls back after 5 pm", "yellow"),
        ("Angry", "red"),
    ]

    assert agent.delete(f"{url}/{second['id']}").status_code == 204
    assert [n["id"] for n in agent.get(url).json()["items"]] == [first.json()["id"]]
    assert agent.delete(f"{url}/{second['id']}").status_code == 404

    deleted, created_second, created_first = history(agent, case["customer_id"])[:3]
    assert created_first["action"] == created_second["action"] == "case_note.created"
    assert created_second["changes"] == {
        "case_id": {"before": None, "after": case["id"]},
        "case_number": {"before": None, "after": case["number"]},
        "color": {"before": None, "after": "red"},
        "text": {"before": None, "after": "Angry"},
    }
    assert created_second["actor"] == "bob"
    assert deleted["action"] == "case_note.deleted"
    assert deleted["entity_id"] == second["id"]
    assert deleted["changes"] == {
        "case_id": {"before": case["id"], "after": None},
        "case_number": {"before": case["number"], "after": None},
        "color": {"before": "red", "after": None},
        "text": {"before": "Angry", "after": None},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x", "color": "orange"}, "color"),
        ({"color": "red"}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "x", "id": 3}, "id"),
    ],
)
def test_invalid_notes_are_422_and_write_nothing(agent, case, body, field):
    response = agent.post(f"/api/v1/cases/{case['id']}/notes", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert agent.get(f"/api/v1/cases/{case['id']}/notes").json()["items"] == []
    assert len(history(agent, case["customer_id"])) == 2


def test_notes_of_unknown_cases_are_404(agent, case):
    assert agent.get("/api/v1/cases/999999/notes").status_code == 404
    assert agent.post("/api/v1/cases/999999/notes", json={"text": "x"}).status_code == 404
    note = agent.post(f"/api/v1/cases/{case['id']}/notes", json={"text": "x"}).json()
    other = create_case(agent, case["customer_id"])
    assert agent.delete(f"/api/v1/cases/{other['id']}/notes/{note['id']}").status_code == 404


def test_comments_are_posted_listed_and_recorded(db, agent, case):
    with db.write() as session:
        interaction = Interaction(
            customer_id=case["customer_id"],
            source="tests",
            external_id="call-1",
            channel="voice",
            direction="inbound",
            started_at=utcnow(),
            created_by="tests",
        )
        session.add(interaction)
        session.flush()
        interaction_id = interaction.id
    url = f"/api/v1/cases/{case['id']}/comments"
    first = agent.post(url, json={"text": "Escalate to tier 2"})
    assert first.status_code == 201, first.text
    on_call = agent.post(url, json={"text": "He hung up", "interaction_id": interaction_id})
    assert on_call.status_code == 201, on_call.text
    assert on_call.json()["interaction_id"] == interaction_id
    listed = agent.get(url).json()["items"]
    assert [c["text"] for c in listed] == ["Escalate to tier 2", "He hung up"]
    one = agent.get(f"{url}/{first.json()['id']}")
    assert one.status_code == 200 and one.json() == first.json()
    entry = history(agent, case["customer_id"])[0]
    assert entry["action"] == "case_comment.created"
    assert entry["changes"]["interaction_id"] == {"before": None, "after": interaction_id}
    assert entry["changes"]["text"] == {"before": None, "after": "He hung up"}

    unknown = agent.post(url, json={"text": "x", "interaction_id": 987654})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "interaction_id"


def test_comments_can_be_neither_edited_nor_deleted(agent, admin, case):
    url = f"/api/v1/cases/{case['id']}/comments"
    comment = agent.post(url, json={"text": "Final words"}).json()
    for api in (agent, admin):
        edit = api.patch(f"{url}/{comment['id']}", json={"text": "changed"})
        assert edit.status_code == 405
        assert edit.headers["content-type"].startswith("application/problem+json")
        assert edit.headers["allow"] == "GET"
        assert "neither edited nor deleted" in edit.json()["detail"]
        delete = api.delete(f"{url}/{comment['id']}")
        assert delete.status_code == 405
        assert "neither edited nor deleted" in delete.json()["detail"]
    assert [c["text"] for c in agent.get(url).json()["items"]] == ["Final words"]
    assert history(agent, case["customer_id"])[0]["action"] == "case_comment.created"


def test_cancelling_a_case_removes_its_comments_and_says_how_many(agent, case):
    url = f"/api/v1/cases/{case['id']}"
    other = create_case(agent, case["customer_id"])
    agent.post(f"/api/v1/cases/{other['id']}/comments", json={"text": "stays"})
    for text in ("one", "two", "three"):
        agent.post(f"{url}/comments", json={"text": text})
    note = agent.post(f"{url}/notes", json={"text": "notes stay"}).json()
    response = agent.patch(url, json={"status": "cancelled"}, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert agent.get(f"{url}/comments").json()["items"] == []
    assert [n["id"] for n in agent.get(f"{url}/notes").json()["items"]] == [note["id"]]
    assert len(agent.get(f"/api/v1/cases/{other['id']}/comments").json()["items"]) == 1
    entry = history(agent, case["customer_id"])[0]
    assert entry["action"] == "case.updated"
    assert entry["changes"]["comments"] == {"before": 3, "after": 0}
    assert entry["changes"]["status"] == {"before": "new", "after": "cancelled"}

    refused = agent.post(f"{url}/comments", json={"text": "too late"})
    assert refused.status_code == 409
    reopened = agent.patch(url, json={"status": "open"}, headers={"If-Match": '"2"'})
    assert "comments" not in history(agent, case["customer_id"])[0]["changes"]
    assert reopened.status_code == 200
    assert agent.post(f"{url}/comments", json={"text": "again"}).status_code == 201


def test_a_cancellation_that_fails_keeps_the_comments(agent, case):
    url = f"/api/v1/cases/{case['id']}"
    agent.post(f"{url}/comments", json={"text": "keep me"})
    response = agent.patch(
        url, json={"status": "cancelled", "assigned_to": 987654}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 422
    stale = agent.patch(url, json={"status": "cancelled"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert [c["text"] for c in agent.get(f"{url}/comments").json()["items"]] == ["keep me"]
    assert history(agent, case["customer_id"])[0]["action"] == "case_comment.created"
