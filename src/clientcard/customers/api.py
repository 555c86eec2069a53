from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import Field
from pydantic_core import to_json
from starlette.routing import Route

from clientcard.audit.schemas import HistoryEntryRead
from clientcard.customers import service
from clientcard.customers.schemas import (
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    LookupResult,
    ScreenPopQuery,
)
from clientcard.http import (
    Ctx,
    authenticated,
    context,
    etag,
    expected_version,
    hot_read,
    query_model,
    query_parameters,
)
from clientcard.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["customers"])
screen_pop_router = APIRouter(prefix="/api/v1", tags=["screen pop"])
SCREEN_POP_PATH = "/api/v1/lookup"


def install_screen_pop(app: FastAPI) -> None:
    """Adds the screen pop, the hottest call, ahead of every other route.

    It is served by a bare Starlette route to `lookup`: FastAPI's route machinery
    (dependencies, parameters, response handling) cost more than the look-up itself. The
    FastAPI route to the same function stays behind it, unreached, so that the OpenAPI
    document describes the call."""
    app.include_router(screen_pop_router)
    app.router.routes.insert(0, Route(SCREEN_POP_PATH, lookup, methods=["GET"]))


@router.post("/customers", response_model=CustomerRead, status_code=201)
def create_customer(data: CustomerCreate, response: Response, ctx: Ctx = Depends(context)):
    with ctx.db.write() as session:
        customer = service.create_customer(session, actor=ctx.actor, data=data)
        body = CustomerRead.of(customer)
    response.headers["ETag"] = etag(body.version)
    response.headers["Location"] = f"/api/v1/customers/{body.id}"
    return body


class CustomerPage(Page[CustomerRead]):
    previous_id: int | None = Field(None, description="With `around`: the customer before it.")
    next_id: int | None = Field(None, description="With `around`: the customer after it.")


@router.get("/customers", response_model=CustomerPage)
def list_customers(
    ctx: Ctx = Depends(context),
    q: str | None = Query(None, max_length=200, description="Name, phone, e-mail or ID number"),
    kind: Literal["person", "company"] | None = None,
    vip: bool | None = None,
    tag: str | None = Query(None, max_length=50),
    company_id: int | None = None,
    include_hidden: bool = False,
    deleted: bool = Query(False, description="Administrators: list deleted customers only"),
    sort: service.SortKey = "-created_at",
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
    around: int | None = Query(
        None, description="A customer id: also answer previous_id and next_id in this list."
    ),
) -> CustomerPage:
    filters = service.CustomerFilter(
        q=q,
        kind=kind,
        vip=vip,
        tag=tag,
        company_id=company_id,
        include_hidden=include_hidden,
        deleted=deleted,
        sort=sort,
    )
    with ctx.db.read() as session:
        rows, next_cursor = service.list_customers(
            session,
            actor=ctx.actor,
            filters=filters,
            cursor=cursor,
            limit=limit,
        )
        page = CustomerPage(items=[CustomerRead.of(c) for c in rows], next_cursor=next_cursor)
        if around is not None:
            page.previous_id, page.next_id = service.neighbours(
                session,
                actor=ctx.actor,
                filters=filters,
                customer_id=around,
            )
        return page


@router.get("/customers/{customer_id}", response_model=CustomerRead)
async def get_customer(customer_id: int, ctx: Ctx = Depends(context)) -> Response:
    body = await hot_read(
        ctx, lambda session: service.read_card(session, actor=ctx.actor, customer_id=customer_id)
    )
    return Response(
        body.model_dump_json(), media_type="application/json", headers={"ETag": etag(body.version)}
    )


@router.patch("/customers/{customer_id}", response_model=CustomerRead)
def update_customer(
    customer_id: int,
    data: CustomerUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Changes the fields sent. Needs If-Match with the ETag read (412 when it is stale)."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        customer = service.update_customer(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            data=data,
            expected_version=version,
        )
        body = CustomerRead.of(customer)
    response.headers["ETag"] = etag(body.version)
    return body


@router.delete("/customers/{customer_id}", status_code=204)
def delete_customer(customer_id: int, request: Request, ctx: Ctx = Depends(context)) -> Response:
    """Soft delete (supervisors and administrators). If-Match is honoured when sent."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        service.delete_customer(
            session, actor=ctx.actor, customer_id=customer_id, expected_version=version
        )
    return Response(status_code=204)


@router.post("/customers/{customer_id}/restore", response_model=CustomerRead)
def restore_customer(customer_id: int, response: Response, ctx: Ctx = Depends(context)):
    """Administrators bring a deleted customer back."""
    with ctx.db.write() as session:
        body = CustomerRead.of(
            service.restore_customer(session, actor=ctx.actor, customer_id=customer_id)
        )
    response.headers["ETag"] = etag(body.version)
    return body


@router.get("/customers/{customer_id}/history", response_model=Page[HistoryEntryRead])
def customer_history(
    customer_id: int,
    ctx: Ctx = Depends(context),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[HistoryEntryRead]:
    """Every change to the card, newest first."""
    with ctx.db.read() as session:
        entries, next_cursor = service.customer_history(
            session, actor=ctx.actor, customer_id=customer_id, cursor=cursor, limit=limit
        )
        return Page[HistoryEntryRead](
            items=[HistoryEntryRead.model_validate(e) for e in entries], next_cursor=next_cursor
        )


@screen_pop_router.get(
    SCREEN_POP_PATH.removeprefix("/api/v1"),
    response_model=LookupResult,
    openapi_extra={"parameters": query_parameters(ScreenPopQuery)},
)
async def lookup(request: Request) -> Response:
    """The cards that own a phone number (any common notation) or an e-mail.

    A plain Starlette endpoint (see `install_screen_pop`): it authenticates and reads its
    query itself. Its cards are dicts in the `LookupResult` shape, serialized once, here."""
    ctx = await authenticated(request)
    query = query_model(request, ScreenPopQuery)
    cards = await service.lookup_cards(
        ctx.db,
        actor=ctx.actor,
        phone=query.phone,
        email=query.email,
        region=query.region,
    )
    return Response(to_json({"items": cards}), media_type="application/json")
