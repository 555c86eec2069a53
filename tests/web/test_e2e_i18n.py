"""The language switcher in a real browser (Debian's Chromium driven by Playwright against a
real server): an agent logs in, switches to Spanish, and the list and the card speak it,
after a reload and a new login too. Skipped loudly without Chromium or Playwright, except in
CI (CI=true), where that fails."""

from __future__ import annotations

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
from tests.process_helpers import Server
from tests.web.browser import browser_page, playwright_api, served

pytestmark = pytest.mark.slow

USER, PASSWORD = "lucia", "e2e-secret-pass"


@pytest.fixture(scope="module")
def sync_api():
    return playwright_api()


def _seed(url: str) -> None:
    database = open_database(Settings(database_url=url, demo_on_first_start=False))
    system = system_actor("e2e")
    with database.write() as session:
        auth.create_user(
            session,
            actor=system,
            data=UserCreate(username=USER, password=PASSWORD, role=Role.AGENT),
        )
        customers.create_customer(
            session,
            actor=system,
            data=CustomerCreate(
                first_name="Jorge",
                last_name="Fernández",
                contact_points=[{"type": "mobile", "value": "+34 612 34 56 78"}],
            ),
        )
    database.dispose()


@pytest.fixture(scope="module")
def server(sync_api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served(tmp_path_factory.mktemp("e2e-i18n"), _seed) as running:
        yield running


@pytest.fixture
def page(sync_api, server: Server, tmp_path: Path):
    with browser_page(sync_api, server, tmp_path / "chromium-profile") as opened:
        yield opened


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#username").fill(USER)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_load_state()


def test_an_agent_switches_the_interface_to_spanish(sync_api, server: Server, page):
    expect = sync_api.expect
    base = server.url

    # The browser asks for English: the interface starts in English.
    _log_in(page, base)
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # The switcher in the top bar.
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Change language").click()
    expect(page.get_by_role("heading", name="Clientes")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page).to_have_url(f"{base}/customers")
    expect(page.get_by_label("Buscar")).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()

    # The card and its tabs, in Spanish; a tab loaded by htmx too.
    page.get_by_role("link", name="Jorge Fernández").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jorge Fernández")
    page.wait_for_load_state()
    tabs = page.get_by_role("navigation", name="Secciones de la ficha")
    for name in ("Información", "Datos de contacto", "Cronología", "Casos", "Historial de cambios"):
        expect(tabs.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Guardar cambios")).to_be_visible()
    tabs.get_by_role("link", name="Datos de contacto", exact=True).click()
    expect(page.get_by_role("heading", name="Datos de contacto", level=2)).to_be_visible()
    expect(page.locator("#contact-points")).to_contain_text("móvil")
    card_url = page.url

    # Logged out and in again: still Spanish, though the browser asks for English.
    page.get_by_role("button", name="Cerrar sesión").click()
    expect(page.get_by_role("heading", name="Log in to clientcard")).to_be_visible()
    _log_in(page, base)
    expect(page.get_by_role("heading", name="Clientes")).to_be_visible()
    page.goto(card_url)
    expect(page.get_by_role("heading", name="Datos de contacto", level=2)).to_be_visible()

    # And back to English.
    page.get_by_label("Idioma").select_option("en")
    page.get_by_role("button", name="Cambiar idioma").click()
    expect(page.get_by_role("heading", name="Contact points", level=2)).to_be_visible()
    expect(page).to_have_url(card_url)
