"""The web pages through a TestClient, on SQLite and PostgreSQL: login and CSRF, the list,
every tab of the card, the writes the card makes, and the case page."""

from __future__ import annotations

import re

from clientcard.auth.actor import Role
from tests.conftest import Api, create_customer, make_user
from tests.web.conftest import Browser


def _ingest_call(api: Api, customer_id: int, external_id: str = "c-1", **fields):
    item = {
        "source": "pbx",
        "external_id": external_id,
        "channel": "voice",
        "direction": "inbound",
        "from": "+48601234567",
        "customer_id": customer_id,
        "started_at": "2026-01-05T10:00:00Z",
        "status": "answered",
        **fields,
    }
    response = api.post("/api/v1/interactions", json=item)
    assert response.status_code in (200, 201), response.text
    return response.json()


# ---- login, logout, CSRF ---------------------------------------------------------------


def test_pages_need_a_session(browser: Browser):
    response = browser.get("/customers/1/timeline?channel=voice", follow_redirects=False)
    assert response.status_code == 303
    assert (
        response.headers["location"] == "/login?next=%2Fcustomers%2F1%2Ftimeline%3Fchannel%3Dvoice"
    )
    htmx = browser.htmx_get("/customers", "results")
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/login")


def test_login_sets_a_safe_cookie_and_logout_revokes_it(db, browser: Browser):
    make_user(db, "lena", Role.SUPERVISOR)
    wrong = browser.login("lena", "not-the-password")
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text

    response = browser.login("lena", next="//evil.example/")
    assert response.status_code == 303 and response.headers["location"] == "/customers"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = browser.get("/customers")
    assert page.status_code == 200 and "lena" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")

    cookies = dict(browser.client.cookies)
    assert browser.post("/logout", follow_redirects=False).status_code == 303
    assert browser.get("/customers", follow_redirects=False).status_code == 303
    # The old cookie names a revoked token: replaying it does not log anyone in.
    browser.client.cookies.update(cookies)
    assert browser.get("/customers", follow_redirects=False).status_code == 303


def test_login_and_writes_need_the_csrf_token(db, agent: Api, web: Browser):
    customer = create_customer(agent)
    no_token = web.client.post(
        f"/customers/{customer['id']}/notes", data={"text": "hi"}, follow_redirects=False
    )
    assert no_token.status_code == 403
    wrong = web.client.post(
        f"/customers/{customer['id']}/notes",
        data={"text": "hi", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    by_header = web.htmx_post(f"/customers/{customer['id']}/notes", "card", {"text": "hi"})
    assert by_header.status_code == 200 and "hi" in by_header.text
    assert web.client.post("/login", data={"username": "x", "password": "y"}).status_code == 403


# ---- the list --------------------------------------------------------------------------


def test_list_searches_by_part_of_a_phone_number_and_filters(agent: Api, web: Browser):
    ewa = create_customer(
        agent,
        first_name="Ewa",
        last_name="Nowak",
        vip=True,
        contact_points=[{"type": "mobile", "value": "601 234 567"}],
    )
    create_customer(agent, first_name="Jan", last_name="Zieliński")
    create_customer(agent, kind="company", first_name=None, last_name=None, company_name="Acme")

    page = web.get("/customers?q=234+56")
    assert page.status_code == 200
    assert f'href="/customers/{ewa["id"]}"' in page.text and "Zieliński" not in page.text
    fragment = web.htmx_get("/customers?q=nowak", "results")
    assert "<html" not in fragment.text and "Ewa Nowak" in fragment.text
    assert "Ewa Nowak" in web.get("/customers?vip=yes").text
    assert "Jan Zieli" not in web.get("/customers?vip=yes").text
    companies = web.get("/customers?kind=company").text
    assert "Acme" in companies and "Ewa Nowak" not in companies


def test_list_pages_by_keyset(agent: Api, web: Browser):
    for n in range(27):
        create_customer(agent, first_name=f"Person{n:02d}", last_name="Paged")
    first = web.get("/customers?q=paged")
    assert first.text.count("Paged</a>") == 25
    next_url = re.search(r'href="(/customers\?[^"]*cursor=[^"]+)"', first.text).group(1)
    second = web.get(next_url.replace("&amp;", "&"))
    assert second.text.count("Paged</a>") == 2 and "First page" in second.text
    assert "Person00 Paged" in second.text


# ---- the card --------------------------------------------------------------------------


def test_every_tab_renders_and_htmx_gets_only_the_panel(agent: Api, web: Browser):
    customer = create_customer(agent, note="Prefers e-mail")
    url = f"/customers/{customer['id']}"
    for tab in ("", "/contact-points", "/timeline", "/cases", "/history", "/dashboard"):
        page = web.get(url + tab)
        assert page.status_code == 200, (tab, page.text[:500])
        assert "Ana Kowalska" in page.text and "Prefers e-mail" in page.text
        assert 'aria-current="page"' in page.text
        panel = web.htmx_get(url + tab, "tab-panel")
        assert panel.status_code == 200
        assert panel.text.lstrip().startswith('<section id="tab-panel"')
        assert "HX-Request, HX-Target" in panel.headers["vary"]
    assert web.get("/customers/999999").status_code == 404


def test_edit_shows_field_errors_then_saves_into_the_history(agent: Api, web: Browser):
    customer = create_customer(agent)
    url = f"/customers/{customer['id']}"
    form = {
        "version": "1",
        "kind": "person",
        "first_name": "Anna",
        "last_name": "Kowalska",
        "birth_date": "2999-01-01",
        "language": "pl",
        "tags": "gold, returning",
    }
    bad = web.post(url, form)
    assert bad.status_code == 422
    assert re.search(r'id="err-birth_date">must lie between', bad.text)
    assert 'value="Anna"' in bad.text  # what was typed stays in the form

    saved = web.htmx_post(url, "card", {**form, "birth_date": "1980-02-03", "vip": "on"})
    assert saved.status_code == 200 and "Saved." in saved.text
    assert '<div id="card"' in saved.text and "<html" not in saved.text
    assert re.search(r'id="card-version">2<', saved.text)
    history = web.get(f"{url}/history").text
    assert "customer.updated" in history
    assert re.search(
        r"first name</th><td class=\"before\">Ana</td><td class=\"after\">Anna", history
    )


def test_a_stale_version_is_refused_with_a_clear_message(agent: Api, web: Browser):
    customer = create_customer(agent)
    url = f"/customers/{customer['id']}"
    response = agent.patch(
        f"/api/v1/customers/{customer['id']}",
        json={"last_name": "Nowak"},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200
    stale = web.post(url, {"version": "1", "kind": "person", "first_name": "Ann"})
    assert stale.status_code == 412
    assert "Someone else changed this card" in stale.text and "version 2" in stale.text
    assert 'value="Ann"' in stale.text
    card = agent.get(f"/api/v1/customers/{customer['id']}").json()
    assert card["first_name"] == "Ana" and card["last_name"] == "Nowak"


def test_contact_points_are_added_refused_twice_and_deleted(agent: Api, web: Browser):
    customer = create_customer(agent)
    url = f"/customers/{customer['id']}/contact-points"
    added = web.post(
        url,
        {"type": "mobile", "value": "0048 601-234-567", "label": "work"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = web.get(url)
    assert "+48601234567" in page.text and "Contact point added." in page.text
    again = web.htmx_post(url, "card", {"type": "mobile", "value": "601234567"})
    assert again.status_code == 409
    assert re.search(r'id="err-value">already on this customer', again.text)
    invalid = web.htmx_post(url, "card", {"type": "email", "value": "not-an-email"})
    assert invalid.status_code == 422 and 'id="err-value"' in invalid.text

    point = agent.get(f"/api/v1/customers/{customer['id']}/contact-points").json()["items"][0]
    gone = web.htmx_post(f"{url}/{point['id']}/delete", "card", {"version": str(point["version"])})
    assert gone.status_code == 200 and "+48601234567" not in gone.text
    assert "Contact point deleted." in gone.text


def test_timeline_notes_and_load_more(agent: Api, web: Browser):
    customer = create_customer(agent)
    for n in range(22):
        _ingest_call(agent, customer["id"], f"call-{n}", started_at=f"2026-01-05T10:{n:02d}:00Z")
    url = f"/customers/{customer['id']}"
    added = web.post(f"{url}/notes", {"text": "Called about the invoice"}, follow_redirects=True)
    assert "Called about the invoice" in added.text
    empty = web.post(f"{url}/notes", {"text": "  "})
    assert empty.status_code == 422 and 'id="err-text"' in empty.text

    page = web.get(f"{url}/timeline")
    assert page.text.count('class="tl-item') == 20
    more = re.search(r'hx-get="([^"]+cursor=[^"]+)"', page.text).group(1).replace("&amp;", "&")
    rest = web.htmx_get(more, "timeline-next")
    assert rest.text.count('class="tl-item') == 3  # 22 calls and a note: 20 + 3
    assert "<section" not in rest.text
    voice_only = web.get(f"{url}/timeline?channel=voice")
    assert "Called about the invoice" not in voice_only.text


def test_dashboard_charts_carry_the_numbers(agent: Api, web: Browser):
    customer = create_customer(agent)
    _ingest_call(agent, customer["id"], "c-1")
    _ingest_call(agent, customer["id"], "c-2", direction="outbound", to="+48601234567")
    agent.post(f"/api/v1/customers/{customer['id']}/cases", json={"subject": "Refund"})
    page = web.get(f"/customers/{customer['id']}/dashboard")
    data = re.search(r'id="chart-channels-data">(.*?)</script>', page.text).group(1)
    assert '"labels": ["Call"]' in data and '"data": [1]' in data
    assert 'id="chart-cases-data"' in page.text and "Preferred channel" in page.text
    later = web.get(f"/customers/{customer['id']}/dashboard?since=2030-01-01")
    assert '"labels": []' in later.text
    assert web.get(f"/customers/{customer['id']}/dashboard?since=nope").status_code == 422


# ---- cases -----------------------------------------------------------------------------


def test_open_a_case_from_the_card_and_work_it(agent: Api, web: Browser):
    customer = create_customer(agent)
    url = f"/customers/{customer['id']}/cases"
    missing = web.post(url, {"subject": "", "type": "question"})
    assert missing.status_code == 422 and 'id="err-subject"' in missing.text
    opened = web.post(
        url,
        {"subject": "Broken router", "priority": "high", "assign_to_me": "on"},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    case_url = opened.headers["location"]
    page = web.get(case_url)
    assert "Broken router" in page.text and "Case opened." in page.text
    assert re.search(r'<option value="me" selected>', page.text)
    assert "Broken router" in web.get(url).text

    saved = web.htmx_post(
        case_url,
        "case",
        {
            "version": "1",
            "subject": "Broken router",
            "status": "open",
            "priority": "high",
            "type": "complaint",
            "assigned_to": "",
        },
    )
    assert saved.status_code == 200 and "Case saved." in saved.text
    assert "status-open" in saved.text
    stale = web.htmx_post(
        case_url,
        "case",
        {"version": "1", "subject": "x", "status": "closed", "priority": "low", "type": "question"},
    )
    assert stale.status_code == 412 and "Someone else changed this case" in stale.text

    note = web.htmx_post(f"{case_url}/notes", "case", {"text": "Customer is upset", "color": "red"})
    assert note.status_code == 200 and 'class="note note-red"' in note.text
    note_id = re.search(r"/notes/(\d+)/delete", note.text).group(1)
    bad_color = web.htmx_post(f"{case_url}/notes", "case", {"text": "x", "color": "pink"})
    assert bad_color.status_code == 422 and "err-note_color" not in bad_color.text
    comment = web.htmx_post(f"{case_url}/comments", "case", {"text": "Escalated to L2"})
    assert "Escalated to L2" in comment.text
    deleted = web.htmx_post(f"{case_url}/notes/{note_id}/delete", "case")
    assert "Customer is upset" not in deleted.text


def test_case_timeline_shows_previous_interactions_on_request(agent: Api, web: Browser):
    customer = create_customer(agent)
    first = agent.post(f"/api/v1/customers/{customer['id']}/cases", json={"subject": "Old"}).json()
    second = agent.post(f"/api/v1/customers/{customer['id']}/cases", json={"subject": "New"}).json()
    _ingest_call(agent, customer["id"], "old-call", case_id=first["id"])
    page = web.get(f"/cases/{second['id']}")
    assert first["number"] not in page.text and "See previous interactions" in page.text
    previous = web.get(f"/cases/{second['id']}?previous=true")
    assert first["number"] in previous.text
    assert web.get("/cases/999999").status_code == 404
