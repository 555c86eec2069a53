"""The card's profile tabs through a TestClient, on SQLite and PostgreSQL: related
customers, accounts, campaigns, attachments, personal data, custom fields and group tabs,
the header's owner, status and rating, and previous/next through the list."""

from __future__ import annotations

import hashlib
import re

from tests.conftest import Api, create_customer
from tests.web.conftest import Browser


def _card(web: Browser, customer_id: int, tab: str = "") -> str:
    response = web.get(f"/customers/{customer_id}{'/' + tab if tab else ''}")
    assert response.status_code == 200, response.text
    return response.text


def test_related_customers_show_from_both_sides_and_go_from_both(agent: Api, web: Browser):
    ewa = create_customer(agent, first_name="Ewa", last_name="Nowak")
    jan = create_customer(agent, first_name="Jan", last_name="Nowak")
    added = web.post(
        f"/customers/{ewa['id']}/related",
        {"other_id": jan["id"], "labels": "spouse", "note": "Married 2010"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "Jan Nowak" in _card(web, ewa["id"], "related")
    theirs = _card(web, jan["id"], "related")
    assert "Ewa Nowak" in theirs and "spouse" in theirs
    relation = agent.get(f"/api/v1/customers/{jan['id']}/relations").json()["items"][0]
    removed = web.post(
        f"/customers/{jan['id']}/related/{relation['id']}/delete",
        {"version": relation["version"]},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert agent.get(f"/api/v1/customers/{ewa['id']}/relations").json()["items"] == []
    itself = web.post(f"/customers/{ewa['id']}/related", {"other_id": ewa["id"], "labels": "x"})
    assert itself.status_code == 422 and 'id="err-other_id"' in itself.text


def test_accounts_are_added_with_their_data_and_bad_input_is_named(agent: Api, web: Browser):
    customer = create_customer(agent)
    added = web.post(
        f"/customers/{customer['id']}/accounts",
        {
            "number": "PL61 1090 1014",
            "type": "Bank",
            "status": "active",
            "data": "branch = Gdańsk\nopened = 2019-04-01",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    [account] = agent.get(f"/api/v1/customers/{customer['id']}/accounts").json()["items"]
    assert account["type"] == "bank"
    assert account["data"] == {"branch": "Gdańsk", "opened": "2019-04-01"}
    page = _card(web, customer["id"], "accounts")
    assert "PL61 1090 1014" in page and "Gdańsk" in page
    bad = web.post(
        f"/customers/{customer['id']}/accounts", {"number": "X-1", "type": "loan", "data": "oops"}
    )
    assert bad.status_code == 422 and 'id="err-data"' in bad.text
    assert len(agent.get(f"/api/v1/customers/{customer['id']}/accounts").json()["items"]) == 1


def test_campaign_records_are_listed_and_added(admin: Api, agent: Api, web: Browser):
    campaign = admin.post(
        "/api/v1/campaigns", json={"name": "Winback 2026", "direction": "outbound"}
    ).json()
    customer = create_customer(agent)
    added = web.post(
        f"/customers/{customer['id']}/campaigns",
        {
            "campaign_id": campaign["id"],
            "status": "callback",
            "recontact_at": "2026-12-07T09:00",
            "note": "Call after 9",
            "assign_to_me": "on",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    [record] = agent.get(f"/api/v1/customers/{customer['id']}/campaigns").json()["items"]
    assert record["status"] == "callback"
    assert record["recontact_at"].startswith("2026-12-07T09:00")
    page = _card(web, customer["id"], "campaigns")
    assert "Winback 2026" in page and "wanda" in page
    bad = web.post(
        f"/customers/{customer['id']}/campaigns", {"campaign_id": 99999, "status": "pending"}
    )
    assert bad.status_code == 422 and 'id="err-campaign_id"' in bad.text


def test_a_file_uploaded_from_the_card_downloads_with_the_same_bytes(agent: Api, web: Browser):
    customer = create_customer(agent)
    content = b"%PDF-1.4\n" + bytes(range(256)) * 40
    url = f"/customers/{customer['id']}/attachments"
    no_header = web.client.post(url, files={"file": ("x.pdf", content, "application/pdf")})
    assert no_header.status_code == 403  # the upload's CSRF token travels in the header
    uploaded = web.client.post(
        url,
        files={"file": ("Umowa łączna.pdf", content, "application/pdf")},
        headers={"X-CSRF-Token": web.csrf},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    page = _card(web, customer["id"], "attachments")
    file_id = int(re.search(r'href="/files/(\d+)"', page).group(1))
    assert "Umowa łączna.pdf" in page
    download = web.get(f"/files/{file_id}")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(content).hexdigest()
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
    refused = web.client.post(
        url,
        files={"file": ("run.exe", b"MZ\x90\x00", "application/x-msdownload")},
        headers={"X-CSRF-Token": web.csrf},
    )
    assert refused.status_code == 415 and 'id="err-file"' in refused.text
    items = agent.get(f"/api/v1/customers/{customer['id']}/attachments").json()["items"]
    assert [i["name"] for i in items] == ["Umowa łączna.pdf"]
    [item] = items
    deleted = web.post(
        f"/attachments/{file_id}/delete",
        {"version": item["version"], "customer_id": customer["id"]},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert web.get(f"/files/{file_id}").status_code == 404


def test_personal_data_lists_what_is_held(agent: Api, web: Browser):
    customer = create_customer(
        agent,
        identification_type="pesel",
        identification_number="44051401458",
        contact_points=[{"type": "email", "value": "ewa@example.com"}],
    )
    page = _card(web, customer["id"], "personal-data")
    assert "44051401458" in page and "ewa@example.com" in page
    htmx = web.htmx_get(f"/customers/{customer['id']}/personal-data", "tab-panel")
    assert htmx.status_code == 200 and "44051401458" in htmx.text


def test_custom_fields_are_edited_on_the_card_and_refused_with_their_name(
    admin: Api, agent: Api, web: Browser
):
    admin.post(
        "/api/v1/custom-fields",
        json={
            "key": "segment",
            "label": "Customer segment",
            "type": "choice",
            "options": ["retail", "sme"],
            "required": True,
        },
    )
    admin.post(
        "/api/v1/custom-fields",
        json={"key": "contract_end", "label": "Contract end", "type": "date"},
    )
    customer = create_customer(agent, custom={"segment": "retail"})
    page = _card(web, customer["id"])
    assert "Customer segment" in page and 'name="date:contract_end"' in page
    form = {
        "version": "1",
        "kind": "person",
        "last_name": customer["last_name"],
        "choice:segment": "",
        "date:contract_end": "2027-03-31",
    }
    refused = web.post(f"/customers/{customer['id']}", form)
    assert refused.status_code == 422 and 'id="err-cf-segment"' in refused.text
    saved = web.post(
        f"/customers/{customer['id']}", {**form, "choice:segment": "sme"}, follow_redirects=False
    )
    assert saved.status_code == 303
    card = agent.get(f"/api/v1/customers/{customer['id']}").json()
    assert card["custom"] == {"segment": "sme", "contract_end": "2027-03-31"}


def test_a_group_tab_adds_typed_records(admin: Api, agent: Api, web: Browser):
    admin.post("/api/v1/custom-field-groups", json={"key": "orders", "label": "Orders"})
    for key, kind in (("product", "text"), ("quantity", "number"), ("paid", "boolean")):
        admin.post(
            "/api/v1/custom-fields",
            json={
                "key": key,
                "label": key.title(),
                "type": kind,
                "group": "orders",
                "required": key == "product",
            },
        )
    customer = create_customer(agent)
    page = _card(web, customer["id"])
    assert f'href="/customers/{customer["id"]}/groups/orders"' in page
    url = f"/customers/{customer['id']}/groups/orders"
    bad = web.post(url, {"text:product": "Router", "number:quantity": "two"})
    assert bad.status_code == 422 and 'id="err-gr-quantity"' in bad.text
    added = web.post(
        url, {"text:product": "Router", "number:quantity": "2", "boolean:paid": "true"}
    )
    assert added.status_code == 200 and "Router" in added.text
    records = agent.get(f"/api/v1/customers/{customer['id']}/groups/orders/records").json()
    assert [r["values"] for r in records["items"]] == [
        {"product": "Router", "quantity": 2, "paid": True}
    ]


def test_the_header_shows_owner_status_and_rating_and_the_owner_is_guarded(
    agent: Api, other_agent: Api, web: Browser
):
    customer = create_customer(agent, lead_status="in_progress", rating=4)
    page = _card(web, customer["id"])
    assert "In progress" in page and page.count("star on") == 4
    form = {
        "version": "1",
        "kind": "person",
        "last_name": customer["last_name"],
        "lead_status": "sale",
        "rating": "5",
        "owner": "me",
    }
    assert web.post(f"/customers/{customer['id']}", form, follow_redirects=False).status_code == 303
    card = agent.get(f"/api/v1/customers/{customer['id']}").json()
    assert (card["lead_status"], card["rating"]) == ("sale", 5)
    assert 'id="owner">wanda<' in _card(web, customer["id"])
    # Another agent may not take the card from its owner.
    version = card["version"]
    taken = other_agent.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"assigned_to": other_agent.user_id},
        headers={"If-Match": f'"{version}"'},
    )
    assert taken.status_code == 403


def test_previous_and_next_follow_the_list_the_agent_came_from(agent: Api, web: Browser):
    ids = [create_customer(agent, last_name=name)["id"] for name in ("Abad", "Bosch", "Costa")]
    web.get("/customers?sort=name")
    middle = _card(web, ids[1])
    assert f'href="/customers/{ids[0]}" rel="prev"' in middle
    assert f'href="/customers/{ids[2]}" rel="next"' in middle
    web.get("/customers?q=Costa")
    alone = _card(web, ids[2])
    assert 'rel="prev"' not in alone and 'rel="next"' not in alone


def test_ids_too_large_for_the_database_are_refused_on_the_pages(agent: Api, web: Browser):
    customer = create_customer(agent)
    too_big = 2**63
    assert web.get(f"/files/{too_big}").status_code == 422
    assert web.get(f"/customers/{too_big}").status_code == 422
    refused = web.post(
        f"/customers/{customer['id']}/related", {"other_id": str(too_big), "labels": "x"}
    )
    assert refused.status_code == 422 and 'id="err-other_id"' in refused.text
    assert agent.get(f"/api/v1/customers/{customer['id']}/relations").json()["items"] == []
