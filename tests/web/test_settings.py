"""The settings reach the pages as they reach the API: a national phone number saved from
the card is read in CLIENTCARD_DEFAULT_REGION, and the session cookie follows
CLIENTCARD_SECRET_KEY and CLIENTCARD_SECURE_COOKIES."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clientcard.app import create_app
from clientcard.auth.actor import Role
from clientcard.config import Settings
from clientcard.db import Database
from clientcard.web import SESSION_COOKIE
from tests.conftest import Api, create_customer, make_user
from tests.web.conftest import Browser


def _configured(db: Database, monkeypatch: pytest.MonkeyPatch, **environment: str) -> Settings:
    """The settings read from the environment given, made the database's for this test."""
    for name, value in environment.items():
        monkeypatch.setenv(f"CLIENTCARD_{name.upper()}", value)
    settings = Settings(database_url=db.settings.database_url, demo_on_first_start=False)
    monkeypatch.setattr(db, "settings", settings)
    return settings


@pytest.fixture
def app(db: Database, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The app of a Spanish contact center."""
    settings = _configured(db, monkeypatch, default_region="ES")
    assert settings.default_region == "ES"
    return create_app(settings, db)


def test_a_custom_phone_saved_from_the_card_is_read_in_the_configured_region(
    admin: Api, agent: Api, web: Browser
):
    created = admin.post(
        "/api/v1/custom-fields",
        json={"key": "backup_phone", "label": "Backup phone", "type": "phone"},
    )
    assert created.status_code == 201, created.text
    customer = create_customer(agent, contact_points=[{"type": "mobile", "value": "612 345 678"}])
    assert customer["contact_points"][0]["normalized"] == "+34612345678"

    saved = web.post(
        f"/customers/{customer['id']}",
        {
            "version": str(customer["version"]),
            "kind": "person",
            "first_name": customer["first_name"],
            "last_name": customer["last_name"],
            "phone:backup_phone": "699 111 222",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    card = agent.get(f"/api/v1/customers/{customer['id']}").json()
    assert card["custom"] == {"backup_phone": "+34699111222"}

    # The screen pop reads a caller's national number in the same region.
    found = agent.get("/api/v1/lookup", params={"phone": "612 345 678"})
    assert [c["id"] for c in found.json()["items"]] == [customer["id"]]


def _logged_in(client: TestClient) -> Browser:
    browser = Browser(client)
    response = browser.login("wanda")
    assert response.status_code == 303, response.text
    return browser


def test_processes_sharing_the_secret_key_accept_each_others_sessions(
    db: Database, monkeypatch: pytest.MonkeyPatch
):
    """Two server processes (two apps) signed with CLIENTCARD_SECRET_KEY: a login on one
    holds on the other. Without the key each makes its own, and the other refuses it."""
    make_user(db, "wanda", Role.AGENT)
    _configured(db, monkeypatch, secret_key="one key for every worker " * 2)
    with (
        TestClient(create_app(database=db)) as first,
        TestClient(create_app(database=db)) as second,
    ):
        cookie = _logged_in(first).client.cookies[SESSION_COOKIE]
        second.cookies.set(SESSION_COOKIE, cookie)
        assert second.get("/customers", follow_redirects=False).status_code == 200

    monkeypatch.delenv("CLIENTCARD_SECRET_KEY")
    _configured(db, monkeypatch)
    with (
        TestClient(create_app(database=db)) as first,
        TestClient(create_app(database=db)) as second,
    ):
        cookie = _logged_in(first).client.cookies[SESSION_COOKIE]
        second.cookies.set(SESSION_COOKIE, cookie)
        refused = second.get("/customers", follow_redirects=False)
        assert refused.status_code in (302, 303) and "/login" in refused.headers["location"]


@pytest.mark.parametrize("secure", [True, False])
def test_the_session_cookie_is_https_only_when_configured(
    db: Database, monkeypatch: pytest.MonkeyPatch, secure: bool
):
    make_user(db, "wanda", Role.AGENT)
    _configured(db, monkeypatch, secure_cookies=str(secure).lower())
    with TestClient(create_app(database=db), base_url="https://testserver") as client:
        browser = Browser(client)
        browser.get("/login")
        response = browser.post(
            "/login",
            {"username": "wanda", "password": "secret-pass-1", "next": "/customers"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert ("; secure" in cookie.lower()) is secure
