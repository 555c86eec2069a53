"""Custom values written and read with the customer as `custom`, validated on every write."""

from __future__ import annotations

from clientcard.auth.actor import system_actor
from clientcard.interactions import service as interactions
from tests.custom_fields.conftest import define, field_names, history


def _fields(admin) -> None:
    define(admin, "segment", "choice", options=["retail", "sme", "corporate"], required=True)
    define(admin, "contract_end", "date")
    define(admin, "seats", "number")


def test_values_are_validated_normalized_and_read_back_with_the_card(admin, agent):
    _fields(admin)
    response = agent.post(
        "/api/v1/customers",
        json={"last_name": "Nowak", "custom": {"segment": "sme", "contract_end": "2027-03-31"}},
    )
    assert response.status_code == 201, response.text
    card = response.json()
    assert card["custom"] == {"segment": "sme", "contract_end": "2027-03-31"}
    assert agent.get(f"/api/v1/customers/{card['id']}").json()["custom"] == card["custom"]


def test_a_required_field_left_out_is_422_naming_it_and_nothing_is_written(admin, agent):
    _fields(admin)
    response = agent.post("/api/v1/customers", json={"last_name": "Nowak", "custom": {}})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field_names(response) == ["custom.segment"]
    assert agent.get("/api/v1/customers").json()["items"] == []


def test_wrong_types_and_choices_outside_the_options_are_422_naming_each(admin, agent):
    _fields(admin)
    response = agent.post(
        "/api/v1/customers",
        json={
            "last_name": "Nowak",
            "custom": {"segment": "enterprise", "seats": "many", "contract_end": "soon"},
        },
    )
    assert response.status_code == 422
    assert sorted(field_names(response)) == [
        "custom.contract_end",
        "custom.seats",
        "custom.segment",
    ]
    unknown = agent.post(
        "/api/v1/customers", json={"last_name": "N", "custom": {"segment": "sme", "nope": 1}}
    )
    assert unknown.status_code == 422 and field_names(unknown) == ["custom.nope"]


def test_a_patch_merges_the_keys_sent_and_the_history_names_each_value(admin, agent):
    _fields(admin)
    card = agent.post(
        "/api/v1/customers", json={"last_name": "Nowak", "custom": {"segment": "retail"}}
    ).json()
    url = f"/api/v1/customers/{card['id']}"
    response = agent.patch(
        url, json={"custom": {"seats": 12, "segment": "corporate"}}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    assert response.json()["custom"] == {"segment": "corporate", "seats": 12}
    entry = history(agent, card["id"])[0]
    assert entry["changes"] == {
        "custom.segment": {"before": "retail", "after": "corporate"},
        "custom.seats": {"before": None, "after": 12},
    }
    # Removing a required value is refused; the stored values stay as they were.
    refused = agent.patch(url, json={"custom": {"segment": None}}, headers={"If-Match": '"2"'})
    assert refused.status_code == 422 and field_names(refused) == ["custom.segment"]
    assert agent.get(url).json()["custom"] == {"segment": "corporate", "seats": 12}
    # A PATCH without `custom` leaves the values alone.
    assert agent.patch(url, json={"vip": True}, headers={"If-Match": '"2"'}).status_code == 200
    assert agent.get(url).json()["custom"] == {"segment": "corporate", "seats": 12}


def test_a_lead_created_by_ingestion_is_not_refused_for_a_missing_required_field(db, admin):
    _fields(admin)
    item = {
        "source": "pbx",
        "external_id": "call-1",
        "channel": "voice",
        "direction": "inbound",
        "from": "+48601234567",
        "started_at": "2026-11-30T10:00:00Z",
    }
    with db.write() as session:
        [result] = interactions.ingest(session, actor=system_actor("pbx"), items=[item])
    assert result.result == "created" and result.customer_id is not None
