"""Who is logged in, and the CSRF token of the session.

The signed session cookie holds a login token issued by the auth service (the same kind of
token `POST /api/v1/auth/token` issues): logging out revokes it, and a deactivated user or
an expired token ends the session on the next request. The actor is resolved through the
process's token cache, so a page costs no query for it.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from clientcard.auth import service as auth
from clientcard.auth.actor import Actor
from clientcard.errors import Forbidden, Unauthorized
from clientcard.http import Services, services
from clientcard.web.i18n import N_

TOKEN_KEY = "token"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# The error page shows this in the user's language (it is in the catalogue).
CSRF_EXPIRED = N_("the form has expired or did not come from this site; reload the page")


class LoginRequired(Exception):
    """No valid session: pages answer with a redirect to the login page."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


async def check_csrf(request: Request) -> None:
    """Every POST carries the session's token, in the form or (htmx) in a header."""
    expected = request.session.get(CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden(CSRF_EXPIRED)


async def csrf_header(request: Request) -> None:
    """The CSRF check of an upload: the token in the header only, so that the body is left
    unread for the file to stream into the store (the page sends the form with htmx)."""
    expected = request.session.get(CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden(CSRF_EXPIRED)


def _resolve(svc: Services, token: str) -> Actor:
    with svc.db.read() as session:
        return auth.resolve_token(session, token=token, cache=svc.tokens)


async def current_actor(request: Request, svc: Services = Depends(services)) -> Actor:
    token = request.session.get(TOKEN_KEY)
    if not token:
        raise LoginRequired
    actor = svc.tokens.get(auth.token_hash_of(token))
    if actor is None:
        try:
            actor = await run_in_threadpool(_resolve, svc, token)
        except Unauthorized:
            request.session.pop(TOKEN_KEY, None)
            raise LoginRequired from None
    request.state.actor = actor
    return actor


def start(request: Request, token: str) -> None:
    """A new session for a user who just logged in: a new CSRF token too."""
    request.session.clear()
    request.session[TOKEN_KEY] = token
    csrf_token(request)


def end(request: Request) -> str | None:
    token = request.session.get(TOKEN_KEY)
    request.session.clear()
    return token
