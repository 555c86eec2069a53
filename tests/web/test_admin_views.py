"""The administration screens through a TestClient, on SQLite and PostgreSQL: users, campaigns,
lead statuses, custom fields and case types; administrators only; field errors, conflicts."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from clientcard.auth.actor import Role
from clientcard.db import Database
from tests.conftest import Api, make_user
from tests.web.conftest import Browser

ADMIN_PAGES = (
    "/admin",
    "/admin/users",
    "/admin/campaigns",
    "/admin/lead-statuses",
    "/admin/custom-fields",
    "/admin/case-types",
)


@pytest.fixture
def admin_web(db: Database, client: TestClient) -> Browser:
    """A browser logged in as the administrator `ada`."""
    make_user(db, "ada", Role.ADMIN)
    browser = Browser(client)
    assert browser.login("ada").status_code == 303
    browser.get("/admin")
    return browser


def _flash(html: str) -> str:
    match = re.search(r'<p class="flash" role="status">([^<]*)</p>', html)
    return match.group(1) if match else ""


def test_every_admin_page_renders_with_the_navigation(admin_web: Browser):
    for url in ADMIN_PAGES:
        page = admin_web.get(url)
        assert page.status_code == 200, (url, page.text[:500])
        assert 'aria-label="Administration sections"' in page.text
        assert f'href="{url}" aria-current="page"' in page.text
    assert 'href="/admin" aria-current="page">Administration</a>' in admin_web.get("/admin").text
    assert admin_web.get("/admin/users/999999").status_code == 404
    assert admin_web.get("/admin/custom-fields/999999").status_code == 404


def test_an_admin_creates_a_user_who_can_then_log_in(app, admin: Api, admin_web: Browser):
    created = admin_web.post(
        "/admin/users",
        {"username": "nina", "password": "nina-pass-123", "role": "agent", "display_name": "Nina"},
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"] == "/admin/users"
    page = admin_web.get("/admin/users")
    assert _flash(page.text) == "User nina created."
    user_id = int(re.search(r'href="/admin/users/(\d+)">nina<', page.text).group(1))

    with TestClient(app) as other:
        nina = Browser(other)
        assert nina.login("nina", "nina-pass-123").status_code == 303
        assert "nina" in nina.get("/customers").text
        # Not an administrator: no link to the screens.
        assert 'href="/admin"' not in nina.get("/customers").text

    # A token shown once, which works against the API.
    issued = admin_web.post(f"/admin/users/{user_id}/api-tokens", {"token_name": "PBX"})
    assert issued.status_code == 200 and "Token PBX issued." in issued.text
    token = re.search(
        r'id="issued-token" class="token" type="text" readonly value="([^"]+)"', issued.text
    )
    assert token
    me = admin.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert me.status_code == 200 and me.json()["username"] == "nina"
    assert token.group(1) not in admin_web.get(f"/admin/users/{user_id}").text

    # Change the role and deactivate: the user can no longer log in.
    saved = admin_web.post(
        f"/admin/users/{user_id}",
        {"role": "supervisor", "display_name": "Nina N."},
        follow_redirects=True,
    )
    assert "User saved." in saved.text and re.search(r'id="user-version">2<', saved.text)
    user = admin.get(f"/api/v1/users/{user_id}").json()
    assert user["role"] == "supervisor" and user["active"] is False
    with TestClient(app) as other:
        assert Browser(other).login("nina", "nina-pass-123").status_code == 401


def test_an_admin_sees_a_users_api_tokens_and_revokes_one(
    admin: Api, agent: Api, admin_web: Browser
):
    page_url = f"/admin/users/{agent.user_id}"
    tokens = {}
    for name in ("PBX", "chat gateway"):
        issued = admin_web.post(f"{page_url}/api-tokens", {"token_name": name})
        tokens[name] = re.search(
            r'id="issued-token" class="token" type="text" readonly value="([^"]+)"', issued.text
        ).group(1)
    page = admin_web.get(page_url).text
    table = page[
        page.index('id="api-tokens"') : page.index("</table>", page.index('id="api-tokens"'))
    ]
    assert table.index(">chat gateway<") < table.index(">PBX<")  # newest first
    revoke_urls = re.findall(rf'action="({page_url}/api-tokens/\d+/revoke)"', table)
    assert len(revoke_urls) == 2 and all(t not in page for t in tokens.values())

    revoked = admin_web.post(revoke_urls[1], {}, follow_redirects=True)  # PBX
    assert revoked.status_code == 200
    assert _flash(revoked.text) == "Token PBX revoked: it no longer works."
    table = revoked.text[revoked.text.index('id="api-tokens"') :]
    assert re.findall(rf'action="({page_url}/api-tokens/\d+/revoke)"', table) == revoke_urls[:1]
    assert 'class="retired"' in table and '<span class="badge">revoked</span>' in table

    def me(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return admin.client.get("/api/v1/users/me", headers=headers).status_code

    assert me(tokens["PBX"]) == 401
    assert me(tokens["chat gateway"]) == 200


def test_user_form_errors_are_shown_next_to_the_inputs_and_nothing_is_written(
    admin: Api, admin_web: Browser
):
    before = len(admin.get("/api/v1/users").json()["items"])
    short = admin_web.post(
        "/admin/users", {"username": "x y", "password": "short", "role": "agent"}
    )
    assert short.status_code == 422
    assert re.search(r'id="err-password">', short.text)
    assert re.search(
        r'id="username" name="username" type="text" value="x y" aria-describedby="err-username',
        short.text,
    )
    assert 'aria-invalid="true"' in short.text and "short" not in re.findall(
        r'value="([^"]*)"', short.text
    )
    taken = admin_web.post(
        "/admin/users", {"username": "ada", "password": "long-enough-1", "role": "agent"}
    )
    assert taken.status_code == 409 and re.search(r'id="err-username">is taken<', taken.text)
    assert len(admin.get("/api/v1/users").json()["items"]) == before
    # An administrator cannot demote themselves.
    ada = next(u for u in admin.get("/api/v1/users").json()["items"] if u["username"] == "ada")
    own = admin_web.post(f"/admin/users/{ada['id']}", {"role": "agent", "active": "on"})
    assert own.status_code == 422 and 'id="err-role"' in own.text


def test_agents_get_403_on_every_admin_page_and_write(admin: Api, agent: Api, web: Browser):
    for url in ADMIN_PAGES:
        assert web.get(url).status_code == 403, url
    assert 'href="/admin"' not in web.get("/customers").text
    tokens = f"/api/v1/users/{agent.user_id}/api-tokens"
    token_id = admin.post(tokens, json={"name": "PBX"}).json()["id"]
    writes = {
        "/admin/users": {"username": "evil", "password": "evil-pass-1", "role": "admin"},
        f"/admin/users/{agent.user_id}": {"role": "admin", "active": "on"},
        f"/admin/users/{agent.user_id}/api-tokens": {"token_name": "mine"},
        f"/admin/users/{agent.user_id}/api-tokens/{token_id}/revoke": {},
        "/admin/campaigns": {"name": "Mine", "direction": "inbound"},
        "/admin/lead-statuses": {"key": "mine", "label": "Mine"},
        "/admin/lead-statuses/new/retire": {},
        "/admin/custom-fields": {"key": "mine", "label": "Mine", "type": "text"},
        "/admin/custom-field-groups": {"group_key": "mine", "group_label": "Mine"},
        "/admin/case-types": {"key": "mine", "label": "Mine"},
        "/admin/case-types/question/retire": {},
    }
    for url, data in writes.items():
        response = web.post(url, data)
        assert response.status_code == 403, url
        assert "Forbidden" in response.text
    assert [t["revoked_at"] for t in admin.get(tokens).json()["items"]] == [None]
    users = admin.get("/api/v1/users").json()["items"]
    assert {u["username"]: u["role"] for u in users} == {
        "root-admin": "admin",
        "ana": "agent",
        "wanda": "agent",
    }
    assert agent.get("/api/v1/campaigns").json()["items"] == []
    assert agent.get("/api/v1/custom-fields").json()["items"] == []
    statuses = agent.get("/api/v1/lead-statuses").json()["items"]
    assert [s["key"] for s in statuses if s["active"]] == ["new", "in_progress", "sale", "no_sale"]


def test_a_custom_field_made_on_the_screen_is_enforced_by_the_api(admin: Api, admin_web: Browser):
    group = admin_web.post(
        "/admin/custom-field-groups",
        {"group_key": "orders", "group_label": "Orders"},
        follow_redirects=True,
    )
    assert "Group orders created." in group.text
    created = admin_web.post(
        "/admin/custom-fields",
        {
            "key": "tier",
            "label": "Tier",
            "type": "choice",
            "options": "gold\r\n silver \r\n\r\nbronze",
            "required": "on",
            "group": "",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    page = admin_web.get("/admin/custom-fields")
    assert _flash(page.text) == "Custom field tier created."
    assert "gold, silver, bronze" in page.text
    in_group = admin_web.post(
        "/admin/custom-fields",
        {"key": "product", "label": "Product", "type": "text", "group": "orders"},
        follow_redirects=False,
    )
    assert in_group.status_code == 303

    refused = admin.post("/api/v1/customers", json={"first_name": "Ewa", "last_name": "Nowak"})
    assert refused.status_code == 422
    assert {"field": "custom.tier", "message": "is required"} in refused.json()["errors"]
    accepted = admin.post(
        "/api/v1/customers", json={"first_name": "Ewa", "custom": {"tier": "silver"}}
    )
    assert accepted.status_code == 201, accepted.text

    fields = admin.get("/api/v1/custom-fields").json()["items"]
    tier = next(f for f in fields if f["key"] == "tier")
    assert tier["group"] is None and tier["options"] == ["gold", "silver", "bronze"]
    assert next(f for f in fields if f["key"] == "product")["group"] == "orders"
    url = f"/admin/custom-fields/{tier['id']}"
    edit = admin_web.get(url)
    assert 'name="options"' in edit.text and "gold\nsilver\nbronze" in edit.text

    # Optional now, and one more option.
    saved = admin_web.post(
        url,
        {"version": "1", "label": "Customer tier", "options": "gold\nsilver\nbronze\nplatinum"},
        follow_redirects=True,
    )
    assert "Custom field saved." in saved.text
    assert admin.post("/api/v1/customers", json={"first_name": "Jan"}).status_code == 201

    # A form read at version 1 is now stale: nothing is overwritten.
    stale = admin_web.post(
        url, {"version": "1", "label": "Stale", "required": "on", "options": "x"}
    )
    assert stale.status_code == 412 and "Someone else changed this" in stale.text
    assert "version 2" in stale.text and 'value="Stale"' in stale.text
    now = admin.get(f"/api/v1/custom-fields/{tier['id']}").json()
    assert now["label"] == "Customer tier" and now["required"] is False and now["version"] == 2

    # Options are checked: a repeated one is shown at the textarea.
    twice = admin_web.post(url, {"version": "2", "label": "Tier", "options": "gold\ngold"})
    assert twice.status_code == 422 and re.search(r'id="err-options">must be distinct', twice.text)

    retired = admin_web.post(f"{url}/retire", {"version": "2"}, follow_redirects=True)
    assert "Custom field retired." in retired.text
    assert admin.get(f"/api/v1/custom-fields/{tier['id']}").json()["active"] is False
    gone = admin_web.post(
        "/admin/custom-field-groups/orders/retire", {"version": "1"}, follow_redirects=True
    )
    assert "Group orders retired." in gone.text
    assert admin.get("/api/v1/custom-field-groups/orders").json()["active"] is False


def test_custom_field_errors_are_shown_and_nothing_is_written(admin: Api, admin_web: Browser):
    bad = admin_web.post(
        "/admin/custom-fields", {"key": "Bad Key", "label": "", "type": "choice", "options": ""}
    )
    assert bad.status_code == 422
    assert re.search(r'id="err-key">', bad.text) and re.search(r'id="err-label">', bad.text)
    assert 'value="Bad Key"' in bad.text
    no_options = admin_web.post(
        "/admin/custom-fields", {"key": "tier", "label": "Tier", "type": "choice", "options": ""}
    )
    assert no_options.status_code == 422
    assert re.search(r'id="err-options">are required for a choice field', no_options.text)
    bad_group = admin_web.post(
        "/admin/custom-field-groups", {"group_key": "9x", "group_label": "Nine"}
    )
    assert bad_group.status_code == 422 and 'id="err-group_key"' in bad_group.text
    assert admin.get("/api/v1/custom-fields").json()["items"] == []
    assert admin.get("/api/v1/custom-field-groups").json()["items"] == []


def test_a_lead_status_is_added_renamed_reordered_and_retired(admin: Api, admin_web: Browser):
    added = admin_web.post(
        "/admin/lead-statuses",
        {"key": "callback", "label": "Call back", "position": "5"},
        follow_redirects=True,
    )
    assert "Lead status Call back added." in added.text
    again = admin_web.post("/admin/lead-statuses", {"key": "callback", "label": "Again"})
    assert again.status_code == 409 and 'id="err-key"' in again.text

    renamed = admin_web.post(
        "/admin/lead-statuses/callback",
        {"label": "Call back later", "position": "0"},
        follow_redirects=True,
    )
    assert "Lead status saved." in renamed.text
    keys = re.findall(r'<tr id="status-([a-z_]+)"', renamed.text)
    assert keys == ["callback", "new", "in_progress", "sale", "no_sale"]
    empty = admin_web.post("/admin/lead-statuses/callback", {"label": "", "position": "0"})
    assert empty.status_code == 422 and 'id="err-row_label"' in empty.text
    assert 'aria-describedby="err-row_label"' in empty.text

    retired = admin_web.post("/admin/lead-statuses/callback/retire", follow_redirects=True)
    assert "Lead status retired." in retired.text
    statuses = {s["key"]: s for s in admin.get("/api/v1/lead-statuses").json()["items"]}
    assert statuses["callback"] == {
        "key": "callback",
        "label": "Call back later",
        "position": 0,
        "active": False,
    }
    refused = admin.post("/api/v1/customers", json={"first_name": "Ola", "lead_status": "callback"})
    assert refused.status_code == 422
    back = admin_web.post("/admin/lead-statuses/callback/reinstate", follow_redirects=True)
    assert "Lead status reinstated." in back.text


def test_a_campaign_is_created_with_members(admin: Api, agent: Api, admin_web: Browser):
    bad = admin_web.post(
        "/admin/campaigns",
        {"name": "Winter sale", "direction": "outbound", "settings": "{not json"},
    )
    assert bad.status_code == 422 and re.search(r'id="err-settings">is not valid JSON', bad.text)
    assert "{not json" in bad.text
    assert admin.get("/api/v1/campaigns").json()["items"] == []

    created = admin_web.post(
        "/admin/campaigns",
        {
            "name": "Winter sale",
            "direction": "outbound",
            "active": "on",
            "settings": '{"dialer": "predictive"}',
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    url = created.headers["location"]
    page = admin_web.get(url)
    assert _flash(page.text) == "Campaign created." and "predictive" in page.text
    taken = admin_web.post("/admin/campaigns", {"name": "Winter sale", "direction": "inbound"})
    assert taken.status_code == 409 and 'id="err-name"' in taken.text

    members = admin_web.post(
        f"{url}/agents",
        {"version": "1", f"agent-{agent.user_id}": "on", f"agent-{admin.user_id}": "on"},
        follow_redirects=True,
    )
    assert "Members saved." in members.text
    campaign_id = int(url.rsplit("/", 1)[1])
    campaign = admin.get(f"/api/v1/campaigns/{campaign_id}").json()
    assert campaign["agents"] == sorted([agent.user_id, admin.user_id])
    assert campaign["settings"] == {"dialer": "predictive"} and campaign["version"] == 2

    # The edit form read at version 1 is stale now.
    stale = admin_web.post(
        url, {"version": "1", "name": "Summer sale", "direction": "inbound", "active": "on"}
    )
    assert stale.status_code == 412 and "Someone else changed this" in stale.text
    assert 'value="Summer sale"' in stale.text
    assert admin.get(f"/api/v1/campaigns/{campaign_id}").json()["name"] == "Winter sale"
    saved = admin_web.post(
        url,
        {"version": "2", "name": "Winter sale 2026", "direction": "outbound", "settings": ""},
        follow_redirects=True,
    )
    assert "Campaign saved." in saved.text
    campaign = admin.get(f"/api/v1/campaigns/{campaign_id}").json()
    assert campaign["name"] == "Winter sale 2026" and campaign["active"] is False
    assert campaign["settings"] == {}
    listed = admin_web.get("/admin/campaigns").text
    assert "Winter sale 2026" in listed


def test_case_types_are_added_renamed_and_retired(admin: Api, admin_web: Browser):
    added = admin_web.post(
        "/admin/case-types", {"key": "warranty", "label": "Warranty"}, follow_redirects=True
    )
    assert "Case type Warranty added." in added.text
    bad = admin_web.post("/admin/case-types", {"key": "", "label": "x"})
    assert bad.status_code == 422 and 'id="err-key"' in bad.text
    renamed = admin_web.post(
        "/admin/case-types/warranty", {"label": "Warranty claim"}, follow_redirects=True
    )
    assert "Case type saved." in renamed.text and 'value="Warranty claim"' in renamed.text
    retired = admin_web.post("/admin/case-types/warranty/retire", follow_redirects=True)
    assert "Case type retired." in retired.text
    types = {t["key"]: t for t in admin.get("/api/v1/case-types").json()["items"]}
    assert types["warranty"] == {"key": "warranty", "label": "Warranty claim", "active": False}
