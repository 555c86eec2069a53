"""Cases of a customer: types, numbers, status and closing, notes and internal comments."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.accounts import service as accounts
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.auth.models import User
from clientcard.base import utcnow
from clientcard.campaigns.models import Campaign
from clientcard.cases.models import STATUSES, Case, CaseComment, CaseNote, CaseType, Counter
from clientcard.cases.schemas import (
    CaseCommentCreate,
    CaseCreate,
    CaseNoteCreate,
    CaseTypeCreate,
    CaseTypeUpdate,
    CaseUpdate,
)
from clientcard.customers.models import Customer
from clientcard.db import locks
from clientcard.errors import (
    Conflict,
    DomainError,
    ErrorCollector,
    FieldError,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from clientcard.interactions.models import Interaction
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor

CASE_COUNTER = "case_number"
NUMBER_PREFIX = "C-"
FINAL_STATUSES = frozenset({"closed", "cancelled"})
AUDITED_FIELDS = (
    "number",
    "subject",
    "description",
    "type",
    "priority",
    "status",
    "campaign_id",
    "account_id",
    "assigned_to",
    "closed_at",
)
NOT_NULLABLE = frozenset({"subject", "type", "priority", "status"})
# Case types are keyed by text; their history entries carry this entity id and the key.
CASE_TYPE_ENTITY_ID = 0


class CommentsAreFinal(DomainError):
    """Internal comments are a record: once posted they are never edited or deleted."""

    status = 405
    title = "Method not allowed"


def format_number(value: int) -> str:
    return f"{NUMBER_PREFIX}{value:06d}"


def snapshot(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in AUDITED_FIELDS}


# ---- case types ------------------------------------------------------------------------


def list_case_types(
    session: Session, *, actor: Actor, active: bool | None = None
) -> list[CaseType]:
    actor.require(Permission.CASE_READ)
    query = select(CaseType).order_by(CaseType.key)
    if active is not None:
        query = query.where(CaseType.active.is_(active))
    return list(session.scalars(query))


def create_case_type(session: Session, *, actor: Actor, data: CaseTypeCreate) -> CaseType:
    actor.require(Permission.CASE_CONFIGURE)
    if session.get(CaseType, data.key) is not None:
        raise Conflict(
            f"case type {data.key!r} already exists",
            errors=[FieldError("key", "is taken by another case type")],
        )
    case_type = CaseType(key=data.key, label=data.label, active=True)
    session.add(case_type)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"case type {data.key!r} was created at the same time",
            errors=[FieldError("key", "is taken by another case type")],
        ) from exc
    audit.record_created(
        session,
        actor=actor,
        entity="case_type",
        entity_id=CASE_TYPE_ENTITY_ID,
        customer_id=None,
        snapshot={"key": case_type.key, "label": case_type.label, "active": True},
    )
    return case_type


def update_case_type(session: Session, *, actor: Actor, key: str, data: CaseTypeUpdate) -> CaseType:
    """Relabels a type or (de)activates it. Inactive types cannot be used for new cases."""
    actor.require(Permission.CASE_CONFIGURE)
    case_type = session.scalars(
        select(CaseType).where(CaseType.key == key).with_for_update()
    ).one_or_none()
    if case_type is None:
        raise NotFound(f"case type {key!r} does not exist")
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    for name in sorted(given):
        if given[name] is None:
            errors.add(name, "may not be null")
    errors.raise_if_any()
    before = {"label": case_type.label, "active": case_type.active}
    changes = audit.diff(before, {**before, **given})
    if not changes:
        return case_type
    for name in changes:
        setattr(case_type, name, given[name])
    audit.record(
        session,
        actor=actor,
        action="case_type.updated",
        entity="case_type",
        entity_id=CASE_TYPE_ENTITY_ID,
        customer_id=None,
        # The key does not change; it names the type the entry is about.
        changes={"key": {"before": key, "after": key}, **changes},
    )
    return case_type


# ---- numbers ---------------------------------------------------------------------------


def _next_number(session: Session) -> str:
    """The next case number. The UPDATE locks the counter row until the transaction ends, so
    concurrent creators queue one behind another; a rolled-back creation leaves a gap, never
    a reused number."""
    bump = (
        update(Counter)
        .where(Counter.name == CASE_COUNTER)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    options = {"synchronize_session": False}
    value = session.execute(bump, execution_options=options).scalar_one_or_none()
    if value is None:
        _create_counter(session)
        value = session.execute(bump, execution_options=options).scalar_one()
    return format_number(value)


def _create_counter(session: Session) -> None:
    """Recreates a missing counter row (the migration seeds it), starting after the highest
    number in use. Concurrent creators both try; one insert wins, the other does nothing."""
    last = session.scalars(
        select(Case.number).order_by(func.length(Case.number).desc(), Case.number.desc()).limit(1)
    ).first()
    digits = re.sub(r"\D", "", last or "")
    start = int(digits) if digits else 0
    locks.insert_or_ignore(
        session, Counter, {"name": CASE_COUNTER, "value": start}, unique=["name"]
    )


# ---- cases -----------------------------------------------------------------------------


def _check_references(
    session: Session,
    values: dict[str, Any],
    names: set[str],
    errors: ErrorCollector,
    *,
    customer_id: int,
) -> None:
    """Checks the referenced type, campaign, account (one of the customer's own) and
    assignee among `names`."""
    if "type" in names and values["type"] is not None:
        case_type = session.get(CaseType, values["type"])
        if case_type is None:
            errors.add("type", f"case type {values['type']!r} does not exist")
        elif not case_type.active:
            errors.add("type", f"case type {values['type']!r} is inactive")
    campaign_id = values["campaign_id"] if "campaign_id" in names else None
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        errors.add("campaign_id", f"campaign {campaign_id} does not exist")
    account_id = values["account_id"] if "account_id" in names else None
    if account_id is not None and (
        accounts.account_of_customer(session, customer_id=customer_id, account_id=account_id)
        is None
    ):
        errors.add("account_id", f"account {account_id} is not an account of this customer")
    if "assigned_to" in names and values["assigned_to"] is not None:
        user = session.get(User, values["assigned_to"])
        if user is None:
            errors.add("assigned_to", f"user {values['assigned_to']} does not exist")
        elif not user.active:
            errors.add("assigned_to", f"user {values['assigned_to']} is not active")


def create_case(session: Session, *, actor: Actor, customer_id: int, data: CaseCreate) -> Case:
    access.writable(session, actor, customer_id, permission=Permission.CASE_WRITE)
    values = data.model_dump()
    errors = ErrorCollector()
    _check_references(session, values, set(values), errors, customer_id=customer_id)
    errors.raise_if_any()
    now = utcnow()
    case = Case(
        **values,
        number=_next_number(session),
        customer_id=customer_id,
        closed_at=now if values["status"] in FINAL_STATUSES else None,
        version=1,
        created_at=now,
        created_by=actor.username,
        updated_at=now,
        updated_by=actor.username,
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("the case collides with data written at the same time") from exc
    audit.record_created(
        session,
        actor=actor,
        entity="case",
        entity_id=case.id,
        customer_id=customer_id,
        snapshot=snapshot(case),
    )
    return case


def get_case(session: Session, *, actor: Actor, case_id: int) -> Case:
    """The case, if the actor may see its customer (`access`)."""
    actor.require(Permission.CASE_READ)
    query = access.join_visible(select(Case), actor, Case.customer_id)
    case = session.scalars(query.where(Case.id == case_id)).one_or_none()
    if case is None:
        raise NotFound(f"case {case_id} does not exist")
    return case


def _case_for_write(session: Session, actor: Actor, case_id: int) -> Case:
    """The case, locked, if the actor may change its customer's card (`access.writable`,
    which locks the customer first)."""
    customer_id = session.scalar(select(Case.customer_id).where(Case.id == case_id))
    if customer_id is None:
        raise NotFound(f"case {case_id} does not exist")
    try:
        access.writable(session, actor, customer_id, permission=Permission.CASE_WRITE)
    except NotFound:
        raise NotFound(f"case {case_id} does not exist") from None
    return session.scalars(
        select(Case)
        .where(Case.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def update_case(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    data: CaseUpdate,
    expected_version: int | None,
) -> Case:
    """Changes the fields sent. Closing or cancelling sets closed_at, reopening clears it;
    cancelling deletes the case's comments, and the history entry counts them."""
    actor.require(Permission.CASE_WRITE)
    case = _case_for_write(session, actor, case_id)
    if expected_version is not None and expected_version != case.version:
        raise PreconditionFailed(
            f"case {case.id} is at version {case.version}, not {expected_version}; "
            "reload it and apply the change again",
            current_version=case.version,
        )
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    for name in sorted(NOT_NULLABLE & given.keys()):
        if given[name] is None:
            errors.add(name, "may not be null")
    errors.raise_if_any()

    before = snapshot(case)
    changed = {name for name, value in given.items() if value != before[name]}
    _check_references(session, {**before, **given}, changed, errors, customer_id=case.customer_id)
    errors.raise_if_any()
    if not changed:
        return case

    for name in changed:
        setattr(case, name, given[name])
    now = utcnow()
    if case.status in FINAL_STATUSES:
        if before["status"] not in FINAL_STATUSES:
            case.closed_at = now
    else:
        case.closed_at = None
    removed = 0
    if case.status == "cancelled" and before["status"] != "cancelled":
        result = session.execute(delete(CaseComment).where(CaseComment.case_id == case.id))
        removed = result.rowcount or 0  # type: ignore[attr-defined]

    changes = audit.diff(before, snapshot(case))
    if removed:
        changes["comments"] = {"before": removed, "after": 0}
    case.version += 1
    case.updated_at = now
    case.updated_by = actor.username
    audit.record(
        session,
        actor=actor,
        action="case.updated",
        entity="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        changes=changes,
    )
    return case


@dataclass(frozen=True)
class CaseFilter:
    status: tuple[str, ...] = ()
    campaign_id: int | None = None
    since: dt.datetime | None = None  # created at or after
    until: dt.datetime | None = None  # created before


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A filter time; one given without a zone is read as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _window(query: Select[Any], since: dt.datetime | None, until: dt.datetime | None):
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since >= until:
        raise Invalid.field("until", "must be later than since")
    if since is not None:
        query = query.where(Case.created_at >= since)
    if until is not None:
        query = query.where(Case.created_at < until)
    return query


def list_cases(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    filters: CaseFilter,
    cursor: str | None,
    limit: int,
) -> tuple[list[Case], str | None]:
    """A customer's cases, newest first, keyset-paginated on (created_at, id): the index
    ix_cases_customer_id_created_at_id serves the filter, the order and the cursor."""
    customer = access.readable(session, actor, customer_id, permission=Permission.CASE_READ)
    limit = max(1, min(limit, MAX_LIMIT))
    owners: Any = Case.customer_id == customer_id
    if customer.kind == "company":  # P1: a company's card lists the cases of its people too
        people = select(Customer.id).where(
            Customer.company_id == customer_id, access.visible(actor)
        )
        owners = or_(owners, Case.customer_id.in_(people))
    query = _window(select(Case).where(owners), filters.since, filters.until)
    if filters.status:
        query = query.where(Case.status.in_(filters.status))
    if filters.campaign_id is not None:
        query = query.where(Case.campaign_id == filters.campaign_id)
    if cursor:
        last_at, last_id = decode_cursor(cursor, kinds=(dt.datetime, int))
        query = query.where(tuple_(Case.created_at, Case.id) < tuple_(last_at, last_id))
    query = query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    page = rows[:limit]
    next_cursor = encode_cursor([page[-1].created_at, page[-1].id]) if len(rows) > limit else None
    return page, next_cursor


# ---- indicators (for the customer's dashboard) -----------------------------------------


def cases_by_status(
    session: Session,
    *,
    customer_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[str, int]:
    """How many of the customer's cases created in [since, until) are in each status.
    Checks no permission: the dashboard that calls it does."""
    query = _window(
        select(Case.status, func.count()).where(Case.customer_id == customer_id), since, until
    ).group_by(Case.status)
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(query):
        counts[status] = count
    return counts


def cases_by_campaign(
    session: Session,
    *,
    customer_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The customer's cases created in [since, until) per campaign (None: no campaign),
    most first: [{"campaign_id", "campaign_name", "count"}]. Checks no permission."""
    query = _window(
        select(Case.campaign_id, Campaign.name, func.count())
        .outerjoin(Campaign, Campaign.id == Case.campaign_id)
        .where(Case.customer_id == customer_id),
        since,
        until,
    ).group_by(Case.campaign_id, Campaign.name)
    rows = [
        {"campaign_id": campaign_id, "campaign_name": name, "count": count}
        for campaign_id, name, count in session.execute(query)
    ]
    return sorted(
        rows, key=lambda r: (-r["count"], r["campaign_name"] or "", r["campaign_id"] or 0)
    )


# ---- notes -----------------------------------------------------------------------------


def _note_snapshot(note: CaseNote, case: Case) -> dict[str, Any]:
    return {"case_id": case.id, "case_number": case.number, "text": note.text, "color": note.color}


def list_notes(session: Session, *, actor: Actor, case_id: int) -> list[CaseNote]:
    """The case's private notes, oldest first."""
    case = get_case(session, actor=actor, case_id=case_id)
    return list(
        session.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id))
    )


def add_note(session: Session, *, actor: Actor, case_id: int, data: CaseNoteCreate) -> CaseNote:
    actor.require(Permission.CASE_WRITE)
    case = _case_for_write(session, actor, case_id)
    note = CaseNote(
        case_id=case.id,
        customer_id=case.customer_id,
        text=data.text,
        color=data.color,
        created_at=utcnow(),
        created_by=actor.username,
    )
    session.add(note)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        entity="case_note",
        entity_id=note.id,
        customer_id=case.customer_id,
        snapshot=_note_snapshot(note, case),
    )
    return note


def delete_note(session: Session, *, actor: Actor, case_id: int, note_id: int) -> None:
    actor.require(Permission.CASE_WRITE)
    case = _case_for_write(session, actor, case_id)
    note = session.scalars(
        select(CaseNote).where(CaseNote.id == note_id, CaseNote.case_id == case.id)
    ).one_or_none()
    if note is None:
        raise NotFound(f"note {note_id} does not exist on case {case_id}")
    audit.record(
        session,
        actor=actor,
        action="case_note.deleted",
        entity="case_note",
        entity_id=note.id,
        customer_id=case.customer_id,
        changes=audit.diff(_note_snapshot(note, case), {}),
    )
    session.delete(note)
    session.flush()


# ---- comments --------------------------------------------------------------------------


def list_comments(session: Session, *, actor: Actor, case_id: int) -> list[CaseComment]:
    """The case's internal comments, oldest first."""
    case = get_case(session, actor=actor, case_id=case_id)
    return list(
        session.scalars(
            select(CaseComment).where(CaseComment.case_id == case.id).order_by(CaseComment.id)
        )
    )


def get_comment(session: Session, *, actor: Actor, case_id: int, comment_id: int) -> CaseComment:
    case = get_case(session, actor=actor, case_id=case_id)
    comment = session.scalars(
        select(CaseComment).where(CaseComment.id == comment_id, CaseComment.case_id == case.id)
    ).one_or_none()
    if comment is None:
        raise NotFound(f"comment {comment_id} does not exist on case {case_id}")
    return comment


def add_comment(
    session: Session, *, actor: Actor, case_id: int, data: CaseCommentCreate
) -> CaseComment:
    """Posts an internal comment on the case, or on one of the customer's messages in it.
    The case row is locked, so a concurrent cancellation cannot miss the comment."""
    actor.require(Permission.CASE_WRITE)
    case = _case_for_write(session, actor, case_id)
    if case.status == "cancelled":
        raise Conflict(
            f"case {case.number} is cancelled; reopen it to comment",
            errors=[FieldError("status", "the case is cancelled")],
        )
    if data.interaction_id is not None:
        interaction = session.get(Interaction, data.interaction_id)
        if interaction is None or interaction.customer_id != case.customer_id:
            raise Invalid.field(
                "interaction_id",
                f"interaction {data.interaction_id} does not exist on this customer",
            )
    comment = CaseComment(
        case_id=case.id,
        customer_id=case.customer_id,
        interaction_id=data.interaction_id,
        text=data.text,
        created_at=utcnow(),
        created_by=actor.username,
    )
    session.add(comment)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        entity="case_comment",
        entity_id=comment.id,
        customer_id=case.customer_id,
        snapshot={
            "case_id": case.id,
            "case_number": case.number,
            "interaction_id": comment.interaction_id,
            "text": comment.text,
        },
    )
    return comment


def comments_are_final(*, comment_id: int, change: str) -> CommentsAreFinal:
    """The refusal of an edit or a deletion of a comment."""
    return CommentsAreFinal(
        f"comment {comment_id} cannot be {change}: internal comments can be neither edited "
        "nor deleted once posted (they are removed only when their case is cancelled)"
    )
