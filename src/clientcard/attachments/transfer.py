"""Files over HTTP, for the API and the pages alike: multipart bodies streamed into the
file store as they arrive, and downloads with safe headers."""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO
from urllib.parse import quote

import anyio.from_thread
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from clientcard.attachments import service
from clientcard.attachments.storage import CHUNK_SIZE, FileStore, LocalFileStore
from clientcard.db import Database
from clientcard.errors import FieldError, Invalid

log = logging.getLogger(__name__)
# Room for the multipart framing around the file (boundaries, part headers, a long name):
# a body longer than the limit plus this is refused before a byte of it is read.
MULTIPART_OVERHEAD = 64 * 1024
MAX_OTHER_PARTS = 20


@functools.lru_cache(maxsize=8)
def file_store(files_dir: str) -> FileStore:
    """The process's store for a directory (settings.files_dir). An S3-compatible store would
    be chosen here from the settings; it implements the same FileStore protocol."""
    return LocalFileStore(files_dir)


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


async def receive(
    request: Request, store: FileStore, policy: service.UploadPolicy
) -> service.StoredFile:
    """Streams the body's file into the store on a worker thread."""
    _refuse_long_body(request, policy.max_bytes)
    content_type = request.headers.get("content-type", "")

    def work() -> service.StoredFile:
        upload = MultipartFile(content_type, _BodyChunks(request.stream()))
        return service.receive_file(store=store, upload=upload, policy=policy)

    return await run_in_threadpool(work)


def release(db: Database, store: FileStore, sha256: str) -> None:
    """Deletes bytes no row names any more; runs after the change has committed."""
    try:
        with db.write() as session:
            service.release_bytes(session, store=store, sha256=sha256)
    except Exception:
        log.exception("could not release the bytes %s; they stay as an orphan file", sha256)


# ---- downloads -------------------------------------------------------------------------


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


def send(
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
