from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from clientcard.cases import service
from clientcard.cases.schemas import (
    CaseCommentCreate,
    CaseCommentRead,
    CaseCreate,
    CaseNoteCreate,
    CaseNoteRead,
    CaseRead,
    CaseTypeCreate,
    CaseTypeRead,
    CaseTypeUpdate,
    CaseUpdate,
    Status,
)
from clientcard.http import Ctx, context, etag, expected_version
from clientcard.schemas import Page, Time

router = APIRouter(prefix="/api/v1")
CASES: list[str] = ["cases"]
TYPES: list[str] = ["case types"]
NOTES: list[str] = ["case notes"]
COMMENTS: list[str] = ["case comments"]
PROBLEM = "application/problem+json"


# ---- case types ------------------------------------------------------------------------


@router.get("/case-types", response_model=dict[str, list[CaseTypeRead]], tags=TYPES)
def list_case_types(ctx: Ctx = Depends(context), active: bool | None = None):
    with ctx.db.read() as session:
        types = service.list_case_types(session, actor=ctx.actor, active=active)
        return {"items": [CaseTypeRead.model_validate(t) for t in types]}


@router.post("/case-types", response_model=CaseTypeRead, status_code=201, tags=TYPES)
def create_case_type(data: CaseTypeCreate, ctx: Ctx = Depends(context)) -> CaseTypeRead:
    """Administrators add a case type (key unique, 409)."""
    with ctx.db.write() as session:
        return CaseTypeRead.model_validate(
            service.create_case_type(session, actor=ctx.actor, data=data)
        )


@router.patch("/case-types/{key}", response_model=CaseTypeRead, tags=TYPES)
def update_case_type(key: str, data: CaseTypeUpdate, ctx: Ctx = Depends(context)) -> CaseTypeRead:
    """Administrators relabel or (de)activate a type; inactive types take no new cases."""
    with ctx.db.write() as session:
        return CaseTypeRead.model_validate(
            service.update_case_type(session, actor=ctx.actor, key=key, data=data)
        )


# ---- cases -----------------------------------------------------------------------------


@router.post("/customers/{customer_id}/cases", response_model=CaseRead, status_code=201, tags=CASES)
def create_case(
    customer_id: int, data: CaseCreate, response: Response, ctx: Ctx = Depends(context)
):
    """Opens a case on the card; it gets the next number (C-000123)."""
    with ctx.db.write() as session:
        case = service.create_case(session, actor=ctx.actor, customer_id=customer_id, data=data)
        body = CaseRead.model_validate(case)
    response.headers["ETag"] = etag(body.version)
    response.headers["Location"] = f"/api/v1/cases/{body.id}"
    return body


@router.get("/customers/{customer_id}/cases", response_model=Page[CaseRead], tags=CASES)
def list_cases(
    customer_id: int,
    ctx: Ctx = Depends(context),
    status: list[Status] = Query([], description="One or more statuses"),
    campaign_id: int | None = None,
    since: Time | None = Query(None, description="Created at or after (UTC if no zone)"),
    until: Time | None = Query(None, description="Created before (UTC if no zone)"),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[CaseRead]:
    """The customer's cases, newest first."""
    filters = service.CaseFilter(
        status=tuple(status), campaign_id=campaign_id, since=since, until=until
    )
    with ctx.db.read() as session:
        rows, next_cursor = service.list_cases(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            filters=filters,
            cursor=cursor,
            limit=limit,
        )
        return Page[CaseRead](
            items=[CaseRead.model_validate(c) for c in rows], next_cursor=next_cursor
        )


@router.get("/cases/{case_id}", response_model=CaseRead, tags=CASES)
def get_case(case_id: int, response: Response, ctx: Ctx = Depends(context)):
    with ctx.db.read() as session:
        body = CaseRead.model_validate(service.get_case(session, actor=ctx.actor, case_id=case_id))
    response.headers["ETag"] = etag(body.version)
    return body


@router.patch("/cases/{case_id}", response_model=CaseRead, tags=CASES)
def update_case(
    case_id: int,
    data: CaseUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
):
    """Changes the fields sent. Needs If-Match (412 when stale). Cancelling deletes the
    case's comments."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        case = service.update_case(
            session, actor=ctx.actor, case_id=case_id, data=data, expected_version=version
        )
        body = CaseRead.model_validate(case)
    response.headers["ETag"] = etag(body.version)
    return body


# ---- notes -----------------------------------------------------------------------------


@router.get("/cases/{case_id}/notes", response_model=dict[str, list[CaseNoteRead]], tags=NOTES)
def list_notes(case_id: int, ctx: Ctx = Depends(context)):
    """The case's private notes, oldest first."""
    with ctx.db.read() as session:
        notes = service.list_notes(session, actor=ctx.actor, case_id=case_id)
        return {"items": [CaseNoteRead.model_validate(n) for n in notes]}


@router.post("/cases/{case_id}/notes", response_model=CaseNoteRead, status_code=201, tags=NOTES)
def add_note(case_id: int, data: CaseNoteCreate, ctx: Ctx = Depends(context)) -> CaseNoteRead:
    with ctx.db.write() as session:
        note = service.add_note(session, actor=ctx.actor, case_id=case_id, data=data)
        return CaseNoteRead.model_validate(note)


@router.delete("/cases/{case_id}/notes/{note_id}", status_code=204, tags=NOTES)
def delete_note(case_id: int, note_id: int, ctx: Ctx = Depends(context)) -> Response:
    with ctx.db.write() as session:
        service.delete_note(session, actor=ctx.actor, case_id=case_id, note_id=note_id)
    return Response(status_code=204)


# ---- comments --------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/comments", response_model=dict[str, list[CaseCommentRead]], tags=COMMENTS
)
def list_comments(case_id: int, ctx: Ctx = Depends(context)):
    """The case's internal comments, oldest first."""
    with ctx.db.read() as session:
        comments = service.list_comments(session, actor=ctx.actor, case_id=case_id)
        return {"items": [CaseCommentRead.model_validate(c) for c in comments]}


@router.post(
    "/cases/{case_id}/comments", response_model=CaseCommentRead, status_code=201, tags=COMMENTS
)
def add_comment(
    case_id: int, data: CaseCommentCreate, ctx: Ctx = Depends(context)
) -> CaseCommentRead:
    """Posts an internal comment; it can be neither edited nor deleted afterwards."""
    with ctx.db.write() as session:
        comment = service.add_comment(session, actor=ctx.actor, case_id=case_id, data=data)
        return CaseCommentRead.model_validate(comment)


@router.get("/cases/{case_id}/comments/{comment_id}", response_model=CaseCommentRead, tags=COMMENTS)
def get_comment(case_id: int, comment_id: int, ctx: Ctx = Depends(context)) -> CaseCommentRead:
    with ctx.db.read() as session:
        comment = service.get_comment(
            session, actor=ctx.actor, case_id=case_id, comment_id=comment_id
        )
        return CaseCommentRead.model_validate(comment)


def _refused(comment_id: int, change: str) -> JSONResponse:
    error = service.comments_are_final(comment_id=comment_id, change=change)
    return JSONResponse(
        error.problem(), status_code=error.status, media_type=PROBLEM, headers={"Allow": "GET"}
    )


_REFUSAL = {405: {"description": "Comments can be neither edited nor deleted"}}


@router.patch(
    "/cases/{case_id}/comments/{comment_id}", status_code=405, responses=_REFUSAL, tags=COMMENTS
)
def edit_comment(case_id: int, comment_id: int, ctx: Ctx = Depends(context)) -> JSONResponse:
    """Always 405: comments can be neither edited nor deleted."""
    return _refused(comment_id, "edited")


@router.delete(
    "/cases/{case_id}/comments/{comment_id}", status_code=405, responses=_REFUSAL, tags=COMMENTS
)
def delete_comment(case_id: int, comment_id: int, ctx: Ctx = Depends(context)) -> JSONResponse:
    """Always 405: comments can be neither edited nor deleted."""
    return _refused(comment_id, "deleted")
