"""Administration: users (create, role, active flag, password) and their API tokens
(issue, list, revoke)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from clientcard.auth import service as auth
from clientcard.auth.actor import Role
from clientcard.auth.schemas import ApiTokenCreate, ApiTokenRead, UserCreate, UserRead, UserUpdate
from clientcard.errors import Conflict, Invalid
from clientcard.http import Services, services
from clientcard.web import forms
from clientcard.web.admin_views import admin_page, done, errors_of, show
from clientcard.web.context import CSRF, Page, web_router
from clientcard.web.forms import Form, form_data
from clientcard.web.i18n import N_

router = web_router()
ROLES = tuple(role.value for role in Role)


def _users_page(request: Request, ctx: Page, *, status: int = 200, **extra: Any) -> Response:
    with ctx.db.read() as session:
        users = [UserRead.model_validate(u) for u in auth.list_users(session, actor=ctx.actor)]
    return show(
        request, "admin/users.html", {"users": users, "roles": ROLES, **extra}, status=status
    )


def _user_page(
    request: Request, ctx: Page, user_id: int, *, status: int = 200, **extra: Any
) -> Response:
    with ctx.db.read() as session:
        user = UserRead.model_validate(auth.get_user(session, actor=ctx.actor, user_id=user_id))
        tokens = [
            ApiTokenRead.model_validate(t)
            for t in auth.list_api_tokens(session, actor=ctx.actor, user_id=user_id)
        ]
    context = {"user": user, "roles": ROLES, "tokens": tokens, **extra}
    return show(request, "admin/user.html", context, status=status)


@router.get("/admin/users")
def users(request: Request, ctx: Page = Depends(admin_page)) -> Response:
    return _users_page(request, ctx)


@router.post("/admin/users", dependencies=CSRF)
def user_create(
    request: Request, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    values = {
        "username": forms.text(form, "username"),
        "password": form.get("password", ""),
        "role": form.get("role", ""),
        "display_name": forms.text(form, "display_name") or "",
        "email": forms.text(form, "email"),
    }
    try:
        data = forms.parse(UserCreate, values)
        with ctx.db.write() as session:
            user = auth.create_user(session, actor=ctx.actor, data=data)
            username = user.username
    except (Invalid, Conflict) as exc:
        shown = {**values, "password": ""}  # a password is never sent back
        return _users_page(
            request, ctx, status=exc.status, form=shown, errors=errors_of(exc, fallback="username")
        )
    return done(request, "/admin/users", N_("User %(name)s created."), name=username)


@router.get("/admin/users/{user_id}")
def user_detail(request: Request, user_id: int, ctx: Page = Depends(admin_page)) -> Response:
    return _user_page(request, ctx, user_id)


@router.post("/admin/users/{user_id}", dependencies=CSRF)
def user_update(
    request: Request,
    user_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(admin_page),
    svc: Services = Depends(services),
) -> Response:
    values: dict[str, Any] = {
        "role": form.get("role", ""),
        "active": forms.checkbox(form, "active"),
        "email": forms.text(form, "email"),
    }
    if forms.text(form, "display_name"):  # blank keeps the current name
        values["display_name"] = forms.text(form, "display_name")
    if form.get("password"):
        values["password"] = form["password"]
    try:
        data = forms.parse(UserUpdate, values)
        with ctx.db.write() as session:
            auth.update_user(session, actor=ctx.actor, user_id=user_id, data=data, cache=svc.tokens)
    except (Invalid, Conflict) as exc:
        shown = {k: v for k, v in values.items() if k != "password"}
        return _user_page(
            request, ctx, user_id, status=exc.status, form=shown, errors=errors_of(exc)
        )
    return done(request, f"/admin/users/{user_id}", N_("User saved."))


@router.post("/admin/users/{user_id}/api-tokens", dependencies=CSRF)
def user_api_token(
    request: Request, user_id: int, form: Form = Depends(form_data), ctx: Page = Depends(admin_page)
) -> Response:
    """Issues a long-lived API token; the page shows it this once (it is never stored)."""
    values = {"name": forms.text(form, "token_name")}
    try:
        data = forms.parse(ApiTokenCreate, values)
        with ctx.db.write() as session:
            token, _ = auth.create_api_token(session, actor=ctx.actor, user_id=user_id, data=data)
    except Invalid as exc:
        return _user_page(
            request,
            ctx,
            user_id,
            status=exc.status,
            token_form=values,
            errors=errors_of(exc, fallback="token_name", prefix="token_"),
        )
    return _user_page(request, ctx, user_id, issued={"name": data.name, "token": token})


@router.post("/admin/users/{user_id}/api-tokens/{token_id}/revoke", dependencies=CSRF)
def user_api_token_revoke(
    request: Request,
    user_id: int,
    token_id: int,
    ctx: Page = Depends(admin_page),
    svc: Services = Depends(services),
) -> Response:
    with ctx.db.write() as session:
        token = auth.revoke_api_token(
            session, actor=ctx.actor, user_id=user_id, token_id=token_id, cache=svc.tokens
        )
        name = token.name
    return done(
        request,
        f"/admin/users/{user_id}",
        N_("Token %(name)s revoked: it no longer works."),
        name=name,
    )
