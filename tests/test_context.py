"""Settings reach services through the unit of work (clientcard.context), and nowhere else:
a session made outside a `Database` has none, and an app runs under its database's."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from clientcard.app import create_app
from clientcard.auth.actor import system_actor
from clientcard.config import Settings
from clientcard.context import settings_of
from clientcard.customers import service as customers
from clientcard.customers.schemas import CustomerCreate
from clientcard.db import Database


def test_a_unit_of_work_carries_its_databases_settings(db: Database):
    with db.read() as session:
        assert settings_of(session) is db.settings
    with db.write() as session:
        assert settings_of(session) is db.settings


def test_a_session_outside_a_unit_of_work_has_no_settings_and_says_so(db: Database):
    """No silent default: a national number is never read in a region nobody configured."""
    with Session(db.engine) as session:
        with pytest.raises(RuntimeError, match="no unit of work"):
            settings_of(session)
        with pytest.raises(RuntimeError, match="no unit of work"):
            customers.create_customer(
                session,
                actor=system_actor("tests"),
                data=CustomerCreate(
                    first_name="Ewa", contact_points=[{"type": "mobile", "value": "601 234 567"}]
                ),
            )
        session.rollback()


def test_an_app_runs_under_its_databases_settings(db: Database):
    assert create_app(database=db).state.services.settings is db.settings
    other = db.settings.model_copy(update={"default_region": "ES"})
    with pytest.raises(ValueError, match="other settings"):
        create_app(other, db)


def test_a_blank_secret_key_is_no_key_and_a_set_one_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("CLIENTCARD_SECRET_KEY", "  ")
    assert Settings().secret_key is None
    monkeypatch.setenv("CLIENTCARD_SECRET_KEY", "kept-out-of-logs")
    settings = Settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "kept-out-of-logs"
    assert "kept-out-of-logs" not in repr(settings)
