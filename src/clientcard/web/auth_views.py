"""Logging in and out of the web interface."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from clientcard.auth import service as auth
from clientcard.errors import Unauthorized
from clientcard.http import Services, services
from clientcard.web import i18n
from clientcard.web import session as web_session
from clientcard.web.context import CSRF, web_router
from clientcard.web.forms import Form, form_data
from clientcard.web.i18n import tr
from clientcard.web.render import render

router = web_router()


def safe_next(value: str | None) -> str:
    """Only a path on this site: never another host (`//host`, `/\\host`)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/customers"
    return value


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "username": ""})


@router.post("/login", dependencies=CSRF)
def login(
    request: Request, form: Form = Depends(form_data), svc: Services = Depends(services)
) -> Response:
    username = form.get("username", "").strip()
    target = safe_next(form.get("next"))
    try:
        with svc.db.write() as session:
            token, row = auth.login(
                session,
                username=username,
                password=form.get("password", ""),
                ttl_hours=svc.settings.token_ttl_hours,
            )
            locale = auth.locale_of(session, user_id=row.user_id)
    except Unauthorized:
        error = tr(request, "Wrong username or password.")
        context = {"next": target, "username": username, "error": error}
        return render(request, "login.html", context, status=401)
    web_session.start(request, token)
    i18n.remember(request, locale)  # the user's language from now on; none: the browser's
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=CSRF)
def logout(request: Request, svc: Services = Depends(services)) -> Response:
    token = web_session.end(request)
    if token:
        with svc.db.write() as session:
            auth.revoke_token(session, token=token, cache=svc.tokens)
    web_session.csrf_token(request)
    return RedirectResponse("/login", status_code=303)
