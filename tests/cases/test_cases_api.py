"""Cases over the REST API: numbers, validation, If-Match, closing, lists, case types."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import update

from clientcard.auth.actor import Actor, Role
from clientcard.cases import service
from clientcard.cases.models import Case
from clientcard.cases.schemas import CaseCreate
from tests.cases.conftest import create_case, history
from tests.conftest import create_customer


def test_create_returns_the_case_with_defaults_etag_and_history(agent):
    customer = create_customer(agent)
    response = agent.post(
        f"/api/v1/customers/{customer['id']}/cases",
        json={"subject": "  Invoice is wrong ", "description": "Twice the amount"},
    )
    assert response.status_code == 201, response.text
    case = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/cases/{case['id']}"
    assert case["number"] == "C-000001"
    assert case["subject"] == "Invoice is wrong"
    assert (case["type"], case["priority"], case["status"]) == ("question", "medium", "new")
    assert case["customer_id"] == customer["id"]
    assert case["campaign_id"] is None and case["account_id"] is None
    assert case["assigned_to"] is None and case["closed_at"] is None
    assert case["created_by"] == case["updated_by"] == "ana"
    assert case["version"] == 1
    assert agent.get(f"/api/v1/cases/{case['id']}").json() == case

    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "case.created"
    assert entry["entity"] == "case" and entry["entity_id"] == case["id"]
    assert entry["changes"] == {
        "description": {"before": None, "after": "Twice the amount"},
        "number": {"before": None, "after": "C-000001"},
        "priority": {"before": None, "after": "medium"},
        "status": {"before": None, "after": "new"},
        "subject": {"before": None, "after": "Invoice is wrong"},
        "type": {"before": None, "after": "question"},
    }


def test_numbers_are_unique_and_increasing_across_customers(agent):
    first, second = create_customer(agent), create_customer(agent, last_name="Nowak")
    numbers = [
        create_case(agent, customer["id"])["number"] for customer in (first, second, first, second)
    ]
    assert numbers == ["C-000001", "C-000002", "C-000003", "C-000004"]


def test_a_failed_creation_never_reuses_or_skips_visibly(agent):
    customer = create_customer(agent)
    create_case(agent, customer["id"])
    bad = agent.post(
        f"/api/v1/customers/{customer['id']}/cases", json={"subject": "x", "priority": "urgent"}
    )
    assert bad.status_code == 422
    assert create_case(agent, customer["id"])["number"] == "C-000002"


def test_concurrent_creations_get_distinct_numbers(db, agent):
    customer = create_customer(agent)
    actor = Actor(user_id=agent.user_id, username="ana", role=Role.AGENT)
    numbers: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(5)

    def worker(count: int) -> None:
        start.wait()
        for index in range(count):
            try:
                with db.write() as session:
                    case = service.create_case(
                        session,
                        actor=actor,
                        customer_id=customer["id"],
                        data=CaseCreate(subject=f"parallel {index}"),
                    )
                    number = case.number
                numbers.append(number)
            except BaseException as exc:
                failures.append(exc)

    threads = [threading.Thread(target=worker, args=(4,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(numbers) == 20
    assert sorted(numbers) == [f"C-{n:06d}" for n in range(1, 21)]
    listed = agent.get(f"/api/v1/customers/{customer['id']}/cases", params={"limit": 50}).json()
    assert len({c["number"] for c in listed["items"]}) == 20


def test_a_missing_counter_row_is_recreated_after_the_highest_number(db, agent):
    customer = create_customer(agent)
    create_case(agent, customer["id"])
    with db.write() as session:
        session.execute(update(Case).values(number="C-000041"))
        session.execute(service.Counter.__table__.delete())
    assert create_case(agent, customer["id"])["number"] == "C-000042"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"status": "done"}, "status"),
        ({"type": "unknown-type"}, "type"),
        ({"type": "nosuchtype"}, "type"),
        ({"campaign_id": 999999}, "campaign_id"),
        ({"assigned_to": 999999}, "assigned_to"),
        ({"account_id": 5}, "account_id"),
        ({"subject": None}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"number": "C-999999"}, "number"),
        ({"id": 5}, "id"),
        ({"version": 3}, "version"),
        ({"customer_id": 3}, "customer_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_case_is_422_naming_the_field_and_writes_nothing(agent, body, field):
    customer = create_customer(agent)
    response = agent.post(
        f"/api/v1/customers/{customer['id']}/cases", json={"subject": "Broken", **body}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert agent.get(f"/api/v1/customers/{customer['id']}/cases").json()["items"] == []
    assert [e["action"] for e in history(agent, customer["id"])] == ["customer.created"]


def test_missing_subject_and_read_only_fields_are_named(agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}/cases"
    response = agent.post(url, json={"description": "no subject"})
    assert response.json()["errors"] == [{"field": "subject", "message": "is required"}]
    response = agent.post(url, json={"subject": "x", "version": 2})
    assert response.json()["errors"] == [{"field": "version", "message": "is read-only"}]


def test_every_field_error_is_reported_at_once(agent, db):
    customer = create_customer(agent)
    response = agent.post(
        f"/api/v1/customers/{customer['id']}/cases",
        json={"subject": "x", "type": "nosuch", "campaign_id": 9999, "assigned_to": 9999},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"type", "campaign_id", "assigned_to"}


def test_inactive_assignee_is_refused(admin, agent, other_agent):
    customer = create_customer(agent)
    deactivate = admin.patch(f"/api/v1/users/{other_agent.user_id}", json={"active": False})
    assert deactivate.status_code == 200, deactivate.text
    response = agent.post(
        f"/api/v1/customers/{customer['id']}/cases",
        json={"subject": "x", "assigned_to": other_agent.user_id},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "assigned_to"
    assigned = create_case(agent, customer["id"], assigned_to=agent.user_id)
    assert assigned["assigned_to"] == agent.user_id


def test_unknown_or_deleted_customer_is_404(supervisor, agent):
    response = agent.post("/api/v1/customers/987654/cases", json={"subject": "x"})
    assert response.status_code == 404
    assert agent.get("/api/v1/customers/987654/cases").status_code == 404
    customer = create_customer(agent)
    case = create_case(agent, customer["id"])
    assert supervisor.delete(f"/api/v1/customers/{customer['id']}").status_code == 204
    assert (
        agent.post(f"/api/v1/customers/{customer['id']}/cases", json={"subject": "x"}).status_code
        == 404
    )
    assert agent.get(f"/api/v1/customers/{customer['id']}/cases").status_code == 404
    assert agent.get(f"/api/v1/cases/{case['id']}").status_code == 404
    assert (
        agent.patch(
            f"/api/v1/cases/{case['id']}", json={"status": "open"}, headers={"If-Match": '"1"'}
        ).status_code
        == 404
    )
    assert agent.get("/api/v1/cases/987654").status_code == 404


def test_everyone_reads_every_case(admin, supervisor, agent, other_agent):
    customer = create_customer(agent)
    case = create_case(agent, customer["id"], assigned_to=agent.user_id)
    for api in (admin, supervisor, other_agent):
        assert api.get(f"/api/v1/cases/{case['id']}").status_code == 200
        items = api.get(f"/api/v1/customers/{customer['id']}/cases").json()["items"]
        assert [c["id"] for c in items] == [case["id"]]


def test_patch_records_exact_changes_and_bumps_the_version(admin, agent, other_agent):
    customer = create_customer(agent)
    campaign = admin.post("/api/v1/campaigns", json={"name": "Support", "direction": "inbound"})
    case = create_case(agent, customer["id"])
    url = f"/api/v1/cases/{case['id']}"
    response = agent.patch(
        url,
        json={
            "priority": "high",
            "type": "complaint",
            "campaign_id": campaign.json()["id"],
            "assigned_to": other_agent.user_id,
            "subject": "Router does not start",
        },
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["ETag"] == '"2"' and body["version"] == 2
    assert body["updated_by"] == "ana"
    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "case.updated" and entry["entity_id"] == case["id"]
    assert entry["changes"] == {
        "assigned_to": {"before": None, "after": other_agent.user_id},
        "campaign_id": {"before": None, "after": campaign.json()["id"]},
        "priority": {"before": "medium", "after": "high"},
        "type": {"before": "question", "after": "complaint"},
    }


def test_a_patch_that_changes_nothing_records_nothing(agent):
    customer = create_customer(agent)
    case = create_case(agent, customer["id"])
    response = agent.patch(
        f"/api/v1/cases/{case['id']}", json={"priority": "medium"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200 and response.json()["version"] == 1
    assert len(history(agent, customer["id"])) == 2


def test_patch_needs_if_match_and_stale_is_412_writing_nothing(agent, other_agent):
    customer = create_customer(agent)
    case = create_case(agent, customer["id"])
    url = f"/api/v1/cases/{case['id']}"
    missing = agent.patch(url, json={"status": "open"})
    assert missing.status_code == 428
    assert missing.json()["errors"][0]["field"] == "If-Match"
    assert agent.patch(url, json={"status": "open"}, headers={"If-Match": '"1"'}).status_code == 200
    stale = other_agent.patch(
        url, json={"status": "cancelled", "priority": "low"}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    stored = agent.get(url).json()
    assert (stored["status"], stored["priority"], stored["version"]) == ("open", "medium", 2)
    assert [e["action"] for e in history(agent, customer["id"])] == [
        "case.updated",
        "case.created",
        "customer.created",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "done"}, "status"),
        ({"priority": None}, "priority"),
        ({"subject": None}, "subject"),
        ({"type": "claim", "campaign_id": 424242}, "campaign_id"),
        ({"assigned_to": 424242}, "assigned_to"),
        ({"number": "C-000009"}, "number"),
        ({"closed_at": "2026-01-01T00:00:00Z"}, "closed_at"),
        ({"version": 9}, "version"),
    ],
)
def test_a_patch_that_breaks_a_rule_writes_nothing(agent, body, field):
    customer = create_customer(agent)
    case = create_case(agent, customer["id"])
    response = agent.patch(
        f"/api/v1/cases/{case['id']}",
        json={"description": "lost?", **body},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    stored = agent.get(f"/api/v1/cases/{case['id']}").json()
    assert stored == case
    assert len(history(agent, customer["id"])) == 2


def test_closed_at_is_set_on_close_or_cancel_and_cleared_on_reopen(agent):
    customer = create_customer(agent)
    case = create_case(agent, customer["id"])
    url = f"/api/v1/cases/{case['id']}"
    closed = agent.patch(url, json={"status": "closed"}, headers={"If-Match": '"1"'}).json()
    assert closed["closed_at"] is not None
    entry = history(agent, customer["id"])[0]
    assert entry["changes"]["status"] == {"before": "new", "after": "closed"}
    assert entry["changes"]["closed_at"]["before"] is None
    assert dt.datetime.fromisoformat(entry["changes"]["closed_at"]["after"]) == (
        dt.datetime.fromisoformat(closed["closed_at"].replace("Z", "+00:00"))
    )

    cancelled = agent.patch(url, json={"status": "cancelled"}, headers={"If-Match": '"2"'}).json()
    assert cancelled["closed_at"] == closed["closed_at"]

    reopened = agent.patch(url, json={"status": "open"}, headers={"If-Match": '"3"'}).json()
    assert reopened["closed_at"] is None
    assert history(agent, customer["id"])[0]["changes"]["closed_at"]["after"] is None

    born_closed = create_case(agent, customer["id"], status="closed")
    assert born_closed["closed_at"] is not None


def test_inactive_types_cannot_be_used_for_new_cases(admin, agent):
    customer = create_customer(agent)
    old = create_case(agent, customer["id"], type="claim")
    response = admin.patch("/api/v1/case-types/claim", json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    refused = agent.post(
        f"/api/v1/customers/{customer['id']}/cases", json={"subject": "x", "type": "claim"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "type"
    other = create_case(agent, customer["id"])
    changed = agent.patch(
        f"/api/v1/cases/{other['id']}", json={"type": "claim"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 422
    # A case that already has the type keeps it and can still be edited.
    kept = agent.patch(
        f"/api/v1/cases/{old['id']}",
        json={"priority": "low", "type": "claim"},
        headers={"If-Match": '"1"'},
    )
    assert kept.status_code == 200, kept.text
    active = agent.get("/api/v1/case-types", params={"active": True}).json()["items"]
    assert "claim" not in [t["key"] for t in active]


def test_case_types_are_managed_by_admins_only(admin, supervisor, agent):
    listed = agent.get("/api/v1/case-types").json()["items"]
    assert [t["key"] for t in listed] == ["claim", "complaint", "question", "suggestion"]
    assert (
        agent.post("/api/v1/case-types", json={"key": "order", "label": "Order"}).status_code == 403
    )
    assert supervisor.patch("/api/v1/case-types/claim", json={"label": "X"}).status_code == 403
    created = admin.post("/api/v1/case-types", json={"key": "order", "label": "Order"})
    assert created.status_code == 201
    assert created.json() == {"key": "order", "label": "Order", "active": True}
    duplicate = admin.post("/api/v1/case-types", json={"key": "order", "label": "Again"})
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "key"
    bad = admin.post("/api/v1/case-types", json={"key": "Bad Key", "label": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "key"
    assert admin.patch("/api/v1/case-types/nosuch", json={"label": "x"}).status_code == 404
    assert admin.patch("/api/v1/case-types/order", json={"label": None}).status_code == 422
    relabelled = admin.patch("/api/v1/case-types/order", json={"label": "Orders"})
    assert relabelled.json()["label"] == "Orders"
    customer = create_customer(agent)
    assert create_case(agent, customer["id"], type="order")["type"] == "order"


def _set_created_at(db, case_id: int, when: dt.datetime) -> None:
    with db.write() as session:
        session.execute(update(Case).where(Case.id == case_id).values(created_at=when))


def test_list_is_newest_first_with_keyset_pages(db, agent):
    customer = create_customer(agent)
    other = create_customer(agent, last_name="Nowak")
    create_case(agent, other["id"])
    cases = [create_case(agent, customer["id"], subject=f"case {i}") for i in range(7)]
    base = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    # Two cases share a creation time: the id breaks the tie.
    for index, case in enumerate(cases):
        _set_created_at(db, case["id"], base + dt.timedelta(hours=min(index, 5)))
    url = f"/api/v1/customers/{customer['id']}/cases"
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = agent.get(url, params=params).json()
        seen.extend(c["id"] for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in reversed(cases)]
    assert agent.get(url, params={"cursor": "garbage"}).status_code == 422


def test_list_filters_by_status_campaign_and_creation_window(db, admin, agent):
    customer = create_customer(agent)
    campaign = admin.post("/api/v1/campaigns", json={"name": "Sales", "direction": "outbound"})
    campaign_id = campaign.json()["id"]
    march = create_case(agent, customer["id"], subject="march")
    april = create_case(
        agent, customer["id"], subject="april", campaign_id=campaign_id, status="pending"
    )
    may = create_case(agent, customer["id"], subject="may", status="closed")
    for case, month in ((march, 3), (april, 4), (may, 5)):
        _set_created_at(db, case["id"], dt.datetime(2026, month, 10, tzinfo=dt.UTC))
    url = f"/api/v1/customers/{customer['id']}/cases"

    def ids(**params):
        response = agent.get(url, params=params)
        assert response.status_code == 200, response.text
        return [c["subject"] for c in response.json()["items"]]

    assert ids() == ["may", "april", "march"]
    assert ids(status="pending") == ["april"]
    assert ids(status=["new", "closed"]) == ["may", "march"]
    assert ids(campaign_id=campaign_id) == ["april"]
    assert ids(since="2026-04-01T00:00:00Z") == ["may", "april"]
    assert ids(until="2026-04-10T00:00:00Z") == ["march"]
    assert ids(since="2026-04-01", until="2026-05-01") == ["april"]
    assert ids(since="2026-04-10T02:00:00+02:00", until="2026-04-10T00:00:01Z") == ["april"]
    bad = agent.get(url, params={"status": "done"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("status")
    reversed_window = agent.get(url, params={"since": "2026-05-01", "until": "2026-04-01"})
    assert reversed_window.status_code == 422
    assert reversed_window.json()["errors"][0]["field"] == "until"


def test_indicators_count_the_customers_cases_in_the_window(db, admin, agent):
    customer = create_customer(agent)
    other = create_customer(agent, last_name="Nowak")
    create_case(agent, other["id"])
    campaign_id = admin.post(
        "/api/v1/campaigns", json={"name": "Retention", "direction": "outbound"}
    ).json()["id"]
    first = create_case(agent, customer["id"], campaign_id=campaign_id)
    create_case(agent, customer["id"], campaign_id=campaign_id, status="closed")
    old = create_case(agent, customer["id"])
    _set_created_at(db, old["id"], dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    with db.read() as session:
        assert service.cases_by_status(
            session, customer_id=customer["id"], since=None, until=None
        ) == {"new": 2, "open": 0, "pending": 0, "closed": 1, "cancelled": 0}
        since = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        assert (
            service.cases_by_status(session, customer_id=customer["id"], since=since, until=None)[
                "new"
            ]
            == 1
        )
        assert service.cases_by_campaign(
            session, customer_id=customer["id"], since=since, until=None
        ) == [{"campaign_id": campaign_id, "campaign_name": "Retention", "count": 2}]
        everything = service.cases_by_campaign(
            session, customer_id=customer["id"], since=None, until=None
        )
        assert everything == [
            {"campaign_id": campaign_id, "campaign_name": "Retention", "count": 2},
            {"campaign_id": None, "campaign_name": None, "count": 1},
        ]
    assert first["number"] == "C-000002"


def test_a_case_names_one_of_its_customers_accounts_and_no_other(agent):
    owner = create_customer(agent, last_name="Owner")
    other = create_customer(agent, last_name="Other")
    mine = agent.post(
        f"/api/v1/customers/{owner['id']}/accounts", json={"number": "PL-001", "type": "bank"}
    ).json()
    theirs = agent.post(
        f"/api/v1/customers/{other['id']}/accounts", json={"number": "PL-002", "type": "bank"}
    ).json()
    url = f"/api/v1/customers/{owner['id']}/cases"
    wrong = agent.post(url, json={"subject": "Card blocked", "account_id": theirs["id"]})
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["account_id"]
    case = agent.post(url, json={"subject": "Card blocked", "account_id": mine["id"]})
    assert case.status_code == 201, case.text
    assert case.json()["account_id"] == mine["id"]
    # The account a case names cannot be removed under it.
    gone = agent.delete(f"/api/v1/customers/{owner['id']}/accounts/{mine['id']}")
    assert gone.status_code == 409
