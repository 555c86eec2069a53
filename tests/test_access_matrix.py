"""The access table: every per-customer route, API and pages, tried by each role on a
customer in each state, against the documented answer.

The rules checked:
- anonymous: every API route answers 401 problem+json, every page (and live stream) 303 to
  the login page;
- a live customer, and a hidden one (hidden only keeps it out of lists and search): agents,
  supervisors and administrators read it and everything under it and write to it; deleting
  the customer takes a supervisor or an administrator (agents 403); restoring takes an
  administrator (others 403; a customer that is not deleted cannot be restored: 404);
- an action a role may never take (an agent deleting, anyone but an administrator
  restoring) is 403 whatever the customer, missing and deleted ones included: the same
  answer for every id tells nothing about any card;
- a soft-deleted customer: agents and supervisors get 404 on every other read and write of
  it and of everything under it, exactly as for a customer that does not exist (never a
  403 that only a deleted card would give); administrators read it
  and everything under it, every write but restore is refused with 409 ("restore the
  customer first"; deleting it again too), and they restore it;
- a customer that does not exist ("missing", every id unused): 404 for every role;
- comments can be neither edited nor deleted: 405 for anyone logged in, whatever the state
  (the answer does not depend on the comment, so it tells nothing).
A merged-away customer is a state to add once merges exist.

Each (role, state) is one test in a world of its own (tests/access_world.py); its rows run
in table order, reads first, and a row that deletes something deletes a spare of its own.

Adding a route: a route whose path names a customer or something under one (a parameter in
PER_CUSTOMER_PARAMS) needs a row in ROWS; any other route an entry in EXCLUDED with the
reason. `test_every_route_is_classified` names a route that has neither, and a row or an
exclusion whose route is gone.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from clientcard.accounts.models import Account, Relation
from clientcard.app import create_app
from clientcard.attachments.models import Attachment
from clientcard.auth.actor import Role
from clientcard.cases.models import Case
from clientcard.config import Settings
from clientcard.contacts.models import ContactPoint
from clientcard.custom_fields.models import CustomGroupRecord
from clientcard.customers.models import Customer
from clientcard.db import Database
from tests.access_world import build_world, define_group, future, routes, stream_status
from tests.attachments.conftest import PDF, PNG
from tests.conftest import Api, _api_for, _empty_tables
from tests.web.conftest import csrf_of

READ, WRITE, DELETE_CUSTOMER, RESTORE = "read", "write", "delete customer", "restore"
# What an administrator's write to (or under) a deleted customer answers: the customer is
# there for them to see, but must be restored before anything is written to it.
REFUSED_FOR_DELETED = 409
PROBLEM = "application/problem+json"
PASSWORD = "secret-pass-1"  # tests/conftest.py's password
USERNAMES = {"agent": "ana", "supervisor": "sam-supervisor", "admin": "root-admin"}
ROLES = {"agent": Role.AGENT, "supervisor": Role.SUPERVISOR, "admin": Role.ADMIN}

# A path parameter naming one of these makes a route per-customer: it must have a row.
PER_CUSTOMER_PARAMS = {
    "customer_id",
    "point_id",
    "case_id",
    "note_id",
    "comment_id",
    "interaction_id",
    "attachment_id",
    "account_id",
    "relation_id",
    "record_id",
    "change_id",
}
# The world's key for each path parameter, unless a row names another.
DEFAULT_KEYS = {
    "customer_id": "customer",
    "point_id": "point",
    "case_id": "case",
    "note_id": "case_note",
    "comment_id": "comment",
    "interaction_id": "interaction",
    "attachment_id": "attachment",
    "account_id": "account",
    "relation_id": "relation",
    "record_id": "campaign_record",
    "change_id": "change",
    "group_key": "group",
}


def _params(path: str) -> set[str]:
    """The names of a route's path parameters."""
    return {n for _, n, _, _ in string.Formatter().parse(path) if n}


@dataclass
class Ctx:
    """What a row's body is made from: the world's ids and the rows' current versions."""

    world: dict[str, Any]
    db: Database

    def __getitem__(self, key: str) -> Any:
        return self.world[key]

    def version(self, model: Any, key: str) -> str:
        with self.db.read() as session:
            found = session.scalar(select(model.version).where(model.id == self.world[key]))
        return str(found or 1)


Body = Callable[[Ctx], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    kind: str  # READ, WRITE, DELETE_CUSTOMER or RESTORE
    ok: int  # the answer when allowed
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> world key
    json: Body | None = None
    form: Body | None = None  # pages: the form's fields (the CSRF token is added)
    upload: tuple[str, bytes, str] | None = None  # (name, bytes, type) as the `file` part
    if_match: bool = False  # API: sends If-Match: *
    always: int | None = None  # the answer to anyone logged in, whatever the state
    shows: str | None = None  # API reads: the world key of an object the answer must hold
    says: Callable[[Ctx], str] | None = None  # page reads: a text the page must hold

    @property
    def page(self) -> bool:
        return not self.path.startswith("/api/")

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, ctx: Ctx) -> str:
        keys = {n: self.ids.get(n, DEFAULT_KEYS[n]) for n in _params(self.path)}
        return self.path.format(**{n: ctx[k] for n, k in keys.items()})


def api(method: str, path: str, kind: str = READ, ok: int = 200, **kw: Any) -> Row:
    return Row(method, "/api/v1" + path, kind, ok, **kw)


def page(method: str, path: str, kind: str = READ, ok: int = 200, **kw: Any) -> Row:
    return Row(method, path, kind, ok, **kw)


CUSTOMER = "/customers/{customer_id}"
CASE = "/cases/{case_id}"
GROUP_RECORDS = CUSTOMER + "/groups/{group_key}/records"
GROUP_RECORD = {"record_id": "group_record"}
FILE = ("invoice.pdf", PDF, "application/pdf")


def _card_form(c: Ctx) -> dict[str, Any]:
    form = {
        "version": c.version(Customer, "customer"),
        "kind": "person",
        "first_name": "Tested",
        "last_name": "Customer",
        "note": "checked",
    }
    return form | ({"hidden": "on"} if c["state"] == "hidden" else {})


def _case_form(c: Ctx) -> dict[str, Any]:
    return {
        "version": c.version(Case, "case"),
        "subject": "Router",
        "status": "open",
        "priority": "high",
        "type": "question",
        "assigned_to": "",
    }


# Reads first, then writes; deletes of spares after the writes that read what they keep;
# the customer's own restore and delete run last (see _in_order).
ROWS: list[Row] = [
    # ---- API reads ----
    api("GET", CUSTOMER, shows="customer"),
    api("GET", CUSTOMER + "/history"),
    api("GET", CUSTOMER + "/contact-points", shows="point"),
    api("GET", CUSTOMER + "/accounts", shows="account"),
    api("GET", CUSTOMER + "/accounts/{account_id}", shows="account"),
    api("GET", CUSTOMER + "/relations", shows="relation"),
    api("GET", CUSTOMER + "/relations/{relation_id}", shows="relation"),
    api("GET", CUSTOMER + "/campaigns", shows="campaign_record"),
    api("GET", CUSTOMER + "/campaigns/{record_id}", shows="campaign_record"),
    api("GET", CUSTOMER + "/cases", shows="case"),
    api("GET", CASE, shows="case"),
    api("GET", CASE + "/notes", shows="case_note"),
    api("GET", CASE + "/comments", shows="comment"),
    api("GET", CASE + "/comments/{comment_id}", shows="comment"),
    api("GET", GROUP_RECORDS, shows="group_record"),
    api("GET", GROUP_RECORDS + "/{record_id}", ids=GROUP_RECORD, shows="group_record"),
    api("GET", "/interactions/{interaction_id}", shows="interaction"),
    api("GET", CUSTOMER + "/timeline", shows="interaction"),
    api("GET", CASE + "/timeline"),
    api("GET", CUSTOMER + "/dashboard"),
    api("GET", CUSTOMER + "/attachments", shows="attachment"),
    api("GET", CASE + "/attachments", shows="case_attachment"),
    api("GET", "/interactions/{interaction_id}/attachments", shows="interaction_attachment"),
    api("GET", "/attachments/{attachment_id}", shows="attachment"),
    api("GET", "/attachments/{attachment_id}/content"),
    api("GET", CUSTOMER + "/avatar"),
    api("GET", CUSTOMER + "/scheduled-changes", shows="change"),
    # ---- page reads ----
    page("GET", CUSTOMER, says=lambda c: "Tested"),
    page("GET", CUSTOMER + "/contact-points", says=lambda c: "one@example.com"),
    page("GET", CUSTOMER + "/timeline", says=lambda c: "Called back"),
    page("GET", CUSTOMER + "/cases", says=lambda c: "Router"),
    page("GET", CUSTOMER + "/history", says=lambda c: "attachment.created"),
    page("GET", CUSTOMER + "/dashboard"),
    page("GET", CASE, says=lambda c: "Escalated"),
    page("GET", CUSTOMER + "/related", says=lambda c: "Other0"),
    page("GET", CUSTOMER + "/accounts", says=lambda c: f"{c['tag']}-0"),
    page("GET", CUSTOMER + "/campaigns", says=lambda c: f"{c['tag']} campaign"),
    page("GET", CUSTOMER + "/attachments", says=lambda c: "invoice.pdf"),
    page("GET", "/files/{attachment_id}"),
    page("GET", CUSTOMER + "/avatar"),
    page("GET", CUSTOMER + "/personal-data", says=lambda c: "one@example.com"),
    page("GET", CUSTOMER + "/groups/{group_key}", says=lambda c: "group_record"),
    page("GET", "/live/customers/{customer_id}"),
    # ---- API writes ----
    api("PATCH", CUSTOMER, WRITE, json=lambda c: {"note": "checked"}, if_match=True),
    api(
        "POST",
        CUSTOMER + "/contact-points",
        WRITE,
        201,
        json=lambda c: {"type": "email", "value": "new@example.com"},
    ),
    api(
        "PATCH",
        CUSTOMER + "/contact-points/{point_id}",
        WRITE,
        json=lambda c: {"label": "work"},
        if_match=True,
    ),
    api(
        "POST",
        CUSTOMER + "/accounts",
        WRITE,
        201,
        json=lambda c: {"number": f"{c['tag']}-API", "type": "contract"},
    ),
    api(
        "PATCH",
        CUSTOMER + "/accounts/{account_id}",
        WRITE,
        json=lambda c: {"status": "inactive"},
        if_match=True,
    ),
    api(
        "POST",
        CUSTOMER + "/relations",
        WRITE,
        201,
        json=lambda c: {"other_id": c["other_new"], "labels": ["friend"]},
    ),
    api(
        "PATCH",
        CUSTOMER + "/relations/{relation_id}",
        WRITE,
        json=lambda c: {"note": "married"},
        if_match=True,
    ),
    api(
        "POST",
        CUSTOMER + "/campaigns",
        WRITE,
        201,
        json=lambda c: {"campaign_id": c["campaign_new"]},
    ),
    api(
        "PATCH",
        CUSTOMER + "/campaigns/{record_id}",
        WRITE,
        json=lambda c: {"note": "interested"},
        if_match=True,
    ),
    api(
        "POST",
        CUSTOMER + "/campaigns/{record_id}/call-again",
        WRITE,
        json=lambda c: {"at": future()},
    ),
    api("POST", CUSTOMER + "/cases", WRITE, 201, json=lambda c: {"subject": "Second"}),
    api("PATCH", CASE, WRITE, json=lambda c: {"priority": "high"}, if_match=True),
    api("POST", CASE + "/notes", WRITE, 201, json=lambda c: {"text": "Upset"}),
    api("POST", CASE + "/comments", WRITE, 201, json=lambda c: {"text": "To L2"}),
    api("PATCH", CASE + "/comments/{comment_id}", WRITE, json=lambda c: {}, always=405),
    api("DELETE", CASE + "/comments/{comment_id}", WRITE, always=405),
    api("POST", GROUP_RECORDS, WRITE, 201, json=lambda c: {"values": {"product": "Fibre"}}),
    api(
        "PATCH",
        GROUP_RECORDS + "/{record_id}",
        WRITE,
        ids=GROUP_RECORD,
        json=lambda c: {"values": {"product": "Fibre 600"}},
        if_match=True,
    ),
    api(
        "POST",
        "/interactions/{interaction_id}/resolve",
        WRITE,
        ids={"interaction_id": "interaction_resolve"},
        json=lambda c: {"customer_id": c["other"]},
    ),
    api("POST", CUSTOMER + "/notes", WRITE, 201, json=lambda c: {"text": "Called back"}),
    api("POST", CUSTOMER + "/attachments", WRITE, 201, upload=FILE),
    api("POST", CASE + "/attachments", WRITE, 201, upload=FILE),
    api("POST", "/interactions/{interaction_id}/attachments", WRITE, 201, upload=FILE),
    api(
        "PATCH",
        "/attachments/{attachment_id}",
        WRITE,
        json=lambda c: {"name": "renamed.pdf"},
        if_match=True,
    ),
    api("PUT", CUSTOMER + "/avatar", WRITE, upload=("me.png", PNG, "image/png")),
    api(
        "POST",
        CUSTOMER + "/scheduled-changes",
        WRITE,
        201,
        json=lambda c: {"field": "status", "value": "sale", "due_at": future()},
    ),
    # ---- page writes ----
    page("POST", CUSTOMER, WRITE, 303, form=_card_form),
    page(
        "POST",
        CUSTOMER + "/contact-points",
        WRITE,
        303,
        form=lambda c: {"type": "email", "value": "page@example.com"},
    ),
    page("POST", CUSTOMER + "/notes", WRITE, 303, form=lambda c: {"text": "From the page"}),
    page("POST", CUSTOMER + "/cases", WRITE, 303, form=lambda c: {"subject": "From the page"}),
    page("POST", CASE, WRITE, 303, form=_case_form),
    page("POST", CASE + "/notes", WRITE, 303, form=lambda c: {"text": "Page note"}),
    page("POST", CASE + "/comments", WRITE, 303, form=lambda c: {"text": "Page comment"}),
    page(
        "POST",
        CUSTOMER + "/related",
        WRITE,
        303,
        form=lambda c: {"other_id": c["other_page_new"], "labels": "friend"},
    ),
    page(
        "POST",
        CUSTOMER + "/accounts",
        WRITE,
        303,
        form=lambda c: {"number": f"{c['tag']}-PAGE", "type": "contract"},
    ),
    page(
        "POST",
        CUSTOMER + "/campaigns",
        WRITE,
        303,
        form=lambda c: {"campaign_id": c["campaign_page_new"]},
    ),
    page("POST", CUSTOMER + "/attachments", WRITE, 303, upload=FILE),
    page("POST", CUSTOMER + "/groups/{group_key}", WRITE, form=lambda c: {"text:product": "Fax"}),
    # ---- deletes of spares ----
    api(
        "DELETE", CUSTOMER + "/contact-points/{point_id}", WRITE, 204, ids={"point_id": "point_del"}
    ),
    api(
        "DELETE", CUSTOMER + "/accounts/{account_id}", WRITE, 204, ids={"account_id": "account_del"}
    ),
    api(
        "DELETE",
        CUSTOMER + "/relations/{relation_id}",
        WRITE,
        204,
        ids={"relation_id": "relation_del"},
    ),
    api(
        "DELETE",
        CUSTOMER + "/campaigns/{record_id}",
        WRITE,
        204,
        ids={"record_id": "campaign_record_del"},
    ),
    api("DELETE", CASE + "/notes/{note_id}", WRITE, 204, ids={"note_id": "case_note_del"}),
    api(
        "DELETE",
        GROUP_RECORDS + "/{record_id}",
        WRITE,
        204,
        ids={"record_id": "group_record_del"},
    ),
    api(
        "DELETE",
        "/attachments/{attachment_id}",
        WRITE,
        204,
        ids={"attachment_id": "attachment_del"},
    ),
    api(
        "DELETE",
        CUSTOMER + "/scheduled-changes/{change_id}",
        WRITE,
        204,
        ids={"change_id": "change_del"},
    ),
    api("DELETE", CUSTOMER + "/avatar", WRITE),
    page(
        "POST",
        CUSTOMER + "/contact-points/{point_id}/delete",
        WRITE,
        303,
        ids={"point_id": "point_page_del"},
        form=lambda c: {"version": c.version(ContactPoint, "point_page_del")},
    ),
    page(
        "POST",
        CASE + "/notes/{note_id}/delete",
        WRITE,
        303,
        ids={"note_id": "case_note_page_del"},
        form=lambda c: {},
    ),
    page(
        "POST",
        CUSTOMER + "/related/{relation_id}/delete",
        WRITE,
        303,
        ids={"relation_id": "relation_page_del"},
        form=lambda c: {"version": c.version(Relation, "relation_page_del")},
    ),
    page(
        "POST",
        CUSTOMER + "/accounts/{account_id}/delete",
        WRITE,
        303,
        ids={"account_id": "account_page_del"},
        form=lambda c: {"version": c.version(Account, "account_page_del")},
    ),
    page(
        "POST",
        "/attachments/{attachment_id}/delete",
        WRITE,
        303,
        ids={"attachment_id": "attachment_page_del"},
        form=lambda c: {
            "version": c.version(Attachment, "attachment_page_del"),
            "customer_id": c["customer"],
        },
    ),
    page(
        "POST",
        CUSTOMER + "/groups/{group_key}/{record_id}/delete",
        WRITE,
        ids={"record_id": "group_record_page_del"},
        form=lambda c: {"version": c.version(CustomGroupRecord, "group_record_page_del")},
    ),
    # ---- the customer itself ----
    api("POST", CUSTOMER + "/restore", RESTORE),
    api("DELETE", CUSTOMER, DELETE_CUSTOMER, 204),
]

# Routes that name no customer: their access is the business of their own tests.
EXCLUDED: dict[str, list[str]] = {
    "API documentation and health": [
        "GET /openapi.json",
        "GET /docs",
        "GET /healthz",
    ],
    "authentication and users": [
        "POST /api/v1/auth/token",
        "DELETE /api/v1/auth/token",
        "GET /api/v1/users/me",
        "PATCH /api/v1/users/me",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "GET /api/v1/users/{user_id}",
        "PATCH /api/v1/users/{user_id}",
        "POST /api/v1/users/{user_id}/api-tokens",
        "GET /api/v1/users/{user_id}/api-tokens",
        "DELETE /api/v1/users/{user_id}/api-tokens/{token_id}",
    ],
    "lists, search, creation and the screen pop's look-up (no customer named in the path)": [
        "GET /api/v1/customers",
        "POST /api/v1/customers",
        "GET /api/v1/lookup",
        "GET /api/v1/interactions",
    ],
    "ingestion and screen pops (the customer, if any, is in the body)": [
        "POST /api/v1/interactions",
        "POST /api/v1/interactions/batch",
        "POST /api/v1/screen-pops",
    ],
    "configuration: campaigns, case types, lead statuses, custom field definitions": [
        "GET /api/v1/campaigns",
        "POST /api/v1/campaigns",
        "GET /api/v1/campaigns/{campaign_id}",
        "PATCH /api/v1/campaigns/{campaign_id}",
        "PUT /api/v1/campaigns/{campaign_id}/agents",
        "GET /api/v1/case-types",
        "POST /api/v1/case-types",
        "PATCH /api/v1/case-types/{key}",
        "GET /api/v1/lead-statuses",
        "POST /api/v1/lead-statuses",
        "PATCH /api/v1/lead-statuses/{key}",
        "GET /api/v1/custom-fields",
        "POST /api/v1/custom-fields",
        "GET /api/v1/custom-fields/{field_id}",
        "PATCH /api/v1/custom-fields/{field_id}",
        "DELETE /api/v1/custom-fields/{field_id}",
        "GET /api/v1/custom-field-groups",
        "POST /api/v1/custom-field-groups",
        "GET /api/v1/custom-field-groups/{key}",
        "PATCH /api/v1/custom-field-groups/{key}",
        "DELETE /api/v1/custom-field-groups/{key}",
    ],
    "pages without a customer: login, the list, preferences, the agent's own stream": [
        "GET /login",
        "POST /login",
        "POST /logout",
        "GET /",
        "GET /customers",
        "POST /preferences/locale",
        "GET /live/me",
    ],
    "administration pages (administrators only, tests/web/test_admin_views.py)": [
        "GET /admin",
        "GET /admin/users",
        "POST /admin/users",
        "GET /admin/users/{user_id}",
        "POST /admin/users/{user_id}",
        "POST /admin/users/{user_id}/api-tokens",
        "POST /admin/users/{user_id}/api-tokens/{token_id}/revoke",
        "GET /admin/campaigns",
        "POST /admin/campaigns",
        "GET /admin/campaigns/{campaign_id}",
        "POST /admin/campaigns/{campaign_id}",
        "POST /admin/campaigns/{campaign_id}/agents",
        "GET /admin/lead-statuses",
        "POST /admin/lead-statuses",
        "POST /admin/lead-statuses/{key}",
        "POST /admin/lead-statuses/{key}/retire",
        "POST /admin/lead-statuses/{key}/reinstate",
        "GET /admin/case-types",
        "POST /admin/case-types",
        "POST /admin/case-types/{key}",
        "POST /admin/case-types/{key}/retire",
        "POST /admin/case-types/{key}/reinstate",
        "GET /admin/custom-fields",
        "POST /admin/custom-fields",
        "GET /admin/custom-fields/{field_id}",
        "POST /admin/custom-fields/{field_id}",
        "POST /admin/custom-fields/{field_id}/retire",
        "POST /admin/custom-field-groups",
        "POST /admin/custom-field-groups/{key}/retire",
    ],
}


def expected(row: Row, role: str, state: str) -> int:
    """The documented answer of `row` to `role` on a customer in `state`."""
    if role == "anonymous":
        return 303 if row.page else 401
    if row.always is not None:
        return row.always
    # An action the role may never take is refused first, whatever the customer: the same
    # 403 for every id tells nothing about any card.
    if row.kind == DELETE_CUSTOMER and role == "agent":
        return 403
    if row.kind == RESTORE and role != "admin":
        return 403
    if state == "missing" or (state == "deleted" and role != "admin"):
        return 404
    if state == "deleted":  # an administrator
        if row.kind in (READ, RESTORE):
            return row.ok
        return REFUSED_FOR_DELETED
    if row.kind == RESTORE:  # an administrator, on a customer that is not deleted
        return 404
    return row.ok


# ---- calling the routes --------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a request was answered: enough to judge it."""

    status: int
    content_type: str
    location: str
    body: bytes = b""


@dataclass
class Caller:
    """One role, over the API (a bearer token) and the pages (a session cookie)."""

    app: Any
    api_client: TestClient
    page_client: TestClient
    token: str | None
    csrf: str

    def call(self, row: Row, ctx: Ctx) -> Answer:
        url = row.url(ctx)
        if row.path == "/live/customers/{customer_id}":
            status, headers = stream_status(self.app, url, dict(self.page_client.cookies))
            return Answer(status, headers.get("content-type", ""), headers.get("location", ""))
        kw: dict[str, Any] = {"follow_redirects": False}
        if row.upload:
            kw["files"] = {"file": row.upload}
        if row.page:
            client = self.page_client
            headers = {"X-CSRF-Token": self.csrf} if row.method != "GET" else {}
            if row.form is not None:
                kw["data"] = {"csrf_token": self.csrf, **row.form(ctx)}
        else:
            client = self.api_client
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            if row.if_match:
                headers["If-Match"] = "*"
            if row.json is not None:
                kw["json"] = row.json(ctx)
        response = client.request(row.method, url, headers=headers, **kw)
        return Answer(
            response.status_code,
            response.headers.get("content-type", ""),
            response.headers.get("location", ""),
            response.content,
        )


def _holds(data: Any, object_id: int) -> bool:
    """Whether a JSON answer holds an object with this id, at any depth."""
    if isinstance(data, dict):
        return data.get("id") == object_id or any(_holds(v, object_id) for v in data.values())
    if isinstance(data, list):
        return any(_holds(v, object_id) for v in data)
    return False


def _verdict(row: Row, want: int, got: Answer, role: str, ctx: Ctx) -> str | None:
    status, content_type, location = got.status, got.content_type, got.location
    if status != want:
        return f"{row.name}: {status}, expected {want}"
    if not row.page and status >= 400 and not content_type.startswith(PROBLEM):
        return f"{row.name}: {status} as {content_type!r}, expected {PROBLEM}"
    if row.page and status >= 400 and not content_type.startswith("text/html"):
        return f"{row.name}: {status} as {content_type!r}, expected an error page"
    if row.page and status == 303:
        to_login = location.startswith("/login")
        if to_login != (role == "anonymous"):
            return f"{row.name}: redirected to {location!r}"
    if status == 200 and row.shows and not _holds(json.loads(got.body), ctx[row.shows]):
        return f"{row.name}: 200 without {row.shows} {ctx[row.shows]}"
    if status == 200 and row.says and row.says(ctx) not in got.body.decode():
        return f"{row.name}: 200 without the text {row.says(ctx)!r}"
    return None


# ---- the table -----------------------------------------------------------------------


@dataclass
class Matrix:
    """The app, an administrator who builds the worlds, and each role's caller. Users log in
    once for the whole module (a password hash costs more than a world); each test builds
    its own world, and the tables are emptied when the module is done."""

    app: Any
    db: Database
    admin: Api
    callers: dict[str, Caller]
    worlds: int = 0


@pytest.fixture(scope="module")
def matrix(settings: Settings, _migrated: Database, tmp_path_factory) -> Iterator[Matrix]:
    files = tmp_path_factory.mktemp("files")
    configured = settings.model_copy(update={"files_dir": str(files)})
    _migrated.settings = configured  # for this module only: put back below
    app = create_app(configured, _migrated)
    with ExitStack() as stack:
        stack.callback(setattr, _migrated, "settings", settings)
        client = stack.enter_context(TestClient(app))
        apis = {
            role: _api_for(_migrated, client, USERNAMES[role], ROLES[role]) for role in USERNAMES
        }
        callers = {}
        for role in ("anonymous", *USERNAMES):
            pages = stack.enter_context(TestClient(app))
            csrf = csrf_of(pages.get("/login").text)  # a browser's session: its CSRF token
            if role != "anonymous":
                form = {"username": USERNAMES[role], "password": PASSWORD, "csrf_token": csrf}
                login = pages.post("/login", data=form, follow_redirects=False)
                assert login.status_code == 303, login.text
                csrf = csrf_of(pages.get("/customers").text)
            token = apis[role].token if role in apis else None
            callers[role] = Caller(app, client, pages, token, csrf)
        define_group(apis["admin"])
        yield Matrix(app, _migrated, apis["admin"], callers)
    _empty_tables(_migrated)


CASES = [("anonymous", "live"), ("anonymous", "deleted")] + [
    (role, state)
    for role in ("agent", "supervisor", "admin")
    for state in ("live", "hidden", "deleted", "missing")
]


def _in_order(role: str, state: str) -> list[Row]:
    """The rows in table order, but for the customer's own restore and delete: last, and
    the one that succeeds (if any) after the one refused."""
    own = (RESTORE, DELETE_CUSTOMER)
    last = sorted((r for r in ROWS if r.kind in own), key=lambda r: expected(r, role, state) < 300)
    return [r for r in ROWS if r.kind not in own] + last


@pytest.mark.parametrize(("role", "state"), CASES, ids=[f"{r}-{s}" for r, s in CASES])
def test_access_table(role: str, state: str, matrix: Matrix):
    matrix.worlds += 1
    ctx = Ctx(build_world(matrix.admin, state, tag=f"w{matrix.worlds}"), matrix.db)
    caller = matrix.callers[role]
    failures = []
    for row in _in_order(role, state):
        failure = _verdict(row, expected(row, role, state), caller.call(row, ctx), role, ctx)
        if failure:
            failures.append(failure)
    assert not failures, f"{role} on a {state} customer:\n" + "\n".join(failures)


# ---- the routes are all classified -----------------------------------------------------


def test_every_route_is_classified(matrix: Matrix):
    served = {f"{m} {p}" for m, p in routes(matrix.app)}
    rows = [r.name for r in ROWS]
    excluded = [name for names in EXCLUDED.values() for name in names]
    problems = []
    for name, count in {n: (rows + excluded).count(n) for n in rows + excluded}.items():
        if count > 1:
            problems.append(f"{name}: listed {count} times in ROWS and EXCLUDED")
    for name in sorted(served - set(rows) - set(excluded)):
        per_customer = _params(name) & PER_CUSTOMER_PARAMS
        where = "ROWS (a per-customer route)" if per_customer else "ROWS or EXCLUDED"
        problems.append(f"{name}: a route with no row; add it to {where}")
    for name in sorted(set(rows + excluded) - served):
        problems.append(f"{name}: listed, but the app has no such route any more")
    for name in excluded:
        if _params(name) & PER_CUSTOMER_PARAMS:
            problems.append(f"{name}: names a customer's object, so it needs a row, not EXCLUDED")
    assert not problems, "\n".join(problems)
