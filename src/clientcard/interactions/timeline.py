"""The unified timeline: interactions of every channel, customer notes and case events,
newest first, paged by keyset over (time, kind, id) so that paging while new items arrive
neither repeats nor skips one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.cases.models import Case
from clientcard.customers.models import Customer
from clientcard.errors import NotFound
from clientcard.interactions.models import CustomerNote, Interaction
from clientcard.interactions.schemas import TimelineItem
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor

# Order of kinds that share a timestamp (higher first).
RANK = {"interaction": 3, "note": 2, "case_closed": 1, "case_opened": 0}


@dataclass(frozen=True)
class TimelineFilter:
    channel: str | None = None
    direction: str | None = None
    case_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _before(at_column: Any, id_column: Any, rank: int, cursor: tuple[dt.datetime, int, int]):
    """Rows of one source that come after the cursor in (at, rank, id) descending order."""
    at, cursor_rank, cursor_id = cursor
    if rank < cursor_rank:
        return at_column <= at
    if rank > cursor_rank:
        return at_column < at
    # A row-value comparison, not `at < x OR (at = x AND id < y)`: both databases read it as
    # a range of the (customer_id, started_at, id) index, so a deep page starts where the
    # previous one ended instead of filtering every newer row again.
    return tuple_(at_column, id_column) < tuple_(at, cursor_id)


def _window(column: Any, filters: TimelineFilter) -> list[Any]:
    conditions = []
    if filters.since:
        conditions.append(column >= filters.since)
    if filters.until:
        conditions.append(column < filters.until)
    return conditions


def _decode(cursor: str | None) -> tuple[dt.datetime, int, int] | None:
    if not cursor:
        return None
    at, rank, id_ = decode_cursor(cursor, kinds=(dt.datetime, int, int))
    return at, rank, id_


def customer_timeline(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    filters: TimelineFilter,
    cursor: str | None,
    limit: int,
) -> tuple[list[TimelineItem], str | None]:
    access.readable(session, actor, customer_id, permission=Permission.INTERACTION_READ)
    limit = max(1, min(limit, MAX_LIMIT))
    after = _decode(cursor)
    only_interactions = filters.channel is not None or filters.direction is not None
    items: list[TimelineItem] = []

    query = select(Interaction).where(Interaction.customer_id == customer_id)
    items += _interactions(session, query, filters, after, limit)
    if not only_interactions and filters.case_id is None:
        items += _notes(session, customer_id, filters, after, limit)
    if not only_interactions:
        items += _case_events(session, customer_id, filters, after, limit)
    return _page(items, limit)


def case_timeline(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    include_previous: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[TimelineItem], str | None]:
    """A case's interactions; with include_previous, the customer's other interactions too,
    each marked with its case."""
    actor.require(Permission.INTERACTION_READ)
    case = session.get(Case, case_id)
    if case is None or not access.may_read(actor, session.get(Customer, case.customer_id)):
        raise NotFound(f"case {case_id} does not exist")
    limit = max(1, min(limit, MAX_LIMIT))
    after = _decode(cursor)
    if include_previous:
        query = select(Interaction).where(Interaction.customer_id == case.customer_id)
    else:
        query = select(Interaction).where(Interaction.case_id == case_id)
    items = _interactions(session, query, TimelineFilter(), after, limit)
    items += _case_events(session, case.customer_id, TimelineFilter(case_id=case_id), after, limit)
    return _page(items, limit)


def _page(items: list[TimelineItem], limit: int) -> tuple[list[TimelineItem], str | None]:
    items.sort(key=lambda i: (i.at, RANK[i.kind], i.id), reverse=True)
    page = items[:limit]
    if len(items) <= limit:
        return page, None
    last = page[-1]
    return page, encode_cursor([last.at, RANK[last.kind], last.id])


def _interactions(session, query, filters, after, limit) -> list[TimelineItem]:
    if filters.channel:
        query = query.where(Interaction.channel == filters.channel)
    if filters.direction:
        query = query.where(Interaction.direction == filters.direction)
    if filters.case_id is not None:
        query = query.where(Interaction.case_id == filters.case_id)
    query = query.where(*_window(Interaction.started_at, filters))
    if after:
        query = query.where(
            _before(Interaction.started_at, Interaction.id, RANK["interaction"], after)
        )
    rows = session.execute(
        query.with_only_columns(
            Interaction.id,
            Interaction.started_at,
            Interaction.preview,
            Interaction.channel,
            Interaction.direction,
            Interaction.status,
            Interaction.agent,
            Interaction.case_id,
        )
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
        .limit(limit + 1)
    ).all()
    numbers = _case_numbers(session, {r.case_id for r in rows if r.case_id})
    return [
        TimelineItem(
            kind="interaction",
            at=r.started_at,
            id=r.id,
            preview=r.preview,
            channel=r.channel,
            direction=r.direction,
            status=r.status,
            agent=r.agent,
            case_id=r.case_id,
            case_number=numbers.get(r.case_id),
        )
        for r in rows
    ]


def _case_numbers(session: Session, case_ids: set[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    return dict(session.execute(select(Case.id, Case.number).where(Case.id.in_(case_ids))).all())


def _notes(session, customer_id, filters, after, limit) -> list[TimelineItem]:
    query = select(CustomerNote).where(
        CustomerNote.customer_id == customer_id, *_window(CustomerNote.created_at, filters)
    )
    if after:
        query = query.where(_before(CustomerNote.created_at, CustomerNote.id, RANK["note"], after))
    rows = session.scalars(
        query.order_by(CustomerNote.created_at.desc(), CustomerNote.id.desc()).limit(limit + 1)
    )
    return [
        TimelineItem(
            kind="note", at=n.created_at, id=n.id, preview=n.text[:140], actor=n.created_by
        )
        for n in rows
    ]


def _case_events(session, customer_id, filters, after, limit) -> list[TimelineItem]:
    items = []
    for kind, column in (("case_opened", Case.created_at), ("case_closed", Case.closed_at)):
        query = select(Case).where(
            Case.customer_id == customer_id, column.is_not(None), *_window(column, filters)
        )
        if filters.case_id is not None:
            query = query.where(Case.id == filters.case_id)
        if after:
            query = query.where(_before(column, Case.id, RANK[kind], after))
        for case in session.scalars(query.order_by(column.desc(), Case.id.desc()).limit(limit + 1)):
            items.append(
                TimelineItem(
                    kind=kind,
                    at=getattr(case, column.key),
                    id=case.id,
                    preview=case.subject,
                    status=case.status,
                    actor=case.created_by if kind == "case_opened" else None,
                    case_id=case.id,
                    case_number=case.number,
                )
            )
    return items


def add_note(session: Session, *, actor: Actor, customer_id: int, text: str) -> CustomerNote:
    """A note in the customer's activity feed (I5)."""
    access.writable(session, actor, customer_id)
    note = CustomerNote(customer_id=customer_id, text=text, created_by=actor.username)
    session.add(note)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        entity="customer_note",
        entity_id=note.id,
        customer_id=customer_id,
        snapshot={"text": text},
    )
    return note
