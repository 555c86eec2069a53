"""The user's own preferences: the interface language, chosen in the top bar."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from clientcard.auth import service as auth
from clientcard.auth.schemas import UserPreferencesUpdate
from clientcard.errors import Invalid
from clientcard.web import i18n
from clientcard.web.auth_views import safe_next
from clientcard.web.context import CSRF, Page, page, web_router
from clientcard.web.forms import Form, form_data
from clientcard.web.render import redirect

router = web_router()


@router.post("/preferences/locale", dependencies=CSRF)
def set_locale(
    request: Request, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    """Saves the language on the user (so it holds at the next login, on any browser) and
    in the session, then goes back to the page the switcher was on."""
    locale = form.get("locale", "")
    if not i18n.valid_locale(locale):
        raise Invalid.field("locale", f"must be one of {', '.join(i18n.LOCALES)}")
    with ctx.db.write() as session:
        auth.update_preferences(session, actor=ctx.actor, data=UserPreferencesUpdate(locale=locale))
    i18n.remember(request, locale)
    return redirect(request, safe_next(form.get("next")))
