"""Ingestion from channel platforms: idempotency, identity resolution, leads, batches."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import create_customer

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def call(external_id: str, **fields):
    return {
        "source": "telephony",
        "external_id": external_id,
        "channel": "voice",
        "direction": "inbound",
        "from": "+48 601 234 567",
        "to": "+48 22 100 00 00",
        "started_at": NOW.isoformat(),
        **fields,
    }


@pytest.fixture
def ewa(agent):
    return create_customer(
        agent,
        first_name="Ewa",
        last_name="Nowak",
        contact_points=[{"type": "mobile", "value": "601 234 567", "region": "PL"}],
    )


def test_an_inbound_call_lands_on_the_callers_card(agent, ewa):
    response = agent.post(
        "/api/v1/interactions",
        json=call(
            "c-1",
            agent="ana",
            queue="Sales",
            status="answered",
            ended_at=(NOW + dt.timedelta(seconds=192)).isoformat(),
            details={
                "duration_s": 192,
                "ivr_path": "1>3",
                "recording_url": "https://rec.example.com/c-1.wav",
            },
        ),
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["result"] == "created" and result["customer_id"] == ewa["id"]
    assert result["ambiguous"] is False
    detail = agent.get(f"/api/v1/interactions/{result['id']}").json()
    assert detail["from"] == "+48 601 234 567" and detail["queue"] == "Sales"
    assert detail["details"]["duration_s"] == 192 and detail["details"]["ivr_path"] == "1>3"
    assert detail["preview"] == "inbound call, answered, 3 min 12 s, queue Sales"
    card = agent.get(f"/api/v1/customers/{ewa['id']}").json()
    assert card["last_interaction_at"].startswith("2026-11-20T10:00")
    assert card["version"] == ewa["version"]
    top = agent.get(f"/api/v1/customers/{ewa['id']}/timeline").json()["items"][0]
    assert (top["kind"], top["id"], top["channel"]) == ("interaction", result["id"], "voice")


def test_last_interaction_moves_forward_only_for_each_customer_of_a_batch(agent, ewa):
    jan = create_customer(
        agent, first_name="Jan", contact_points=[{"type": "phone", "value": "+48 22 555 01 23"}]
    )
    later, earlier = NOW + dt.timedelta(hours=2), NOW - dt.timedelta(days=3)
    items = [
        call("m-1", started_at=NOW.isoformat()),
        call("m-2", started_at=later.isoformat()),  # Ewa's latest, in the middle of the batch
        call("m-3", started_at=earlier.isoformat()),
        call("m-4", **{"from": "+48 22 555 01 23"}, started_at=earlier.isoformat()),
    ]
    results = agent.post("/api/v1/interactions/batch", json={"items": items}).json()["items"]
    assert [r["result"] for r in results] == ["created"] * 4

    def last(customer):
        return agent.get(f"/api/v1/customers/{customer['id']}").json()["last_interaction_at"]

    assert last(ewa).startswith(later.strftime("%Y-%m-%dT%H:%M"))
    assert last(jan).startswith(earlier.strftime("%Y-%m-%dT%H:%M"))
    older = [call("m-5", started_at=NOW.isoformat()), call("m-6", **{"from": "+48225550123"})]
    agent.post("/api/v1/interactions/batch", json={"items": older})
    assert last(ewa).startswith(later.strftime("%Y-%m-%dT%H:%M"))  # never back
    assert last(jan).startswith(NOW.strftime("%Y-%m-%dT%H:%M"))  # forward


def test_sending_again_creates_nothing(agent, ewa):
    first = agent.post("/api/v1/interactions", json=call("c-1"))
    again = agent.post("/api/v1/interactions", json=call("c-1", body="changed"))
    assert again.status_code == 200
    assert again.json()["result"] == "duplicate" and again.json()["id"] == first.json()["id"]


def test_the_same_batch_twice_gives_the_same_data(agent, ewa):
    items = [
        call(f"b-{n}", started_at=(NOW + dt.timedelta(minutes=n)).isoformat()) for n in range(20)
    ]
    first = agent.post("/api/v1/interactions/batch", json={"items": items}).json()["items"]
    assert {r["result"] for r in first} == {"created"}
    second = agent.post("/api/v1/interactions/batch", json={"items": items}).json()["items"]
    assert {r["result"] for r in second} == {"duplicate"}
    assert [r["id"] for r in second] == [r["id"] for r in first]
    timeline = agent.get(f"/api/v1/customers/{ewa['id']}/timeline?limit=200").json()["items"]
    assert len(timeline) == 20


def test_one_bad_item_never_sinks_the_batch(agent, ewa):
    items = [call(f"ok-{n}") for n in range(999)]
    items.insert(500, call("bad", channel="pigeon"))
    response = agent.post("/api/v1/interactions/batch", json={"items": items})
    assert response.status_code == 200
    results = response.json()["items"]
    assert len(results) == 1000
    bad = results[500]
    assert bad["result"] == "error" and bad["errors"][0]["field"] == "channel"
    assert sum(r["result"] == "created" for r in results) == 999


def test_a_repeat_inside_one_batch_is_a_duplicate(agent, ewa):
    results = agent.post(
        "/api/v1/interactions/batch", json={"items": [call("x"), call("x")]}
    ).json()["items"]
    assert [r["result"] for r in results] == ["created", "duplicate"]
    assert results[0]["id"] == results[1]["id"]


def test_whatsapp_from_a_mobile_stored_in_national_format(agent, ewa):
    result = agent.post(
        "/api/v1/interactions",
        json=call(
            "wa-1",
            channel="whatsapp",
            **{"from": "48601234567"},
            to="+48221000000",
            body="Hola, ¿mi pedido?",
        ),
    ).json()
    assert result["customer_id"] == ewa["id"]


def test_unknown_email_creates_a_lead_created_by_ingestion(agent):
    result = agent.post(
        "/api/v1/interactions",
        json={
            "source": "mail-gw",
            "external_id": "m-1",
            "channel": "email",
            "direction": "inbound",
            "from": "New.Person@Example.com",
            "to": "support@us.example",
            "subject": "Offer?",
            "started_at": NOW.isoformat(),
            "lead_source": {"site": "example.com", "utm_campaign": "autumn"},
        },
    ).json()
    assert result["result"] == "created"
    lead = agent.get(f"/api/v1/customers/{result['customer_id']}").json()
    assert lead["contact_points"][0]["normalized"] == "new.person@example.com"
    assert lead["lead_source"] == {
        "entry_method": "channel",
        "site": "example.com",
        "utm_campaign": "autumn",
    }
    created = agent.get(f"/api/v1/customers/{lead['id']}/history").json()["items"][-1]
    assert created["action"] == "customer.created" and created["origin"] == "ingestion"
    again = agent.post(
        "/api/v1/interactions",
        json={
            "source": "mail-gw",
            "external_id": "m-2",
            "channel": "email",
            "direction": "inbound",
            "from": "new.person@example.com",
            "started_at": NOW.isoformat(),
        },
    ).json()
    assert again["customer_id"] == lead["id"]


def test_outbound_uses_the_to_address(agent, ewa):
    result = agent.post(
        "/api/v1/interactions",
        json=call("o-1", direction="outbound", **{"from": "+48221000000"}, to="601234567"),
    ).json()
    assert result["customer_id"] == ewa["id"]


def test_several_matches_are_flagged_and_listed(agent, ewa):
    twin = create_customer(
        agent, first_name="Jan", contact_points=[{"type": "phone", "value": "+48601234567"}]
    )
    agent.post(
        "/api/v1/interactions",
        json=call(
            "older", customer_id=twin["id"], started_at=(NOW - dt.timedelta(days=1)).isoformat()
        ),
    )
    result = agent.post("/api/v1/interactions", json=call("amb")).json()
    assert result["ambiguous"] is True
    assert result["customer_id"] == twin["id"]  # the most recently active
    assert sorted(result["candidates"]) == sorted([ewa["id"], twin["id"]])
    listed = agent.get("/api/v1/interactions?ambiguous=true").json()["items"]
    assert [i["id"] for i in listed] == [result["id"]]
    resolved = agent.post(
        f"/api/v1/interactions/{result['id']}/resolve", json={"customer_id": ewa["id"]}
    )
    assert resolved.status_code == 200 and resolved.json()["customer_id"] == ewa["id"]
    assert agent.get("/api/v1/interactions?ambiguous=true").json()["items"] == []


def test_addresses_in_normalized_form_and_any_other_find_the_same_cards(agent, ewa):
    """Numbers in E.164 and plain e-mail addresses are matched without being parsed; the
    answer must be what reading them fully gives, including for the ones that match
    nobody as written."""
    london = create_customer(
        agent,
        first_name="Liam",
        contact_points=[
            {"type": "phone", "value": "+44 20 7946 0000"},
            {"type": "email", "value": "Liam.Smith@Example.co.uk"},
        ],
    )
    items = [
        call("n-1", **{"from": "+48601234567"}),
        call("n-2", **{"from": "0048 601 234 567"}),
        call("n-3", **{"from": "+4402079460000"}),  # a trunk 0 kept: +44 20 7946 0000
        call("n-4", channel="whatsapp", **{"from": "+48601234567"}),
        call("n-5", channel="email", **{"from": "LIAM.SMITH@EXAMPLE.CO.UK"}),
        call("n-6", channel="email", **{"from": " liam.smith@example.co.uk "}),
        call("n-7", **{"from": "+48601234568"}),  # valid, unknown: a new lead
    ]
    results = agent.post("/api/v1/interactions/batch", json={"items": items}).json()["items"]
    assert [r["result"] for r in results] == ["created"] * 7
    owners = [r["customer_id"] for r in results]
    assert owners[:6] == [ewa["id"], ewa["id"], london["id"], ewa["id"], london["id"], london["id"]]
    lead = agent.get(f"/api/v1/customers/{owners[6]}").json()
    assert lead["id"] not in (ewa["id"], london["id"])
    assert [(p["type"], p["normalized"]) for p in lead["contact_points"]] == [
        ("mobile", "+48601234568")
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"from": None}, "from"),
        ({"from": "not a phone"}, "from"),
        ({"from": "+4800000000"}, "from"),  # written as E.164, but no valid number
        ({"channel": "email", "from": "ana@@example.pl"}, "from"),
        ({"started_at": "2026-11-20T10:00:00"}, "started_at"),
        ({"customer_id": 987654}, "customer_id"),
        ({"case_id": 987654}, "case_id"),
        ({"campaign_id": 987654}, "campaign_id"),
        ({"agent": "nobody"}, "agent"),
        ({"details": {"duration_s": -1}}, "details.duration_s"),
        ({"details": {"colour": "red"}}, "details.colour"),
        ({"ended_at": (NOW - dt.timedelta(hours=1)).isoformat()}, "ended_at"),
    ],
)
def test_bad_items_name_the_field(agent, ewa, fields, field):
    results = agent.post(
        "/api/v1/interactions/batch", json={"items": [call("e", **fields)]}
    ).json()["items"]
    assert results[0]["result"] == "error"
    assert field in [e["field"] for e in results[0]["errors"]]


def test_a_single_bad_interaction_is_422(agent):
    response = agent.post("/api/v1/interactions", json=call("z", direction="sideways"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "direction"


def test_batches_are_limited_to_1000(agent):
    response = agent.post(
        "/api/v1/interactions/batch", json={"items": [call(str(n)) for n in range(1001)]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items"


def test_an_inbound_address_new_to_a_named_customer_is_captured(agent, ewa):
    agent.post(
        "/api/v1/interactions",
        json={
            "source": "mail-gw",
            "external_id": "m-9",
            "channel": "email",
            "direction": "inbound",
            "from": "ewa.private@example.pl",
            "customer_id": ewa["id"],
            "started_at": NOW.isoformat(),
        },
    )
    points = agent.get(f"/api/v1/customers/{ewa['id']}/contact-points").json()["items"]
    assert "ewa.private@example.pl" in [p["normalized"] for p in points]
    entry = agent.get(f"/api/v1/customers/{ewa['id']}/history").json()["items"][0]
    assert entry["action"] == "contact_point.created" and entry["origin"] == "ingestion"
