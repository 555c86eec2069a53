"""Fixtures for the attachment tests: an app whose file store is a temporary directory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from clientcard.app import create_app
from clientcard.config import Settings
from clientcard.db import Database

# Small limits keep the oversize tests fast.
MAX_UPLOAD_BYTES = 200_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 50 + b"%%EOF\n"


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    return tmp_path / "files"


@pytest.fixture
def app(settings: Settings, db: Database, files_dir: Path, monkeypatch: pytest.MonkeyPatch):
    configured = settings.model_copy(
        update={"files_dir": str(files_dir), "max_upload_bytes": MAX_UPLOAD_BYTES}
    )
    monkeypatch.setattr(db, "settings", configured)  # for this test only
    return create_app(configured, db)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(
    api, url: str, name: str = "invoice.pdf", data: bytes = PDF, content_type="application/pdf"
):
    return api.post(url, files={"file": (name, data, content_type)})


def uploaded(api, url: str, **kw: Any) -> dict[str, Any]:
    response = upload(api, url, **kw)
    assert response.status_code == 201, response.text
    return response.json()


def stored_files(files_dir: Path) -> list[str]:
    """Everything under the store's directory, temporary files included."""
    if not files_dir.exists():
        return []
    return sorted(str(p.relative_to(files_dir)) for p in files_dir.rglob("*") if p.is_file())


def interaction(api, customer_id: int, external_id: str = "call-1", **fields: Any) -> dict:
    body = {
        "source": "pbx",
        "external_id": external_id,
        "channel": "voice",
        "direction": "inbound",
        "from": "+48601234567",
        "customer_id": customer_id,
        "started_at": "2026-01-05T10:00:00Z",
        **fields,
    }
    response = api.post("/api/v1/interactions", json=body)
    assert response.status_code == 201, response.text
    return response.json()
