from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, computed_field

from clientcard.auth.actor import Role
from clientcard.base import utcnow
from clientcard.schemas import ReadModel, WriteModel

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,149}$"
# The interface languages (clientcard.web.i18n.LOCALES).
LOCALE_PATTERN = r"^(en|es|pl)$"


class TokenRequest(WriteModel):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1000)


class TokenResponse(ReadModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime | None = None


class UserCreate(WriteModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=8, max_length=1000)
    role: Role
    display_name: str = Field("", max_length=200)
    email: str | None = Field(None, max_length=320)
    # The interface language; null: follow the browser's Accept-Language.
    locale: str | None = Field(None, pattern=LOCALE_PATTERN)


class UserUpdate(WriteModel):
    password: str | None = Field(None, min_length=8, max_length=1000)
    role: Role | None = None
    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    # The interface language; null: follow the browser's Accept-Language.
    locale: str | None = Field(None, pattern=LOCALE_PATTERN)
    active: bool | None = None


class UserPreferencesUpdate(WriteModel):
    """What users change on themselves (PATCH /api/v1/users/me)."""

    locale: str | None = Field(None, pattern=LOCALE_PATTERN)


class UserRead(ReadModel):
    id: int
    username: str
    display_name: str
    email: str | None
    role: Role
    locale: str | None = None
    active: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ApiTokenCreate(WriteModel):
    name: str = Field(min_length=1, max_length=200)
    expires_at: dt.datetime | None = None


class ApiTokenRead(ReadModel):
    id: int
    user_id: int
    name: str
    kind: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Literal["active", "revoked", "expired"]:
        """Whether the token works now: revoked and expired tokens do not."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"


class ApiTokenIssued(ApiTokenRead):
    access_token: str
    token_type: str = "bearer"
