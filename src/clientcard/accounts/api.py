from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from clientcard.accounts import service
from clientcard.accounts.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    RelationCreate,
    RelationRead,
    RelationUpdate,
)
from clientcard.http import Ctx, context, etag, expected_version
from clientcard.schemas import Page

router = APIRouter(prefix="/api/v1/customers/{customer_id}")
ACCOUNTS: list[str] = ["accounts"]
RELATIONS: list[str] = ["relations"]


# ---- accounts --------------------------------------------------------------------------


@router.get("/accounts", response_model=Page[AccountRead], tags=ACCOUNTS)
def list_accounts(
    customer_id: int,
    ctx: Ctx = Depends(context),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[AccountRead]:
    """The customer's accounts, oldest first."""
    with ctx.db.read() as session:
        rows, next_cursor = service.list_accounts(
            session, actor=ctx.actor, customer_id=customer_id, cursor=cursor, limit=limit
        )
        return Page[AccountRead](
            items=[AccountRead.model_validate(a) for a in rows], next_cursor=next_cursor
        )


@router.post("/accounts", response_model=AccountRead, status_code=201, tags=ACCOUNTS)
def create_account(
    customer_id: int, data: AccountCreate, response: Response, ctx: Ctx = Depends(context)
):
    """Adds an account. (type, number) is unique across customers (409)."""
    with ctx.db.write() as session:
        account = service.create_account(
            session, actor=ctx.actor, customer_id=customer_id, data=data
        )
        body = AccountRead.model_validate(account)
    response.headers["ETag"] = etag(body.version)
    response.headers["Location"] = f"/api/v1/customers/{customer_id}/accounts/{body.id}"
    return body


@router.get("/accounts/{account_id}", response_model=AccountRead, tags=ACCOUNTS)
def get_account(customer_id: int, account_id: int, response: Response, ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        account = service.get_account(
            session, actor=ctx.actor, customer_id=customer_id, account_id=account_id
        )
        body = AccountRead.model_validate(account)
    response.headers["ETag"] = etag(body.version)
    return body


@router.patch("/accounts/{account_id}", response_model=AccountRead, tags=ACCOUNTS)
def update_account(
    customer_id: int,
    account_id: int,
    data: AccountUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Changes the fields sent (`data` replaces the whole object). Needs If-Match."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        account = service.update_account(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            account_id=account_id,
            data=data,
            expected_version=version,
        )
        body = AccountRead.model_validate(account)
    response.headers["ETag"] = etag(body.version)
    return body


@router.delete("/accounts/{account_id}", status_code=204, tags=ACCOUNTS)
def delete_account(
    customer_id: int, account_id: int, request: Request, ctx: Ctx = Depends(context)
) -> Response:
    """Deletes the account; If-Match is honoured. 409 while a case names it."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        service.delete_account(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            account_id=account_id,
            expected_version=version,
        )
    return Response(status_code=204)


# ---- relations -------------------------------------------------------------------------


def _relation(view: service.RelationView) -> RelationRead:
    relation = view.relation
    return RelationRead(
        id=relation.id,
        customer=service.related_customer(view.other),
        labels=relation.labels,
        note=relation.note,
        version=relation.version,
        created_at=relation.created_at,
        created_by=relation.created_by,
        updated_at=relation.updated_at,
        updated_by=relation.updated_by,
    )


@router.get("/relations", response_model=Page[RelationRead], tags=RELATIONS)
def list_relations(
    customer_id: int,
    ctx: Ctx = Depends(context),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[RelationRead]:
    """The customer's relations, whichever side added them; `customer` is the other side."""
    with ctx.db.read() as session:
        views, next_cursor = service.list_relations(
            session, actor=ctx.actor, customer_id=customer_id, cursor=cursor, limit=limit
        )
        return Page[RelationRead](items=[_relation(v) for v in views], next_cursor=next_cursor)


@router.post("/relations", response_model=RelationRead, status_code=201, tags=RELATIONS)
def create_relation(
    customer_id: int, data: RelationCreate, response: Response, ctx: Ctx = Depends(context)
):
    """Relates two customers; the relation shows on both cards (409 if they already are)."""
    with ctx.db.write() as session:
        view = service.create_relation(session, actor=ctx.actor, customer_id=customer_id, data=data)
        body = _relation(view)
    response.headers["ETag"] = etag(body.version)
    response.headers["Location"] = f"/api/v1/customers/{customer_id}/relations/{body.id}"
    return body


@router.get("/relations/{relation_id}", response_model=RelationRead, tags=RELATIONS)
def get_relation(
    customer_id: int, relation_id: int, response: Response, ctx: Ctx = Depends(context)
):
    with ctx.db.read() as session:
        view = service.get_relation(
            session, actor=ctx.actor, customer_id=customer_id, relation_id=relation_id
        )
        body = _relation(view)
    response.headers["ETag"] = etag(body.version)
    return body


@router.patch("/relations/{relation_id}", response_model=RelationRead, tags=RELATIONS)
def update_relation(
    customer_id: int,
    relation_id: int,
    data: RelationUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Changes the labels or the note, from either side. Needs If-Match."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        view = service.update_relation(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            relation_id=relation_id,
            data=data,
            expected_version=version,
        )
        body = _relation(view)
    response.headers["ETag"] = etag(body.version)
    return body


@router.delete("/relations/{relation_id}", status_code=204, tags=RELATIONS)
def delete_relation(
    customer_id: int, relation_id: int, request: Request, ctx: Ctx = Depends(context)
) -> Response:
    """Removes the relation for both customers; If-Match is honoured."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        service.delete_relation(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            relation_id=relation_id,
            expected_version=version,
        )
    return Response(status_code=204)
