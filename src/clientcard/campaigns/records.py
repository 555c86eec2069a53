"""A customer's campaign records (M1): record status, agent, recontact date, note, and
"call again". The API shapes live here too, beside the rules, until campaigns/schemas.py
takes them in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor
from clientcard.auth.models import User
from clientcard.base import utcnow
from clientcard.campaigns.models import Campaign, CampaignRecord, Direction, RecordStatus
from clientcard.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from clientcard.schemas import Id, ReadModel, Timestamp, WriteModel

AUDITED_FIELDS = ("campaign_id", "status", "agent_id", "recontact_at", "note")
NOT_NULLABLE = frozenset({"status"})


# ---- API shapes ------------------------------------------------------------------------


class CampaignRecordCreate(WriteModel):
    campaign_id: Id
    status: RecordStatus = "pending"
    agent_id: Id | None = Field(None, description="An active user's id.")
    recontact_at: Timestamp | None = None
    note: str | None = Field(None, max_length=5000)


class CampaignRecordUpdate(WriteModel):
    """Only the fields sent are changed; null clears agent, recontact date and note."""

    status: RecordStatus | None = None
    agent_id: Id | None = None
    recontact_at: Timestamp | None = None
    note: str | None = Field(None, max_length=5000)


class CallAgain(WriteModel):
    at: Timestamp = Field(description="When to call again (in the future).")


class CampaignBrief(ReadModel):
    id: int
    name: str
    direction: Direction


class CampaignRecordRead(ReadModel):
    id: int
    customer_id: int
    campaign_id: int
    campaign: CampaignBrief
    status: RecordStatus
    agent_id: int | None
    recontact_at: dt.datetime | None
    note: str | None
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str


# ---- rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordView:
    """A record with its campaign (for the name and direction)."""

    record: CampaignRecord
    campaign: Campaign


def snapshot(record: CampaignRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in AUDITED_FIELDS}


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Times are kept and shown in UTC, whatever zone they were sent in."""
    return value.astimezone(dt.UTC) if value is not None else None


def _check_agent(session: Session, agent_id: int | None, errors: ErrorCollector) -> None:
    if agent_id is None:
        return
    user = session.get(User, agent_id)
    if user is None:
        errors.add("agent_id", f"user {agent_id} does not exist")
    elif not user.active:
        errors.add("agent_id", f"user {agent_id} is not active")


def _taken(campaign: Campaign) -> Conflict:
    return Conflict(
        f"the customer already has a record in campaign {campaign.name!r}",
        errors=[FieldError("campaign_id", "the customer already has a record in this campaign")],
    )


def list_records(
    session: Session, *, actor: Actor, customer_id: int, cursor: str | None, limit: int
) -> tuple[list[RecordView], str | None]:
    """The customer's records, newest first, keyset-paginated on (created_at, id), each
    with its campaign in the same query."""
    access.readable(session, actor, customer_id)
    limit = max(1, min(limit, MAX_LIMIT))
    query = (
        select(CampaignRecord, Campaign)
        .join(Campaign, Campaign.id == CampaignRecord.campaign_id)
        .where(CampaignRecord.customer_id == customer_id)
    )
    if cursor:
        last_at, last_id = decode_cursor(cursor, kinds=(dt.datetime, int))
        query = query.where(
            tuple_(CampaignRecord.created_at, CampaignRecord.id) < tuple_(last_at, last_id)
        )
    query = query.order_by(CampaignRecord.created_at.desc(), CampaignRecord.id.desc())
    rows = list(session.execute(query.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = encode_cursor([last.created_at, last.id])
    return [RecordView(record, campaign) for record, campaign in rows[:limit]], next_cursor


def _record_of(session: Session, customer_id: int, record_id: int, *, lock: bool) -> CampaignRecord:
    query = select(CampaignRecord).where(
        CampaignRecord.id == record_id, CampaignRecord.customer_id == customer_id
    )
    if lock:
        query = query.with_for_update()
    record = session.scalars(query).one_or_none()
    if record is None:
        raise NotFound(f"campaign record {record_id} does not exist on customer {customer_id}")
    return record


def _view(session: Session, record: CampaignRecord) -> RecordView:
    campaign = session.get(Campaign, record.campaign_id)
    assert campaign is not None  # the foreign key cascades
    return RecordView(record, campaign)


def get_record(session: Session, *, actor: Actor, customer_id: int, record_id: int) -> RecordView:
    access.readable(session, actor, customer_id)
    return _view(session, _record_of(session, customer_id, record_id, lock=False))


def create_record(
    session: Session, *, actor: Actor, customer_id: int, data: CampaignRecordCreate
) -> RecordView:
    """Adds the customer to a campaign (one record per customer and campaign, 409)."""
    customer = access.writable(session, actor, customer_id)
    errors = ErrorCollector()
    campaign = session.get(Campaign, data.campaign_id)
    if campaign is None:
        errors.add("campaign_id", f"campaign {data.campaign_id} does not exist")
    _check_agent(session, data.agent_id, errors)
    errors.raise_if_any()
    assert campaign is not None
    existing = session.scalars(
        select(CampaignRecord.id).where(
            CampaignRecord.customer_id == customer.id,
            CampaignRecord.campaign_id == campaign.id,
        )
    ).first()
    if existing is not None:
        error = _taken(campaign)
        error.extra["existing_id"] = existing
        raise error
    now = utcnow()
    values = data.model_dump()
    values["recontact_at"] = _utc(values["recontact_at"])
    record = CampaignRecord(
        customer_id=customer.id,
        **values,
        version=1,
        created_at=now,
        created_by=actor.username,
        updated_at=now,
        updated_by=actor.username,
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError as exc:
        raise _taken(campaign) from exc
    audit.record_created(
        session,
        actor=actor,
        entity="campaign_record",
        entity_id=record.id,
        customer_id=customer.id,
        snapshot=snapshot(record),
    )
    return RecordView(record, campaign)


def _for_write(
    session: Session, actor: Actor, customer_id: int, record_id: int, expected: int | None
) -> CampaignRecord:
    access.writable(session, actor, customer_id)
    record = _record_of(session, customer_id, record_id, lock=True)
    if expected is not None and expected != record.version:
        raise PreconditionFailed(
            f"campaign record {record_id} is at version {record.version}, not {expected}; "
            "reload it and apply the change again",
            current_version=record.version,
        )
    return record


def _apply(
    session: Session,
    *,
    actor: Actor,
    record: CampaignRecord,
    values: dict[str, Any],
    action: str,
) -> RecordView:
    before = snapshot(record)
    changes = audit.diff(before, {**before, **values})
    if changes:
        for name in values:
            setattr(record, name, values[name])
        record.version += 1
        record.updated_at = utcnow()
        record.updated_by = actor.username
        audit.record(
            session,
            actor=actor,
            action=action,
            entity="campaign_record",
            entity_id=record.id,
            customer_id=record.customer_id,
            changes=changes,
        )
    return _view(session, record)


def update_record(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    record_id: int,
    data: CampaignRecordUpdate,
    expected_version: int | None,
) -> RecordView:
    record = _for_write(session, actor, customer_id, record_id, expected_version)
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    for name in sorted(NOT_NULLABLE & given.keys()):
        if given[name] is None:
            errors.add(name, "may not be null")
    if "recontact_at" in given:
        given["recontact_at"] = _utc(given["recontact_at"])
    if "agent_id" in given and given["agent_id"] != record.agent_id:
        _check_agent(session, given["agent_id"], errors)
    errors.raise_if_any()
    return _apply(
        session, actor=actor, record=record, values=given, action="campaign_record.updated"
    )


def call_again(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    record_id: int,
    data: CallAgain,
    expected_version: int | None,
) -> RecordView:
    """Schedules another contact: status `callback`, recontact at the time given."""
    record = _for_write(session, actor, customer_id, record_id, expected_version)
    if data.at <= utcnow():
        raise Invalid.field("at", "must be in the future")
    return _apply(
        session,
        actor=actor,
        record=record,
        values={"status": "callback", "recontact_at": _utc(data.at)},
        action="campaign_record.call_again",
    )


def delete_record(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    record_id: int,
    expected_version: int | None,
) -> None:
    """Takes the customer out of the campaign."""
    record = _for_write(session, actor, customer_id, record_id, expected_version)
    audit.record(
        session,
        actor=actor,
        action="campaign_record.deleted",
        entity="campaign_record",
        entity_id=record.id,
        customer_id=customer_id,
        changes=audit.diff({k: v for k, v in snapshot(record).items() if v is not None}, {}),
    )
    session.delete(record)
    session.flush()
