"""The unified timeline and the customer dashboard."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import create_customer

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def item(n: int, **fields):
    return {
        "source": "platform",
        "external_id": f"i-{n}",
        "channel": "sms",
        "direction": "inbound",
        "from": "+48601234567",
        "started_at": (T0 + dt.timedelta(minutes=n)).isoformat(),
        "body": f"message {n}",
        **fields,
    }


@pytest.fixture
def ewa(agent):
    return create_customer(
        agent,
        first_name="Ewa",
        contact_points=[
            {"type": "mobile", "value": "601 234 567"},
            {"type": "email", "value": "ewa@example.pl"},
        ],
    )


def ingest(api, items):
    response = api.post("/api/v1/interactions/batch", json={"items": items})
    assert response.status_code == 200
    assert all(r["result"] == "created" for r in response.json()["items"]), response.text
    return response.json()["items"]


def test_timeline_mixes_interactions_and_notes_newest_first(agent, ewa):
    ingest(
        agent,
        [
            item(1),
            item(
                3,
                channel="email",
                **{"from": "ewa@example.pl"},
                subject="Invoice",
                body="Where is it?",
            ),
        ],
    )
    note = agent.post(f"/api/v1/customers/{ewa['id']}/notes", json={"text": "Called back"})
    assert note.status_code == 201
    items = agent.get(f"/api/v1/customers/{ewa['id']}/timeline").json()["items"]
    assert [i["kind"] for i in items] == ["note", "interaction", "interaction"]
    assert items[1]["preview"] == "Invoice — Where is it?" and items[1]["channel"] == "email"
    assert items[0]["actor"] == "ana"
    ats = [i["at"] for i in items]
    assert ats == sorted(ats, reverse=True)


def test_timeline_filters(agent, ewa):
    ingest(
        agent,
        [
            item(1),
            item(2, direction="outbound", **{"from": "+48221000000"}, to="+48601234567"),
            item(3, channel="whatsapp"),
        ],
    )
    agent.post(f"/api/v1/customers/{ewa['id']}/notes", json={"text": "n"})
    url = f"/api/v1/customers/{ewa['id']}/timeline"
    assert [i["channel"] for i in agent.get(f"{url}?channel=whatsapp").json()["items"]] == [
        "whatsapp"
    ]
    assert len(agent.get(f"{url}?direction=outbound").json()["items"]) == 1
    since = (T0 + dt.timedelta(minutes=2)).isoformat()
    window = agent.get(url, params={"since": since, "channel": "sms"}).json()["items"]
    assert [i["preview"] for i in window] == ["message 2"]
    assert agent.get(url, params={"since": "yesterday"}).status_code == 422
    assert agent.get(url, params={"channel": "fax"}).status_code == 422


def test_paging_while_new_interactions_arrive_never_repeats_or_skips(agent, ewa):
    ingest(agent, [item(n) for n in range(30)])
    url = f"/api/v1/customers/{ewa['id']}/timeline"
    seen, cursor, arrivals = [], None, 100
    while True:
        body = agent.get(url, params={"limit": 7, **({"cursor": cursor} if cursor else {})})
        body = body.json()
        seen += [i["id"] for i in body["items"]]
        ingest(agent, [item(arrivals)])  # a newer one arrives between pages
        arrivals += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 30
    previews = [
        int(p.split()[-1])
        for p in (agent.get(f"/api/v1/interactions/{i}").json()["preview"] for i in seen)
    ]
    assert previews == list(range(29, -1, -1))


def test_same_timestamp_items_page_without_loss(agent, ewa):
    ingest(agent, [item(0, external_id=f"same-{n}") for n in range(9)])
    url = f"/api/v1/customers/{ewa['id']}/timeline"
    first = agent.get(url, params={"limit": 4}).json()
    second = agent.get(url, params={"limit": 4, "cursor": first["next_cursor"]}).json()
    third = agent.get(url, params={"limit": 4, "cursor": second["next_cursor"]}).json()
    ids = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert len(ids) == len(set(ids)) == 9 and third["next_cursor"] is None


def test_timeline_of_unknown_customer_is_404(agent):
    assert agent.get("/api/v1/customers/999/timeline").status_code == 404
    assert agent.post("/api/v1/customers/999/notes", json={"text": "x"}).status_code == 404


def test_notes_are_validated_and_audited(agent, ewa):
    assert agent.post(f"/api/v1/customers/{ewa['id']}/notes", json={"text": ""}).status_code == 422
    agent.post(f"/api/v1/customers/{ewa['id']}/notes", json={"text": "VIP treatment"})
    entry = agent.get(f"/api/v1/customers/{ewa['id']}/history").json()["items"][0]
    assert entry["action"] == "customer_note.created"
    assert entry["changes"] == {"text": {"before": None, "after": "VIP treatment"}}


def test_dashboard_channels_and_preferred_channel(supervisor, agent, ewa):
    ingest(
        agent,
        [
            item(1, channel="voice", status="answered"),
            item(2, channel="voice", status="missed"),
            item(
                3,
                channel="voice",
                direction="outbound",
                **{"from": "+48221000000"},
                to="+48601234567",
                status="answered",
            ),
            item(4, channel="whatsapp", status="read"),
            item(
                5,
                channel="whatsapp",
                direction="outbound",
                **{"from": "+48221000000"},
                to="+48601234567",
                status="failed",
            ),
        ],
    )
    board = supervisor.get(f"/api/v1/customers/{ewa['id']}/dashboard").json()
    channels = {c["channel"]: c for c in board["channels"]}
    assert channels["voice"] == {
        "channel": "voice",
        "inbound": 2,
        "outbound": 1,
        "total": 3,
        "successful": 2,
        "success_rate": round(2 / 3, 4),
    }
    assert channels["whatsapp"]["successful"] == 1 and channels["whatsapp"]["total"] == 2
    assert board["preferred_channel"] == "voice"
    assert board["by_campaign"] == [
        {"campaign_id": None, "name": None, "cases": 0, "interactions": 5}
    ]
    until = (T0 + dt.timedelta(minutes=3)).isoformat()
    early = supervisor.get(
        f"/api/v1/customers/{ewa['id']}/dashboard", params={"until": until}
    ).json()
    assert sum(c["total"] for c in early["channels"]) == 2
    bad = supervisor.get(
        f"/api/v1/customers/{ewa['id']}/dashboard", params={"since": until, "until": T0.isoformat()}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "until"
