"""Rendering pages and htmx fragments, and turning domain errors into pages.

A page template extends base.html and names its swappable parts as blocks. An htmx request
whose target element's id names a block (`tab-panel` -> block `tab_panel`) gets only that
block, rendered with the same context, so one template serves the page and its fragments.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from clientcard import __version__
from clientcard.errors import DomainError, FieldError
from clientcard.web.session import LoginRequired, csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https://www.gravatar.com; "
        "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _datetime(value: dt.datetime | dt.date | None, empty: str = "—") -> Markup | str:
    if value is None:
        return empty
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC)
        shown = value.strftime("%Y-%m-%d %H:%M UTC")
    else:
        shown = value.isoformat()
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), shown)


def _shown(value: Any) -> str:
    """A history value as text: JSON for lists and objects, — for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


CHANNEL_NAMES = {
    "voice": "Call",
    "email": "E-mail",
    "sms": "SMS",
    "chat": "Chat",
    "whatsapp": "WhatsApp",
    "social": "Social",
    "web_form": "Web form",
}


def _humanize(value: str | None) -> str:
    return (value or "").replace("_", " ")


def channel_name(value: str | None) -> str:
    return CHANNEL_NAMES.get(value or "", _humanize(value))


env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
# Templates mark text with {{ _("...") }} (new-style gettext: `_("%(n)s items", n=3)`).
env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
env.filters["datetime"] = _datetime
env.filters["shown"] = _shown
env.filters["humanize"] = _humanize
env.filters["channel"] = channel_name
env.globals["version"] = __version__


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    fragments: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page, or for htmx the block its target names; `fragments` maps other targets
    (such as a "load more" row) to templates of their own."""
    page = env.get_template(template)
    values = {
        "request": request,
        "csrf_token": csrf_token(request),
        "actor": getattr(request.state, "actor", None),
        **context,
    }
    block = None
    if (
        is_htmx(request)
        and not request.headers.get("hx-boosted")
        and not request.headers.get("hx-history-restore-request")
    ):
        target = request.headers.get("hx-target") or ""
        if fragments and target in fragments:
            page = env.get_template(fragments[target])
        else:
            block = target.replace("-", "_")
            block = block if block in page.blocks else None
    if block is None:
        body = page.render(values)
    else:
        body = "".join(page.blocks[block](page.new_context(values)))
    response = HTMLResponse(body, status_code=status, headers=headers)
    # A page and its fragments share URLs: caches must tell them apart.
    response.headers["Vary"] = "HX-Request, HX-Target"
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, url: str) -> Response:
    """After a write: a 303 to the page, or for htmx a client-side redirect."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def field_errors(errors: list[FieldError]) -> dict[str, str]:
    """Field name -> message, for showing next to the inputs (first message per field)."""
    shown: dict[str, str] = {}
    for error in errors:
        shown.setdefault(error.field, error.message)
    return shown


def validation_errors(exc: Any) -> list[FieldError]:
    """Pydantic's errors as field errors named like the service names them."""
    found = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"] if p not in ("body", "query", "path")]
        message = "is required" if error["type"] == "missing" else error["msg"]
        found.append(FieldError(".".join(loc) or "form", message))
    return found


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail},
        status=status,
    )


class WebRoute(APIRoute):
    """Pages answer errors with pages: no session -> the login page; a domain error -> an
    error page with its status; and every page carries the security headers."""

    def get_route_handler(self):  # type: ignore[override]
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                response = _to_login(request)
            except DomainError as exc:
                response = _error_page(request, exc.status, exc.title, exc.detail)
            except RequestValidationError as exc:
                detail = "; ".join(f"{e.field}: {e.message}" for e in validation_errors(exc))
                response = _error_page(request, 422, "Not a valid request", detail)
            response.headers.update(SECURITY_HEADERS)
            return response

        return route


def _to_login(request: Request) -> Response:
    current = urlsplit(request.headers.get("hx-current-url") or str(request.url))
    if request.method != "GET" and not request.headers.get("hx-current-url"):
        current = urlsplit("/customers")
    target = current.path + (f"?{current.query}" if current.query else "")
    url = f"/login?next={quote(target, safe='')}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
