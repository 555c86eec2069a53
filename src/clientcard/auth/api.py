from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from clientcard.auth import service
from clientcard.auth.schemas import (
    ApiTokenCreate,
    ApiTokenIssued,
    ApiTokenRead,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserPreferencesUpdate,
    UserRead,
    UserUpdate,
)
from clientcard.http import Ctx, Services, bearer_token, context, services

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenResponse)
def issue_token(data: TokenRequest, svc: Services = Depends(services)) -> TokenResponse:
    """Password login: a bearer token for every other /api/v1 call."""
    with svc.db.write() as session:
        token, row = service.login(
            session,
            username=data.username,
            password=data.password,
            ttl_hours=svc.settings.token_ttl_hours,
        )
        return TokenResponse(access_token=token, expires_at=row.expires_at)


@router.delete("/auth/token", status_code=204)
def revoke_token(request: Request, ctx: Ctx = Depends(context)) -> Response:
    """Logout: the token used for this call stops working."""
    with ctx.db.write() as session:
        service.revoke_token(session, token=bearer_token(request), cache=ctx.tokens)
    return Response(status_code=204)


@router.get("/users/me", response_model=UserRead)
def me(ctx: Ctx = Depends(context)) -> UserRead:
    with ctx.db.read() as session:
        user = service.get_user(session, actor=ctx.actor, user_id=ctx.actor.user_id or 0)
        return UserRead.model_validate(user)


@router.patch("/users/me", response_model=UserRead)
def update_me(data: UserPreferencesUpdate, ctx: Ctx = Depends(context)) -> UserRead:
    """The caller's own preferences: `locale` (en, es, pl; null: the browser's language)."""
    with ctx.db.write() as session:
        user = service.update_preferences(session, actor=ctx.actor, data=data)
        return UserRead.model_validate(user)


@router.get("/users", response_model=dict[str, list[UserRead]])
def list_users(ctx: Ctx = Depends(context)) -> dict[str, list[UserRead]]:
    with ctx.db.read() as session:
        users = service.list_users(session, actor=ctx.actor)
        return {"items": [UserRead.model_validate(u) for u in users]}


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(data: UserCreate, ctx: Ctx = Depends(context)) -> UserRead:
    with ctx.db.write() as session:
        return UserRead.model_validate(service.create_user(session, actor=ctx.actor, data=data))


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: int, ctx: Ctx = Depends(context)) -> UserRead:
    with ctx.db.read() as session:
        return UserRead.model_validate(service.get_user(session, actor=ctx.actor, user_id=user_id))


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: int, data: UserUpdate, ctx: Ctx = Depends(context)) -> UserRead:
    with ctx.db.write() as session:
        user = service.update_user(
            session, actor=ctx.actor, user_id=user_id, data=data, cache=ctx.tokens
        )
        return UserRead.model_validate(user)


@router.post("/users/{user_id}/api-tokens", response_model=ApiTokenIssued, status_code=201)
def create_api_token(user_id: int, data: ApiTokenCreate, ctx: Ctx = Depends(context)):
    """A long-lived token for an integrating system; the token is shown only here."""
    with ctx.db.write() as session:
        token, row = service.create_api_token(session, actor=ctx.actor, user_id=user_id, data=data)
        return ApiTokenIssued.model_validate({**_columns(row), "access_token": token})


@router.get("/users/{user_id}/api-tokens", response_model=dict[str, list[ApiTokenRead]])
def list_api_tokens(user_id: int, ctx: Ctx = Depends(context)) -> dict[str, list[ApiTokenRead]]:
    """A user's API tokens, newest first, revoked and expired ones included."""
    with ctx.db.read() as session:
        rows = service.list_api_tokens(session, actor=ctx.actor, user_id=user_id)
        return {"items": [ApiTokenRead.model_validate(r) for r in rows]}


@router.delete("/users/{user_id}/api-tokens/{token_id}", status_code=204)
def revoke_api_token(user_id: int, token_id: int, ctx: Ctx = Depends(context)) -> Response:
    """The token stops working (in other server processes within
    `CLIENTCARD_TOKEN_CACHE_SECONDS`). Revoking a revoked token is a 204 again."""
    with ctx.db.write() as session:
        service.revoke_api_token(
            session, actor=ctx.actor, user_id=user_id, token_id=token_id, cache=ctx.tokens
        )
    return Response(status_code=204)


def _columns(row: object) -> dict[str, object]:
    return {name: getattr(row, name) for name in ApiTokenIssued.model_fields if hasattr(row, name)}
