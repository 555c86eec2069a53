from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from clientcard.contacts import service
from clientcard.contacts.schemas import ContactPointCreate, ContactPointRead, ContactPointUpdate
from clientcard.http import Ctx, context, etag, expected_version

router = APIRouter(prefix="/api/v1/customers/{customer_id}/contact-points", tags=["contact points"])


@router.get("", response_model=dict[str, list[ContactPointRead]])
def list_contact_points(customer_id: int, ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        points = service.list_contact_points(session, actor=ctx.actor, customer_id=customer_id)
        return {"items": [ContactPointRead.model_validate(p) for p in points]}


@router.post("", response_model=ContactPointRead, status_code=201)
def add_contact_point(
    customer_id: int, data: ContactPointCreate, response: Response, ctx: Ctx = Depends(context)
):
    with ctx.db.write() as session:
        point = service.add_contact_point(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            data=data,
        )
        body = ContactPointRead.model_validate(point)
    response.headers["ETag"] = etag(body.version)
    return body


@router.patch("/{point_id}", response_model=ContactPointRead)
def update_contact_point(
    customer_id: int,
    point_id: int,
    data: ContactPointUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Needs If-Match with the contact point's ETag (its version)."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        point = service.update_contact_point(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            point_id=point_id,
            data=data,
            expected_version=version,
        )
        body = ContactPointRead.model_validate(point)
    response.headers["ETag"] = etag(body.version)
    return body


@router.delete("/{point_id}", status_code=204)
def delete_contact_point(
    customer_id: int, point_id: int, request: Request, ctx: Ctx = Depends(context)
) -> Response:
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        service.delete_contact_point(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            point_id=point_id,
            expected_version=version,
        )
    return Response(status_code=204)
