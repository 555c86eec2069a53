"""The rules every input meets at the edge (clientcard.validation, clientcard.pagination,
clientcard.http): whatever a client sends, a bad value is a 422 naming its field, on both
databases alike, never a server error."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from tests.cases.conftest import create_case
from tests.conftest import Api, create_customer


def forged(values: Any) -> str:
    raw = json.dumps(values, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Each shape once against each list: a number past 64 bits, null, NUL, the wrong arity,
# a time at the calendar's edge, a time without a zone, a float, not base64, not JSON.
FORGED_CURSORS = [
    forged([2**80]),
    forged([None]),
    forged(["\x00"]),
    forged([None, None]),
    forged(["\x00", 1]),
    forged([2**80, 2**80]),
    forged(["0001-01-01T00:00:00+05:00", 1]),
    forged(["9999-12-31T23:59:59-12:00", 1]),
    forged(["2026-01-01T00:00:00", 1]),
    forged(["2026-01-01T00:00:00+00:00", 2**70, 2**70]),
    forged([None, None, None]),
    forged([1.5]),
    forged({"a": 1}),
    "%00",
    "not*base64",
    base64.urlsafe_b64encode(b"[1,").decode(),
    base64.urlsafe_b64encode(b"[NaN]").decode(),
    "A" * 2000,
]


def assert_names(response: Any, field: str, status: int = 422) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.text


def _lists(admin: Api) -> list[str]:
    customer = create_customer(admin)["id"]
    case = create_case(admin, customer)["id"]
    group = admin.post("/api/v1/custom-field-groups", json={"key": "extra", "label": "Extra"})
    assert group.status_code == 201, group.text
    interaction = admin.post(
        "/api/v1/interactions",
        json={
            "source": "pbx",
            "external_id": "c-1",
            "channel": "voice",
            "direction": "inbound",
            "customer_id": customer,
            "started_at": "2026-01-05T10:00:00Z",
        },
    ).json()["id"]
    c = f"/api/v1/customers/{customer}"
    return [
        "/api/v1/customers?",
        "/api/v1/customers?sort=name&",
        "/api/v1/customers?sort=-updated_at&",
        "/api/v1/customers?sort=created_at&",
        f"{c}/history?",
        f"{c}/timeline?",
        f"{c}/cases?",
        f"{c}/accounts?",
        f"{c}/relations?",
        f"{c}/campaigns?",
        f"{c}/attachments?",
        f"{c}/groups/extra/records?",
        f"/api/v1/cases/{case}/timeline?",
        f"/api/v1/cases/{case}/attachments?",
        f"/api/v1/interactions/{interaction}/attachments?",
        "/api/v1/interactions?ambiguous=true&",
    ]


# Well-formed for a list sorted by name (text, id): any text is a name to start after.
NAME_CURSORS = {forged(["0001-01-01T00:00:00+05:00", 1]), forged(["9999-12-31T23:59:59-12:00", 1])}
NAME_CURSORS.add(forged(["2026-01-01T00:00:00", 1]))


def test_a_forged_cursor_is_refused_naming_it_on_every_list(admin: Api):
    for url in _lists(admin):
        first = admin.get(f"{url}limit=1")
        assert first.status_code == 200, (url, first.text)
        for cursor in FORGED_CURSORS:
            response = admin.get(f"{url}cursor={cursor}")
            if "sort=name" in url and cursor in NAME_CURSORS:
                assert response.status_code == 200, (url, cursor, response.text)
                continue
            assert response.status_code == 422, (url, cursor, response.text)
            assert_names(response, "cursor")


def test_the_cursor_a_list_gives_out_reads_the_next_page(admin: Api):
    for n in range(3):
        create_customer(admin, first_name=f"N{n}")
    for sort in ("-created_at", "name", "-updated_at"):
        first = admin.get(f"/api/v1/customers?sort={sort}&limit=2").json()
        rest = admin.get(f"/api/v1/customers?sort={sort}&cursor={first['next_cursor']}").json()
        ids = [c["id"] for c in first["items"] + rest["items"]]
        assert len(ids) == 3 == len(set(ids))


def test_nul_in_text_is_refused_naming_the_field(agent: Api, admin: Api):
    response = agent.post(
        "/api/v1/customers", json={"first_name": "A\x00na", "last_name": "Kowalska"}
    )
    assert_names(response, "first_name")
    response = agent.post(
        "/api/v1/customers",
        json={"last_name": "K", "contact_points": [{"type": "email", "value": "a\x00@b.pl"}]},
    )
    assert_names(response, "contact_points.0.value")
    assert_names(agent.get("/api/v1/customers?q=a%00b"), "q")
    assert_names(agent.get("/api/v1/lookup?phone=601%00"), "phone")
    customer = create_customer(admin)["id"]
    assert_names(admin.get(f"/api/v1/customers/{customer}/groups/a%00b/records"), "group_key")
    campaign = {"name": "c", "direction": "inbound", "settings": {"k\x00": 1}}
    assert_names(admin.post("/api/v1/campaigns", json=campaign), "settings")
    assert admin.get("/api/v1/customers").json()["items"][0]["first_name"] == "Ana"


EDGE_TIMES = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-12:00"]


def test_times_past_the_calendar_are_refused_in_bodies_and_filters(admin: Api):
    customer = create_customer(admin)["id"]
    case = create_case(admin, customer)["id"]
    for at in EDGE_TIMES:
        item = {
            "source": "pbx",
            "external_id": at,
            "channel": "voice",
            "direction": "inbound",
            "customer_id": customer,
            "started_at": at,
        }
        assert_names(admin.post("/api/v1/interactions", json=item), "started_at")
        batch = admin.post("/api/v1/interactions/batch", json={"items": [item]})
        assert batch.status_code == 200, batch.text
        assert batch.json()["items"][0]["result"] == "error"
        change = {"field": "status", "value": "sale", "due_at": at}
        assert_names(
            admin.post(f"/api/v1/customers/{customer}/scheduled-changes", json=change), "due_at"
        )
        query = at.replace("+", "%2B")
        for url in (
            f"/api/v1/customers/{customer}/cases?since={query}",
            f"/api/v1/customers/{customer}/timeline?until={query}",
            f"/api/v1/customers/{customer}/dashboard?since={query}",
            f"/api/v1/cases/{case}/timeline?since={query}",
        ):
            field = "since" if "since" in url else "until"
            assert_names(admin.get(url), field)
    # the edges themselves, in UTC, are times like any other
    item["started_at"], item["external_id"] = "0001-01-01T00:00:00Z", "first"
    assert admin.post("/api/v1/interactions", json=item).status_code == 201
    timeline = admin.get(f"/api/v1/customers/{customer}/timeline?until=9999-12-31T23:59:59Z")
    assert timeline.status_code == 200
    assert timeline.json()["items"][-1]["at"].startswith("0001-01-01T00:00:00")


def _raw(api: Api, url: str, body: bytes):
    return api.post(url, content=body, headers={"Content-Type": "application/json"})


def test_json_bodies_are_strict(admin: Api):
    url = "/api/v1/campaigns"
    for number in (b"Infinity", b"-Infinity", b"NaN", b"1e400", b"-1e400"):
        body = b'{"name": "c", "direction": "inbound", "settings": {"a": [1, ' + number + b"]}}"
        assert_names(_raw(admin, url, body), "settings.a.1")
    twice = b'{"name": "c", "name": "d", "direction": "inbound"}'
    assert_names(_raw(admin, url, twice), "name")
    nested_twice = b'{"name": "c", "direction": "inbound", "settings": {"x": {"k": 1, "k": 2}}}'
    assert_names(_raw(admin, url, nested_twice), "settings.x.k")
    assert admin.get(url).json()["items"] == []  # nothing was stored
    assert _raw(admin, url, b'{"name": "c", "direction": "inbound"}').status_code == 201


def test_free_form_json_is_bounded(admin: Api):
    customer = create_customer(admin)["id"]
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(300):
        inner["a"] = {}
        inner = inner["a"]
    campaign = {"name": "c", "direction": "inbound", "settings": deep}
    assert_names(admin.post("/api/v1/campaigns", json=campaign), "settings")
    account = {"number": "1", "type": "loan", "data": deep}
    assert_names(admin.post(f"/api/v1/customers/{customer}/accounts", json=account), "data")
    big = {"name": "c", "direction": "inbound", "settings": {"text": "x" * 70_000}}
    assert_names(admin.post("/api/v1/campaigns", json=big), "settings")
    shallow = {"name": "c", "direction": "inbound", "settings": {"a": {"b": [1, 2.5, "x"]}}}
    created = admin.post("/api/v1/campaigns", json=shallow)
    assert created.status_code == 201 and created.json()["settings"] == shallow["settings"]


@pytest.mark.parametrize("value", [" 1", "1 ", "+1", "1_0", "0x1", "\u0661", "1.0"])
def test_an_id_is_plain_digits(agent: Api, value: str):
    create_customer(agent)
    assert_names(agent.get(f"/api/v1/customers/{value}"), "customer_id")
    assert_names(agent.get(f"/api/v1/customers?company_id={value}"), "company_id")


def test_unknown_query_parameters_are_refused_naming_them(agent: Api):
    response = agent.get("/api/v1/customers?kindd=person&sortt=name&kind=person")
    assert_names(response, "kindd")
    assert_names(response, "sortt")
    assert "kind" not in [e["field"] for e in response.json()["errors"]]
    assert_names(agent.get("/api/v1/lookup?phone=601234567&regoin=PL"), "regoin")
    assert agent.get("/api/v1/customers?kind=person").status_code == 200


def test_the_document_declares_bearer_if_match_and_problems(client):
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from POST /api/v1/auth/token, or an API token.",
    }
    patch = doc["paths"]["/api/v1/customers/{customer_id}"]["patch"]
    assert patch["security"] == [{"bearer": []}]
    if_match = [p for p in patch["parameters"] if p["name"] == "If-Match"]
    assert if_match and if_match[0]["in"] == "header" and if_match[0]["required"] is True
    for status in ("401", "403", "404", "409", "412", "422", "428", "503"):
        content = patch["responses"][status]["content"]
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    delete = doc["paths"]["/api/v1/customers/{customer_id}"]["delete"]
    assert [p["required"] for p in delete["parameters"] if p["name"] == "If-Match"] == [False]
    assert "428" not in delete["responses"] and "412" in delete["responses"]
    upload = doc["paths"]["/api/v1/customers/{customer_id}/attachments"]["post"]
    assert {"413", "415"} <= set(upload["responses"])
    login = doc["paths"]["/api/v1/auth/token"]["post"]
    assert "security" not in login and "401" not in login["responses"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_docs_are_served_from_the_package(client):
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "http://" not in page.text and "https://" not in page.text
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_an_id_in_a_body_is_a_number_or_plain_digits(admin: Api):
    company = create_customer(admin, kind="company", company_name="Acme", last_name=None)
    person = {"first_name": "A", "last_name": "B", "company_id": f" {company['id']}"}
    assert_names(admin.post("/api/v1/customers", json=person), "company_id")
    person["company_id"] = str(company["id"])
    assert admin.post("/api/v1/customers", json=person).status_code == 201


def test_a_json_body_over_the_limit_is_413_and_writes_nothing(settings, db, monkeypatch):
    """A JSON body is read whole to check it, so its size is capped: refused by its announced
    length, before anything is read or written."""
    from fastapi.testclient import TestClient

    from clientcard.app import create_app
    from clientcard.auth.actor import Role
    from tests.conftest import login, make_user

    configured = settings.model_copy(update={"max_json_bytes": 4096})
    monkeypatch.setattr(db, "settings", configured)  # for this test only
    with TestClient(create_app(configured, db)) as client:
        make_user(db, "big-body", Role.AGENT)
        headers = {"Authorization": f"Bearer {login(client, 'big-body')}"}
        big = {"first_name": "Ana", "last_name": "Kowalska", "note": "x" * 5000}
        refused = client.post("/api/v1/customers", json=big, headers=headers)
        assert refused.status_code == 413
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["errors"] == [
            {"field": "body", "message": "is larger than 4096 bytes"}
        ]
        listed = client.get("/api/v1/customers", headers=headers).json()["items"]
        assert listed == []
        small = {"first_name": "Ana", "last_name": "Kowalska", "note": "x" * 100}
        assert client.post("/api/v1/customers", json=small, headers=headers).status_code == 201
