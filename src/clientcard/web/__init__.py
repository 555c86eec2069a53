"""The web interface: server-rendered pages (Jinja2 + htmx), a cookie session and CSRF.

`install(app)` adds the session middleware, the page routes and the static files. The
session cookie is signed with the settings' `secret_key` (CLIENTCARD_SECRET_KEY); without it
each process makes a random secret at start, so sessions end when the process restarts and
do not cross processes (`serve --workers N` refuses to start without it).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from clientcard.config import Settings

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "clientcard_session"
log = logging.getLogger("clientcard.web")


def _secret_key(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    log.warning(
        "CLIENTCARD_SECRET_KEY is not set: web sessions are signed with a key made for this "
        "process only"
    )
    return secrets.token_urlsafe(48)


def install(app: FastAPI) -> None:
    """Adds the web pages to the app (after its services are set on app.state)."""
    from clientcard.web import live_views, views

    settings = app.state.services.settings
    app.state.web_secret = _secret_key(settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=app.state.web_secret,
        session_cookie=SESSION_COOKIE,
        max_age=settings.token_ttl_hours * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.include_router(views.router)
    app.include_router(live_views.router)  # the pages' live streams (SSE)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
