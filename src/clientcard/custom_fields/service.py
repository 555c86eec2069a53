"""Custom fields (P8): administrator-defined typed fields on the customer and in groups, the
validation of their values on every write, and the records customers have in each group.

Definitions are never removed, only retired: DELETE (or PATCH active=false) makes a field or
a group inactive. Its key stays taken, so a later field can never give another meaning or
type to values already stored under it. What a change of definition does to stored values:

- label and position: nothing.
- required: nothing is rewritten; the next write of a customer (or record) that lacks the
  value fails with 422 naming it.
- options: stored values are kept as they are, even when no longer an option; a write that
  sends a value outside the options fails with 422 naming the field.
- inactive (deleted) field: its stored values are kept, returned as stored and never
  validated. A write may send them back unchanged or null (which removes them); any other
  value is refused (422, "is inactive").
- inactive (deleted) group: its records are kept, listed and readable, and may be deleted;
  no record is added or edited (409).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.addresses import normalize_email, normalize_phone
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.base import utcnow
from clientcard.context import settings_of
from clientcard.custom_fields.models import (
    CHOICE_TYPES,
    CustomField,
    CustomGroup,
    CustomGroupRecord,
)
from clientcard.custom_fields.schemas import (
    CustomFieldCreate,
    CustomFieldUpdate,
    CustomGroupCreate,
    CustomGroupUpdate,
)
from clientcard.db import locks
from clientcard.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor

MAX_TEXT = 5000
MAX_URL = 2000
MAX_OPTION = 200
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Groups are keyed by text; their history entries carry this entity id and the key.
GROUP_ENTITY_ID = 0


def _require_admin(actor: Actor) -> None:
    actor.require(
        Permission.CUSTOM_FIELD_MANAGE, "only administrators manage custom field definitions"
    )


def _check_version(kind: str, name: Any, version: int, expected: int | None) -> None:
    if expected is not None and expected != version:
        raise PreconditionFailed(
            f"{kind} {name} is at version {version}, not {expected}; "
            "reload it and apply the change again",
            current_version=version,
        )


def _refuse_nulls(given: dict[str, Any], names: frozenset[str], errors: ErrorCollector) -> None:
    for name in sorted(names & given.keys()):
        if given[name] is None:
            errors.add(name, "may not be null")


# ---- groups ----------------------------------------------------------------------------


def _group_snapshot(group: CustomGroup) -> dict[str, Any]:
    return {
        "key": group.key,
        "label": group.label,
        "position": group.position,
        "active": group.active,
    }


def list_groups(session: Session, *, actor: Actor, active: bool | None = None) -> list[CustomGroup]:
    actor.require(Permission.CUSTOMER_READ)
    query = select(CustomGroup).order_by(CustomGroup.position, CustomGroup.key)
    if active is not None:
        query = query.where(CustomGroup.active.is_(active))
    return list(session.scalars(query))


def get_group(session: Session, *, actor: Actor, key: str) -> CustomGroup:
    actor.require(Permission.CUSTOMER_READ)
    group = session.get(CustomGroup, key)
    if group is None:
        raise NotFound(f"custom field group {key!r} does not exist")
    return group


def create_group(session: Session, *, actor: Actor, data: CustomGroupCreate) -> CustomGroup:
    _require_admin(actor)
    taken = Conflict(
        f"custom field group {data.key!r} already exists",
        errors=[FieldError("key", "is taken by another group (perhaps an inactive one)")],
    )
    if session.get(CustomGroup, data.key) is not None:
        raise taken
    group = CustomGroup(
        key=data.key, label=data.label, position=data.position, active=True, version=1
    )
    session.add(group)
    try:
        session.flush()
    except IntegrityError as exc:
        raise taken from exc
    audit.record_created(
        session,
        actor=actor,
        entity="custom_group",
        entity_id=GROUP_ENTITY_ID,
        customer_id=None,
        snapshot=_group_snapshot(group),
    )
    return group


def _group_for_write(session: Session, key: str) -> CustomGroup:
    group = session.scalars(
        select(CustomGroup).where(CustomGroup.key == key).with_for_update()
    ).one_or_none()
    if group is None:
        raise NotFound(f"custom field group {key!r} does not exist")
    return group


def _change_group(
    session: Session, *, actor: Actor, group: CustomGroup, given: dict[str, Any], action: str
) -> CustomGroup:
    before = _group_snapshot(group)
    changes = audit.diff(before, {**before, **given})
    if not changes:
        return group
    for name in changes:
        setattr(group, name, given[name])
    group.version += 1
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="custom_group",
        entity_id=GROUP_ENTITY_ID,
        customer_id=None,
        # The key does not change; it names the group the entry is about.
        changes={"key": {"before": group.key, "after": group.key}, **changes},
    )
    return group


def update_group(
    session: Session,
    *,
    actor: Actor,
    key: str,
    data: CustomGroupUpdate,
    expected_version: int | None,
) -> CustomGroup:
    """Relabels, reorders or (de)activates a group. The key cannot change."""
    _require_admin(actor)
    group = _group_for_write(session, key)
    _check_version("custom field group", repr(key), group.version, expected_version)
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    if "key" in given and given["key"] != group.key:
        errors.add("key", "cannot be changed")
    given.pop("key", None)
    _refuse_nulls(given, frozenset({"label", "position", "active"}), errors)
    errors.raise_if_any()
    return _change_group(
        session, actor=actor, group=group, given=given, action="custom_group.updated"
    )


def delete_group(
    session: Session, *, actor: Actor, key: str, expected_version: int | None
) -> CustomGroup:
    """Retires a group: it becomes inactive, its fields and records are kept."""
    _require_admin(actor)
    group = _group_for_write(session, key)
    _check_version("custom field group", repr(key), group.version, expected_version)
    return _change_group(
        session, actor=actor, group=group, given={"active": False}, action="custom_group.deleted"
    )


# ---- field definitions -----------------------------------------------------------------


def _field_snapshot(field: CustomField) -> dict[str, Any]:
    return {
        "key": field.key,
        "group": field.group_key,
        "label": field.label,
        "type": field.type,
        "options": list(field.options or []),
        "required": field.required,
        "position": field.position,
        "active": field.active,
    }


def _check_options(
    field_type: str, options: list[str] | None, errors: ErrorCollector, *, creating: bool
) -> None:
    if field_type not in CHOICE_TYPES:
        if options:
            errors.add("options", f"are only for choice and multi_choice fields, not {field_type}")
        return
    if options is None:
        errors.add("options", "are required for a choice field" if creating else "may not be null")
        return
    if not options:
        errors.add("options", "need at least one option")
    for index, option in enumerate(options):
        if not option:
            errors.add(f"options.{index}", "may not be empty")
        elif len(option) > MAX_OPTION:
            errors.add(f"options.{index}", f"is longer than {MAX_OPTION} characters")
    if len(set(options)) != len(options):
        errors.add("options", "must be distinct")


def list_fields(session: Session, *, actor: Actor, active: bool | None = None) -> list[CustomField]:
    """Every definition: the customer's own fields first, then each group's, by position."""
    actor.require(Permission.CUSTOMER_READ)
    query = select(CustomField).order_by(
        CustomField.group_key.is_not(None),
        CustomField.group_key,
        CustomField.position,
        CustomField.id,
    )
    if active is not None:
        query = query.where(CustomField.active.is_(active))
    return list(session.scalars(query))


def get_field(session: Session, *, actor: Actor, field_id: int) -> CustomField:
    actor.require(Permission.CUSTOMER_READ)
    field = session.get(CustomField, field_id)
    if field is None:
        raise NotFound(f"custom field {field_id} does not exist")
    return field


def create_field(session: Session, *, actor: Actor, data: CustomFieldCreate) -> CustomField:
    _require_admin(actor)
    errors = ErrorCollector()
    _check_options(data.type, data.options, errors, creating=True)
    if data.group is not None and session.get(CustomGroup, data.group) is None:
        errors.add("group", f"custom field group {data.group!r} does not exist")
    errors.raise_if_any()
    # The unique index on (group_key, key) treats NULL group keys as distinct, so it
    # cannot stop two concurrent creations of the same customer-level key: a lock does.
    locks.lock_key(session, locks.LockSpace.CUSTOM_FIELD_DEFINITIONS)
    where = (
        CustomField.group_key.is_(None)
        if data.group is None
        else CustomField.group_key == data.group
    )
    place = "on the customer" if data.group is None else f"in group {data.group!r}"
    taken = Conflict(
        f"custom field {data.key!r} already exists {place}",
        errors=[FieldError("key", "is taken by another field (perhaps an inactive one)")],
    )
    if session.scalars(select(CustomField.id).where(where, CustomField.key == data.key)).first():
        raise taken
    now = utcnow()
    field = CustomField(
        key=data.key,
        group_key=data.group,
        label=data.label,
        type=data.type,
        options=list(data.options or []),
        required=data.required,
        position=data.position,
        active=True,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(field)
    try:
        session.flush()
    except IntegrityError as exc:
        raise taken from exc
    audit.record_created(
        session,
        actor=actor,
        entity="custom_field",
        entity_id=field.id,
        customer_id=None,
        snapshot=_field_snapshot(field),
    )
    return field


def _field_for_write(session: Session, field_id: int) -> CustomField:
    field = session.scalars(
        select(CustomField).where(CustomField.id == field_id).with_for_update()
    ).one_or_none()
    if field is None:
        raise NotFound(f"custom field {field_id} does not exist")
    return field


def _change_field(
    session: Session, *, actor: Actor, field: CustomField, given: dict[str, Any], action: str
) -> CustomField:
    before = _field_snapshot(field)
    changes = audit.diff(before, {**before, **given})
    if not changes:
        return field
    for name in changes:
        setattr(field, name, given[name])
    field.version += 1
    field.updated_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="custom_field",
        entity_id=field.id,
        customer_id=None,
        changes=changes,
    )
    return field


def update_field(
    session: Session,
    *,
    actor: Actor,
    field_id: int,
    data: CustomFieldUpdate,
    expected_version: int | None,
) -> CustomField:
    """Changes the label, options, required, position or active flag. Stored values are
    never rewritten (see the module's docstring)."""
    _require_admin(actor)
    field = _field_for_write(session, field_id)
    _check_version("custom field", field_id, field.version, expected_version)
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    for name, current in (("key", field.key), ("type", field.type), ("group", field.group_key)):
        if name in given and given.pop(name) != current:
            errors.add(name, "cannot be changed")
    _refuse_nulls(given, frozenset({"label", "required", "position", "active"}), errors)
    if "options" in given:
        _check_options(field.type, given["options"], errors, creating=False)
        if field.type not in CHOICE_TYPES and given["options"] is not None:
            given["options"] = []
    errors.raise_if_any()
    if given.get("options") is None:
        given.pop("options", None)
    return _change_field(
        session, actor=actor, field=field, given=given, action="custom_field.updated"
    )


def delete_field(
    session: Session, *, actor: Actor, field_id: int, expected_version: int | None
) -> CustomField:
    """Retires a field: it becomes inactive, its key stays taken, stored values are kept."""
    _require_admin(actor)
    field = _field_for_write(session, field_id)
    _check_version("custom field", field_id, field.version, expected_version)
    return _change_field(
        session, actor=actor, field=field, given={"active": False}, action="custom_field.deleted"
    )


# ---- values ----------------------------------------------------------------------------


class _Refused(Exception):
    """A value that does not fit its field; the message says why."""


def _empty(value: Any) -> bool:
    """Null, blank text and an empty list all mean "no value": the key is removed."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _coerce(field: CustomField, value: Any, *, name: str, region: str) -> Any:
    """The value to store for one field, or _Refused; a phone without a country code is read
    in `region`."""
    kind = field.type
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Refused("must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise _Refused("must be a finite number")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _Refused("must be true or false")
        return value
    if kind == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        if not isinstance(value, str) or not _DATE.match(value.strip()):
            raise _Refused("must be a date in ISO format (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise _Refused("is not a valid date") from None
    if kind == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Refused("must be a list of options")
        chosen = [v.strip() for v in value]
        outside = [v for v in chosen if v not in field.options]
        if outside:
            raise _Refused(f"{outside[0]!r} is not one of the options {field.options}")
        if len(set(chosen)) != len(chosen):
            raise _Refused("must not repeat an option")
        return [option for option in field.options if option in chosen]  # in option order
    if not isinstance(value, str):
        raise _Refused("must be a string")
    value = value.strip()
    if kind == "text":
        if len(value) > MAX_TEXT:
            raise _Refused(f"is longer than {MAX_TEXT} characters")
        return value
    if kind == "choice":
        if value not in field.options:
            raise _Refused(f"{value!r} is not one of the options {field.options}")
        return value
    if kind == "url":
        parts = urlsplit(value)
        if len(value) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Refused(f"must be an http or https URL of at most {MAX_URL} characters")
        return value
    try:
        if kind == "email":
            return normalize_email(value, field=name)
        if kind == "phone":
            return normalize_phone(value, region=region, field=name)
    except Invalid as exc:
        raise _Refused(exc.errors[0].message if exc.errors else exc.detail) from None
    raise _Refused(f"has an unknown field type {kind!r}")  # pragma: no cover


def check_values(
    session: Session,
    *,
    values: dict[str, Any],
    current: dict[str, Any] | None,
    group_key: str | None = None,
    field_prefix: str = "custom.",
    enforce_required: bool = True,
) -> dict[str, Any]:
    """Validates `values` (a partial or full object of custom values) against the
    definitions of the group (None: the customer's own fields) and returns the object to
    store: `current` (None on create) with the values sent merged in, normalized (phones
    in E.164 read in the default region, e-mails normalized, dates as ISO strings,
    multi-choice lists in option order); keys sent as null, blank or [] are removed.

    Every error is collected and raised at once as Invalid, each naming
    `<field_prefix><key>`: unknown keys, values that do not fit their type, active required
    fields missing from the result (unless `enforce_required` is off: a lead created by
    ingestion has nobody to ask). Values stored for inactive fields are kept as they are
    and never validated; they may be sent back unchanged or null, not changed.
    """
    where = (
        CustomField.group_key.is_(None) if group_key is None else CustomField.group_key == group_key
    )
    definitions = {f.key: f for f in session.scalars(select(CustomField).where(where))}
    stored = dict(current or {})
    merged = dict(stored)
    errors = ErrorCollector(prefix=field_prefix)
    refused: set[str] = set()
    region = settings_of(session).default_region
    for key, value in values.items():
        field = definitions.get(key)
        if field is None or not field.active:
            if _empty(value) and (field is not None or key in stored):
                merged.pop(key, None)  # removing a retired value is allowed
            elif key in stored and stored[key] == value:
                pass  # sent back unchanged
            elif field is None:
                errors.add(key, "no such custom field")
            else:
                errors.add(key, "is inactive: its stored value can only be kept or removed")
            continue
        if _empty(value):
            merged.pop(key, None)
            continue
        try:
            merged[key] = _coerce(field, value, name=f"{field_prefix}{key}", region=region)
        except _Refused as exc:
            errors.add(key, str(exc))
            refused.add(key)
    for field in sorted(definitions.values(), key=lambda f: (f.position, f.id)):
        missing = _empty(merged.get(field.key))
        required = enforce_required and field.active and field.required
        if required and field.key not in refused and missing:
            errors.add(field.key, "is required")
    errors.raise_if_any()
    return merged


# ---- group records ---------------------------------------------------------------------


def _existing_group(session: Session, group_key: str) -> CustomGroup:
    group = session.get(CustomGroup, group_key)
    if group is None:
        raise NotFound(f"custom field group {group_key!r} does not exist")
    return group


def _writable_group(session: Session, group_key: str) -> CustomGroup:
    group = _existing_group(session, group_key)
    if not group.active:
        raise Conflict(
            f"custom field group {group_key!r} is inactive: its records can be read and "
            "deleted, not added or edited",
            errors=[FieldError("group", "is inactive")],
        )
    return group


def _prefixed(group_key: str, values: dict[str, Any]) -> dict[str, Any]:
    """Record values as the history names them: `<group>.<field>`."""
    return {f"{group_key}.{key}": value for key, value in values.items()}


def list_records(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    group_key: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[CustomGroupRecord], str | None]:
    """The customer's records in the group, newest first, keyset-paginated by id through
    ix_custom_group_records_customer_id_group_key_id."""
    access.readable(session, actor, customer_id)
    _existing_group(session, group_key)
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(CustomGroupRecord).where(
        CustomGroupRecord.customer_id == customer_id, CustomGroupRecord.group_key == group_key
    )
    if cursor:
        (last_id,) = decode_cursor(cursor, kinds=(int,))
        query = query.where(CustomGroupRecord.id < last_id)
    rows = list(session.scalars(query.order_by(CustomGroupRecord.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _record_query(customer_id: int, group_key: str, record_id: int):
    return select(CustomGroupRecord).where(
        CustomGroupRecord.id == record_id,
        CustomGroupRecord.customer_id == customer_id,
        CustomGroupRecord.group_key == group_key,
    )


def _missing_record(record_id: int, group_key: str) -> NotFound:
    return NotFound(f"record {record_id} does not exist in group {group_key!r} of this customer")


def get_record(
    session: Session, *, actor: Actor, customer_id: int, group_key: str, record_id: int
) -> CustomGroupRecord:
    access.readable(session, actor, customer_id)
    _existing_group(session, group_key)
    record = session.scalars(_record_query(customer_id, group_key, record_id)).one_or_none()
    if record is None:
        raise _missing_record(record_id, group_key)
    return record


def create_record(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    group_key: str,
    values: dict[str, Any],
) -> CustomGroupRecord:
    access.writable(session, actor, customer_id)
    _writable_group(session, group_key)
    stored = check_values(
        session,
        values=values,
        current=None,
        group_key=group_key,
        field_prefix="values.",
    )
    now = utcnow()
    record = CustomGroupRecord(
        customer_id=customer_id,
        group_key=group_key,
        values=stored,
        version=1,
        created_at=now,
        created_by=actor.username,
        updated_at=now,
        updated_by=actor.username,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="custom_group_record.created",
        entity="custom_group_record",
        entity_id=record.id,
        customer_id=customer_id,
        changes=audit.diff({}, _prefixed(group_key, stored)),
    )
    return record


def _record_for_write(
    session: Session, actor: Actor, customer_id: int, group_key: str, record_id: int
) -> CustomGroupRecord:
    access.writable(session, actor, customer_id)
    record = session.scalars(
        _record_query(customer_id, group_key, record_id).with_for_update()
    ).one_or_none()
    if record is None:
        _existing_group(session, group_key)
        raise _missing_record(record_id, group_key)
    return record


def update_record(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    group_key: str,
    record_id: int,
    values: dict[str, Any],
    expected_version: int | None,
) -> CustomGroupRecord:
    """Merges the values sent into the record (null removes one) and validates the result."""
    actor.require(Permission.CUSTOMER_WRITE)
    record = _record_for_write(session, actor, customer_id, group_key, record_id)
    _check_version("record", record_id, record.version, expected_version)
    _writable_group(session, group_key)
    before = dict(record.values or {})
    after = check_values(
        session,
        values=values,
        current=before,
        group_key=group_key,
        field_prefix="values.",
    )
    changes = audit.diff(_prefixed(group_key, before), _prefixed(group_key, after))
    if not changes:
        return record
    record.values = after
    record.version += 1
    record.updated_at = utcnow()
    record.updated_by = actor.username
    audit.record(
        session,
        actor=actor,
        action="custom_group_record.updated",
        entity="custom_group_record",
        entity_id=record.id,
        customer_id=customer_id,
        changes=changes,
    )
    return record


def delete_record(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    group_key: str,
    record_id: int,
    expected_version: int | None,
) -> None:
    """Deletes the record (also in an inactive group); the history keeps its values."""
    actor.require(Permission.CUSTOMER_WRITE)
    record = _record_for_write(session, actor, customer_id, group_key, record_id)
    _check_version("record", record_id, record.version, expected_version)
    audit.record(
        session,
        actor=actor,
        action="custom_group_record.deleted",
        entity="custom_group_record",
        entity_id=record.id,
        customer_id=customer_id,
        changes=audit.diff(_prefixed(group_key, dict(record.values or {})), {}),
    )
    session.delete(record)
    session.flush()
