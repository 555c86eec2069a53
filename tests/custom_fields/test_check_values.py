"""check_values on the service: types, normalization, required fields, merging, and what
changes of definition do to stored values."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from clientcard.auth.actor import system_actor
from clientcard.custom_fields import service
from clientcard.custom_fields.schemas import (
    CustomFieldCreate,
    CustomFieldUpdate,
    CustomGroupCreate,
)
from clientcard.errors import Conflict, Invalid

ADMIN = system_actor("tests")


def define(db, key: str, type: str = "text", **fields: Any) -> int:
    with db.write() as session:
        data = CustomFieldCreate(key=key, label=key.title(), type=type, **fields)
        return service.create_field(session, actor=ADMIN, data=data).id


def change(db, field_id: int, **fields: Any) -> None:
    with db.write() as session:
        service.update_field(
            session,
            actor=ADMIN,
            field_id=field_id,
            data=CustomFieldUpdate(**fields),
            expected_version=None,
        )


def check(db, values: dict[str, Any], current: dict[str, Any] | None = None, **kw: Any):
    with db.write() as session:
        return service.check_values(session, values=values, current=current, **kw)


def refused(db, values: dict[str, Any], current: dict[str, Any] | None = None, **kw: Any):
    with pytest.raises(Invalid) as caught:
        check(db, values, current, **kw)
    return {e.field: e.message for e in caught.value.errors}


@pytest.fixture
def fields(db) -> dict[str, int]:
    return {
        "remark": define(db, "remark"),
        "amount": define(db, "amount", "number"),
        "since": define(db, "since", "date"),
        "consent": define(db, "consent", "boolean"),
        "tier": define(db, "tier", "choice", options=["gold", "silver", "bronze"]),
        "topics": define(db, "topics", "multi_choice", options=["tv", "net", "phone"]),
        "backup_email": define(db, "backup_email", "email"),
        "backup_phone": define(db, "backup_phone", "phone"),
        "site": define(db, "site", "url"),
    }


def test_valid_values_are_normalized_and_merged(db, fields):
    result = check(
        db,
        {
            "remark": "  likes calls  ",
            "amount": 12.5,
            "since": "2024-02-29",
            "consent": False,
            "tier": "gold",
            "topics": ["phone", "tv"],
            "backup_email": " Ana.Kowalska@Example.COM ",
            "backup_phone": "601 234 567",
            "site": "https://example.com/a?b=c",
        },
    )
    assert result == {
        "remark": "likes calls",
        "amount": 12.5,
        "since": "2024-02-29",
        "consent": False,
        "tier": "gold",
        "topics": ["tv", "phone"],  # in the order of the options
        "backup_email": "ana.kowalska@example.com",
        "backup_phone": "+48601234567",
        "site": "https://example.com/a?b=c",
    }
    assert check(db, {"backup_phone": "00 34 612 345 678", "amount": 3}) == {
        "backup_phone": "+34612345678",
        "amount": 3,
    }


def test_a_partial_object_is_merged_into_the_current_one_and_null_removes(db, fields):
    current = {"remark": "x", "amount": 1, "tier": "gold"}
    result = check(db, {"amount": 2, "tier": None, "remark": ""}, current)
    assert result == {"amount": 2}
    assert current == {"remark": "x", "amount": 1, "tier": "gold"}  # not changed in place
    assert check(db, {}, current) == current
    assert check(db, {"topics": []}, {"topics": ["tv"]}) == {}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("amount", "12"),
        ("amount", True),
        ("amount", [1]),
        ("since", "2024-02-30"),
        ("since", "29.02.2024"),
        ("since", "2024-02-29T10:00:00"),
        ("since", 20240229),
        ("consent", "yes"),
        ("consent", 1),
        ("remark", 5),
        ("remark", "x" * 5001),
        ("tier", "platinum"),
        ("tier", ["gold"]),
        ("topics", ["tv", "tv"]),
        ("topics", ["radio"]),
        ("topics", "tv"),
        ("backup_email", "not-an-address"),
        ("backup_phone", "12"),
        ("backup_phone", 601234567),
        ("site", "ftp://example.com"),
        ("site", "example.com"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_it(db, fields, key, value):
    assert list(refused(db, {key: value})) == [f"custom.{key}"]


def test_multi_choice_duplicates_are_refused(db, fields):
    errors = refused(db, {"topics": ["net", "tv", "net"]})
    assert errors == {"custom.topics": "must not repeat an option"}


def test_unknown_keys_and_every_error_are_reported_at_once(db, fields):
    errors = refused(db, {"colour": "red", "amount": "x", "tier": "pink"})
    assert errors == {
        "custom.colour": "no such custom field",
        "custom.amount": "must be a number",
        "custom.tier": "'pink' is not one of the options ['gold', 'silver', 'bronze']",
    }


def test_required_fields_missing_from_the_result_are_named(db):
    define(db, "segment", required=True)
    define(db, "remark")
    assert refused(db, {"remark": "hi"}) == {"custom.segment": "is required"}
    # on an update the stored value counts; removing it is refused
    assert check(db, {"remark": "hi"}, {"segment": "b2b"}) == {"segment": "b2b", "remark": "hi"}
    assert refused(db, {"segment": None}, {"segment": "b2b"}) == {"custom.segment": "is required"}
    assert refused(db, {"segment": "   "}, {"segment": "b2b"}) == {"custom.segment": "is required"}


def test_groups_have_their_own_definitions_and_prefix(db):
    with db.write() as session:
        service.create_group(session, actor=ADMIN, data=CustomGroupCreate(key="orders", label="O"))
    define(db, "product", group="orders", required=True)
    define(db, "quantity", "number", group="orders")
    define(db, "product")  # a customer-level field of the same key, not required
    assert check(db, {"product": "x"}) == {"product": "x"}
    errors = refused(db, {"quantity": "2"}, group_key="orders", field_prefix="values.")
    assert errors == {"values.quantity": "must be a number", "values.product": "is required"}
    assert check(db, {"product": "TV", "quantity": 2}, group_key="orders") == {
        "product": "TV",
        "quantity": 2,
    }


# ---- what changes of definition do ---------------------------------------------------------


def test_relabelling_changes_nothing(db, fields):
    stored = check(db, {"remark": "kept"})
    change(db, fields["remark"], label="Comment", position=9)
    assert check(db, {}, stored) == {"remark": "kept"}


def test_a_field_made_required_fails_the_next_write_without_it(db, fields):
    stored = check(db, {"remark": "kept"})
    change(db, fields["tier"], required=True)
    # existing data is not touched, but the next write must bring the value
    assert refused(db, {"remark": "new"}, stored) == {"custom.tier": "is required"}
    assert check(db, {"remark": "new", "tier": "gold"}, stored) == {
        "remark": "new",
        "tier": "gold",
    }


def test_removed_options_stay_stored_but_cannot_be_sent_again(db, fields):
    stored = check(db, {"tier": "bronze", "topics": ["tv", "net"]})
    change(db, fields["tier"], options=["gold", "silver"])
    change(db, fields["topics"], options=["tv", "phone"])
    # a write that does not send them keeps them as they are
    assert check(db, {"remark": "x"}, stored) == {**stored, "remark": "x"}
    errors = refused(db, {"tier": "bronze", "topics": ["tv", "net"]}, stored)
    assert set(errors) == {"custom.tier", "custom.topics"}
    assert check(db, {"tier": "silver", "topics": ["phone"]}, stored) == {
        "tier": "silver",
        "topics": ["phone"],
    }


def test_values_of_a_retired_field_are_kept_never_validated(db, fields):
    stored = check(db, {"tier": "gold", "amount": 5})
    change(db, fields["tier"], required=True)
    with db.write() as session:
        service.delete_field(session, actor=ADMIN, field_id=fields["tier"], expected_version=None)
    # kept on writes that do not name it, and no longer required
    assert check(db, {"amount": 6}, stored) == {"tier": "gold", "amount": 6}
    # sent back unchanged (a full form) is fine; a new value is refused; null removes it
    assert check(db, {"tier": "gold", "amount": 6}, stored) == {"tier": "gold", "amount": 6}
    assert refused(db, {"tier": "silver"}, stored) == {
        "custom.tier": "is inactive: its stored value can only be kept or removed"
    }
    assert check(db, {"tier": None}, stored) == {"amount": 5}
    assert check(db, {"tier": None}, {"amount": 5}) == {"amount": 5}
    # stored values under keys with no definition at all are treated the same way
    assert check(db, {"legacy": 1}, {"legacy": 1}) == {"legacy": 1}
    assert check(db, {"legacy": None}, {"legacy": 1}) == {}
    assert refused(db, {"legacy": 2}, {"legacy": 1}) == {"custom.legacy": "no such custom field"}
    # brought back, the field validates again
    change(db, fields["tier"], active=True)
    assert refused(db, {"amount": 1}, {}) == {"custom.tier": "is required"}


def test_concurrent_creations_of_one_customer_level_key_leave_one_field(db):
    """The unique index treats NULL group keys as distinct; the service serializes creations
    (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so only one wins."""
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        try:
            define(db, "segment")
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "created"]
    with db.read() as session:
        assert [f.key for f in service.list_fields(session, actor=ADMIN)] == ["segment"]
