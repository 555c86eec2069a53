"""The interface's languages: English, Spanish and Polish.

The texts are gettext catalogues, `locale/<lang>/LC_MESSAGES/messages.po`, read once per
process on first use and compiled in memory (no .mo files to keep in step). The msgids are
the English texts, so English needs no translation and a text missing from a catalogue
shows in English.

A request's language is the user's choice (saved on the user, copied into the session at
login and by the switcher), else the best match of the browser's Accept-Language header,
else English.

Templates mark text with `{{ _("...") }}` (new-style gettext: `_("%(n)s items", n=3)`).
Python code marks it with `tr(request, "...")` and `ntr(request, singular, plural, n)`;
constants translated where they are shown (tab names, channel names) with `N_("...")`,
and words that need a context (a case status, a colour) with `NP_("case status", "open")`.
`make messages` extracts them all with these keywords (see babel.cfg).
"""

from __future__ import annotations

import functools
import gettext as gettext_module
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.core import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"
# Each language named in itself, as a switcher shows it.
LOCALE_NAMES = {"en": "English", "es": "Español", "pl": "Polski"}
LOCALES = tuple(LOCALE_NAMES)
SESSION_KEY = "locale"
# The keywords, besides gettext's own (_, gettext, ngettext, pgettext), that `make messages`
# (BABEL_KEYWORDS in the Makefile) and the catalogue test extract the texts with.
EXTRACT_KEYWORDS = ("tr:2", "ntr:2,3", "N_", "NP_:1c,2")


def N_(message: str) -> str:
    """Marks a text for the catalogue; it is translated where it is shown."""
    return message


def NP_(context: str, message: str) -> str:
    """Marks a text with its context (`NP_("case status", "open")`) for the catalogue."""
    return message


@functools.cache
def translations(locale: str) -> gettext_module.NullTranslations:
    """The catalogue of a language, compiled from its .po file once per process."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale not in LOCALES or not path.exists():
        return gettext_module.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled)


@functools.cache
def datetime_pattern(locale: str) -> str:
    """How the locale joins a date and a time: "{1}, {0}" (date, then time)."""
    return str(Locale.parse(locale).datetime_formats["medium"])


def parse_accept_language(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first."""
    found: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            found.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(found)]


def negotiate(header: str | None) -> str | None:
    """The interface language that best matches an Accept-Language header, if any."""
    if not header:
        return None
    chosen = negotiate_locale(parse_accept_language(header)[:20], LOCALES, sep="-")
    return chosen.lower() if chosen else None


def valid_locale(value: str | None) -> str | None:
    return value if value in LOCALES else None


def locale_of(request: Request) -> str:
    """The language of this request: the user's choice, the browser's, else English."""
    cached = getattr(request.state, "locale", None)
    if cached:
        return cached
    chosen = request.session.get(SESSION_KEY) if "session" in request.scope else None
    locale = (
        valid_locale(chosen) or negotiate(request.headers.get("accept-language")) or DEFAULT_LOCALE
    )
    request.state.locale = locale
    return locale


def remember(request: Request, locale: str | None) -> None:
    """The session's language from now on (None: follow the browser)."""
    if valid_locale(locale):
        request.session[SESSION_KEY] = locale
    else:
        request.session.pop(SESSION_KEY, None)
    if hasattr(request.state, "locale"):
        del request.state.locale


def translations_of(request: Request) -> gettext_module.NullTranslations:
    return translations(locale_of(request))


def tr(request: Request, message: str, **variables: Any) -> str:
    """`message` in the request's language; `%(name)s` filled from `variables`."""
    text = translations_of(request).gettext(message)
    return text % variables if variables else text


def ntr(request: Request, singular: str, plural: str, n: int, **variables: Any) -> str:
    """The plural form for `n` in the request's language; `%(num)s` is `n`."""
    text = translations_of(request).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


# ---- templates -------------------------------------------------------------------------
# The environment's null translations are replaced, per render, by these new-style
# callables bound to the request's catalogue (the same behaviour as Jinja's own: the text
# is always %-formatted, and marked safe after escaping the variables).


def template_callables(catalog: gettext_module.NullTranslations) -> dict[str, Any]:
    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        text = catalog.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = catalog.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def pgettext(context: Context, message_context: str, message: str, **variables: Any) -> str:
        variables.setdefault("context", message_context)
        text = catalog.pgettext(message_context, message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"gettext": gettext, "ngettext": ngettext, "pgettext": pgettext}


def context_catalog(context: Context) -> gettext_module.NullTranslations:
    """The catalogue a template is rendered with (English outside a request)."""
    catalog = context.get("i18n_catalog")
    if isinstance(catalog, gettext_module.NullTranslations):
        return catalog
    return translations(DEFAULT_LOCALE)


def context_locale(context: Context) -> str:
    return valid_locale(context.get("locale")) or DEFAULT_LOCALE
