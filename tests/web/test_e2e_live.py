"""Live updates in a real browser, as tests/web/test_e2e.py runs it (Debian's Chromium driven
by Playwright against a server process on a fresh SQLite database): with a card open, an
interaction posted through the API appears on it without a reload; an inbound call
ingested for the logged-in agent takes their browser to the caller's card, or, when a form
holds unsaved input, shows a banner with a link to it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.process_helpers import Server, api_client, login
from tests.web import test_e2e as e2e
from tests.web.browser import browser_page, playwright_api, served

pytestmark = pytest.mark.slow
LIVE_WITHIN_MS = 1000  # "within a second"
_numbers = itertools.count()


@pytest.fixture(scope="module")
def sync_api():
    return playwright_api()


@pytest.fixture(scope="module")
def server(sync_api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # the agent, Marta (1), Jorge (2) and Oliver (3), Marta's six contacts
    with served(tmp_path_factory.mktemp("e2e-live"), e2e._seed) as running:
        yield running


@pytest.fixture
def page(sync_api, server: Server, tmp_path: Path):
    with browser_page(sync_api, server, tmp_path / "chromium-profile") as opened:
        yield opened


@pytest.fixture
def api(server: Server):
    """The channel platform, pushing with a bearer token."""
    with api_client(server.url, login(server.url, e2e.USER, e2e.PASSWORD)) as client:
        yield client


def _ingest(api, **fields: Any) -> dict[str, Any]:
    item = {
        "source": "pbx",
        "external_id": f"live-{next(_numbers)}",
        "channel": "voice",
        "direction": "inbound",
        "started_at": dt.datetime.now(dt.UTC).isoformat(),
        **fields,
    }
    response = api.post("/api/v1/interactions", json=item)
    assert response.status_code == 201, response.text
    return response.json()


def _log_in(page, base: str, next_path: str) -> None:
    page.goto(f"{base}{next_path}")
    page.get_by_label("Username").fill(e2e.USER)
    page.get_by_label("Password").fill(e2e.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}{next_path}")


def _connected(page, expect, stream: str) -> None:
    """The page's live stream is open (its `ready` event came)."""
    expect(page.locator("#live")).to_have_attribute("data-connected", stream)


def test_a_new_interaction_appears_on_the_open_card_without_a_reload(sync_api, server, page, api):
    expect = sync_api.expect
    base = server.url
    _log_in(page, base, "/customers/1/timeline")
    _connected(page, expect, "/live/customers/1")
    items = page.locator("#timeline .tl-item")
    expect(items).to_have_count(6)
    page.evaluate("window.notReloaded = true")
    note = page.get_by_label("Add a note to the customer's activity")
    note.fill("Half-typed note")

    _ingest(
        api,
        channel="email",
        **{"from": "marta.w@example.com"},
        subject="Live: where is my parcel?",
        body="It did not come.",
    )
    expect(items.first).to_contain_text("where is my parcel?", timeout=LIVE_WITHIN_MS)
    expect(items).to_have_count(7)
    assert page.evaluate("window.notReloaded") is True
    expect(note).to_have_value("Half-typed note")  # the agent's typing is left alone

    # An interaction that started earlier goes to its place in time, not on top.
    earlier = "2026-01-12T12:00:00Z"  # between the seeded contacts of 01-12 and 01-13
    _ingest(api, channel="sms", **{"from": "+48512345678"}, started_at=earlier, body="Late SMS")
    placed = page.locator("#timeline .tl-item", has_text="Late SMS")
    expect(placed).to_have_count(1, timeout=LIVE_WITHIN_MS)
    keys = page.locator("#timeline .tl-item").evaluate_all("els => els.map(e => e.textContent)")
    position = next(i for i, text in enumerate(keys) if "Late SMS" in text)
    assert 1 < position < len(keys) - 1, keys

    # On another tab, the Timeline tab says there is something new.
    page.get_by_role("link", name="Information").click()
    expect(page.locator("#tab-panel")).to_have_attribute("data-tab", "info")
    _ingest(api, **{"from": "+48512345678"}, status="answered", queue="billing")
    badge = page.locator(".tabs .live-new")
    expect(badge).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(badge).to_have_text("new")
    page.get_by_role("link", name="Timeline").click()
    expect(items.first).to_contain_text("queue billing")
    expect(badge).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True


def test_an_inbound_call_for_the_agent_opens_the_callers_card(sync_api, server, page, api):
    expect = sync_api.expect
    base = server.url
    _log_in(page, base, "/customers")
    _connected(page, expect, "/live/me")
    page.get_by_label("Search").fill("Smith")  # a search is no unsaved work
    expect(page.locator("#results tbody tr")).to_have_count(1)
    searched = page.url

    # A call for another agent, or a missed one, does not move this agent's page.
    _ingest(api, **{"from": "+34 612 34 56 78"}, agent="someone-else-entirely")
    _ingest(api, **{"from": "+34 612 34 56 78"}, agent=e2e.USER, status="missed")
    page.wait_for_timeout(500)
    expect(page).to_have_url(searched)

    _ingest(api, **{"from": "+34 612 34 56 78"}, agent=e2e.USER, status="ringing")
    expect(page).to_have_url(f"{base}/customers/2", timeout=LIVE_WITHIN_MS + 1000)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jorge Fernández")
    _connected(page, expect, "/live/customers/2")

    # Typing in the card's form: the pop shows a banner instead of leaving the page.
    page.get_by_label("Preferred language").fill("es")
    response = api.post(
        "/api/v1/screen-pops",
        json={"agent": e2e.USER, "from": "+44 7911 123456", "channel": "chat"},
    )
    assert response.status_code == 202, response.text
    banner = page.locator("#live")
    expect(banner).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(banner).to_contain_text("Incoming chat")
    expect(page).to_have_url(f"{base}/customers/2")
    expect(page.get_by_label("Preferred language")).to_have_value("es")
    page.get_by_role("link", name="Open the customer's card").click()
    expect(page).to_have_url(f"{base}/customers/3")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Oliver Smith")
