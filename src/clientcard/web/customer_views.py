"""The customer list and the customer card with its tabs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from clientcard.auth import service as auth
from clientcard.campaigns import service as campaigns
from clientcard.cases import service as cases
from clientcard.cases.models import PRIORITIES
from clientcard.cases.models import STATUSES as CASE_STATUSES
from clientcard.cases.schemas import CaseCreate
from clientcard.contacts import service as contacts
from clientcard.contacts.models import CONTACT_TYPES, LABELS, PHONE_TYPES
from clientcard.contacts.schemas import ContactPointCreate, ContactPointRead
from clientcard.custom_fields import service as custom_fields
from clientcard.customers import service as customers
from clientcard.customers.models import GENDERS, KINDS, CustomerKind
from clientcard.customers.schemas import CustomerRead, CustomerUpdate
from clientcard.errors import Conflict, DomainError, Forbidden, Invalid, PreconditionFailed
from clientcard.interactions import dashboard, timeline
from clientcard.interactions.models import CHANNELS, Direction
from clientcard.interactions.schemas import CustomerNoteIn
from clientcard.statuses import service as lead_statuses
from clientcard.web import forms
from clientcard.web.context import CSRF, Page, page, web_router
from clientcard.web.forms import Form, form_data
from clientcard.web.i18n import N_, tr, translations_of
from clientcard.web.render import (
    channel_name,
    field_errors,
    is_htmx,
    redirect,
    render,
    value_label,
)

router = web_router()
PAGE_SIZE = 25
LIST_KEY = "list"  # the session's last customer list filters
TIMELINE_PAGE = 20
# htmx targets inside the tab panel: their responses need no card header.
PANEL_TARGETS = ("tab-panel", "timeline-next")
TABS = {
    "info": N_("Information"),
    "contact-points": N_("Contact points"),
    "timeline": N_("Timeline"),
    "cases": N_("Cases"),
    "related": N_("Related customers"),
    "accounts": N_("Accounts"),
    "campaigns": N_("Campaigns"),
    "attachments": N_("Attachments"),
    "personal-data": N_("Personal data"),
    "dashboard": N_("Dashboard"),
    "history": N_("Change history"),
}
# A tab per active custom field group follows the fixed tabs: `group-<key>`.
GROUP_TAB = "group-"


@router.get("/")
def home() -> Response:
    return RedirectResponse("/customers", status_code=303)


# ---- the list --------------------------------------------------------------------------


@router.get("/customers")
def customer_list(
    request: Request,
    ctx: Page = Depends(page),
    q: str = Query("", max_length=200),
    kind: CustomerKind | Literal[""] = "",
    vip: Literal["", "yes", "no"] = "",
    sort: customers.SortKey = "-created_at",
    cursor: str | None = Query(None, max_length=1000),
) -> Response:
    filters = customers.CustomerFilter(
        q=q.strip() or None,
        kind=kind or None,
        vip={"yes": True, "no": False}.get(vip),
        sort=sort,
    )
    with ctx.db.read() as session:
        rows, next_cursor = customers.list_customers(
            session,
            actor=ctx.actor,
            filters=filters,
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        items = [CustomerRead.of(c) for c in rows]
    query = {"q": q, "kind": kind, "vip": vip, "sort": sort}
    # P11: the card offers previous/next through the list the agent came from.
    request.session[LIST_KEY] = {
        "q": filters.q,
        "kind": filters.kind,
        "vip": filters.vip,
        "sort": filters.sort,
    }
    kept = {k: v for k, v in query.items() if v and not (k == "sort" and v == "-created_at")}
    return render(
        request,
        "customers/list.html",
        {
            "items": items,
            "query": query,
            "phone_types": PHONE_TYPES,
            "first_url": "/customers?" + urlencode(kept) if cursor else None,
            "next_url": "/customers?" + urlencode({**kept, "cursor": next_cursor})
            if next_cursor
            else None,
        },
    )


# ---- the card --------------------------------------------------------------------------


def card_page(
    request: Request,
    ctx: Page,
    customer_id: int,
    tab: str,
    load: Callable[[Session], dict[str, Any]] | None = None,
    *,
    status: int = 200,
    needs_customer: bool = False,
    **extra: Any,
) -> Response:
    """The card on one tab. An htmx request for the tab panel alone skips the header
    (and the card read, unless the tab shows the profile: `needs_customer`)."""
    panel_only = is_htmx(request) and request.headers.get("hx-target") in PANEL_TARGETS
    header: dict[str, Any] = {}
    with ctx.db.read() as session:
        customer = None
        if not panel_only or tab == "info" or needs_customer:
            customer = customers.read_card(session, actor=ctx.actor, customer_id=customer_id)
        if not panel_only:
            header = _header(request, ctx, session, customer)
        data = load(session) if load else {}
    tabs = {**{k: tr(request, v) for k, v in TABS.items()}, **header.pop("group_tabs", {})}
    context = {
        "customer": customer,
        "customer_id": customer_id,
        "tab": tab,
        "tabs": tabs,
        "tab_label": tabs.get(tab, extra.get("tab_label", "")),
        "flash": request.session.pop("flash", None),
        **header,
        **data,
        **extra,
    }
    return render(
        request,
        "customers/card.html",
        context,
        status=status,
        fragments={"timeline-next": "_timeline.html"},
    )


def _header(request: Request, ctx: Page, session: Session, customer: Any) -> dict[str, Any]:
    """What the card shows around the tabs: owner, lead status, the custom group tabs and
    the neighbours in the list the agent came from (a fixed number of queries)."""
    owner_id = customer.assigned_to if customer is not None else None
    names = auth.usernames(session, actor=ctx.actor, user_ids={owner_id} if owner_id else set())
    statuses = lead_statuses.list_statuses(session, actor=ctx.actor)
    groups = custom_fields.list_groups(session, actor=ctx.actor, active=True)
    previous_id = next_id = None
    came_from = request.session.get(LIST_KEY)
    if customer is not None and isinstance(came_from, dict):
        try:
            filters = customers.CustomerFilter(**came_from)
            previous_id, next_id = customers.neighbours(
                session,
                actor=ctx.actor,
                filters=filters,
                customer_id=customer.id,
            )
        except (TypeError, DomainError):
            request.session.pop(LIST_KEY, None)  # a list this user may no longer see
    return {
        "owner_name": names.get(owner_id) if owner_id else None,
        "lead_status_label": next(
            (s.label for s in statuses if customer and s.key == customer.lead_status), None
        ),
        "group_tabs": {f"{GROUP_TAB}{g.key}": g.label for g in groups},
        "previous_id": previous_id,
        "next_id": next_id,
    }


# A tab's view: (request, ctx, customer_id, *, status=..., notice=..., ...) -> the card on it.
TabView = Callable[..., Response]


def after_write(
    request: Request, ctx: Page, customer_id: int, tab: str, message: str, show: TabView
) -> Response:
    """After a write on the tab `tab` (shown by `show`): htmx gets the refreshed card, a plain
    form a redirect to it. The message is an English text of the catalogue (marked N_), shown
    in the user's language."""
    request.session["flash"] = tr(request, message)
    if is_htmx(request):
        return show(request, ctx, customer_id)
    suffix = "" if tab == "info" else f"/{tab}"
    return redirect(request, f"/customers/{customer_id}{suffix}")


@router.get("/customers/{customer_id}")
def card_info(request: Request, customer_id: int, ctx: Page = Depends(page)) -> Response:
    return show_info(request, ctx, customer_id)


def show_info(
    request: Request, ctx: Page, customer_id: int, *, status: int = 200, **extra: Any
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        fields = custom_fields.list_fields(session, actor=ctx.actor, active=True)
        return {
            "custom_fields": [f for f in fields if f.group_key is None],
            "kinds": KINDS,
            "genders": GENDERS,
            "lead_status_options": [
                (s.key, s.label)
                for s in lead_statuses.list_statuses(session, actor=ctx.actor)
                if s.active
            ],
        }

    return card_page(request, ctx, customer_id, "info", load, status=status, **extra)


def _info_form(form: Form) -> dict[str, Any]:
    return {
        "kind": form.get("kind") or "person",
        "first_name": forms.text(form, "first_name"),
        "last_name": forms.text(form, "last_name"),
        "company_name": forms.text(form, "company_name"),
        "company_id": forms.integer(form, "company_id"),
        "identification_type": forms.text(form, "identification_type"),
        "identification_number": forms.text(form, "identification_number"),
        "gender": forms.text(form, "gender"),
        "birth_date": forms.text(form, "birth_date"),
        "language": forms.text(form, "language"),
        "tags": forms.tags(form),
        "note": forms.text(form, "note"),
        "vip": forms.checkbox(form, "vip"),
        "hidden": forms.checkbox(form, "hidden"),
        "rating": forms.integer(form, "rating"),
        "lead_status": forms.text(form, "lead_status"),
        "custom": forms.custom_values(form),
    }


def _owner_change(form: Form, actor_id: int | None) -> dict[str, Any]:
    """The owner select: keep (nothing sent), take the card, or leave it without owner."""
    choice = form.get("owner", "")
    if choice == "me":
        return {"assigned_to": actor_id}
    if choice == "nobody":
        return {"assigned_to": None}
    return {}


@router.post("/customers/{customer_id}", dependencies=CSRF)
def card_update(
    request: Request, customer_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    values = _info_form(form)
    submitted = {**values, "version": form.get("version"), "owner": form.get("owner", "")}
    try:
        data = forms.parse(CustomerUpdate, {**values, **_owner_change(form, ctx.actor.user_id)})
        with ctx.db.write() as session:
            customers.update_customer(
                session,
                actor=ctx.actor,
                customer_id=customer_id,
                data=data,
                expected_version=forms.version(form),
            )
    except PreconditionFailed as exc:
        return show_info(request, ctx, customer_id, status=412, form=values, stale=exc.extra)
    except (Invalid, Conflict, Forbidden) as exc:
        errors = field_errors(exc.errors) or {"form": exc.detail}
        return show_info(
            request, ctx, customer_id, status=exc.status, form=submitted, errors=errors
        )
    return after_write(request, ctx, customer_id, "info", N_("Saved."), show_info)


CONTACT_POINT_STALE = N_(
    "That contact point was changed by someone else meanwhile; it is shown "
    "as it is now. Delete it again if you still mean to."
)
STALE_NOTICE = N_(
    "Someone else changed it meanwhile; it is shown as it is now. Try again if you still mean to."
)


def remove_from_tab(
    request: Request,
    ctx: Page,
    customer_id: int,
    tab: str,
    show: TabView,
    remove: Callable[[Session], None],
    message: str,
    *,
    stale_notice: str = STALE_NOTICE,
) -> Response:
    """A delete from a tab (shown by `show`), guarded by the row's version: a stale form (412)
    or a refusal (409) shows the tab again, saying why; nothing is removed then."""
    try:
        with ctx.db.write() as session:
            remove(session)
    except PreconditionFailed:
        return show(request, ctx, customer_id, status=412, notice=tr(request, stale_notice))
    except Conflict as exc:
        return show(request, ctx, customer_id, status=409, notice=exc.detail)
    return after_write(request, ctx, customer_id, tab, message, show)


# ---- contact points --------------------------------------------------------------------


@router.get("/customers/{customer_id}/contact-points")
def card_contact_points(request: Request, customer_id: int, ctx: Page = Depends(page)) -> Response:
    return show_contact_points(request, ctx, customer_id)


def show_contact_points(
    request: Request, ctx: Page, customer_id: int, *, status: int = 200, **extra: Any
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        points = contacts.list_contact_points(session, actor=ctx.actor, customer_id=customer_id)
        return {"points": [ContactPointRead.model_validate(p) for p in points]}

    return card_page(
        request,
        ctx,
        customer_id,
        "contact-points",
        load,
        status=status,
        types=CONTACT_TYPES,
        labels=LABELS,
        **extra,
    )


@router.post("/customers/{customer_id}/contact-points", dependencies=CSRF)
def contact_point_add(
    request: Request, customer_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    values = {
        "type": form.get("type", ""),
        "value": forms.text(form, "value"),
        "region": (forms.text(form, "region") or "").upper() or None,
        "label": form.get("label") or "other",
        "primary": forms.checkbox(form, "primary"),
        "network": forms.text(form, "network"),
    }
    try:
        data = forms.parse(ContactPointCreate, values)
        with ctx.db.write() as session:
            contacts.add_contact_point(
                session,
                actor=ctx.actor,
                customer_id=customer_id,
                data=data,
            )
    except (Invalid, Conflict) as exc:
        return show_contact_points(
            request,
            ctx,
            customer_id,
            status=exc.status,
            form=values,
            errors=field_errors(exc.errors) or {"value": exc.detail},
        )
    return after_write(
        request, ctx, customer_id, "contact-points", N_("Contact point added."), show_contact_points
    )


@router.post("/customers/{customer_id}/contact-points/{point_id}/delete", dependencies=CSRF)
def contact_point_delete(
    request: Request,
    customer_id: int,
    point_id: int,
    form: Form = Depends(form_data),
    ctx: Page = Depends(page),
) -> Response:
    version = forms.version(form)
    return remove_from_tab(
        request,
        ctx,
        customer_id,
        "contact-points",
        show_contact_points,
        lambda session: contacts.delete_contact_point(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            point_id=point_id,
            expected_version=version,
        ),
        N_("Contact point deleted."),
        stale_notice=CONTACT_POINT_STALE,
    )


# ---- timeline and notes ----------------------------------------------------------------


@router.get("/customers/{customer_id}/timeline")
def card_timeline(
    request: Request,
    customer_id: int,
    ctx: Page = Depends(page),
    channel: str = Query("", max_length=20),
    direction: Direction | Literal[""] = "",
    cursor: str | None = Query(None, max_length=1000),
) -> Response:
    return show_timeline(
        request, ctx, customer_id, channel=channel, direction=direction, cursor=cursor
    )


def show_timeline(
    request: Request,
    ctx: Page,
    customer_id: int,
    *,
    channel: str = "",
    direction: str = "",
    cursor: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    filters = timeline.TimelineFilter(channel=channel or None, direction=direction or None)

    def load(session: Session) -> dict[str, Any]:
        items, next_cursor = timeline.customer_timeline(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            filters=filters,
            cursor=cursor,
            limit=TIMELINE_PAGE,
        )
        more = {"channel": channel, "direction": direction, "cursor": next_cursor}
        return {
            "items": items,
            "more_url": f"/customers/{customer_id}/timeline?"
            + urlencode({k: v for k, v in more.items() if v})
            if next_cursor
            else None,
        }

    return card_page(
        request,
        ctx,
        customer_id,
        "timeline",
        load,
        status=status,
        channels=CHANNELS,
        filters={"channel": channel, "direction": direction},
        **extra,
    )


@router.post("/customers/{customer_id}/notes", dependencies=CSRF)
def note_add(
    request: Request, customer_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    try:
        data = forms.parse(CustomerNoteIn, {"text": forms.text(form, "text")})
        with ctx.db.write() as session:
            timeline.add_note(session, actor=ctx.actor, customer_id=customer_id, text=data.text)
    except Invalid as exc:
        return show_timeline(
            request,
            ctx,
            customer_id,
            status=422,
            note=form.get("text", ""),
            errors=field_errors(exc.errors),
        )
    return after_write(request, ctx, customer_id, "timeline", N_("Note added."), show_timeline)


# ---- cases -----------------------------------------------------------------------------


@router.get("/customers/{customer_id}/cases")
def card_cases(
    request: Request,
    customer_id: int,
    ctx: Page = Depends(page),
    status: list[str] = Query([]),
    cursor: str | None = Query(None, max_length=1000),
) -> Response:
    chosen = tuple(s for s in status if s in CASE_STATUSES)
    return show_cases(request, ctx, customer_id, chosen=chosen, cursor=cursor)


def show_cases(
    request: Request,
    ctx: Page,
    customer_id: int,
    *,
    chosen: tuple[str, ...] = (),
    cursor: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:

    def load(session: Session) -> dict[str, Any]:
        rows, next_cursor = cases.list_cases(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            filters=cases.CaseFilter(status=chosen),
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        query = [("status", s) for s in chosen] + [("cursor", next_cursor or "")]
        return {
            "cases": rows,
            "next_url": f"/customers/{customer_id}/cases?{urlencode(query)}"
            if next_cursor
            else None,
            "case_types": cases.list_case_types(session, actor=ctx.actor, active=True),
            "campaigns": campaigns.list_campaigns(session, actor=ctx.actor, active=True),
        }

    return card_page(
        request,
        ctx,
        customer_id,
        "cases",
        load,
        status=status,
        statuses=CASE_STATUSES,
        chosen=chosen,
        priorities=PRIORITIES,
        **extra,
    )


@router.post("/customers/{customer_id}/cases", dependencies=CSRF)
def case_open(
    request: Request, customer_id: int, form: Form = Depends(form_data), ctx: Page = Depends(page)
) -> Response:
    values = {
        "subject": forms.text(form, "subject"),
        "description": forms.text(form, "description"),
        "type": form.get("type") or "question",
        "priority": form.get("priority") or "medium",
        "campaign_id": forms.integer(form, "campaign_id"),
        "assigned_to": ctx.actor.user_id if forms.checkbox(form, "assign_to_me") else None,
    }
    try:
        data = forms.parse(CaseCreate, values)
        with ctx.db.write() as session:
            case = cases.create_case(session, actor=ctx.actor, customer_id=customer_id, data=data)
            case_id = case.id
    except (Invalid, Conflict) as exc:
        return show_cases(
            request,
            ctx,
            customer_id,
            status=exc.status,
            form={**values, "assign_to_me": forms.checkbox(form, "assign_to_me")},
            errors=field_errors(exc.errors) or {"subject": exc.detail},
        )
    request.session["flash"] = tr(request, "Case opened.")
    return redirect(request, f"/cases/{case_id}")


# ---- change history and dashboard ------------------------------------------------------


@router.get("/customers/{customer_id}/history")
def card_history(
    request: Request,
    customer_id: int,
    ctx: Page = Depends(page),
    cursor: str | None = Query(None, max_length=1000),
) -> Response:
    return show_history(request, ctx, customer_id, cursor=cursor)


def show_history(
    request: Request, ctx: Page, customer_id: int, *, cursor: str | None = None
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        entries, next_cursor = customers.customer_history(
            session, actor=ctx.actor, customer_id=customer_id, cursor=cursor, limit=PAGE_SIZE
        )
        return {
            "entries": entries,
            "next_url": f"/customers/{customer_id}/history?cursor={next_cursor}"
            if next_cursor
            else None,
        }

    return card_page(request, ctx, customer_id, "history", load)


def _day_start(value: dt.date | None, *, days: int = 0) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.combine(value + dt.timedelta(days=days), dt.time(), tzinfo=dt.UTC)


@router.get("/customers/{customer_id}/dashboard")
def card_dashboard(
    request: Request,
    customer_id: int,
    ctx: Page = Depends(page),
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
) -> Response:
    return show_dashboard(request, ctx, customer_id, since=since, until=until)


def show_dashboard(
    request: Request, ctx: Page, customer_id: int, *, since: str = "", until: str = ""
) -> Response:
    window = {"since": since, "until": until}
    first, last = forms.day(window, "since"), forms.day(window, "until")

    def load(session: Session) -> dict[str, Any]:
        board = dashboard.customer_dashboard(
            session,
            actor=ctx.actor,
            customer_id=customer_id,
            since=_day_start(first),
            until=_day_start(last, days=1),  # the last day is included
        )
        return {"board": board, "charts": _charts(request, board)}

    return card_page(request, ctx, customer_id, "dashboard", load, window=window)


def _charts(request: Request, board: Any) -> dict[str, Any]:
    """Chart.js data for the two charts; the page shows the same numbers as tables."""
    catalog = translations_of(request)
    return {
        "channels": {
            "labels": [channel_name(c.channel, catalog.gettext) for c in board.channels],
            "datasets": [
                {"label": tr(request, "Inbound"), "data": [c.inbound for c in board.channels]},
                {"label": tr(request, "Outbound"), "data": [c.outbound for c in board.channels]},
            ],
        },
        "cases": {
            "labels": [value_label(s, "case status", catalog) for s in board.cases_by_status],
            "datasets": [
                {"label": tr(request, "Cases"), "data": list(board.cases_by_status.values())}
            ],
        },
    }
