"""Settings, read from environment variables prefixed ``CLIENTCARD_``."""

from __future__ import annotations

import functools
from typing import Any

import phonenumbers
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What a contact center receives: pictures and scans, PDFs, text and CSV exports, Office
# documents, call recordings and voice messages, forwarded e-mails, and zip archives.
DEFAULT_CONTENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/heic",
    "image/tiff",
    "image/bmp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/rtf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "audio/wav",
    "audio/mpeg",
    "audio/ogg",
    "audio/mp4",
    "audio/webm",
    "message/rfc822",
    "application/zip",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLIENTCARD_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./var/clientcard.db",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://... at scale.",
    )
    default_region: str = Field(
        "PL",
        description="ISO country whose national format a phone number without a country code "
        "is read in.",
    )
    token_ttl_hours: int = Field(
        12, ge=1, description="Lifetime of a login token issued by POST /api/v1/auth/token."
    )
    token_cache_seconds: float = Field(
        30.0,
        ge=0,
        description="How long a process may trust a token it has already checked "
        "(revocation from another process takes effect within this time).",
    )
    sqlite_busy_timeout_ms: int = Field(10_000, ge=0)
    sqlite_cache_mb: int = Field(
        32, ge=1, description="Page cache of each SQLite connection (SQLite's own is 2 MB)."
    )
    sqlite_mmap_mb: int = Field(
        1024,
        ge=0,
        description="How much of the SQLite file reads map into memory instead of copying "
        "pages (0: off).",
    )
    live_heartbeat_seconds: float = Field(
        15.0,
        gt=0,
        le=300,
        description="Seconds between the comment lines that keep a live stream (SSE) open "
        "through proxies; a stream also notices a logout at these beats.",
    )
    db_pool_size: int = Field(10, ge=1)
    demo_on_first_start: bool = Field(
        True, description="`serve` loads demo data into an empty database."
    )
    files_dir: str = Field(
        "./var/files",
        description="Directory of the local file store (attachments, avatars), "
        "content-addressed by SHA-256.",
    )
    max_json_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Largest JSON request body accepted (413 above it); a batch of 1,000 "
        "interactions is a few hundred kilobytes.",
    )
    max_upload_bytes: int = Field(
        25 * 1024 * 1024, ge=1, description="Largest attachment accepted (413 above it)."
    )
    allowed_content_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CONTENT_TYPES),
        description="Media types an attachment may have (415 otherwise); as JSON in the "
        "environment.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs the web session cookie. Unset (or blank): each process makes a "
        "random key at start, so web sessions end when it restarts and do not cross "
        "processes; `serve --workers N` with N > 1 refuses to start without it.",
    )
    secure_cookies: bool = Field(False, description="Send the web session cookie over HTTPS only.")

    @field_validator("secret_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r}")
        return value


@functools.lru_cache
def get_settings() -> Settings:
    return Settings()
