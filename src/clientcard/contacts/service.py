"""Contact points: validated, normalized, never twice on one customer, one primary per type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from clientcard import access
from clientcard.addresses import (
    check_region,
    normalize_email,
    normalize_phone,
    normalize_text,
)
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor
from clientcard.base import utcnow
from clientcard.contacts.models import PHONE_TYPES, ContactPoint
from clientcard.contacts.schemas import ContactPointCreate, ContactPointUpdate
from clientcard.context import settings_of
from clientcard.customers.models import Customer
from clientcard.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    Invalid,
    NotFound,
    PreconditionFailed,
)

ADDRESS_PARTS = ("street", "city", "postal_code", "state", "country")
AUDITED_FIELDS = ("type", "value", "normalized", "label", "primary", "network", *ADDRESS_PARTS)
NOT_NULLABLE = frozenset({"type", "value", "label", "primary"})


def snapshot(point: ContactPoint) -> dict[str, Any]:
    return {name: getattr(point, name) for name in AUDITED_FIELDS}


def snapshot_of(row: dict[str, Any]) -> dict[str, Any]:
    """`snapshot` of a contact point row not loaded as an object."""
    return {name: row[name] for name in AUDITED_FIELDS}


def normalized_fields(
    session: Session, values: dict[str, Any], *, prefix: str = ""
) -> dict[str, Any]:
    """Checks one contact point's values and returns what is stored: value, normalized and
    the type's own parts. Every problem is reported with its field name. A phone number
    without a country code is read in its `region`, else in the unit of work's default."""
    errors = ErrorCollector(prefix=prefix)
    kind = values["type"]
    value = (values.get("value") or "").strip()
    parts = {name: (values.get(name) or None) for name in ADDRESS_PARTS}
    network = (values.get("network") or "").strip().lower() or None
    stored: dict[str, Any] = {"network": None, **dict.fromkeys(ADDRESS_PARTS)}

    if kind != "address":
        for name, part in parts.items():
            if part:
                errors.add(name, "is only for addresses")
    if kind != "social" and network:
        errors.add("network", "is only for social profiles")
    if kind != "address" and not value:
        errors.add("value", "is required")
    if values.get("region") and kind not in PHONE_TYPES:
        errors.add("region", "is only for phone numbers")
    errors.raise_if_any()

    if kind in PHONE_TYPES:
        region = check_region(
            values.get("region") or settings_of(session).default_region, field=f"{prefix}region"
        )
        normalized = normalize_phone(value, region=region, field=f"{prefix}value")
    elif kind == "email":
        normalized = normalize_email(value, field=f"{prefix}value")
    elif kind == "address":
        if parts["country"]:
            parts["country"] = check_region(parts["country"], field=f"{prefix}country")
        line = ", ".join(
            p
            for p in (
                parts["street"],
                parts["postal_code"],
                parts["city"],
                parts["state"],
                parts["country"],
            )
            if p
        )
        if not value and not line:
            raise Invalid.field(f"{prefix}value", "an address needs a value or its parts")
        value = value or line
        normalized = normalize_text(line or value)
        stored.update(parts)
    elif kind == "social":
        if not network:
            raise Invalid.field(f"{prefix}network", "is required for a social profile")
        handle = value.removeprefix("@")
        normalized = f"{network}:{handle.lower()}"
        stored["network"] = network
    else:  # web: a chat/web visitor id or a site, compared as given
        normalized = value
    return {**stored, "value": value, "normalized": normalized}


def _check_not_duplicate(
    customer: Customer, *, kind: str, normalized: str, field: str, skip: ContactPoint | None = None
) -> None:
    for point in customer.contact_points:
        if point is not skip and point.type == kind and point.normalized == normalized:
            raise Conflict(
                f"customer {customer.id} already has this {kind} (contact point {point.id})",
                errors=[FieldError(field, "already on this customer")],
                existing_id=point.id,
            )


def _settle_primary(
    session: Session, *, actor: Actor, customer: Customer, kind: str, chosen: ContactPoint | None
) -> None:
    """Keeps exactly one primary point per type: the chosen one, else the current one,
    else the oldest. Every flag this moves is recorded."""
    points = [p for p in customer.contact_points if p.type == kind]
    if not points:
        return
    keep = chosen or next((p for p in points if p.primary), None) or min(points, key=_age)
    for point in points:
        wanted = point is keep
        if point.primary != wanted:
            if point.id is not None and point is not chosen:
                audit.record(
                    session,
                    actor=actor,
                    action="contact_point.updated",
                    entity="contact_point",
                    entity_id=point.id,
                    customer_id=customer.id,
                    changes={"primary": {"before": point.primary, "after": wanted}},
                )
                point.version += 1
                point.updated_at = utcnow()
            point.primary = wanted


def _age(point: ContactPoint) -> tuple[int, int]:
    return (0 if point.id is not None else 1, point.id or 0)


def add_points(
    session: Session,
    *,
    actor: Actor,
    customer: Customer,
    items: Sequence[ContactPointCreate],
    field_prefix: str = "",
    origin: str = "api",
) -> list[ContactPoint]:
    """Adds contact points to a customer being written (new or locked for update)."""
    created = stage_points(
        session, actor=actor, customer=customer, items=items, field_prefix=field_prefix
    )
    session.flush()
    record_points(session, actor=actor, customer=customer, points=created, origin=origin)
    return created


def _checked_fields(
    session: Session, items: Sequence[ContactPointCreate], field_prefix: str
) -> list[tuple[ContactPointCreate, dict[str, Any], str]]:
    """Each item with its stored fields (`normalized_fields`) and its field prefix; the
    problems of every item are reported together."""
    errors = ErrorCollector()
    checked = []
    for index, item in enumerate(items):
        prefix = f"{field_prefix}{index}." if field_prefix else ""
        try:
            fields = normalized_fields(session, item.model_dump(), prefix=prefix)
        except Invalid as exc:
            errors.errors.extend(exc.errors)
            continue
        checked.append((item, fields, prefix))
    errors.raise_if_any()
    return checked


def stage_points(
    session: Session,
    *,
    actor: Actor,
    customer: Customer,
    items: Sequence[ContactPointCreate],
    field_prefix: str = "",
) -> list[ContactPoint]:
    """The checked new points, on the customer but not yet flushed; `record_points` writes
    their history once they are (add_points does both)."""
    created = []
    for item, fields, prefix in _checked_fields(session, items, field_prefix):
        _check_not_duplicate(
            customer, kind=item.type, normalized=fields["normalized"], field=f"{prefix}value"
        )
        point = ContactPoint(type=item.type, label=item.label, primary=False, **fields)
        customer.contact_points.append(point)
        created.append(point)
        _settle_primary(
            session,
            actor=actor,
            customer=customer,
            kind=item.type,
            chosen=point if item.primary else None,
        )
    return created


def new_point_rows(
    session: Session, items: Sequence[ContactPointCreate], *, field_prefix: str = ""
) -> list[dict[str, Any]]:
    """The checked rows of a new customer's contact points, as `stage_points` would make
    them on a customer without points (`customers.create_leads`): the same errors, one
    primary point per type (the last one asked to be, else the first), no customer id, id,
    version or timestamps yet (`customers.rows.new_rows` adds them)."""
    rows: list[dict[str, Any]] = []
    for item, fields, prefix in _checked_fields(session, items, field_prefix):
        if any(r["type"] == item.type and r["normalized"] == fields["normalized"] for r in rows):
            raise Conflict(
                f"this {item.type} is given twice",
                errors=[FieldError(f"{prefix}value", "already on this customer")],
            )
        rows.append(
            {
                "type": item.type,
                "label": item.label,
                "primary": item.primary,
                **fields,
            }
        )
    for kind in {r["type"] for r in rows}:
        of_kind = [r for r in rows if r["type"] == kind]
        keep = next((r for r in reversed(of_kind) if r["primary"]), of_kind[0])
        for row in of_kind:
            row["primary"] = row is keep
    return rows


def record_points(
    session: Session,
    *,
    actor: Actor,
    customer: Customer,
    points: Sequence[ContactPoint],
    origin: str = "api",
) -> None:
    for point in points:
        audit.record_created(
            session,
            actor=actor,
            entity="contact_point",
            entity_id=point.id,
            customer_id=customer.id,
            snapshot=snapshot(point),
            origin=origin,
        )


def add_contact_point(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    data: ContactPointCreate,
) -> ContactPoint:
    customer = access.writable(session, actor, customer_id)
    (point,) = add_points(session, actor=actor, customer=customer, items=[data])
    access.touch(customer, actor)
    return point


def list_contact_points(session: Session, *, actor: Actor, customer_id: int) -> list[ContactPoint]:
    return list(access.readable(session, actor, customer_id).contact_points)


def _point_of(customer: Customer, point_id: int) -> ContactPoint:
    for point in customer.contact_points:
        if point.id == point_id:
            return point
    raise NotFound(f"contact point {point_id} does not exist on customer {customer.id}")


def update_contact_point(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    point_id: int,
    data: ContactPointUpdate,
    expected_version: int | None,
) -> ContactPoint:
    customer = access.writable(session, actor, customer_id)
    point = _point_of(customer, point_id)
    if expected_version is not None and expected_version != point.version:
        raise PreconditionFailed(
            f"contact point {point_id} is at version {point.version}, not {expected_version}",
            current_version=point.version,
        )
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    for name in NOT_NULLABLE & given.keys():
        if given[name] is None:
            errors.add(name, "may not be null")
    errors.raise_if_any()

    before = snapshot(point)
    old_type = point.type
    identity_keys = {"type", "value", "region", "network", *ADDRESS_PARTS}
    if identity_keys & given.keys():
        merged = {**before, "region": None, **given}
        if "value" not in given and point.type == "address" and given.keys() & set(ADDRESS_PARTS):
            merged["value"] = None  # rebuilt from the new parts
        fields = normalized_fields(session, merged)
        kind = merged["type"]
        if (kind, fields["normalized"]) != (point.type, point.normalized):
            _check_not_duplicate(
                customer, kind=kind, normalized=fields["normalized"], field="value", skip=point
            )
        point.type = kind
        for name, value in fields.items():
            setattr(point, name, value)
    if "label" in given:
        point.label = given["label"]

    chosen = None
    if old_type != point.type:
        point.primary = False
        _settle_primary(session, actor=actor, customer=customer, kind=old_type, chosen=None)
    if given.get("primary") is True:
        chosen = point
    elif given.get("primary") is False and point.primary:
        others = [p for p in customer.contact_points if p.type == point.type and p is not point]
        if others:
            point.primary = False
            chosen = min(others, key=_age)
    _settle_primary(session, actor=actor, customer=customer, kind=point.type, chosen=chosen)

    changes = audit.diff(before, snapshot(point))
    if changes:
        point.version += 1
        point.updated_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="contact_point.updated",
            entity="contact_point",
            entity_id=point.id,
            customer_id=customer.id,
            changes=changes,
        )
        access.touch(customer, actor)
    return point


def delete_contact_point(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    point_id: int,
    expected_version: int | None,
) -> None:
    customer = access.writable(session, actor, customer_id)
    point = _point_of(customer, point_id)
    if expected_version is not None and expected_version != point.version:
        raise PreconditionFailed(
            f"contact point {point_id} is at version {point.version}, not {expected_version}",
            current_version=point.version,
        )
    before = {k: v for k, v in snapshot(point).items() if v is not None}
    audit.record(
        session,
        actor=actor,
        action="contact_point.deleted",
        entity="contact_point",
        entity_id=point.id,
        customer_id=customer.id,
        changes=audit.diff(before, {}),
    )
    customer.contact_points.remove(point)
    session.flush()
    _settle_primary(session, actor=actor, customer=customer, kind=point.type, chosen=None)
    access.touch(customer, actor)
