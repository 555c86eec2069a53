"""The context of a page request: the app's services and the logged-in actor."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request

from clientcard.auth.actor import Actor
from clientcard.config import Settings
from clientcard.db import Database
from clientcard.http import Services, check_request, services
from clientcard.web.render import WebRoute
from clientcard.web.session import check_csrf, current_actor


@dataclass(frozen=True)
class Page:
    db: Database
    settings: Settings
    actor: Actor


async def page(
    request: Request, svc: Services = Depends(services), actor: Actor = Depends(current_actor)
) -> Page:
    check_request(request, strict_query=False)
    return Page(db=svc.db, settings=svc.settings, actor=actor)


def web_router() -> APIRouter:
    return APIRouter(route_class=WebRoute, include_in_schema=False)


# Every write a page makes (a form or an htmx request) carries the session's CSRF token.
CSRF = [Depends(check_csrf)]
