"""Ingestion: interactions from every channel, idempotent by (source, external_id), each
resolved to its customer by the customer-side contact point."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, selectinload

from clientcard import access
from clientcard.addresses import normalize_email, phone_line
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.auth.models import User
from clientcard.campaigns.models import Campaign
from clientcard.cases.models import Case
from clientcard.contacts import service as contacts
from clientcard.contacts.models import PHONE_TYPES, ContactPoint
from clientcard.contacts.schemas import ContactPointCreate
from clientcard.context import settings_of
from clientcard.customers import service as customers
from clientcard.customers.models import Customer
from clientcard.customers.schemas import CustomerCreate, LeadSource
from clientcard.db import insert_many, locks
from clientcard.errors import Conflict, FieldError, Invalid, NotFound
from clientcard.interactions.models import Interaction
from clientcard.interactions.schemas import InteractionIn, ItemResult
from clientcard.live import bus as live
from clientcard.live import events as live_events
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor

ORIGIN = "ingestion"
PREVIEW_LENGTH = 140
_SPACES = re.compile(r"\s+")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_PLAIN_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass
class _Item:
    index: int
    data: InteractionIn
    customer_id: int | None = None
    ambiguous: bool = False
    candidates: list[int] = field(default_factory=list)
    point: tuple[str, str, str] | None = None  # (type, value as given, normalized)
    quick: bool = False  # point read by `quick_point_of`, not yet by the libraries
    errors: list[FieldError] = field(default_factory=list)
    repeats: list[_Item] = field(default_factory=list)  # the same item again in the batch


def _field_errors(exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(".".join(str(p) for p in e["loc"]) or "item", e["msg"]) for e in exc.errors()
    ]


def customer_side(data: InteractionIn) -> tuple[str, str | None]:
    """The field naming the customer's address: `from` when they reached us, else `to`."""
    return ("from", data.from_) if data.direction == "inbound" else ("to", data.to)


def contact_point_of(data: InteractionIn, *, region: str) -> tuple[str, str, str]:
    """(type, value, normalized) of the customer-side address, read by channel; a national
    phone number is read in `region`."""
    name, value = customer_side(data)
    if not value or not value.strip():
        raise Invalid.field(name, "is required to find the customer (or send customer_id)")
    value = value.strip()
    channel = data.channel
    if channel == "email" or (channel in ("chat", "web", "social") and "@" in value):
        return "email", value, normalize_email(value, field=name)
    if channel in ("voice", "sms", "whatsapp"):
        line = phone_line(value, region)
        if line is None:
            raise Invalid.field(name, f"is not a valid phone number (read in {region})")
        e164, mobile = line
        if channel == "whatsapp":
            return "whatsapp", value, e164
        return ("mobile" if mobile else "phone"), value, e164
    if channel == "social":
        network, _, handle = value.partition(":")
        if not handle:
            raise Invalid.field(name, "a social address is written network:handle")
        return (
            "social",
            value,
            f"{network.strip().lower()}:{handle.strip().removeprefix('@').lower()}",
        )
    line = phone_line(value, region)
    if line is not None:
        return "mobile", value, line[0]
    return "web", value, value


def _matching_types(point_type: str) -> Iterable[str]:
    return PHONE_TYPES if point_type in PHONE_TYPES else (point_type,)


def preview_of(data: InteractionIn) -> str | None:
    if data.channel == "voice":
        parts = [f"{data.direction} call"]
        if data.status:
            parts.append(data.status)
        if data.details.duration_s is not None:
            minutes, seconds = divmod(data.details.duration_s, 60)
            parts.append(f"{minutes} min {seconds} s")
        if data.queue:
            parts.append(f"queue {data.queue}")
        return ", ".join(parts)
    text = " — ".join(p for p in (data.subject, data.body) if p)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > PREVIEW_LENGTH:
        text = text[: PREVIEW_LENGTH - 1] + "…"
    return text or None


def ingest(session: Session, *, actor: Actor, items: list[dict[str, Any]]) -> list[ItemResult]:
    """Stores each valid item once; one bad item never sinks the others."""
    actor.require(Permission.INTERACTION_INGEST)
    results: dict[int, ItemResult] = {}
    pending: list[_Item] = []
    for index, raw in enumerate(items):
        try:
            pending.append(_Item(index, InteractionIn.model_validate(raw)))
        except ValidationError as exc:
            results[index] = _error(index, _field_errors(exc))

    pending = _drop_duplicates(session, pending, results)
    _check_references(session, pending)
    region = settings_of(session).default_region  # national numbers are read in it
    _resolve(session, actor, [i for i in pending if not i.errors], region)
    for item in pending:
        if item.errors:
            results[item.index] = _error(item.index, item.errors)
    good = [i for i in pending if not i.errors]
    _lock_customers(session, good)
    _capture_contact_points(session, actor, good)
    _insert(session, actor, good, results)
    _queue_live_events(session, good, results)
    return [results[i] for i in range(len(items))]


def _queue_live_events(
    session: Session, items: list[_Item], results: dict[int, ItemResult]
) -> None:
    """After commit: one event per customer with the ids of their new interactions, and one
    screen pop per agent (the latest inbound call or chat routed to them)."""
    created: dict[int, list[int]] = defaultdict(list)
    pops: dict[str, tuple[dt.datetime, int, int, str]] = {}
    now = dt.datetime.now(dt.UTC)
    for item in items:
        result = results[item.index]
        if result.result != "created" or result.id is None or result.customer_id is None:
            continue
        created[result.customer_id].append(result.id)
        data = item.data
        if data.agent and live_events.pops_card(
            channel=data.channel,
            direction=data.direction,
            agent=data.agent,
            status=data.status,
            started_at=data.started_at,
            ended_at=data.ended_at,
            now=now,
        ):
            pop = (data.started_at, result.id, result.customer_id, data.channel)
            if data.agent not in pops or pops[data.agent] < pop:
                pops[data.agent] = pop
    events = [live_events.interactions_added(cid, ids) for cid, ids in created.items()]
    events += [
        live_events.screen_pop(agent, customer_id=cid, channel=channel, interaction_id=id_)
        for agent, (_, id_, cid, channel) in pops.items()
    ]
    live.publish(session, events)


def _error(index: int, errors: list[FieldError]) -> ItemResult:
    return ItemResult(
        index=index,
        result="error",
        errors=[{"field": e.field, "message": e.message} for e in errors],
    )


def _drop_duplicates(
    session: Session, pending: list[_Item], results: dict[int, ItemResult]
) -> list[_Item]:
    """Items already stored (or repeated within the batch) answer with the first id."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for item in pending:
        by_source[item.data.source].add(item.data.external_id)
    stored: dict[tuple[str, str], tuple[int, int]] = {}
    for source, external_ids in by_source.items():
        ids = list(external_ids)
        for start in range(0, len(ids), 500):
            rows = session.execute(
                select(Interaction.external_id, Interaction.id, Interaction.customer_id).where(
                    Interaction.source == source,
                    Interaction.external_id.in_(ids[start : start + 500]),
                )
            )
            for external_id, id_, customer_id in rows:
                stored[(source, external_id)] = (id_, customer_id)
    fresh: list[_Item] = []
    first_in_batch: dict[tuple[str, str], _Item] = {}
    for item in pending:
        key = (item.data.source, item.data.external_id)
        if key in stored:
            id_, customer_id = stored[key]
            results[item.index] = ItemResult(
                index=item.index, id=id_, customer_id=customer_id, result="duplicate"
            )
        elif key in first_in_batch:
            first_in_batch[key].repeats.append(item)  # answered once the first is stored
        else:
            first_in_batch[key] = item
            fresh.append(item)
    return fresh


def _check_references(session: Session, pending: list[_Item]) -> None:
    """Customer, case, campaign and agent named by the items must exist (a query each)."""

    def ids(attribute: str) -> set[Any]:
        return {getattr(i.data, attribute) for i in pending} - {None, ""}

    def lookup(query: Any, values: set[Any]) -> dict[Any, Any]:
        return dict(session.execute(query).all()) if values else {}

    customer_ids, case_ids = ids("customer_id"), ids("case_id")
    campaign_ids, agents = ids("campaign_id"), ids("agent")
    customers_ok = lookup(
        select(Customer.id, Customer.id).where(
            Customer.id.in_(customer_ids), Customer.deleted_at.is_(None)
        ),
        customer_ids,
    )
    case_owner = lookup(select(Case.id, Case.customer_id).where(Case.id.in_(case_ids)), case_ids)
    campaigns_ok = lookup(
        select(Campaign.id, Campaign.id).where(Campaign.id.in_(campaign_ids)), campaign_ids
    )
    agents_ok = lookup(select(User.username, User.id).where(User.username.in_(agents)), agents)
    for item in pending:
        data = item.data
        if data.customer_id is not None and data.customer_id not in customers_ok:
            item.errors.append(
                FieldError("customer_id", f"customer {data.customer_id} does not exist")
            )
        if data.case_id is not None:
            owner = case_owner.get(data.case_id)
            if owner is None:
                item.errors.append(FieldError("case_id", f"case {data.case_id} does not exist"))
            elif data.customer_id is not None and owner != data.customer_id:
                item.errors.append(FieldError("case_id", "belongs to another customer"))
            elif data.customer_id is None:
                item.customer_id = owner
        if data.campaign_id is not None and data.campaign_id not in campaigns_ok:
            item.errors.append(
                FieldError("campaign_id", f"campaign {data.campaign_id} does not exist")
            )
        if data.agent and data.agent not in agents_ok:
            item.errors.append(FieldError("agent", f"no user {data.agent!r}"))
        if data.ended_at is not None and data.ended_at < data.started_at:
            item.errors.append(FieldError("ended_at", "is before started_at"))
        if data.customer_id is not None:
            item.customer_id = data.customer_id


def quick_point_of(data: InteractionIn) -> tuple[str, str, str] | None:
    """(type, value, normalized) of a customer-side address already in its normalized
    form (+E.164 as telephony platforms send it, an ASCII e-mail address in any case), read
    without the phone and e-mail libraries; None for anything else. It only serves to find
    an existing contact point, whose normalized value was checked when it was stored: an
    address this reading finds no owner for is read again fully (`contact_point_of`)."""
    _, value = customer_side(data)
    if not value:
        return None
    value = value.strip()
    channel = data.channel
    if channel in ("voice", "sms", "whatsapp") and _E164.fullmatch(value):
        return ("whatsapp" if channel == "whatsapp" else "phone"), value, value
    if channel == "email" and value.isascii() and _PLAIN_EMAIL.fullmatch(value):
        return "email", value, value.lower()
    return None


def _resolve(session: Session, actor: Actor, pending: list[_Item], region: str) -> None:
    """Finds each item's customer by its contact point; an unknown one becomes a new lead,
    several matches go to the most recently active one, flagged as ambiguous. Addresses
    already in normalized form are matched first without being parsed (`quick_point_of`);
    only the others, and those that match nobody, go through the phone and e-mail
    libraries."""
    unresolved: list[_Item] = []
    for item in pending:
        quick = quick_point_of(item.data) if item.customer_id is None else None
        if quick is not None:
            item.point, item.quick = quick, True
            unresolved.append(item)
        elif _read_point(item, region) and item.customer_id is None:
            unresolved.append(item)
    missed: list[_Item] = []
    read_again: list[_Item] = []
    for item in _match_owners(session, unresolved):
        if item.quick:  # matched nobody: read it fully, it may be invalid or another number
            quick_value = item.point[2] if item.point else None
            if not _read_point(item, region):
                continue
            if item.point and item.point[2] != quick_value:
                read_again.append(item)
                continue
        missed.append(item)
    missed += _match_owners(session, read_again)
    if not missed:
        return
    unknown = _by_address(_claim_unknown(session, missed))
    if not unknown:
        return
    # One new lead per unknown address, all created at once; the first item's lead source.
    leads = customers.create_leads(
        session,
        actor=actor,
        items=[_lead_of(items[0]) for items in unknown.values()],
        origin=ORIGIN,
    )
    for items, lead_id in zip(unknown.values(), leads, strict=True):
        for item in items:
            item.customer_id = lead_id


def _claim_unknown(session: Session, missed: list[_Item]) -> list[_Item]:
    """The items of unknown addresses this batch may create leads for, under locks.

    Two platforms reporting the same unknown number at the same moment would otherwise each
    create a lead for it: neither transaction sees the other's uncommitted one. So the batch
    locks each unknown address (`db.locks.lock_keys`, taken in one order by every batch)
    and, when it had to wait for the locks, matches the addresses again: a lead a batch
    committed while this one waited is found and used."""
    addresses = [i.point[2] for i in missed if i.point]
    if not locks.lock_keys(session, locks.LockSpace.LEAD_FOR_ADDRESS, addresses):
        return missed
    return _match_owners(session, missed)


def _by_address(items: list[_Item]) -> dict[tuple[str, str], list[_Item]]:
    """Items grouped by their address's type and normalized value."""
    grouped: dict[tuple[str, str], list[_Item]] = defaultdict(list)
    for item in items:
        assert item.point is not None
        grouped[(item.point[0], item.point[2])].append(item)
    return grouped


def _read_point(item: _Item, region: str) -> bool:
    """Reads the item's address fully; an invalid one is the item's error unless the item
    names its customer (then the address only goes unrecorded)."""
    try:
        item.point = contact_point_of(item.data, region=region)
    except Invalid as exc:
        item.point = None
        if item.customer_id is None:
            item.errors.extend(exc.errors)
        return False
    item.quick = False
    return True


def _match_owners(session: Session, items: list[_Item]) -> list[_Item]:
    """Sets each item's customer from the owners of its address; returns those with none."""
    wanted = list({i.point[2] for i in items if i.point})
    owners: dict[str, list[tuple[int, str, dt.datetime | None]]] = defaultdict(list)
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(
                ContactPoint.normalized,
                ContactPoint.customer_id,
                ContactPoint.type,
                Customer.last_interaction_at,
            )
            .join(Customer, Customer.id == ContactPoint.customer_id)
            .where(
                ContactPoint.normalized.in_(wanted[start : start + 500]),
                Customer.deleted_at.is_(None),
            )
        )
        for normalized, customer_id, kind, last in rows:
            owners[normalized].append((customer_id, kind, last))
    missed = []
    for item in items:
        assert item.point is not None
        kind, _, normalized = item.point
        types = set(_matching_types(kind))
        found = {cid: last for cid, t, last in owners.get(normalized, []) if t in types}
        if len(found) == 1:
            item.customer_id = next(iter(found))
        elif found:
            ordered = sorted(
                found, key=lambda cid: (found[cid] is not None, found[cid] or 0, cid), reverse=True
            )
            item.customer_id, item.ambiguous, item.candidates = ordered[0], True, sorted(found)
        else:
            missed.append(item)
    return missed


def _lead_of(item: _Item) -> CustomerCreate:
    """A new customer for an unknown address, with the lead source the platform sent."""
    assert item.point is not None
    kind, value, normalized = item.point
    if kind == "social":  # social addresses come as network:handle
        network, _, handle = value.partition(":")
        point = ContactPointCreate(type="social", network=network or "unknown", value=handle)
    else:
        point = ContactPointCreate(type=kind, value=normalized if kind in PHONE_TYPES else value)
    lead_source = item.data.lead_source or LeadSource()
    if lead_source.entry_method is None:
        lead_source = lead_source.model_copy(update={"entry_method": "channel"})
    return CustomerCreate(kind="person", contact_points=[point], lead_source=lead_source)


def _lock_customers(session: Session, items: list[_Item]) -> None:
    """Locks the batch's customers in id order before anything is written, so two
    platforms sending overlapping batches queue on their first shared customer instead of
    deadlocking on each other's rows."""
    locks.lock_rows(
        session, Customer.id, {i.customer_id for i in items if i.customer_id is not None}
    )


def _capture_contact_points(session: Session, actor: Actor, items: list[_Item]) -> None:
    """C6: an inbound address new to a customer named by id is added to their card."""
    wanted: dict[int, dict[tuple[str, str], str]] = defaultdict(dict)
    for item in items:
        if item.data.customer_id is not None and item.point and item.data.direction == "inbound":
            kind, value, normalized = item.point
            if kind != "social":
                wanted[item.customer_id][(kind, normalized)] = value  # type: ignore[index]
    if not wanted:
        return
    loaded = session.scalars(
        select(Customer)
        .where(Customer.id.in_(wanted))
        .options(selectinload(Customer.contact_points))
        .execution_options(populate_existing=True)  # as committed before our lock
    )
    for customer in loaded:
        held = {(p.type, p.normalized) for p in customer.contact_points}
        phones_held = {p.normalized for p in customer.contact_points if p.type in PHONE_TYPES}
        new = [
            ContactPointCreate(type=kind, value=normalized if kind in PHONE_TYPES else value)
            for (kind, normalized), value in wanted[customer.id].items()
            if (kind, normalized) not in held
            and not (kind in PHONE_TYPES and normalized in phones_held)
        ]
        if new:
            contacts.add_points(
                session,
                actor=actor,
                customer=customer,
                items=new,
                origin=ORIGIN,
            )


def _insert(
    session: Session, actor: Actor, items: list[_Item], results: dict[int, ItemResult]
) -> None:
    if not items:
        return
    session.flush()
    # In key order, so that concurrent batches take the unique index's locks in one order.
    rows = sorted(
        (_row(item, actor) for item in items), key=lambda r: (r["source"], r["external_id"])
    )
    stored = {
        (source, external_id): id_
        for id_, source, external_id in insert_many(
            session.connection(),
            Interaction.__table__,
            rows,
            skip_conflicts_on=("source", "external_id"),
            returning=("id", "source", "external_id"),
        )
    }
    latest: dict[int, dt.datetime] = {}
    for item in items:
        key = (item.data.source, item.data.external_id)
        if key in stored:
            results[item.index] = ItemResult(
                index=item.index,
                id=stored[key],
                customer_id=item.customer_id,
                result="created",
                ambiguous=item.ambiguous,
                candidates=item.candidates,
            )
            assert item.customer_id is not None
            started = item.data.started_at.astimezone(dt.UTC)
            if item.customer_id not in latest or latest[item.customer_id] < started:
                latest[item.customer_id] = started
        else:  # stored by a concurrent writer since we looked
            id_, customer_id = session.execute(
                select(Interaction.id, Interaction.customer_id).where(
                    Interaction.source == key[0], Interaction.external_id == key[1]
                )
            ).one()
            results[item.index] = ItemResult(
                index=item.index, id=id_, customer_id=customer_id, result="duplicate"
            )
        for repeat in item.repeats:
            first = results[item.index]
            results[repeat.index] = ItemResult(
                index=repeat.index, id=first.id, customer_id=first.customer_id, result="duplicate"
            )
    _move_last_interaction(session, latest)


def _row(item: _Item, actor: Actor) -> dict[str, Any]:
    data = item.data
    return {
        "customer_id": item.customer_id,
        "source": data.source,
        "external_id": data.external_id,
        "channel": data.channel,
        "direction": data.direction,
        "from_address": data.from_,
        "to_address": data.to,
        "contact_normalized": item.point[2] if item.point else None,
        "agent": data.agent,
        "queue": data.queue,
        "campaign_id": data.campaign_id,
        "case_id": data.case_id,
        "status": data.status,
        "read": data.read,
        "subject": data.subject,
        "body": data.body,
        "preview": preview_of(data),
        "details": data.details.model_dump(mode="json", exclude_defaults=True),
        "started_at": data.started_at,
        "ended_at": data.ended_at,
        "ambiguous": item.ambiguous,
        "candidates": item.candidates,
        "created_at": dt.datetime.now(dt.UTC),
        "created_by": actor.username,
    }


def _move_last_interaction(session: Session, latest: dict[int, dt.datetime]) -> None:
    """Moves each customer's last-interaction date forward (never back). Not a card edit:
    the version stays, so an agent's open form does not go stale."""
    if not latest:
        return
    table = Customer.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .where(
            or_(
                table.c.last_interaction_at.is_(None),
                table.c.last_interaction_at < bindparam("b_at"),
            )
        )
        .values(last_interaction_at=bindparam("b_at"))
    )
    session.connection().execute(
        statement, [{"b_id": cid, "b_at": at} for cid, at in sorted(latest.items())]
    )


# ---- reading -----------------------------------------------------------------------------


def get_interaction(session: Session, *, actor: Actor, interaction_id: int) -> Interaction:
    actor.require(Permission.INTERACTION_READ)
    interaction = session.get(Interaction, interaction_id)
    if interaction is None or not access.may_read(
        actor, session.get(Customer, interaction.customer_id)
    ):
        raise NotFound(f"interaction {interaction_id} does not exist")
    return interaction


def list_ambiguous(
    session: Session, *, actor: Actor, cursor: str | None, limit: int
) -> tuple[list[Interaction], str | None]:
    """Interactions whose contact point matched several customers, newest first."""
    actor.require(Permission.INTERACTION_READ)
    limit = max(1, min(limit, MAX_LIMIT))
    query = access.join_visible(
        select(Interaction).where(Interaction.ambiguous.is_(True)), actor, Interaction.customer_id
    )
    if cursor:
        (last_id,) = decode_cursor(cursor, kinds=(int,))
        query = query.where(Interaction.id < last_id)
    rows = list(session.scalars(query.order_by(Interaction.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def resolve_ambiguous(
    session: Session, *, actor: Actor, interaction_id: int, customer_id: int
) -> Interaction:
    """An agent names the right customer of an ambiguous interaction."""
    actor.require(Permission.CUSTOMER_WRITE)
    owner_id = session.scalar(
        select(Interaction.customer_id).where(Interaction.id == interaction_id)
    )
    if owner_id is None:
        raise NotFound(f"interaction {interaction_id} does not exist")
    # Both cards change (the interaction leaves one timeline for the other): both locked,
    # customers first as everywhere, and nothing moves off or onto a deleted card.
    try:
        _, target = access.writable_with_other(session, actor, owner_id, customer_id)
    except NotFound:
        raise NotFound(f"interaction {interaction_id} does not exist") from None
    if target is None:
        raise Invalid.field("customer_id", f"customer {customer_id} does not exist")
    interaction = session.scalars(
        select(Interaction)
        .where(Interaction.id == interaction_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if interaction.customer_id != owner_id:
        raise Conflict(f"interaction {interaction_id} was resolved at the same time; reload it")
    before = {"customer_id": interaction.customer_id, "ambiguous": interaction.ambiguous}
    interaction.customer_id = customer_id
    interaction.ambiguous = False
    changes = audit.diff(before, {"customer_id": customer_id, "ambiguous": False})
    for affected in {before["customer_id"], customer_id}:
        audit.record(
            session,
            actor=actor,
            action="interaction.resolved",
            entity="interaction",
            entity_id=interaction.id,
            customer_id=affected,
            changes=changes,
        )
    _move_last_interaction(session, {customer_id: interaction.started_at})
    live.publish(
        session,
        [
            live_events.timeline_changed(before["customer_id"]),
            live_events.interactions_added(customer_id, [interaction.id]),
        ],
    )
    return interaction
