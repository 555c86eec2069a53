"""Attachments over HTTP: multipart uploads streamed into the file store, safe downloads,
rename, delete, and the customer's avatar."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from clientcard.attachments import service, transfer
from clientcard.attachments.schemas import AttachmentRead, AttachmentUpdate, AvatarRead, Source
from clientcard.attachments.storage import FileStore
from clientcard.http import Ctx, context, etag, expected_version
from clientcard.schemas import Page

router = APIRouter(prefix="/api/v1")
TAGS: list[str] = ["attachments"]
AVATAR: list[str] = ["avatar"]

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "The customer, case or interaction does not exist"},
    413: {"description": "The file is larger than the limit; nothing was kept"},
    415: {"description": "The file's type is not allowed, or its content contradicts it"},
}


def _store(ctx: Ctx) -> FileStore:
    return transfer.file_store(ctx.settings.files_dir)


def to_read(located: service.Located) -> AttachmentRead:
    a = located.attachment
    return AttachmentRead(
        id=a.id,
        customer_id=a.customer_id,
        source=located.source,
        case_id=a.case_id,
        case_number=located.case_number,
        interaction_id=a.interaction_id,
        interaction_channel=located.interaction_channel,
        name=a.name,
        content_type=a.content_type,
        size=a.size,
        sha256=a.sha256,
        version=a.version,
        created_at=a.created_at,
        created_by=a.created_by,
        content_url=f"/api/v1/attachments/{a.id}/content",
    )


# ---- uploads ---------------------------------------------------------------------------


async def _upload(
    request: Request, response: Response, ctx: Ctx, target: service.Target
) -> AttachmentRead:
    settings, store = ctx.settings, _store(ctx)
    policy = service.UploadPolicy.for_attachments(
        settings.max_upload_bytes, settings.allowed_content_types
    )

    def check() -> None:
        with ctx.db.read() as session:
            service.resolve_target(session, actor=ctx.actor, target=target, write=True)

    def create(stored: service.StoredFile) -> AttachmentRead:
        with ctx.db.write() as session:
            located = service.create_attachment(
                session, actor=ctx.actor, store=store, target=target, stored=stored
            )
            return to_read(located)

    await run_in_threadpool(check)  # a 404 or 403 before the body is read
    stored = await transfer.receive(request, store, policy)
    try:
        body = await run_in_threadpool(create, stored)
    except BaseException:
        await run_in_threadpool(transfer.release, ctx.db, store, stored.sha256)
        raise
    response.headers["Location"] = f"/api/v1/attachments/{body.id}"
    response.headers["ETag"] = etag(body.version)
    return body


@router.post(
    "/customers/{customer_id}/attachments",
    response_model=AttachmentRead,
    status_code=201,
    tags=TAGS,
    openapi_extra=_UPLOAD_BODY,
    responses=_UPLOAD_ERRORS,
)
async def upload_to_customer(
    customer_id: int, request: Request, response: Response, ctx: Ctx = Depends(context)
) -> AttachmentRead:
    """Attaches a file (multipart field `file`) to the card."""
    return await _upload(request, response, ctx, service.Target("customer", customer_id))


@router.post(
    "/cases/{case_id}/attachments",
    response_model=AttachmentRead,
    status_code=201,
    tags=TAGS,
    openapi_extra=_UPLOAD_BODY,
    responses=_UPLOAD_ERRORS,
)
async def upload_to_case(
    case_id: int, request: Request, response: Response, ctx: Ctx = Depends(context)
) -> AttachmentRead:
    """Attaches a file (multipart field `file`) to a case."""
    return await _upload(request, response, ctx, service.Target("case", case_id))


@router.post(
    "/interactions/{interaction_id}/attachments",
    response_model=AttachmentRead,
    status_code=201,
    tags=TAGS,
    openapi_extra=_UPLOAD_BODY,
    responses=_UPLOAD_ERRORS,
)
async def upload_to_interaction(
    interaction_id: int, request: Request, response: Response, ctx: Ctx = Depends(context)
) -> AttachmentRead:
    """Attaches a file (multipart field `file`) to an interaction (a recording, a scan)."""
    return await _upload(request, response, ctx, service.Target("interaction", interaction_id))


# ---- lists -----------------------------------------------------------------------------


def _page(rows: list[service.Located], next_cursor: str | None) -> Page[AttachmentRead]:
    return Page[AttachmentRead](items=[to_read(r) for r in rows], next_cursor=next_cursor)


@router.get("/customers/{customer_id}/attachments", response_model=Page[AttachmentRead], tags=TAGS)
def list_customer_attachments(
    customer_id: int,
    ctx: Ctx = Depends(context),
    source: list[Source] = Query([], description="Only files of these sources"),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[AttachmentRead]:
    """The card's files: the customer's own and those of their cases and interactions,
    newest first, each with its source."""
    with ctx.db.read() as session:
        rows, next_cursor = service.list_for_customer(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            sources=tuple(source),
            cursor=cursor,
            limit=limit,
        )
        return _page(rows, next_cursor)


@router.get("/cases/{case_id}/attachments", response_model=Page[AttachmentRead], tags=TAGS)
def list_case_attachments(
    case_id: int,
    ctx: Ctx = Depends(context),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[AttachmentRead]:
    """The case's files, newest first."""
    with ctx.db.read() as session:
        rows, next_cursor = service.list_for_case(
            session, actor=ctx.actor, case_id=case_id, cursor=cursor, limit=limit
        )
        return _page(rows, next_cursor)


@router.get(
    "/interactions/{interaction_id}/attachments",
    response_model=Page[AttachmentRead],
    tags=TAGS,
)
def list_interaction_attachments(
    interaction_id: int,
    ctx: Ctx = Depends(context),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
) -> Page[AttachmentRead]:
    """The interaction's files, newest first."""
    with ctx.db.read() as session:
        rows, next_cursor = service.list_for_interaction(
            session, actor=ctx.actor, interaction_id=interaction_id, cursor=cursor, limit=limit
        )
        return _page(rows, next_cursor)


# ---- one attachment --------------------------------------------------------------------


@router.get("/attachments/{attachment_id}", response_model=AttachmentRead, tags=TAGS)
def get_attachment(
    attachment_id: int, response: Response, ctx: Ctx = Depends(context)
) -> AttachmentRead:
    with ctx.db.read() as session:
        body = to_read(
            service.get_attachment(session, actor=ctx.actor, attachment_id=attachment_id)
        )
    response.headers["ETag"] = etag(body.version)
    return body


@router.get(
    "/attachments/{attachment_id}/content",
    tags=TAGS,
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The bytes"}},
)
def download(attachment_id: int, request: Request, ctx: Ctx = Depends(context)) -> Response:
    """The file's bytes, always as a download (Content-Disposition: attachment) with its
    stored type, nosniff, and its SHA-256 as the ETag (If-None-Match answers 304)."""
    with ctx.db.read() as session:
        located, stream = service.open_content(
            session, actor=ctx.actor, store=_store(ctx), attachment_id=attachment_id
        )
    return transfer.send(request, located.attachment, stream, disposition="attachment")


@router.patch("/attachments/{attachment_id}", response_model=AttachmentRead, tags=TAGS)
def rename_attachment(
    attachment_id: int,
    data: AttachmentUpdate,
    request: Request,
    response: Response,
    ctx: Ctx = Depends(context),
) -> AttachmentRead:
    """Renames the file. Needs If-Match (412 when stale)."""
    version = expected_version(request, required=True)
    with ctx.db.write() as session:
        located = service.rename_attachment(
            session,
            actor=ctx.actor,
            attachment_id=attachment_id,
            name=data.name,
            expected_version=version,
        )
        body = to_read(located)
    response.headers["ETag"] = etag(body.version)
    return body


@router.delete("/attachments/{attachment_id}", status_code=204, tags=TAGS)
def delete_attachment(
    attachment_id: int, request: Request, ctx: Ctx = Depends(context)
) -> Response:
    """Deletes the file (If-Match honoured when sent). Its bytes leave the store once no
    other file shares them."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        sha256 = service.delete_attachment(
            session, actor=ctx.actor, attachment_id=attachment_id, expected_version=version
        )
    transfer.release(ctx.db, _store(ctx), sha256)
    return Response(status_code=204)


# ---- avatar ----------------------------------------------------------------------------


def _avatar_body(customer: Any, located: service.Located | None) -> AvatarRead:
    return AvatarRead(
        customer_id=customer.id,
        customer_version=customer.version,
        avatar_attachment_id=customer.avatar_attachment_id,
        avatar_url=service.avatar_url(customer.id, customer.avatar_attachment_id),
        attachment=to_read(located) if located is not None else None,
    )


@router.put(
    "/customers/{customer_id}/avatar",
    response_model=AvatarRead,
    tags=AVATAR,
    openapi_extra=_UPLOAD_BODY,
    responses=_UPLOAD_ERRORS,
)
async def put_avatar(customer_id: int, request: Request, ctx: Ctx = Depends(context)) -> AvatarRead:
    """Uploads the card's picture (PNG, JPEG, WebP or GIF, at most 5 MB). If-Match (the
    customer's version) is honoured when sent; the card's version moves."""
    version = expected_version(request, required=False)
    settings, store = ctx.settings, _store(ctx)
    policy = service.UploadPolicy.for_avatars(
        settings.max_upload_bytes, settings.allowed_content_types
    )

    def check() -> None:
        with ctx.db.read() as session:
            service.resolve_target(
                session, actor=ctx.actor, target=service.Target("customer", customer_id), write=True
            )

    def create(stored: service.StoredFile) -> AvatarRead:
        with ctx.db.write() as session:
            customer, located = service.set_avatar(
                session,
                actor=ctx.actor,
                store=store,
                customer_id=customer_id,
                stored=stored,
                expected_version=version,
            )
            return _avatar_body(customer, located)

    await run_in_threadpool(check)
    stored = await transfer.receive(request, store, policy)
    try:
        return await run_in_threadpool(create, stored)
    except BaseException:
        await run_in_threadpool(transfer.release, ctx.db, store, stored.sha256)
        raise


@router.delete("/customers/{customer_id}/avatar", response_model=AvatarRead, tags=AVATAR)
def delete_avatar(customer_id: int, request: Request, ctx: Ctx = Depends(context)) -> AvatarRead:
    """Back to the Gravatar; the picture stays among the customer's files."""
    version = expected_version(request, required=False)
    with ctx.db.write() as session:
        customer = service.clear_avatar(
            session, actor=ctx.actor, customer_id=customer_id, expected_version=version
        )
        return _avatar_body(customer, None)


@router.get(
    "/customers/{customer_id}/avatar",
    tags=AVATAR,
    response_class=StreamingResponse,
    responses={200: {"content": {"image/*": {}}, "description": "The picture"}},
)
def get_avatar(
    customer_id: int,
    request: Request,
    ctx: Ctx = Depends(context),
    v: int | None = Query(None, description="The avatar's attachment id, for caching"),
) -> Response:
    """The uploaded picture (404 when the card has none: show the Gravatar). Asked for with
    `v` naming the current picture, it may be cached for good."""
    with ctx.db.read() as session:
        attachment, stream = service.open_avatar(
            session, actor=ctx.actor, store=_store(ctx), customer_id=customer_id
        )
    immutable = v is not None and v == attachment.id
    cache = "private, max-age=31536000, immutable" if immutable else "private, no-cache"
    return transfer.send(request, attachment, stream, disposition="inline", cache_control=cache)
