from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from clientcard.custom_fields import service
from clientcard.custom_fields.schemas import (
    CustomFieldCreate,
    CustomFieldRead,
    CustomFieldUpdate,
    CustomGroupCreate,
    CustomGroupRead,
    CustomGroupUpdate,
    GroupRecordRead,
    GroupRecordWrite,
)
from clientcard.http import Ctx, context, etag, expected_version
from clientcard.schemas import Page

router = APIRouter(prefix="/api/v1")
FIELDS: list[str] = ["custom fields"]
GROUPS: list[str] = ["custom field groups"]
RECORDS: list[str] = ["custom group records"]
RECORDS_PATH = "/customers/{customer_id}/groups/{group_key}/records"


# ---- field definitions -----------------------------------------------------------------


@router.get("/custom-fields", response_model=dict[str, list[CustomFieldRead]], tags=FIELDS)
def list_fields(ctx: Ctx = Depends(context), active: bool | None = None):
    """Every definition: the customer's own fields (group null) first, then each group's."""
    with ctx.db.read() as session:
        fields = service.list_fields(session, actor=ctx.actor, active=active)
        return {"items": [CustomFieldRead.model_validate(f) for f in fields]}


@router.post("/custom-fields", response_model=CustomFieldRead, status_code=201, tags=FIELDS)
def create_field(data: CustomFieldCreate, response: Response, ctx: Ctx = Depends(context)):
    """Administrators define a field (key unique within its group, 409)."""
    with ctx.db.write() as session:
        body = CustomFieldRead.model_validate(
            service.create_field(session, actor=ctx.actor, data=data)
        )
    response.headers["ETag"] = etag(body.version)
    response.headers["Location"] = f"/api/v1/custom-fields/{body.id}"
    return body


@router.get("/custom-fields/{field_id}", response_model=CustomFieldRead, tags=FIELDS)
def get_field(field_id: int, response: Response, ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        body = CustomFieldRead.model_validate(
            service.get_field(session, actor=ctx.actor, field_id=field_id)
        )
    response.headers["ETag"] = etag(body.version)
    return body


@router.patch("/custom-fields/{field_id}", response_model=CustomFieldRead, tags=FIELDS)
def update_field(
    field_id: int,
    data: CustomFieldUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Changes label, options, required, position or active; never the key, type or group.
    Needs If-Match. Stored values are not rewritten."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        field = service.update_field(
            session, actor=ctx.actor, field_id=field_id, data=data, expected_version=version
        )
        body = CustomFieldRead.model_validate(field)
    response.headers["ETag"] = etag(body.version)
    return body


@router.delete("/custom-fields/{field_id}", status_code=204, tags=FIELDS)
def delete_field(field_id: int, request: Request, ctx: Ctx = Depends(context)) -> Response:
    """Retires the field (inactive): its key stays taken and stored values are kept."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        service.delete_field(session, actor=ctx.actor, field_id=field_id, expected_version=version)
    return Response(status_code=204)


# ---- groups ----------------------------------------------------------------------------


@router.get("/custom-field-groups", response_model=dict[str, list[CustomGroupRead]], tags=GROUPS)
def list_groups(ctx: Ctx = Depends(context), active: bool | None = None):
    with ctx.db.read() as session:
        groups = service.list_groups(session, actor=ctx.actor, active=active)
        return {"items": [CustomGroupRead.model_validate(g) for g in groups]}


@router.post("/custom-field-groups", response_model=CustomGroupRead, status_code=201, tags=GROUPS)
def create_group(data: CustomGroupCreate, response: Response, ctx: Ctx = Depends(context)):
    """Administrators add a group (key unique, 409)."""
    with ctx.db.write() as session:
        body = CustomGroupRead.model_validate(
            service.create_group(session, actor=ctx.actor, data=data)
        )
    response.headers["ETag"] = etag(body.version)
    response.headers["Location"] = f"/api/v1/custom-field-groups/{body.key}"
    return body


@router.get("/custom-field-groups/{key}", response_model=CustomGroupRead, tags=GROUPS)
def get_group(key: str, response: Response, ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        body = CustomGroupRead.model_validate(service.get_group(session, actor=ctx.actor, key=key))
    response.headers["ETag"] = etag(body.version)
    return body


@router.patch("/custom-field-groups/{key}", response_model=CustomGroupRead, tags=GROUPS)
def update_group(
    key: str,
    data: CustomGroupUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Relabels, reorders or (de)activates a group. Needs If-Match."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        group = service.update_group(
            session, actor=ctx.actor, key=key, data=data, expected_version=version
        )
        body = CustomGroupRead.model_validate(group)
    response.headers["ETag"] = etag(body.version)
    return body


@router.delete("/custom-field-groups/{key}", status_code=204, tags=GROUPS)
def delete_group(key: str, request: Request, ctx: Ctx = Depends(context)) -> Response:
    """Retires the group (inactive): its fields and records are kept and readable."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        service.delete_group(session, actor=ctx.actor, key=key, expected_version=version)
    return Response(status_code=204)


# ---- group records ---------------------------------------------------------------------


@router.get(RECORDS_PATH, response_model=Page[GroupRecordRead], tags=RECORDS)
def list_records(
    customer_id: int,
    group_key: str,
    ctx: Ctx = Depends(context),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[GroupRecordRead]:
    """The customer's records in the group, newest first."""
    with ctx.db.read() as session:
        rows, next_cursor = service.list_records(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            group_key=group_key,
            cursor=cursor,
            limit=limit,
        )
        return Page[GroupRecordRead](
            items=[GroupRecordRead.model_validate(r) for r in rows], next_cursor=next_cursor
        )


@router.post(RECORDS_PATH, response_model=GroupRecordRead, status_code=201, tags=RECORDS)
def create_record(
    customer_id: int,
    group_key: str,
    data: GroupRecordWrite,
    response: Response,
    ctx: Ctx = Depends(context),
):
    with ctx.db.write() as session:
        record = service.create_record(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            group_key=group_key,
            values=data.values,
        )
        body = GroupRecordRead.model_validate(record)
    response.headers["ETag"] = etag(body.version)
    response.headers["Location"] = (
        f"/api/v1/customers/{customer_id}/groups/{group_key}/records/{body.id}"
    )
    return body


@router.get(RECORDS_PATH + "/{record_id}", response_model=GroupRecordRead, tags=RECORDS)
def get_record(
    customer_id: int,
    group_key: str,
    record_id: int,
    response: Response,
    ctx: Ctx = Depends(context),
):
    with ctx.db.read() as session:
        record = service.get_record(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            group_key=group_key,
            record_id=record_id,
        )
        body = GroupRecordRead.model_validate(record)
    response.headers["ETag"] = etag(body.version)
    return body


@router.patch(RECORDS_PATH + "/{record_id}", response_model=GroupRecordRead, tags=RECORDS)
def update_record(
    customer_id: int,
    group_key: str,
    record_id: int,
    data: GroupRecordWrite,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Merges the values sent (null removes one). Needs If-Match."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        record = service.update_record(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            group_key=group_key,
            record_id=record_id,
            values=data.values,
            expected_version=version,
        )
        body = GroupRecordRead.model_validate(record)
    response.headers["ETag"] = etag(body.version)
    return body


@router.delete(RECORDS_PATH + "/{record_id}", status_code=204, tags=RECORDS)
def delete_record(
    customer_id: int,
    group_key: str,
    record_id: int,
    request: Request,
    ctx: Ctx = Depends(context),
) -> Response:
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        service.delete_record(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            group_key=group_key,
            record_id=record_id,
            expected_version=version,
        )
    return Response(status_code=204)
