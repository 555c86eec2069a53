"""End to end in a real browser: Debian's Chromium driven by Playwright against a real
server (uvicorn on a free port, a fresh SQLite database). Skipped loudly without Chromium or
Playwright, except in CI (CI=true), where that fails. Saves screenshots of the pages into
docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from clientcard.auth import service as auth
from clientcard.auth.actor import Role, system_actor
from clientcard.auth.schemas import UserCreate
from clientcard.config import Settings
from clientcard.context import open_database
from clientcard.customers import service as customers
from clientcard.customers.schemas import CustomerCreate
from clientcard.interactions import service as interactions
from tests.process_helpers import Server
from tests.web.browser import browser_page, playwright_api, served, shot

pytestmark = pytest.mark.slow

USER, PASSWORD = "agnieszka", "e2e-secret-pass"


@pytest.fixture(scope="module")
def sync_api():
    return playwright_api()


def _seed(url: str) -> None:
    """A user, a customer with a phone number, and a few interactions, through the services."""
    database = open_database(Settings(database_url=url, demo_on_first_start=False))
    system = system_actor("e2e")
    with database.write() as session:
        auth.create_user(
            session,
            actor=system,
            data=UserCreate(username=USER, password=PASSWORD, role=Role.AGENT),
        )
        for first, last, phone, email in (
            ("Marta", "Wiśniewska", "+48 512 345 678", "marta.w@example.com"),
            ("Jorge", "Fernández", "+34 612 34 56 78", "jorge@example.es"),
            ("Oliver", "Smith", "+44 7911 123456", None),
        ):
            points = [{"type": "mobile", "value": phone}]
            if email:
                points.append({"type": "email", "value": email, "label": "private"})
            customers.create_customer(
                session,
                actor=system,
                data=CustomerCreate(
                    first_name=first,
                    last_name=last,
                    contact_points=points,
                    lead_status="in_progress" if first == "Marta" else None,
                    rating=4 if first == "Marta" else None,
                ),
            )
    items = [
        {
            "source": "e2e",
            "external_id": f"i-{n}",
            "channel": channel,
            "direction": direction,
            "from" if direction == "inbound" else "to": address,
            "started_at": f"2026-01-{10 + n:02d}T09:30:00Z",
            "status": status,
            "subject": subject,
            "body": subject,
            **({"from": "agent@clientcard.example"} if direction == "outbound" else {}),
        }
        for n, (channel, direction, address, status, subject) in enumerate(
            [
                ("voice", "inbound", "+48512345678", "answered", "Asked about her invoice"),
                ("email", "inbound", "marta.w@example.com", None, "Invoice 2026/01 is wrong"),
                ("email", "outbound", "marta.w@example.com", "delivered", "Corrected invoice"),
                ("sms", "outbound", "+48512345678", "delivered", "Your invoice was corrected"),
                ("voice", "inbound", "+48512345678", "missed", None),
                ("whatsapp", "inbound", "+48512345678", "read", "Thanks!"),
            ]
        )
    ]
    with database.write() as session:
        results = interactions.ingest(session, actor=system, items=items)
        assert all(r.result == "created" for r in results), results
    database.dispose()


@pytest.fixture(scope="module")
def server(sync_api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served(tmp_path_factory.mktemp("e2e"), _seed) as running:
        yield running


@pytest.fixture
def page(sync_api, server: Server, tmp_path: Path):
    with browser_page(sync_api, server, tmp_path / "chromium-profile") as opened:
        yield opened


def test_an_agent_works_a_customer_in_the_browser(sync_api, server: Server, page):
    expect = sync_api.expect
    base = server.url

    # Log in: the list asks for it first.
    page.goto(f"{base}/customers")
    expect(page).to_have_url(f"{base}/login?next=%2Fcustomers")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    page.wait_for_load_state()  # htmx is ready
    expect(page.locator("#results tbody tr")).to_have_count(3)

    # Search by part of a phone number, as typed: htmx refreshes the results.
    page.get_by_label("Search").fill("512 345")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("Marta Wiśniewska")
    expect(page).to_have_url(re.compile(r"/customers\?q=512(%20|\+)345&"))
    page.get_by_label("Search").fill("")
    expect(page.locator("#results tbody tr")).to_have_count(3)
    shot(page, "customer-list")
    page.get_by_label("Search").fill("512 345")
    expect(page.locator("#results tbody tr")).to_have_count(1)

    # Open the card.
    page.get_by_role("link", name="Marta Wiśniewska").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Marta Wiśniewska")
    page.wait_for_load_state()
    card_url = page.url
    expect(page.locator("#card-version")).to_have_text("1")

    # Add a contact point from the keyboard-usable tab.
    page.get_by_role("link", name="Contact points").click()
    expect(page).to_have_url(f"{card_url}/contact-points")
    page.get_by_label("Type", exact=True).select_option("phone")
    page.get_by_label("Value", exact=True).fill("22 123 45 67")
    page.get_by_label("Label", exact=True).select_option("work")
    page.get_by_role("button", name="Add contact point").click()
    expect(page.get_by_role("status")).to_have_text("Contact point added.")
    expect(page.locator("#contact-points")).to_contain_text("+48221234567")
    expect(page.locator("#card-version")).to_have_text("2")

    # A bad value is answered next to its field.
    page.get_by_label("Type", exact=True).select_option("email")
    page.get_by_label("Value", exact=True).fill("not an e-mail")
    page.get_by_role("button", name="Add contact point").click()
    expect(page.locator("#err-value")).to_be_visible()
    expect(page.get_by_label("Value", exact=True)).to_have_attribute("aria-invalid", "true")

    # Edit a field and find the change in the history, before and after.
    page.get_by_role("link", name="Information").click()
    page.get_by_label("Preferred language").fill("pl")
    page.get_by_label("VIP").check()
    page.get_by_label("Pinned note (shown whenever the customer calls or writes)").fill(
        "Prefers calls after 16:00"
    )
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator(".card-head .badge.vip")).to_be_visible()
    expect(page.locator("#card-version")).to_have_text("3")
    page.get_by_role("link", name="Change history").click()
    entry = page.locator(".history-entry").first
    expect(entry).to_contain_text("customer.updated")
    expect(entry.locator("tr", has_text="language")).to_contain_text("pl")
    expect(entry.locator("tr", has_text="vip").locator("td.before")).to_have_text("no")
    expect(entry.locator("tr", has_text="vip").locator("td.after")).to_have_text("yes")

    # The timeline, with a note of our own.
    page.get_by_role("link", name="Timeline").click()
    expect(page.locator(".tl-item")).to_have_count(6)
    page.get_by_label("Add a note to the customer's activity").fill("Will call back on Monday")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".tl-item").first).to_contain_text("Will call back on Monday")
    shot(page, "customer-card")

    # The dashboard draws its charts.
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#chart-channels")).to_have_attribute("data-drawn", "1")
    expect(page.locator("#chart-cases")).to_have_attribute("data-drawn", "1")
    expect(page.locator("#preferred-channel")).to_have_text("Call")

    # Open a case from the card, then work it: status, a coloured note, a comment.
    page.get_by_role("link", name="Cases").click()
    page.get_by_label("Subject").fill("Invoice 2026/01 charged twice")
    page.get_by_label("Priority").select_option("high")
    page.get_by_label("Description").fill("The customer was charged twice for January.")
    page.get_by_role("button", name="Open case").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice 2026/01 charged twice")
    expect(page.get_by_role("status")).to_have_text("Case opened.")
    page.wait_for_load_state()
    page.get_by_label("Status").select_option("open")
    page.get_by_role("button", name="Save case").click()
    expect(page.get_by_role("status")).to_have_text("Case saved.")
    expect(page.locator("h1 .status")).to_have_text("open")
    page.get_by_label("New note").fill("Refund approved by billing")
    page.get_by_label("green").check()
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes .note-green")).to_contain_text("Refund approved by billing")
    page.get_by_label("New comment").fill("Waiting for the bank transfer")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("#comments")).to_contain_text("Waiting for the bank transfer")
    page.get_by_role("link", name="See previous interactions").click()
    expect(page.locator(".tl-interaction")).to_have_count(6)
    page.wait_for_load_state()
    shot(page, "case")

    # Back on the card, the case is listed and counted in the dashboard.
    page.get_by_role("link", name="Marta Wiśniewska").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#chart-cases")).to_have_attribute("data-drawn", "1")
    expect(page.locator("figure.chart").nth(1)).to_contain_text("open")
    shot(page, "dashboard")

    # Log out: the pages ask for a login again.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to clientcard")).to_be_visible()
    page.goto(card_url)
    expect(page).to_have_url(f"{base}/login?next=%2Fcustomers%2F1")
