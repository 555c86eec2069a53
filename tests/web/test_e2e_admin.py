"""The administration screens in a real browser (Debian's Chromium driven by Playwright,
against uvicorn on a free port and a fresh SQLite database): an administrator opens
Administration, creates a custom field and a user. Skipped loudly without Chromium or
Playwright, except in CI. Saves docs/screenshots/admin.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clientcard.auth import service as auth
from clientcard.auth.actor import Role, system_actor
from clientcard.auth.schemas import UserCreate
from clientcard.config import Settings
from clientcard.context import open_database
from tests.process_helpers import Server
from tests.web.browser import browser_page, playwright_api, served, shot

pytestmark = pytest.mark.slow

ADMIN, PASSWORD = "amelia", "e2e-admin-pass"


@pytest.fixture(scope="module")
def sync_api():
    return playwright_api()


def _seed(url: str) -> None:
    """An administrator, through the auth service."""
    database = open_database(Settings(database_url=url, demo_on_first_start=False))
    with database.write() as session:
        auth.create_user(
            session,
            actor=system_actor("e2e"),
            data=UserCreate(username=ADMIN, password=PASSWORD, role=Role.ADMIN),
        )
    database.dispose()


@pytest.fixture(scope="module")
def server(sync_api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served(tmp_path_factory.mktemp("e2e-admin"), _seed) as running:
        yield running


@pytest.fixture
def page(sync_api, server: Server, tmp_path: Path):
    with browser_page(sync_api, server, tmp_path / "chromium-profile") as opened:
        yield opened


def test_an_admin_creates_a_custom_field_and_a_user(sync_api, server: Server, page):
    expect = sync_api.expect
    base = server.url

    page.goto(f"{base}/customers")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()

    # Administration, from the main navigation.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Administration").click()
    expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    sections = page.get_by_role("navigation", name="Administration sections")
    sections.get_by_role("link", name="Custom fields").click()
    expect(page.get_by_role("heading", name="Custom fields", level=1)).to_be_visible()

    # A field with a bad key is answered next to the key; then the right one is created.
    page.get_by_label("Key", exact=True).fill("Customer Tier")
    page.get_by_label("Label", exact=True).fill("Tier")
    page.get_by_label("Type", exact=True).select_option("choice")
    page.get_by_label("Options, one per line (choice and multi choice only)").fill(
        "gold\nsilver\nbronze"
    )
    page.get_by_label("Required").check()
    page.get_by_role("button", name="Create field").click()
    expect(page.locator("#err-key")).to_be_visible()
    expect(page.get_by_label("Key", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Key", exact=True).fill("tier")
    page.get_by_role("button", name="Create field").click()
    expect(page.get_by_role("status")).to_have_text("Custom field tier created.")
    expect(page.locator("#custom-fields")).to_contain_text("gold, silver, bronze")

    # A group, from the keyboard.
    page.get_by_label("Group key").fill("orders")
    page.get_by_label("Group label").fill("Orders")
    page.get_by_label("Group label").press("Enter")
    expect(page.get_by_role("status")).to_have_text("Group orders created.")
    shot(page, "admin")

    # A user, who then appears in the list.
    sections.get_by_role("link", name="Users").click()
    page.get_by_label("Username").fill("nadia")
    page.get_by_label("Password", exact=True).fill("nadia-pass-123")
    page.get_by_label("Role").select_option("supervisor")
    page.get_by_label("Display name").fill("Nadia N.")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_have_text("User nadia created.")
    row = page.locator("#users tr", has_text="nadia")
    expect(row).to_contain_text("supervisor")
    row.get_by_role("link", name="nadia").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("nadia")

    # Two tokens for systems; one is revoked from the list after a confirmation.
    for name in ("PBX", "chat gateway"):
        page.get_by_label("Token name").fill(name)
        page.get_by_role("button", name="Issue token").click()
        expect(page.get_by_role("status")).to_contain_text(f"Token {name} issued.")
    tokens = page.locator("#api-tokens")
    expect(tokens.locator("tbody tr")).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    tokens.get_by_role("button", name="Revoke PBX").click()
    expect(page.get_by_role("status")).to_have_text("Token PBX revoked: it no longer works.")
    expect(tokens.locator("tr", has_text="PBX")).to_contain_text("revoked")
    expect(tokens.get_by_role("button", name="Revoke PBX")).to_have_count(0)
    expect(tokens.get_by_role("button", name="Revoke chat gateway")).to_be_visible()
    shot(page, "admin-user")
