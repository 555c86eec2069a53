"""The interface in English, Spanish and Polish: the language a user chose (kept across
logins), else the browser's, else English; dates and numbers written the locale's way; and
catalogues that hold every text of the templates and the web code, all translated."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from clientcard.auth.actor import Role
from clientcard.web import i18n
from clientcard.web.render import env, format_when
from tests.conftest import Api, create_customer, make_user
from tests.web.conftest import Browser

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = ("es", "pl")
SPANISH = {"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"}
POLISH = {"Accept-Language": "pl-PL,pl;q=0.9"}


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "the page has no <html lang>"
    return match.group(1)


def _switch(browser: Browser, locale: str, next: str = "/customers"):
    return browser.post(
        "/preferences/locale", {"locale": locale, "next": next}, follow_redirects=False
    )


# ---- the language of a page ------------------------------------------------------------


def test_the_list_speaks_the_browsers_language(web: Browser):
    english = web.get("/customers")
    assert _lang(english.text) == "en"
    assert "<h1>Customers</h1>" in english.text and "Search" in english.text

    spanish = web.get("/customers", headers=SPANISH)
    assert _lang(spanish.text) == "es"
    for text in ("<h1>Clientes</h1>", "Buscar", "Más recientes", "Cerrar sesión", "agente"):
        assert text in spanish.text, text
    assert "<h1>Customers</h1>" not in spanish.text

    polish = web.get("/customers", headers=POLISH)
    assert _lang(polish.text) == "pl"
    for text in ("<h1>Klienci</h1>", "Szukaj", "Najnowsi", "Wyloguj się", "konsultant"):
        assert text in polish.text, text

    # A language the interface does not speak: English.
    assert _lang(web.get("/customers", headers={"Accept-Language": "fr-FR, de"}).text) == "en"


def test_accept_language_is_read_by_preference():
    assert i18n.parse_accept_language("de;q=1, es;q=0.5, pl;q=0.8, *;q=0.1") == ["de", "pl", "es"]
    assert i18n.negotiate("de;q=1, es;q=0.5, pl;q=0.8") == "pl"
    assert i18n.negotiate("es-MX") == "es"
    assert i18n.negotiate("PL-pl, en") == "pl"
    assert i18n.negotiate("en-GB;q=0.3, es;q=0.9") == "es"
    assert i18n.negotiate("pl;q=0, fr") is None
    assert i18n.negotiate("pl;q=nonsense, es") == "es"
    assert i18n.negotiate("") is None


def test_the_login_page_follows_the_browser(browser: Browser):
    page = browser.get("/login", headers=POLISH)
    assert _lang(page.text) == "pl"
    assert "Zaloguj się do clientcard" in page.text and "Nazwa użytkownika" in page.text


def test_a_wrong_password_is_told_in_the_browsers_language(db, browser: Browser):
    make_user(db, "ewa", Role.AGENT)
    browser.get("/login")
    wrong = browser.post(
        "/login",
        {"username": "ewa", "password": "nope-nope", "next": "/customers"},
        headers=SPANISH,
    )
    assert wrong.status_code == 401 and "Usuario o contraseña incorrectos." in wrong.text


# ---- the switcher ----------------------------------------------------------------------


def test_the_switcher_keeps_each_users_language_across_logins(db, browser: Browser):
    make_user(db, "marta", Role.AGENT)
    make_user(db, "piotr", Role.AGENT)
    assert browser.login("marta").status_code == 303
    page = browser.get("/customers?q=ana")
    assert 'action="/preferences/locale"' in page.text and 'value="/customers?q=ana"' in page.text

    switched = _switch(browser, "es", "/customers?q=ana")
    assert switched.status_code == 303 and switched.headers["location"] == "/customers?q=ana"
    # Her choice wins over what the browser asks for.
    page = browser.get("/customers", headers=POLISH)
    assert _lang(page.text) == "es" and "<h1>Clientes</h1>" in page.text
    assert '<option value="es" lang="es" selected>Español</option>' in page.text

    # Logged out and in again (a new session): still Spanish.
    assert browser.post("/logout", follow_redirects=False).status_code == 303
    assert _lang(browser.get("/login").text) == "en"
    assert browser.login("marta").status_code == 303
    assert _lang(browser.get("/customers").text) == "es"

    # Another user on the same browser has no choice: the browser's language, then English.
    browser.post("/logout", follow_redirects=False)
    assert browser.login("piotr").status_code == 303
    assert _lang(browser.get("/customers").text) == "en"
    assert _lang(browser.get("/customers", headers=POLISH).text) == "pl"
    assert _switch(browser, "pl").status_code == 303
    assert _lang(browser.get("/customers").text) == "pl"

    # And marta is still Spanish.
    browser.post("/logout", follow_redirects=False)
    browser.login("marta")
    assert _lang(browser.get("/customers").text) == "es"


def test_the_switcher_refuses_what_it_does_not_offer(web: Browser):
    assert _switch(web, "de").status_code == 422
    off_site = _switch(web, "pl", "//evil.example/")
    assert off_site.status_code == 303 and off_site.headers["location"] == "/customers"
    no_token = web.client.post("/preferences/locale", data={"locale": "es"}, follow_redirects=False)
    assert no_token.status_code == 403
    assert "Prohibido" not in no_token.text  # Polish now, from the switch above
    assert "Brak dostępu" in no_token.text


def test_the_switcher_needs_a_login(browser: Browser):
    browser.get("/login")
    response = _switch(browser, "es")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_choice_is_on_the_user_through_the_api(db, client, admin: Api, agent: Api):
    assert agent.get("/api/v1/users/me").json()["locale"] is None
    changed = agent.patch("/api/v1/users/me", json={"locale": "pl"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["locale"] == "pl"
    assert agent.get("/api/v1/users/me").json()["locale"] == "pl"
    assert agent.patch("/api/v1/users/me", json={"locale": "de"}).status_code == 422
    assert agent.patch("/api/v1/users/me", json={"role": "admin"}).status_code == 422

    # Administrators set it on anyone, or clear it (null: the browser's language).
    cleared = admin.patch(f"/api/v1/users/{agent.user_id}", json={"locale": None})
    assert cleared.status_code == 200 and cleared.json()["locale"] is None
    assert admin.patch(f"/api/v1/users/{agent.user_id}", json={"locale": "es"}).json()["locale"]

    # The page login picks it up.
    browser = Browser(client)
    browser.login(agent.username)
    assert _lang(browser.get("/customers").text) == "es"


# ---- what the pages say ----------------------------------------------------------------


def _spanish(db, client) -> Browser:
    make_user(db, "lucia", Role.AGENT)
    browser = Browser(client)
    browser.login("lucia")
    browser.get("/customers")
    assert _switch(browser, "es").status_code == 303
    return browser


def test_the_card_its_tabs_and_its_messages_are_translated(db, client, agent: Api):
    customer = create_customer(agent)
    web = _spanish(db, client)
    card = web.get(f"/customers/{customer['id']}")
    for text in ("Información", "Datos de contacto", "Cronología", "Casos", "Historial de cambios"):
        assert f">{text}</a>" in card.text, text
    assert "Guardar cambios" in card.text and "Idioma preferido" in card.text

    added = web.htmx_post(f"/customers/{customer['id']}/notes", "card", {"text": "Llamar el lunes"})
    assert added.status_code == 200 and "Nota añadida." in added.text

    points = web.get(f"/customers/{customer['id']}/contact-points")
    assert "Añadir dato de contacto" in points.text
    assert '<option value="mobile" selected>móvil</option>' in points.text


def test_polish_plural_forms(db, client, agent: Api):
    for n in range(5):
        create_customer(agent, first_name=f"Jan{n}")
    make_user(db, "zofia", Role.AGENT)
    web = Browser(client)
    web.login("zofia")
    web.get("/customers")  # the new session's CSRF token
    assert _switch(web, "pl").status_code == 303
    assert "5 klientów na tej stronie" in web.get("/customers").text
    assert "1 klient na tej stronie" in web.get("/customers?q=jan1").text
    catalog = i18n.translations("pl")
    forms = {
        n: catalog.ngettext(
            "%(count)s customer on this page", "%(count)s customers on this page", n
        )
        % {"count": n}
        for n in (1, 3, 5, 12, 22, 25)
    }
    assert forms == {
        1: "1 klient na tej stronie",
        3: "3 klienci na tej stronie",
        5: "5 klientów na tej stronie",
        12: "12 klientów na tej stronie",
        22: "22 klienci na tej stronie",
        25: "25 klientów na tej stronie",
    }


def test_error_pages_are_translated(db, client):
    web = _spanish(db, client)
    missing = web.get("/customers/999999")
    assert missing.status_code == 404 and "No encontrado" in missing.text
    assert "Volver a la lista de clientes" in missing.text


def test_dates_and_numbers_are_written_the_locales_way(db, client, agent: Api):
    when = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
    assert format_when(when, "en") == "Jan 5, 2026, 10:00\u202fAM UTC"
    assert format_when(when, "es") == "5 ene 2026, 10:00 UTC"
    assert format_when(when, "pl") == "5 sty 2026, 10:00 UTC"
    # Another zone is shown in UTC, so a time means the same to everyone.
    warsaw = when.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert format_when(warsaw, "pl") == "5 sty 2026, 10:00 UTC"
    assert format_when(dt.date(2026, 1, 5), "es") == "5 ene 2026"

    numbers = env.from_string("{{ 12345 | number }} {{ 0.75 | percent }} {{ none | number }}")
    assert numbers.render(locale="en") == "12,345 75% —"
    assert numbers.render(locale="es") == "12.345 75\xa0% —"
    assert numbers.render(locale="pl") == "12\xa0345 75% —"

    customer = create_customer(agent)
    item = {
        "source": "pbx",
        "external_id": "c-1",
        "channel": "voice",
        "direction": "inbound",
        "from": "+48601234567",
        "customer_id": customer["id"],
        "started_at": "2026-01-05T10:00:00Z",
        "status": "answered",
    }
    assert agent.post("/api/v1/interactions", json=item).status_code in (200, 201)
    web = _spanish(db, client)
    timeline = web.get(f"/customers/{customer['id']}/timeline").text
    assert '<time datetime="2026-01-05T10:00:00+00:00">5 ene 2026, 10:00 UTC</time>' in timeline
    assert "Llamada" in timeline and "← entrante" in timeline and "atendida" in timeline
    dashboard = web.get(f"/customers/{customer['id']}/dashboard").text
    assert "Canal preferido:" in dashboard and "(100\xa0%)" in dashboard


# ---- the catalogues --------------------------------------------------------------------


def _catalogue(locale: str):
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po, locale=locale)


def _extracted() -> dict[tuple[str | None, str], str]:
    """Every marked text of the templates and the web code, as `make messages` finds it."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(list(i18n.EXTRACT_KEYWORDS))}
    found = {}
    for filename, lineno, message, _, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found[(context, msgid)] = f"{filename}:{lineno}"
    return found


def test_catalogue_holds_every_text_of_the_pages():
    extracted = _extracted()
    assert len(extracted) > 300
    for locale in i18n.LOCALES:
        catalog = _catalogue(locale)
        held = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog if m.id}
        missing = {key: where for key, where in extracted.items() if key not in held}
        assert not missing, (
            f"{locale}: texts not in the catalogue (run `make messages`, then translate): {missing}"
        )


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalogue_translates_every_message(locale: str):
    catalog = _catalogue(locale)
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or len(strings) != (catalog.num_plurals if message.pluralizable else 1):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, f"{locale}: untranslated: {untranslated}"
    assert not fuzzy, f"{locale}: fuzzy (check and clear the flag): {fuzzy}"
    # The placeholders (%(name)s) of each translation are those of its text.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, f"{locale}: {problems}"


def test_catalogue_plural_forms_are_the_languages():
    assert _catalogue("pl").num_plurals == 3
    assert _catalogue("es").num_plurals >= 2
    assert i18n.translations("es").gettext("Customers") == "Clientes"
    assert i18n.translations("pl").pgettext("case status", "open") == "otwarte"
    assert i18n.translations("en").gettext("Customers") == "Customers"
