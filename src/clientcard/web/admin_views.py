"""The administration screens: the index, and what the sections share.

Each section has its own module (admin_users_views, admin_campaigns_views,
admin_config_views for lead statuses and case types, admin_fields_views for custom fields).
Every page is for administrators only: `admin_page` answers others with a 403 page, and
every write goes to the same service function as the REST API, which checks the
permission again. A write answers with a redirect to the section and a flash message, or
with the page again showing the field errors (422/409) or the conflict (412).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from clientcard.auth.actor import Permission
from clientcard.errors import DomainError, FieldError
from clientcard.web.context import Page, page, web_router
from clientcard.web.i18n import tr
from clientcard.web.render import field_errors, redirect, render

router = web_router()

# The sections, in the order the index and the section menu list them.
SECTIONS = (
    ("/admin/users", "users"),
    ("/admin/campaigns", "campaigns"),
    ("/admin/lead-statuses", "lead_statuses"),
    ("/admin/custom-fields", "custom_fields"),
    ("/admin/case-types", "case_types"),
)


async def admin_page(ctx: Page = Depends(page)) -> Page:
    """The page context, for administrators only."""
    ctx.actor.require(
        Permission.ADMINISTRATION, "only administrators use the administration screens"
    )
    return ctx


def show(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    """An administration page, with the flash message left by the last write."""
    return render(
        request,
        template,
        {"flash": request.session.pop("flash", None), "sections": SECTIONS, **context},
        status=status,
    )


def done(request: Request, url: str, message: str, **variables: Any) -> Response:
    """After a write: back to the page, which shows the message once (`message` is an
    English text of the catalogue, marked N_, shown in the user's language, its
    `%(name)s` filled from `variables`)."""
    request.session["flash"] = tr(request, message, **variables)
    return redirect(request, url)


def errors_of(exc: DomainError, *, fallback: str = "form", prefix: str = "") -> dict[str, str]:
    """The field errors of a refused write, keyed as the inputs are named: an error of one
    item of a list (`options.2`) is shown at the list's input, naming the line."""
    found: list[FieldError] = []
    for error in exc.errors:
        name, _, index = error.field.partition(".")
        if index.isdigit():
            found.append(FieldError(name, f"line {int(index) + 1}: {error.message}"))
        else:
            found.append(error)
    shown = field_errors(found) or {fallback: exc.detail}
    return {f"{prefix}{name}": message for name, message in shown.items()}


@router.get("/admin")
def admin_index(request: Request, ctx: Page = Depends(admin_page)) -> Response:
    return show(request, "admin/index.html", {})
