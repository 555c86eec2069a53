"""Files of a customer, of their cases and of their interactions (F1, K5) and the uploaded
avatar (P2).

Bytes go to a content-addressed `FileStore` first (streamed, hashed, size-limited); the row
that describes them is written afterwards in the request's unit of work. Bytes are deleted
only once no row names their hash, after the deleting transaction has committed
(`release_bytes`), so a failure can leave an orphan file but never a row without bytes. The
check "no row names this hash" and a new row naming it are serialized by a per-hash lock
(`_lock_hash`, `db.locks`).
"""

from __future__ import annotations

import logging
import mimetypes
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple, Protocol

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.attachments.models import Attachment, Source
from clientcard.attachments.storage import FileStore, FileTooLarge, MissingFile
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.base import utcnow
from clientcard.cases.models import Case
from clientcard.customers.models import Customer
from clientcard.db import locks
from clientcard.errors import (
    Conflict,
    DomainError,
    FieldError,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from clientcard.interactions.models import Interaction
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor

log = logging.getLogger(__name__)

Kind = Source
AVATAR_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
AVATAR_MAX_BYTES = 5 * 1024 * 1024
MAX_NAME_CHARS = 200
MAX_NAME_BYTES = 255  # what file systems take, so a download can be saved under its name
MAX_EXTENSION_CHARS = 16
SNIFF_BYTES = 2048
AUDITED_FIELDS = ("name", "content_type", "size", "sha256", "case_id", "interaction_id")


# ---- errors ----------------------------------------------------------------------------


class PayloadTooLarge(DomainError):
    status = 413
    title = "Content too large"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


class MissingBytes(DomainError):
    """A row whose bytes the store does not hold: a fault of the server, not of the input."""

    status = 500
    title = "Internal server error"


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the file is larger than the limit of {max_bytes} bytes",
        errors=[FieldError("file", f"is larger than {max_bytes} bytes")],
        max_bytes=max_bytes,
    )


# ---- names and types -------------------------------------------------------------------

_UNSAFE = re.compile(r'[<>:"|?*\\/]')
_SPACES = re.compile(r"\s+")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def sanitize_name(name: str | None, *, fallback: str = "file") -> str:
    """A file name safe to store and to offer for download: no directories, no control or
    bidi-override characters, no characters Windows refuses, no leading dots, at most
    MAX_NAME_CHARS characters and MAX_NAME_BYTES bytes of UTF-8, extension kept. The name
    never becomes a path: the store names files by their hash."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]  # "../../etc/passwd" -> "passwd"; "C:\x\a.pdf" -> "a.pdf"
    name = _SPACES.sub(" ", name)  # tabs and line breaks become spaces
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    name = _SPACES.sub(" ", _UNSAFE.sub("_", name)).strip().lstrip(".").strip()
    name = name.rstrip(". ")  # Windows drops trailing dots and spaces
    if not name:
        return fallback
    if _WINDOWS_RESERVED.match(name):
        name = f"_{name}"
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    while stem and (
        len(stem) + len(suffix) > MAX_NAME_CHARS
        or len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES
    ):
        stem = stem[:-1]
    stem = stem.rstrip(". ")
    return f"{stem or fallback}{suffix}"


# Other names under which clients send the allowed types.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-ms-bmp": "image/bmp",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "application/ogg": "audio/ogg",
    "application/x-zip-compressed": "application/zip",
    "application/x-zip": "application/zip",
    "text/comma-separated-values": "text/csv",
    "application/csv": "text/csv",
    "text/rtf": "application/rtf",
}
# Declared types that say nothing: the extension is read instead.
_GENERIC = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/x-download"}
)
_EXTENSIONS = {
    "eml": "message/rfc822",
    "csv": "text/csv",
    "txt": "text/plain",
    "log": "text/plain",
    "webp": "image/webp",
    "heic": "image/heic",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "weba": "audio/webm",
}

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)


def _starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


def _riff(form: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"RIFF" and head[8:12] == form


def _mp3(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


# Types whose first bytes are fixed: the declared type must match the content, so that a
# picture shown inline (the avatar) is a picture and a "PDF" is a PDF.
_SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "image/png": _starts(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": _starts(b"\xff\xd8\xff"),
    "image/gif": _starts(b"GIF87a", b"GIF89a"),
    "image/webp": _riff(b"WEBP"),
    "image/bmp": _starts(b"BM"),
    "image/tiff": _starts(b"II*\x00", b"MM\x00*"),
    "application/pdf": lambda head: b"%PDF-" in head[:1024],
    "application/zip": _starts(*_ZIP),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _starts(*_ZIP),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _starts(*_ZIP),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _starts(*_ZIP),
    "application/vnd.oasis.opendocument.text": _starts(*_ZIP),
    "application/vnd.oasis.opendocument.spreadsheet": _starts(*_ZIP),
    "application/msword": _starts(*_OLE),
    "application/vnd.ms-excel": _starts(*_OLE),
    "application/vnd.ms-powerpoint": _starts(*_OLE),
    "application/rtf": _starts(b"{\\rtf"),
    "audio/wav": _riff(b"WAVE"),
    "audio/ogg": _starts(b"OggS"),
    "audio/mpeg": _mp3,
}


def normalize_type(value: str | None) -> str:
    """`Image/JPG; name=x` -> `image/jpeg`."""
    media_type = (value or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(media_type, media_type)


def content_type_of(declared: str | None, name: str) -> str:
    """The declared type; when it says nothing (octet-stream), the one of the extension."""
    media_type = normalize_type(declared)
    if media_type in _GENERIC:
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        guessed = _EXTENSIONS.get(extension) or mimetypes.guess_type(f"x.{extension}")[0]
        media_type = normalize_type(guessed) if guessed else "application/octet-stream"
    return media_type


def check_content(media_type: str, head: bytes, *, allowed: frozenset[str]) -> None:
    """415 when the type is not allowed, or when the first bytes contradict it."""
    if media_type not in allowed:
        raise UnsupportedMediaType(
            f"files of type {media_type} are not accepted",
            errors=[FieldError("file", f"type {media_type} is not allowed")],
            allowed=sorted(allowed),
        )
    signature = _SIGNATURES.get(media_type)
    if signature is not None and not signature(head):
        raise UnsupportedMediaType(
            f"the file's content is not {media_type}",
            errors=[FieldError("file", f"content does not match its type {media_type}")],
            allowed=sorted(allowed),
        )


# ---- receiving bytes -------------------------------------------------------------------


class IncomingFile(Protocol):
    """One file as it arrives: its name and declared type first, then its bytes."""

    filename: str | None
    content_type: str | None

    def peek(self, size: int) -> bytes: ...

    def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class UploadPolicy:
    max_bytes: int
    allowed: frozenset[str]

    @classmethod
    def for_attachments(cls, max_bytes: int, allowed: list[str]) -> UploadPolicy:
        return cls(max_bytes, frozenset(normalize_type(t) for t in allowed))

    @classmethod
    def for_avatars(cls, max_bytes: int, allowed: list[str]) -> UploadPolicy:
        """Pictures only, and at most AVATAR_MAX_BYTES."""
        policy = cls.for_attachments(max_bytes, allowed)
        return cls(min(max_bytes, AVATAR_MAX_BYTES), policy.allowed & AVATAR_TYPES)


@dataclass(frozen=True)
class StoredFile:
    """Bytes in the store, not yet described by a row."""

    sha256: str
    size: int
    name: str
    content_type: str


def receive_file(*, store: FileStore, upload: IncomingFile, policy: UploadPolicy) -> StoredFile:
    """Checks the name and type, then streams the bytes into the store while hashing. Over
    the limit: 413, and the store keeps nothing (its temporary file is removed at once)."""
    name = sanitize_name(upload.filename)
    media_type = content_type_of(upload.content_type, name)
    head = upload.peek(SNIFF_BYTES)
    if not head:
        raise Invalid.field("file", "is empty")
    check_content(media_type, head, allowed=policy.allowed)
    try:
        sha256, size = store.put(upload, max_bytes=policy.max_bytes)  # type: ignore[arg-type]
    except FileTooLarge:
        raise too_large(policy.max_bytes) from None
    return StoredFile(sha256=sha256, size=size, name=name, content_type=media_type)


def _lock_hash(session: Session, sha256: str) -> None:
    """Serializes "is this hash still used?" against new rows naming it."""
    locks.lock_key(session, locks.LockSpace.FILE_BYTES, sha256)


def release_bytes(session: Session, *, store: FileStore, sha256: str) -> bool:
    """Deletes the bytes when no row names them any more; True when deleted. Run in a write
    unit of work of its own after the change that dropped the last row has committed. A
    failure to delete leaves an orphan file (logged), never a row without bytes."""
    _lock_hash(session, sha256)
    used = session.scalar(select(func.count()).where(Attachment.sha256 == sha256))
    if used:
        return False
    try:
        store.delete(sha256)
    except OSError:
        log.exception("could not delete the bytes %s; they stay as an orphan file", sha256)
        return False
    return True


# ---- targets and reading ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a file is attached to."""

    kind: Kind
    id: int


class Located(NamedTuple):
    """An attachment with what the card shows of where it comes from."""

    attachment: Attachment
    case_number: str | None
    interaction_channel: str | None

    @property
    def source(self) -> Kind:
        return source_of(self.attachment)


def source_of(attachment: Attachment) -> Kind:
    if attachment.interaction_id is not None:
        return "interaction"
    if attachment.case_id is not None:
        return "case"
    return "customer"


_READ = {
    "customer": (Permission.CUSTOMER_READ,),
    "case": (Permission.CASE_READ,),
    "interaction": (Permission.INTERACTION_READ,),
}
_WRITE = {
    "customer": (Permission.CUSTOMER_WRITE,),
    "case": (Permission.CASE_WRITE,),
    # An interaction's file is on the customer's card; interactions themselves are written
    # only by ingestion.
    "interaction": (Permission.INTERACTION_READ, Permission.CUSTOMER_WRITE),
}


def _require(actor: Actor, kind: Kind, *, write: bool) -> None:
    for permission in (_WRITE if write else _READ)[kind]:
        actor.require(permission)


@dataclass(frozen=True)
class Owner:
    customer_id: int
    case_id: int | None = None
    interaction_id: int | None = None


def resolve_target(
    session: Session, *, actor: Actor, target: Target, write: bool, lock: bool = False
) -> Owner:
    """The customer (and case or interaction) a file is attached to: 404 if it does not
    exist or its customer is deleted (readers who see deleted customers still read). With
    `lock`, the customer's row stays locked until the transaction ends."""
    _require(actor, target.kind, write=write)
    if target.kind == "customer":
        customer_id: int | None = target.id
        owner = Owner(customer_id=target.id)
    elif target.kind == "case":
        customer_id = session.scalar(select(Case.customer_id).where(Case.id == target.id))
        owner = Owner(customer_id=customer_id or 0, case_id=target.id)
    else:
        customer_id = session.scalar(
            select(Interaction.customer_id).where(Interaction.id == target.id)
        )
        owner = Owner(customer_id=customer_id or 0, interaction_id=target.id)
    customer = None
    if customer_id is not None:
        customer = (
            access.locked(session, [customer_id]).get(customer_id)
            if lock
            else session.get(Customer, customer_id)
        )
    check = access.check_writable if write else access.check_readable
    try:
        check(actor, customer, customer_id or 0)
    except NotFound:
        raise NotFound(f"{target.kind} {target.id} does not exist") from None
    return owner


def _located(query: Select[Any]) -> Select[Any]:
    return query.outerjoin(Case, Case.id == Attachment.case_id).outerjoin(
        Interaction, Interaction.id == Attachment.interaction_id
    )


def _select_located() -> Select[Any]:
    return _located(select(Attachment, Case.number, Interaction.channel))


def get_attachment(session: Session, *, actor: Actor, attachment_id: int) -> Located:
    row = session.execute(_select_located().where(Attachment.id == attachment_id)).one_or_none()
    if row is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    located = Located(*row)
    _check_readable(session, actor, located.attachment)
    return located


def _check_readable(session: Session, actor: Actor, attachment: Attachment) -> None:
    if not actor.can(_READ[source_of(attachment)][0]) or not access.may_read(
        actor, session.get(Customer, attachment.customer_id)
    ):
        raise NotFound(f"attachment {attachment.id} does not exist")


def _page(
    session: Session, query: Select[Any], *, cursor: str | None, limit: int
) -> tuple[list[Located], str | None]:
    """Newest first, keyset-paginated by id (ids grow with creation)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        (last_id,) = decode_cursor(cursor, kinds=(int,))
        query = query.where(Attachment.id < last_id)
    rows = [
        Located(*row)
        for row in session.execute(query.order_by(Attachment.id.desc()).limit(limit + 1))
    ]
    next_cursor = encode_cursor([rows[limit - 1].attachment.id]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def list_for_customer(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    sources: tuple[Kind, ...] = (),
    cursor: str | None,
    limit: int,
) -> tuple[list[Located], str | None]:
    """The card's files tab: the customer's own files and those of their cases and
    interactions, each with its source (through ix_attachments_customer_id_id). Sources the
    actor may not read are left out."""
    resolve_target(session, actor=actor, target=Target("customer", customer_id), write=False)
    wanted = [
        kind
        for kind in (sources or ("customer", "case", "interaction"))
        if actor.can(_READ[kind][0])
    ]
    conditions = {
        "customer": Attachment.case_id.is_(None) & Attachment.interaction_id.is_(None),
        "case": Attachment.case_id.is_not(None) & Attachment.interaction_id.is_(None),
        "interaction": Attachment.interaction_id.is_not(None),
    }
    query = _select_located().where(Attachment.customer_id == customer_id)
    if set(wanted) != set(conditions):
        if not wanted:
            return [], None
        query = query.where(or_(*(conditions[kind] for kind in wanted)))
    return _page(session, query, cursor=cursor, limit=limit)


def list_for_case(
    session: Session, *, actor: Actor, case_id: int, cursor: str | None, limit: int
) -> tuple[list[Located], str | None]:
    resolve_target(session, actor=actor, target=Target("case", case_id), write=False)
    query = _select_located().where(
        Attachment.case_id == case_id, Attachment.interaction_id.is_(None)
    )
    return _page(session, query, cursor=cursor, limit=limit)


def list_for_interaction(
    session: Session, *, actor: Actor, interaction_id: int, cursor: str | None, limit: int
) -> tuple[list[Located], str | None]:
    resolve_target(session, actor=actor, target=Target("interaction", interaction_id), write=False)
    query = _select_located().where(Attachment.interaction_id == interaction_id)
    return _page(session, query, cursor=cursor, limit=limit)


def open_content(
    session: Session, *, actor: Actor, store: FileStore, attachment_id: int
) -> tuple[Located, BinaryIO]:
    """The attachment and its bytes, open for streaming (the caller closes the stream)."""
    located = get_attachment(session, actor=actor, attachment_id=attachment_id)
    return located, _open(store, located.attachment)


def _open(store: FileStore, attachment: Attachment) -> BinaryIO:
    try:
        return store.open(attachment.sha256)
    except MissingFile:
        log.error("attachment %s: the store holds no bytes %s", attachment.id, attachment.sha256)
        raise MissingBytes(f"the bytes of attachment {attachment.id} are missing") from None


# ---- writing ---------------------------------------------------------------------------


def snapshot(attachment: Attachment) -> dict[str, Any]:
    return {name: getattr(attachment, name) for name in AUDITED_FIELDS}


def _insert(
    session: Session, *, actor: Actor, store: FileStore, owner: Owner, stored: StoredFile
) -> Attachment:
    _lock_hash(session, stored.sha256)
    if not store.exists(stored.sha256):
        # Deleted by a concurrent release between our put and this lock: the bytes are gone.
        raise Conflict("the file was removed while it was being uploaded; upload it again")
    attachment = Attachment(
        customer_id=owner.customer_id,
        case_id=owner.case_id,
        interaction_id=owner.interaction_id,
        name=stored.name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        version=1,
        created_at=utcnow(),
        created_by=actor.username,
    )
    session.add(attachment)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        entity="attachment",
        entity_id=attachment.id,
        customer_id=owner.customer_id,
        snapshot=snapshot(attachment),
    )
    return attachment


def create_attachment(
    session: Session, *, actor: Actor, store: FileStore, target: Target, stored: StoredFile
) -> Located:
    """Describes stored bytes as a file of the target; audited as attachment.created. If this
    fails, the caller runs `release_bytes` for the hash."""
    owner = resolve_target(session, actor=actor, target=target, write=True, lock=True)
    attachment = _insert(session, actor=actor, store=store, owner=owner, stored=stored)
    return _locate(session, attachment)


def _locate(session: Session, attachment: Attachment) -> Located:
    number = channel = None
    if attachment.case_id is not None:
        number = session.scalar(select(Case.number).where(Case.id == attachment.case_id))
    if attachment.interaction_id is not None:
        channel = session.scalar(
            select(Interaction.channel).where(Interaction.id == attachment.interaction_id)
        )
    return Located(attachment, number, channel)


def _for_write(session: Session, actor: Actor, attachment_id: int) -> tuple[Attachment, Customer]:
    """The attachment and its customer, both locked (customer first, as everywhere)."""
    customer_id = session.scalar(
        select(Attachment.customer_id).where(Attachment.id == attachment_id)
    )
    customer = None
    if customer_id is not None:
        customer = access.locked(session, [customer_id]).get(customer_id)
    attachment = session.scalars(
        select(Attachment).where(Attachment.id == attachment_id).with_for_update()
    ).one_or_none()
    if attachment is None or customer is None or attachment.customer_id != customer.id:
        raise NotFound(f"attachment {attachment_id} does not exist")
    try:
        access.check_writable(actor, customer, customer.id)
    except NotFound:
        raise NotFound(f"attachment {attachment_id} does not exist") from None
    _require(actor, source_of(attachment), write=True)
    return attachment, customer


def _check_version(attachment: Attachment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != attachment.version:
        raise PreconditionFailed(
            f"attachment {attachment.id} is at version {attachment.version}, not "
            f"{expected_version}; reload it and apply the change again",
            current_version=attachment.version,
        )


def rename_attachment(
    session: Session,
    *,
    actor: Actor,
    attachment_id: int,
    name: str,
    expected_version: int | None,
) -> Located:
    """Renames the file (the name is sanitized like an upload's); audited as
    attachment.updated with the name before and after."""
    attachment, _customer = _for_write(session, actor, attachment_id)
    _check_version(attachment, expected_version)
    clean = sanitize_name(name, fallback="")
    if not clean:
        raise Invalid.field("name", "is not a usable file name")
    if clean != attachment.name:
        changes = audit.diff({"name": attachment.name}, {"name": clean})
        attachment.name = clean
        attachment.version += 1
        audit.record(
            session,
            actor=actor,
            action="attachment.updated",
            entity="attachment",
            entity_id=attachment.id,
            customer_id=attachment.customer_id,
            changes=changes,
        )
    return _locate(session, attachment)


def delete_attachment(
    session: Session, *, actor: Actor, attachment_id: int, expected_version: int | None
) -> str:
    """Deletes the row (audited as attachment.deleted); an avatar that it was is cleared.
    Returns the hash, for `release_bytes` once this has committed."""
    attachment, customer = _for_write(session, actor, attachment_id)
    _check_version(attachment, expected_version)
    if customer.avatar_attachment_id == attachment.id:
        _set_avatar_pointer(session, actor, customer, None)
    before = {k: v for k, v in snapshot(attachment).items() if v is not None}
    audit.record(
        session,
        actor=actor,
        action="attachment.deleted",
        entity="attachment",
        entity_id=attachment.id,
        customer_id=attachment.customer_id,
        changes=audit.diff(before, {}),
    )
    sha256 = attachment.sha256
    session.delete(attachment)
    session.flush()
    return sha256


def move_interaction_files(session: Session, *, interaction_id: int, customer_id: int) -> None:
    """Keeps an interaction's files with it when it moves to another customer (resolving an
    ambiguous interaction, merging): the files tab reads attachments by customer_id."""
    for attachment in session.scalars(
        select(Attachment).where(Attachment.interaction_id == interaction_id)
    ):
        attachment.customer_id = customer_id


# ---- avatar ----------------------------------------------------------------------------


def avatar_url(customer_id: int, avatar_attachment_id: int | None) -> str | None:
    """Where the card reads an uploaded avatar; `v` changes with every new picture, so the
    URL can be cached for good."""
    if avatar_attachment_id is None:
        return None
    return f"/api/v1/customers/{customer_id}/avatar?v={avatar_attachment_id}"


def _set_avatar_pointer(
    session: Session, actor: Actor, customer: Customer, attachment_id: int | None
) -> None:
    before = customer.avatar_attachment_id
    if before == attachment_id:
        return
    customer.avatar_attachment_id = attachment_id
    access.touch(customer, actor)
    audit.record(
        session,
        actor=actor,
        action="customer.updated",
        entity="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        changes=audit.diff(
            {"avatar_attachment_id": before}, {"avatar_attachment_id": attachment_id}
        ),
    )


def set_avatar(
    session: Session,
    *,
    actor: Actor,
    store: FileStore,
    customer_id: int,
    stored: StoredFile,
    expected_version: int | None,
) -> tuple[Customer, Located]:
    """Stores the picture as a file of the customer and makes it the avatar: audited as
    attachment.created and as a customer.updated change of avatar_attachment_id; the card's
    version moves. A previous avatar stays among the customer's files."""
    customer = access.writable(session, actor, customer_id, expected_version=expected_version)
    if stored.content_type not in AVATAR_TYPES:  # receive_file checked it with the policy
        raise UnsupportedMediaType(
            f"an avatar cannot be {stored.content_type}",
            errors=[FieldError("file", f"type {stored.content_type} is not allowed")],
            allowed=sorted(AVATAR_TYPES),
        )
    attachment = _insert(
        session, actor=actor, store=store, owner=Owner(customer_id=customer.id), stored=stored
    )
    _set_avatar_pointer(session, actor, customer, attachment.id)
    return customer, Located(attachment, None, None)


def clear_avatar(
    session: Session, *, actor: Actor, customer_id: int, expected_version: int | None
) -> Customer:
    """The card goes back to the Gravatar; the picture stays among the customer's files."""
    customer = access.writable(session, actor, customer_id, expected_version=expected_version)
    _set_avatar_pointer(session, actor, customer, None)
    return customer


def open_avatar(
    session: Session, *, actor: Actor, store: FileStore, customer_id: int
) -> tuple[Attachment, BinaryIO]:
    """The customer's uploaded avatar and its bytes; 404 when there is none."""
    customer = access.readable(session, actor, customer_id)
    attachment = (
        session.get(Attachment, customer.avatar_attachment_id)
        if customer.avatar_attachment_id is not None
        else None
    )
    if attachment is None or attachment.customer_id != customer.id:
        raise NotFound(f"customer {customer_id} has no uploaded avatar")
    return attachment, _open(store, attachment)
