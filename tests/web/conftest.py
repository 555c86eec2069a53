"""Fixtures for the web pages: a browser-like client logged in through the login form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clientcard.auth.actor import Role
from clientcard.db import Database
from tests.conftest import make_user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@dataclass
class Browser:
    """A TestClient used like a browser: cookies, forms with the CSRF token, htmx headers."""

    client: TestClient
    csrf: str = ""

    def get(self, url: str, **kw: Any):
        response = self.client.get(url, **kw)
        if "csrf_token" in response.text:
            self.csrf = csrf_of(response.text)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any):
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kw)

    def htmx_get(self, url: str, target: str, **kw: Any):
        return self.client.get(url, headers={"HX-Request": "true", "HX-Target": target}, **kw)

    def htmx_post(self, url: str, target: str, data: dict[str, Any] | None = None):
        headers = {"HX-Request": "true", "HX-Target": target, "X-CSRF-Token": self.csrf}
        return self.client.post(url, data=data or {}, headers=headers)

    def login(self, username: str, password: str = "secret-pass-1", next: str = "/customers"):
        self.get("/login")
        return self.post(
            "/login",
            {"username": username, "password": password, "next": next},
            follow_redirects=False,
        )


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


@pytest.fixture
def web(db: Database, client: TestClient) -> Browser:
    """A browser logged in as the agent `wanda`."""
    make_user(db, "wanda", Role.AGENT)
    browser = Browser(client)
    response = browser.login("wanda")
    assert response.status_code == 303, response.text
    browser.get("/customers")
    return browser
