"""The web interface: server-rendered pages (Jinja2 + htmx), a cookie session and CSRF.

`install(app)` adds the session middleware, the page routes and the static files. The
session cookie is signed with CLIENTCARD_SECRET_KEY; without it each process makes a random
secret at start, so sessions end when the process restarts and do not cross processes
(set the variable when running more than one worker or process).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

STATIC_DIR = Path(__file__).parent / "static"
SESSION_COOKIE = "clientcard_session"
SECRET_ENV = "CLIENTCARD_SECRET_KEY"
log = logging.getLogger("clientcard.web")


def _secret_key() -> str:
    secret = os.environ.get(SECRET_ENV, "").strip()
    if secret:
        return secret
    log.warning(
        "%s is not set: web sessions are signed with a key made for this process only", SECRET_ENV
    )
    return secrets.token_urlsafe(48)


def install(app: FastAPI) -> None:
    """Adds the web pages to the app (after its services are set on app.state)."""
    from clientcard.web import live_views, views

    settings = app.state.services.settings
    app.state.web_secret = _secret_key()
    app.add_middleware(
        SessionMiddleware,
        secret_key=app.state.web_secret,
        session_cookie=SESSION_COOKIE,
        max_age=settings.token_ttl_hours * 3600,
        same_site="lax",
        https_only=os.environ.get("CLIENTCARD_SECURE_COOKIES", "").lower() in ("1", "true"),
    )
    app.include_router(views.router)
    app.include_router(live_views.router)  # the pages' live streams (SSE)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
