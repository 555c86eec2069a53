"""Attachments over HTTP: multipart uploads streamed into the file store, safe downloads,
rename, delete, and the customer's avatar."""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO
from urllib.parse import quote

import anyio.from_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from clientcard.attachments import service
from clientcard.attachments.schemas import AttachmentRead, AttachmentUpdate, AvatarRead, Source
from clientcard.attachments.storage import CHUNK_SIZE, FileStore, LocalFileStore
from clientcard.errors import FieldError, Invalid
from clientcard.http import Ctx, context, etag, expected_version
from clientcard.schemas import Page

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1")
TAGS: list[str] = ["attachments"]
AVATAR: list[str] = ["avatar"]
# Room for the multipart framing around the file (boundaries, part headers, a long name):
# a body longer than the limit plus this is refused before a byte of it is read.
MULTIPART_OVERHEAD = 64 * 1024
MAX_OTHER_PARTS = 20

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


@functools.lru_cache(maxsize=8)
def file_store(files_dir: str) -> FileStore:
    """The process's store for a directory (settings.files_dir). An S3-compatible store would
    be chosen here from the settings; it implements the same FileStore protocol."""
    return LocalFileStore(files_dir)


def _store(ctx: Ctx) -> FileStore:
    return file_store(ctx.settings.files_dir)


# ---- reading a multipart body as it arrives --------------------------------------------


class _BodyChunks:
    """The request body's chunks, pulled from the event loop by a worker thread."""

    def __init__(self, stream: AsyncIterator[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        while True:
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                raise StopIteration
            if chunk:
                return chunk

    async def _next(self) -> bytes | None:
        return await anext(self._stream, None)


class MultipartFile:
    """The `file` part of a multipart/form-data body, read as the body arrives: its name and
    declared type are known once its headers are parsed; its bytes are read on demand, so
    a file is never held whole in memory or spooled anywhere but the store."""

    def __init__(self, content_type: str, chunks: Iterator[bytes], *, field: str = "file") -> None:
        media_type, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if media_type != b"multipart/form-data" or not boundary:
            raise service.UnsupportedMediaType(
                "send the file as multipart/form-data in the field 'file'",
                errors=[FieldError("Content-Type", "must be multipart/form-data")],
            )
        self.field = field.encode()
        self.filename: str | None = None
        self.content_type: str | None = None
        self._chunks = chunks
        self._buffer = bytearray()
        self._state = "before"  # before -> in_file -> done
        self._ended = False
        self._in_file_part = False
        self._other_parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._part_type = b""
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
            },
        )
        while self._state == "before" and self._pull():
            pass
        if self._state == "before":
            raise Invalid.field("file", "is required")

    # parser callbacks
    def _on_part_begin(self) -> None:
        self._disposition = self._part_type = b""

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._header_name.strip().lower()
        if name == b"content-disposition":
            self._disposition = self._header_value
        elif name == b"content-type":
            self._part_type = self._header_value
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if self._state == "before" and options.get(b"name") == self.field:
            self._state = "in_file"
            self._in_file_part = True
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace") if filename else None
            self.content_type = self._part_type.decode("latin-1").strip() or None
            return
        self._other_parts += 1
        if self._other_parts > MAX_OTHER_PARTS:
            raise Invalid.field("file", f"send at most {MAX_OTHER_PARTS} other parts")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file_part:
            self._buffer += data[start:end]

    def _on_part_end(self) -> None:
        if self._in_file_part:
            self._in_file_part = False
            self._state = "done"

    # reading
    def _pull(self) -> bool:
        """Feeds the parser one more chunk of the body; False at its end."""
        if self._ended:
            return False
        chunk = next(self._chunks, None)
        try:
            if chunk is None:
                self._ended = True
                self._parser.finalize()
                return False
            self._parser.write(chunk)
        except FormParserError:
            raise Invalid.field("file", "the multipart body is malformed") from None
        return True

    def _fill(self, size: int) -> None:
        while (size < 0 or len(self._buffer) < size) and self._state == "in_file":
            if not self._pull():
                raise Invalid.field("file", "the body ended before the file did")

    def peek(self, size: int) -> bytes:
        self._fill(size)
        return bytes(self._buffer[:size])

    def read(self, size: int = -1) -> bytes:
        self._fill(size)
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def _refuse_long_body(request: Request, max_bytes: int) -> None:
    """A body whose declared length cannot fit is refused before it is read."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + MULTIPART_OVERHEAD:
        raise service.too_large(max_bytes)


async def _receive(
    request: Request, store: FileStore, policy: service.UploadPolicy
) -> service.StoredFile:
    """Streams the body's file into the store on a worker thread."""
    _refuse_long_body(request, policy.max_bytes)
    content_type = request.headers.get("content-type", "")

    def work() -> service.StoredFile:
        upload = MultipartFile(content_type, _BodyChunks(request.stream()))
        return service.receive_file(store=store, upload=upload, policy=policy)

    return await run_in_threadpool(work)


def _release(ctx: Ctx, store: FileStore, sha256: str) -> None:
    """Deletes bytes no row names any more; runs after the change has committed."""
    try:
        with ctx.db.write() as session:
            service.release_bytes(session, store=store, sha256=sha256)
    except Exception:
        log.exception("could not release the bytes %s; they stay as an orphan file", sha256)


# ---- shapes and headers ----------------------------------------------------------------


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


# Letters that NFKD does not take apart into an ASCII letter and an accent.
_LATIN = str.maketrans(
    {"ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D"}
    | {"œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th", "\u0131": "i"}
)


def content_disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients and, when the name is not plain ASCII,
    the exact name as RFC 5987 `filename*` (UTF-8, percent-encoded)."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_LATIN))
    ascii_name = "".join(
        c if c.isascii() and (c.isalnum() or c in " ._-()[]+,=@") else "_"
        for c in decomposed
        if not unicodedata.combining(c)
    )
    ascii_name = ascii_name.strip() or "file"
    value = f'{kind}; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{quote(name, safe='!#$&+^`|')}"
    return value


def _none_match(request: Request, tag: str) -> bool:
    header = request.headers.get("if-none-match", "")
    return header.strip() == "*" or tag in [t.strip().removeprefix("W/") for t in header.split(",")]


def _iterate(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk
    finally:
        stream.close()


def _send(
    request: Request,
    attachment: Any,
    stream: BinaryIO,
    *,
    disposition: str,
    cache_control: str = "private, no-cache",
) -> Response:
    tag = f'"{attachment.sha256}"'
    headers = {"ETag": tag, "Cache-Control": cache_control, "X-Content-Type-Options": "nosniff"}
    if _none_match(request, tag):
        stream.close()
        return Response(status_code=304, headers=headers)
    headers.update(
        {
            "Content-Type": attachment.content_type,
            "Content-Length": str(attachment.size),
            "Content-Disposition": content_disposition(disposition, attachment.name),
            # Even opened directly, a file runs no script and loads nothing.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
    )
    return StreamingResponse(_iterate(stream), headers=headers)


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
    stored = await _receive(request, store, policy)
    try:
        body = await run_in_threadpool(create, stored)
    except BaseException:
        await run_in_threadpool(_release, ctx, store, stored.sha256)
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
    return _send(request, located.attachment, stream, disposition="attachment")


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
    _release(ctx, _store(ctx), sha256)
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
    stored = await _receive(request, store, policy)
    try:
        return await run_in_threadpool(create, stored)
    except BaseException:
        await run_in_threadpool(_release, ctx, store, stored.sha256)
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
    return _send(request, attachment, stream, disposition="inline", cache_control=cache)
