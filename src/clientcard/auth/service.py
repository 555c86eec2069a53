"""Users, password login and bearer tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clientcard.addresses import normalize_email
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission, Role
from clientcard.auth.models import ApiToken, User
from clientcard.auth.schemas import ApiTokenCreate, UserCreate, UserPreferencesUpdate, UserUpdate
from clientcard.base import utcnow
from clientcard.db import after_commit
from clientcard.errors import Conflict, FieldError, Invalid, NotFound, Unauthorized

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both cases take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

LOGIN = "login"
API = "api"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash_of(token: str) -> str:
    """What is stored of a token (and the key of the token cache): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=Role(user.role))


class TokenCache:
    """Token hash -> Actor for a few seconds, so that a look-up costs no query for the token.

    Revocation in this process clears the entry at once; in other processes it takes
    effect within `ttl` seconds.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[Actor, float, dt.datetime | None]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Actor | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        actor, cached_until, expires_at = entry
        if time.monotonic() > cached_until or (expires_at is not None and utcnow() >= expires_at):
            with self._lock:
                self._entries.pop(token_hash, None)
            return None
        return actor

    def put(self, token_hash: str, actor: Actor, expires_at: dt.datetime | None) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) > 100_000:
                self._entries.clear()
            self._entries[token_hash] = (actor, time.monotonic() + self.ttl, expires_at)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def authenticate(session: Session, *, username: str, password: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        _password_matches(_DUMMY_HASH, password)
        raise Unauthorized("wrong username or password")
    if not _password_matches(user.password_hash, password) or not user.active:
        raise Unauthorized("wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def issue_token(
    session: Session, *, user: User, kind: str, name: str, expires_at: dt.datetime | None
) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=token_hash_of(token),
        name=name,
        kind=kind,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return token, row


def login(
    session: Session, *, username: str, password: str, ttl_hours: int
) -> tuple[str, ApiToken]:
    """Password login for people: a bearer token valid for `ttl_hours`."""
    user = authenticate(session, username=username, password=password)
    return issue_token(
        session,
        user=user,
        kind=LOGIN,
        name="login",
        expires_at=utcnow() + dt.timedelta(hours=ttl_hours),
    )


def resolve_token(session: Session, *, token: str, cache: TokenCache) -> Actor:
    digest = token_hash_of(token)
    actor = cache.get(digest)
    if actor is not None:
        return actor
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    ).one_or_none()
    if row is None:
        raise Unauthorized("unknown token")
    api_token, user = row
    if api_token.revoked_at is not None:
        raise Unauthorized("the token was revoked")
    if api_token.expires_at is not None and api_token.expires_at <= utcnow():
        raise Unauthorized("the token has expired")
    if not user.active:
        raise Unauthorized("the user is deactivated")
    actor = actor_of(user)
    cache.put(digest, actor, api_token.expires_at)
    return actor


def revoke_token(session: Session, *, token: str, cache: TokenCache) -> None:
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash_of(token))
    ).one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    after_commit(session, cache.clear)  # not before: a read meanwhile would cache it again


# ---- user administration ---------------------------------------------------------------


def _user_snapshot(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "locale": user.locale,
        "active": user.active,
    }


def create_user(session: Session, *, actor: Actor, data: UserCreate) -> User:
    actor.require(Permission.USER_MANAGE)
    if session.scalars(select(User.id).where(User.username == data.username)).first():
        raise Conflict(
            f"user {data.username!r} already exists",
            errors=[FieldError("username", "is taken")],
        )
    email = normalize_email(data.email, field="email") if data.email else None
    user = User(
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role.value,
        display_name=data.display_name or data.username,
        email=email,
        locale=data.locale,
        active=True,
        version=1,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"user {data.username!r} already exists") from exc
    audit.record_created(
        session,
        actor=actor,
        entity="user",
        entity_id=user.id,
        customer_id=None,
        snapshot=_user_snapshot(user),
    )
    return user


def list_users(session: Session, *, actor: Actor) -> list[User]:
    actor.require(Permission.USER_MANAGE)
    return list(session.scalars(select(User).order_by(User.username)))


def get_user(session: Session, *, actor: Actor, user_id: int) -> User:
    if actor.user_id != user_id:
        actor.require(Permission.USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def usernames(session: Session, *, actor: Actor, user_ids: set[int]) -> dict[int, str]:
    """Who the ids on a page are (owners, assignees, agents): readable by anyone who may
    read customers, unlike the users themselves."""
    actor.require(Permission.CUSTOMER_READ)
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(user_ids)))
    return {user_id: username for user_id, username in rows}


def update_user(
    session: Session, *, actor: Actor, user_id: int, data: UserUpdate, cache: TokenCache
) -> User:
    actor.require(Permission.USER_MANAGE)
    user = get_user(session, actor=actor, user_id=user_id)
    given = data.model_dump(exclude_unset=True)
    for name in ("role", "active", "display_name", "password"):
        if name in given and given[name] is None:
            raise Invalid.field(name, "may not be null")
    if user.id == actor.user_id and (
        given.get("active") is False or ("role" in given and given["role"] != Role.ADMIN)
    ):
        raise Invalid.field("role", "an administrator cannot demote or deactivate themselves")
    before = _user_snapshot(user)
    if "password" in given:
        user.password_hash = hash_password(given.pop("password"))
    if given.get("email"):
        given["email"] = normalize_email(given["email"], field="email")
    if "role" in given:
        given["role"] = given["role"].value
    for name, value in given.items():
        setattr(user, name, value)
    changes = audit.diff(before, _user_snapshot(user))
    if "password" in data.model_fields_set:
        changes["password"] = {"before": "***", "after": "***"}
    user.version += 1
    user.updated_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="user.updated",
        entity="user",
        entity_id=user.id,
        customer_id=None,
        changes=changes,
    )
    after_commit(session, cache.clear)  # a role or an active flag changed: cached actors go
    return user


def update_preferences(session: Session, *, actor: Actor, data: UserPreferencesUpdate) -> User:
    """A user's own preferences (the interface language); anyone may change their own."""
    if actor.user_id is None:
        raise Invalid.field("user", "a system actor has no preferences")
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound(f"user {actor.user_id} does not exist")
    before = _user_snapshot(user)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(user, name, value)
    changes = audit.diff(before, _user_snapshot(user))
    if not changes:
        return user
    user.version += 1
    user.updated_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="user.updated",
        entity="user",
        entity_id=user.id,
        customer_id=None,
        changes=changes,
    )
    return user


def locale_of(session: Session, *, user_id: int) -> str | None:
    """The interface language a user chose, if any (read at login)."""
    return session.scalar(select(User.locale).where(User.id == user_id))


def create_api_token(
    session: Session, *, actor: Actor, user_id: int, data: ApiTokenCreate
) -> tuple[str, ApiToken]:
    """A long-lived token for a system (telephony platform, chat gateway) acting as a user."""
    actor.require(Permission.USER_MANAGE)
    user = get_user(session, actor=actor, user_id=user_id)
    if data.expires_at is not None and (
        data.expires_at.tzinfo is None or data.expires_at <= utcnow()
    ):
        raise Invalid.field("expires_at", "must be a future time with a time zone")
    token, row = issue_token(
        session, user=user, kind=API, name=data.name, expires_at=data.expires_at
    )
    audit.record(
        session,
        actor=actor,
        action="api_token.created",
        entity="api_token",
        entity_id=row.id,
        customer_id=None,
        changes={"name": {"before": None, "after": data.name}},
    )
    return token, row


def list_api_tokens(session: Session, *, actor: Actor, user_id: int) -> list[ApiToken]:
    """A user's API tokens, newest first, revoked and expired ones included (never the
    tokens themselves, which are not stored)."""
    actor.require(Permission.USER_MANAGE)
    get_user(session, actor=actor, user_id=user_id)
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.kind == API)
            .order_by(ApiToken.id.desc())
        )
    )


def revoke_api_token(
    session: Session, *, actor: Actor, user_id: int, token_id: int, cache: TokenCache
) -> ApiToken:
    """Stops a system's token from working, at once in this process and within the token
    cache's lifetime in others. Revoking a revoked token changes nothing."""
    actor.require(Permission.USER_MANAGE)
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id or row.kind != API:
        raise NotFound(f"user {user_id} has no API token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="api_token.revoked",
            entity="api_token",
            entity_id=row.id,
            customer_id=None,
            changes={"revoked_at": {"before": None, "after": row.revoked_at.isoformat()}},
        )
        after_commit(session, cache.clear)
    return row


def ensure_admin(session: Session, *, username: str) -> str | None:
    """Creates the first administrator when there is no user at all; returns its password."""
    if session.scalars(select(User.id).limit(1)).first() is not None:
        return None
    password = secrets.token_urlsafe(12)
    session.add(
        User(
            username=username,
            password_hash=hash_password(password),
            role=Role.ADMIN.value,
            display_name="Administrator",
            active=True,
            version=1,
        )
    )
    session.flush()
    return password
