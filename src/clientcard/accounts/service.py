"""Accounts of a customer (A1) and relations between customers (A2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.accounts.models import Account, Relation
from clientcard.accounts.schemas import AccountCreate, AccountUpdate, RelationCreate, RelationUpdate
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.base import utcnow
from clientcard.cases.models import Case
from clientcard.customers import service as customers
from clientcard.customers.models import Customer
from clientcard.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor

MAX_DATA_KEYS = 50
MAX_DATA_KEY_LENGTH = 50
ACCOUNT_FIELDS = ("number", "type", "status")
RELATION_FIELDS = ("labels", "note")


# ---- customers -------------------------------------------------------------------------


def _check_version(kind: str, row: Account | Relation, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != row.version:
        raise PreconditionFailed(
            f"{kind} {row.id} is at version {row.version}, not {expected_version}; "
            "reload it and apply the change again",
            current_version=row.version,
        )


def _page(limit: int, cursor: str | None) -> tuple[int, int | None]:
    limit = max(1, min(limit, MAX_LIMIT))
    last_id = decode_cursor(cursor, kinds=(int,))[0] if cursor else None
    return limit, last_id


# ---- accounts --------------------------------------------------------------------------


def account_snapshot(account: Account) -> dict[str, Any]:
    """What the history shows: the fields, and each data value as `data.<key>`."""
    values: dict[str, Any] = {name: getattr(account, name) for name in ACCOUNT_FIELDS}
    values.update({f"data.{key}": value for key, value in (account.data or {}).items()})
    return values


def _check_data(data: dict[str, Any], errors: ErrorCollector) -> None:
    if len(data) > MAX_DATA_KEYS:
        errors.add("data", f"has {len(data)} keys; at most {MAX_DATA_KEYS} are allowed")
    for key, value in data.items():
        if not key.strip() or len(key) > MAX_DATA_KEY_LENGTH:
            errors.add(f"data.{key}", f"keys are 1-{MAX_DATA_KEY_LENGTH} characters")
        elif isinstance(value, dict | list):
            kind = "an object" if isinstance(value, dict) else "a list"
            errors.add(
                f"data.{key}",
                f"is {kind}; values are strings, numbers, booleans or null",
            )


def _check_number_free(session: Session, *, type_: str, number: str, self_id: int | None) -> None:
    other = session.scalars(
        select(Account.id).where(
            Account.type == type_, Account.number == number, Account.id != (self_id or 0)
        )
    ).first()
    if other is not None:
        raise Conflict(
            f"a {type_} account numbered {number!r} already exists",
            errors=[FieldError("number", f"is taken by another {type_} account")],
            existing_id=other,
        )


def _flush_account(session: Session, *, type_: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "the account number was taken at the same time",
            errors=[FieldError("number", f"is taken by another {type_} account")],
        ) from exc


def account_of_customer(session: Session, *, customer_id: int, account_id: int) -> Account | None:
    """The account if it belongs to the customer, else None (for cases naming an account)."""
    return session.scalars(
        select(Account).where(Account.id == account_id, Account.customer_id == customer_id)
    ).one_or_none()


def list_accounts(
    session: Session, *, actor: Actor, customer_id: int, cursor: str | None, limit: int
) -> tuple[list[Account], str | None]:
    """The customer's accounts, oldest first, keyset-paginated on id."""
    access.readable(session, actor, customer_id)
    limit, last_id = _page(limit, cursor)
    query = select(Account).where(Account.customer_id == customer_id)
    if last_id is not None:
        query = query.where(Account.id > last_id)
    rows = list(session.scalars(query.order_by(Account.id).limit(limit + 1)))
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def get_account(session: Session, *, actor: Actor, customer_id: int, account_id: int) -> Account:
    access.readable(session, actor, customer_id)
    account = account_of_customer(session, customer_id=customer_id, account_id=account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist on customer {customer_id}")
    return account


def create_account(
    session: Session, *, actor: Actor, customer_id: int, data: AccountCreate
) -> Account:
    customer = access.writable(session, actor, customer_id)
    errors = ErrorCollector()
    _check_data(data.data, errors)
    errors.raise_if_any()
    _check_number_free(session, type_=data.type, number=data.number, self_id=None)
    now = utcnow()
    account = Account(
        customer_id=customer.id,
        number=data.number,
        type=data.type,
        status=data.status,
        data=dict(data.data),
        version=1,
        created_at=now,
        created_by=actor.username,
        updated_at=now,
        updated_by=actor.username,
    )
    session.add(account)
    _flush_account(session, type_=data.type)
    audit.record_created(
        session,
        actor=actor,
        entity="account",
        entity_id=account.id,
        customer_id=customer.id,
        snapshot=account_snapshot(account),
    )
    return account


def _account_for_write(
    session: Session, actor: Actor, customer_id: int, account_id: int, expected: int | None
) -> Account:
    access.writable(session, actor, customer_id)
    account = session.scalars(
        select(Account)
        .where(Account.id == account_id, Account.customer_id == customer_id)
        .with_for_update()
    ).one_or_none()
    if account is None:
        raise NotFound(f"account {account_id} does not exist on customer {customer_id}")
    _check_version("account", account, expected)
    return account


def update_account(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    account_id: int,
    data: AccountUpdate,
    expected_version: int | None,
) -> Account:
    """Changes the fields sent; `data`, when sent, replaces the whole object."""
    account = _account_for_write(session, actor, customer_id, account_id, expected_version)
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    for name in sorted(given):
        if given[name] is None:
            errors.add(name, "may not be null")
    if given.get("data") is not None:
        _check_data(given["data"], errors)
    errors.raise_if_any()

    before = account_snapshot(account)
    number, type_ = given.get("number", account.number), given.get("type", account.type)
    if (type_, number) != (account.type, account.number):
        _check_number_free(session, type_=type_, number=number, self_id=account.id)
    for name, value in given.items():
        setattr(account, name, dict(value) if name == "data" else value)
    changes = audit.diff(before, account_snapshot(account))
    if not changes:
        return account
    account.version += 1
    account.updated_at = utcnow()
    account.updated_by = actor.username
    _flush_account(session, type_=type_)
    audit.record(
        session,
        actor=actor,
        action="account.updated",
        entity="account",
        entity_id=account.id,
        customer_id=customer_id,
        changes=changes,
    )
    return account


def delete_account(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    account_id: int,
    expected_version: int | None,
) -> None:
    """Deletes (unlinks) the account. An account a case names is kept: 409 with the cases."""
    account = _account_for_write(session, actor, customer_id, account_id, expected_version)
    numbers = list(
        session.scalars(
            select(Case.number).where(Case.account_id == account.id).order_by(Case.id).limit(20)
        )
    )
    if numbers:
        raise Conflict(
            f"account {account.id} is named by case(s) {', '.join(numbers)}; "
            "change their account first",
            errors=[FieldError("account_id", "is named by cases")],
            cases=numbers,
        )
    audit.record(
        session,
        actor=actor,
        action="account.deleted",
        entity="account",
        entity_id=account.id,
        customer_id=customer_id,
        changes=audit.diff(
            {k: v for k, v in account_snapshot(account).items() if v is not None}, {}
        ),
    )
    session.delete(account)
    session.flush()


# ---- relations -------------------------------------------------------------------------


@dataclass(frozen=True)
class RelationView:
    """A relation seen from one customer: `other` is the customer on the other side."""

    relation: Relation
    other: Customer


def related_customer(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "name": customers.display_name(customer), "kind": customer.kind}


def _relation_snapshot(relation: Relation) -> dict[str, Any]:
    return {name: getattr(relation, name) for name in RELATION_FIELDS}


def _other_side(relation: Relation, customer_id: int) -> int:
    return relation.other_id if relation.customer_id == customer_id else relation.customer_id


def _involves(customer_id: int) -> Any:
    return or_(Relation.customer_id == customer_id, Relation.other_id == customer_id)


def _check_labels(labels: list[str], errors: ErrorCollector) -> list[str]:
    seen: set[str] = set()
    for index, label in enumerate(labels):
        if label.casefold() in seen:
            errors.add(f"labels.{index}", f"{label!r} is given twice")
        seen.add(label.casefold())
    return labels


def _record_both(
    session: Session,
    *,
    actor: Actor,
    action: str,
    relation: Relation,
    changes_for: dict[int, dict[str, dict[str, Any]]],
) -> None:
    """One history entry on each customer of the relation."""
    for customer_id, changes in changes_for.items():
        audit.record(
            session,
            actor=actor,
            action=action,
            entity="relation",
            entity_id=relation.id,
            customer_id=customer_id,
            changes=changes,
        )


def list_relations(
    session: Session, *, actor: Actor, customer_id: int, cursor: str | None, limit: int
) -> tuple[list[RelationView], str | None]:
    """The customer's relations from either side, oldest first, keyset-paginated on id.
    Relations to a deleted customer are left out until it is restored."""
    access.readable(session, actor, customer_id)
    limit, last_id = _page(limit, cursor)
    other_id = case(
        (Relation.customer_id == customer_id, Relation.other_id), else_=Relation.customer_id
    )
    query = (
        select(Relation, Customer)
        .join(Customer, and_(Customer.id == other_id, Customer.deleted_at.is_(None)))
        .where(_involves(customer_id))
    )
    if last_id is not None:
        query = query.where(Relation.id > last_id)
    rows = list(session.execute(query.order_by(Relation.id).limit(limit + 1)))
    next_cursor = encode_cursor([rows[limit - 1][0].id]) if len(rows) > limit else None
    return [RelationView(relation, other) for relation, other in rows[:limit]], next_cursor


def _relation_of(session: Session, customer_id: int, relation_id: int, *, lock: bool) -> Relation:
    query = select(Relation).where(Relation.id == relation_id, _involves(customer_id))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    relation = session.scalars(query).one_or_none()
    if relation is None:
        raise NotFound(f"relation {relation_id} does not exist on customer {customer_id}")
    return relation


def get_relation(
    session: Session, *, actor: Actor, customer_id: int, relation_id: int
) -> RelationView:
    access.readable(session, actor, customer_id)
    relation = _relation_of(session, customer_id, relation_id, lock=False)
    other = session.get(Customer, _other_side(relation, customer_id))
    if other is None or other.deleted_at is not None:
        raise NotFound(f"relation {relation_id} does not exist on customer {customer_id}")
    return RelationView(relation, other)


def create_relation(
    session: Session, *, actor: Actor, customer_id: int, data: RelationCreate
) -> RelationView:
    """Relates two customers. One row per pair, whichever side adds it; both histories
    get an entry."""
    if data.other_id == customer_id:
        access.writable(session, actor, customer_id)
        raise Invalid.field("other_id", "a customer cannot be related to itself")
    # Both rows locked: a concurrent B -> A waits, then sees this A -> B.
    _customer, other = access.writable_with_other(session, actor, customer_id, data.other_id)
    errors = ErrorCollector()
    if other is None:
        errors.add("other_id", f"customer {data.other_id} does not exist")
    _check_labels(data.labels, errors)
    errors.raise_if_any()
    assert other is not None
    existing = session.scalars(
        select(Relation.id).where(
            or_(
                and_(Relation.customer_id == customer_id, Relation.other_id == other.id),
                and_(Relation.customer_id == other.id, Relation.other_id == customer_id),
            )
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"customers {customer_id} and {other.id} are already related (relation {existing})",
            errors=[FieldError("other_id", "is already related to this customer")],
            existing_id=existing,
        )
    now = utcnow()
    relation = Relation(
        customer_id=customer_id,
        other_id=other.id,
        labels=list(data.labels),
        note=data.note,
        version=1,
        created_at=now,
        created_by=actor.username,
        updated_at=now,
        updated_by=actor.username,
    )
    session.add(relation)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "the relation was added at the same time",
            errors=[FieldError("other_id", "is already related to this customer")],
        ) from exc
    snapshot = {k: v for k, v in _relation_snapshot(relation).items() if v not in (None, [])}
    _record_both(
        session,
        actor=actor,
        action="relation.created",
        relation=relation,
        changes_for={
            side: audit.diff({}, {"other_id": seen, **snapshot})
            for side, seen in ((customer_id, other.id), (other.id, customer_id))
        },
    )
    return RelationView(relation, other)


def _relation_for_write(
    session: Session, actor: Actor, customer_id: int, relation_id: int, expected: int | None
) -> tuple[Relation, Customer]:
    """The relation, locked, with its other side; both customers must be live."""
    actor.require(Permission.CUSTOMER_WRITE)
    relation = _relation_of(session, customer_id, relation_id, lock=False)
    _, other = access.writable_with_other(
        session, actor, customer_id, _other_side(relation, customer_id)
    )
    if other is None:
        raise NotFound(f"relation {relation_id} does not exist on customer {customer_id}")
    relation = _relation_of(session, customer_id, relation_id, lock=True)
    _check_version("relation", relation, expected)
    return relation, other


def update_relation(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    relation_id: int,
    data: RelationUpdate,
    expected_version: int | None,
) -> RelationView:
    """Changes the labels or the note; both customers' histories get the entry."""
    relation, other = _relation_for_write(
        session, actor, customer_id, relation_id, expected_version
    )
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    if "labels" in given:
        if given["labels"] is None:
            errors.add("labels", "may not be null")
        else:
            _check_labels(given["labels"], errors)
    errors.raise_if_any()
    before = _relation_snapshot(relation)
    changes = audit.diff(before, {**before, **given})
    if not changes:
        return RelationView(relation, other)
    for name in changes:
        setattr(relation, name, list(given[name]) if name == "labels" else given[name])
    relation.version += 1
    relation.updated_at = utcnow()
    relation.updated_by = actor.username
    # Each entry names the other customer (unchanged), so the history reads on its own.
    _record_both(
        session,
        actor=actor,
        action="relation.updated",
        relation=relation,
        changes_for={
            side: {"other_id": {"before": seen, "after": seen}, **changes}
            for side, seen in ((customer_id, other.id), (other.id, customer_id))
        },
    )
    return RelationView(relation, other)


def delete_relation(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    relation_id: int,
    expected_version: int | None,
) -> None:
    """Removes the relation for both sides; both histories get the entry."""
    relation, other = _relation_for_write(
        session, actor, customer_id, relation_id, expected_version
    )
    snapshot = {k: v for k, v in _relation_snapshot(relation).items() if v not in (None, [])}
    _record_both(
        session,
        actor=actor,
        action="relation.deleted",
        relation=relation,
        changes_for={
            side: audit.diff({"other_id": seen, **snapshot}, {})
            for side, seen in ((customer_id, other.id), (other.id, customer_id))
        },
    )
    session.delete(relation)
    session.flush()
