"""Where the bytes of attachments live: a content-addressed store behind a small interface.

The database holds what a file is (name, type, owner); the store holds its bytes under their
SHA-256, so the same bytes uploaded twice are stored once. `LocalFileStore` keeps them in a
directory. An S3-compatible store implements the same `FileStore` protocol: `put` streams to
a multipart upload under a temporary key (or computes the hash first) and copies it to the
key `ab/cd/abcd...` (an object appears whole or not at all, so no partial file is ever
visible), `open` returns the body stream of GetObject, `delete` is DeleteObject and `exists`
is HeadObject.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

CHUNK_SIZE = 64 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TEMP_PREFIX = ".incoming-"


class FileTooLarge(Exception):
    """Raised by a stream (or by `put`) when the bytes pass the allowed size."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than {limit} bytes")
        self.limit = limit


class MissingFile(Exception):
    """The store holds no bytes under this hash."""


@runtime_checkable
class FileStore(Protocol):
    """Content-addressed bytes. Implementations must make `put` atomic: after a crash a
    hash names either the whole file or nothing."""

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[str, int]:
        """Stores the stream's bytes; returns (sha256 hex, size). Raises FileTooLarge, and
        keeps nothing, when the stream passes `max_bytes`."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """The bytes stored under the hash, as a binary stream (MissingFile if none)."""
        ...

    def delete(self, sha256: str) -> None:
        """Removes the bytes; missing bytes are not an error."""
        ...

    def exists(self, sha256: str) -> bool: ...


def check_hash(sha256: str) -> str:
    """A hash as a store key; anything else could name a path outside the store."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


class LocalFileStore:
    """Files under a directory at `ab/cd/abcd...` (the full hash, in two levels of fan-out).

    `put` writes to a temporary file in the destination's own directory tree (the store's
    root), fsyncs it and renames it into place: a rename within one file system is atomic, so a
    crash leaves at most a `.incoming-*` temporary file, never a partial file under a hash.
    Names come only from the hash, never from what a client sent.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        check_hash(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.root)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise FileTooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            final = self.path_of(sha256)
            if final.exists():
                temp.unlink()  # the same bytes are stored already
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, final)
                _fsync_dir(final.parent)
            return sha256, size
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path_of(sha256).open("rb")
        except FileNotFoundError:
            raise MissingFile(sha256) from None

    def delete(self, sha256: str) -> None:
        path = self.path_of(sha256)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            _fsync_dir(path.parent)
        # The fan-out directories stay (at most 65,536): removing one could race a `put`
        # that has just created it.

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def temporary_files(self) -> list[Path]:
        """Leftovers of interrupted writes (safe to remove when no upload is running)."""
        return sorted(self.root.glob(f"{_TEMP_PREFIX}*"))


def _fsync_dir(path: Path) -> None:
    """Makes a rename or unlink in the directory durable (a no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
