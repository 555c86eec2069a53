"""The screen pop and the customer list's search."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic_core import to_json

from clientcard.auth.actor import system_actor
from clientcard.customers import cards, service
from tests.conftest import create_customer


@pytest.fixture
def ewa(agent):
    return create_customer(
        agent,
        first_name="Ewa",
        last_name="Wiśniewska",
        contact_points=[
            {"type": "mobile", "value": "601 234 567", "region": "PL"},
            {"type": "email", "value": "Ewa.W@Example.pl"},
        ],
    )


@pytest.mark.parametrize(
    "params",
    [
        {"phone": "+48601234567"},
        {"phone": "0048 601-234-567"},
        {"phone": "601234567", "region": "PL"},
        {"phone": "(+48) 601 234 567"},
        {"phone": "601 234 567"},  # default region PL
        {"email": "ewa.w@example.pl"},
        {"email": "EWA.W@EXAMPLE.PL"},
    ],
)
def test_lookup_finds_the_card_from_any_common_notation(agent, ewa, params):
    response = agent.get("/api/v1/lookup", params=params)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [c["id"] for c in items] == [ewa["id"]]
    assert items[0]["contact_points"]


def test_lookup_reads_the_number_in_the_given_region(agent, ewa):
    items = agent.get("/api/v1/lookup", params={"phone": "601234567", "region": "ES"}).json()
    assert items["items"] == []


def test_lookup_returns_every_owner_and_leaves_out_deleted(admin, agent, ewa):
    other = create_customer(
        agent, first_name="Jan", contact_points=[{"type": "whatsapp", "value": "+48 601 234 567"}]
    )
    found = agent.get("/api/v1/lookup", params={"phone": "+48601234567"}).json()["items"]
    assert {c["id"] for c in found} == {ewa["id"], other["id"]}
    admin.delete(f"/api/v1/customers/{other['id']}")
    found = agent.get("/api/v1/lookup", params={"phone": "+48601234567"}).json()["items"]
    assert [c["id"] for c in found] == [ewa["id"]]


def test_lookup_does_not_match_an_email_against_phones(agent, ewa):
    assert agent.get("/api/v1/lookup", params={"email": "nobody@example.pl"}).json()["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"phone": "hello"}, "phone"),
        ({"email": "nobody@"}, "email"),
        ({"phone": "601234567", "region": "QQ"}, "region"),
        ({}, "phone"),
        ({"phone": "601234567", "email": "a@b.pl"}, "email"),
        ({"phone": "6" * 61}, "phone"),
        ({"phone": "601234567", "region": "POL"}, "region"),
        ({"email": "a" * 310 + "@example.pl"}, "email"),
    ],
)
def test_bad_lookup_is_422_naming_the_field(agent, params, field):
    response = agent.get("/api/v1/lookup", params=params)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


def test_lookup_cards_are_the_cards_the_api_shows(agent, ewa):
    """The screen pop builds its cards from rows, without the response models; they must
    be the very cards GET /customers/{id} shows, field for field."""
    company = create_customer(agent, kind="company", company_name="Ibérica", tags=["b2b"])
    agent.patch(
        f"/api/v1/customers/{ewa['id']}",
        json={"company_id": company["id"], "tags": ["vip", "łódź"], "birth_date": "1990-02-03"},
        headers={"If-Match": f'"{ewa["version"]}"'},
    )
    agent.post(
        f"/api/v1/customers/{ewa['id']}/contact-points",
        json={"type": "address", "value": "ul. Długa 5", "city": "Łódź", "country": "PL"},
    )
    card = agent.get(f"/api/v1/customers/{ewa['id']}").json()
    assert len(card["contact_points"]) == 3 and card["tags"] == ["vip", "łódź"]
    assert card["avatar_url"].startswith("https://www.gravatar.com/avatar/")
    for params in ({"phone": "+48601234567"}, {"email": "ewa.w@example.pl"}):
        assert agent.get("/api/v1/lookup", params=params).json()["items"] == [card]


def test_lookup_finds_a_card_with_one_point_among_many_owners(agent):
    """Each card carries its own points only, whatever the order of the owners."""
    owners = [
        create_customer(
            agent,
            first_name=f"Owner {n}",
            contact_points=[{"type": "phone", "value": "+48 22 555 01 23"}]
            + [{"type": "email", "value": f"owner{n}.{k}@example.pl"} for k in range(n)],
        )
        for n in range(4)
    ]
    items = agent.get("/api/v1/lookup", params={"phone": "+48225550123"}).json()["items"]
    assert sorted(c["id"] for c in items) == sorted(o["id"] for o in owners)
    for card in items:
        owner = next(o for o in owners if o["id"] == card["id"])
        assert card["contact_points"] == owner["contact_points"]


def test_screen_pops_in_flight_together_get_each_its_own_cards(agent, db):
    """On PostgreSQL, look-ups that arrive together share one statement; every caller
    still gets exactly the cards a look-up of its own key gives, on both databases."""
    owners = {
        number: create_customer(
            agent,
            first_name=f"Owner {n}",
            contact_points=[{"type": "mobile", "value": number, "region": "PL"}],
        )
        for n, number in enumerate(["601 000 001", "601 000 002", "601 000 003"])
    }
    create_customer(  # a second owner of the first number
        agent, first_name="Shared", contact_points=[{"type": "phone", "value": "+48601000001"}]
    )
    asked = ["601000001", "601000002", "601000009", "601000003", "601000002", "nobody@x.pl"]
    one_by_one = [
        agent.get("/api/v1/lookup", params={"email": key} if "@" in key else {"phone": key}).json()[
            "items"
        ]
        for key in asked
    ]
    actor = system_actor("test")

    async def together():
        try:
            return await asyncio.gather(
                *(
                    service.lookup_cards(
                        db,
                        actor=actor,
                        phone=None if "@" in key else key,
                        email=key if "@" in key else None,
                        region=None,
                    )
                    for key in asked
                )
            )
        finally:
            await db.close_async()

    reads_before = cards._coalescer(db, cards.PHONE_OWNERS).reads
    found = [json.loads(to_json(cards_of_one)) for cards_of_one in asyncio.run(together())]
    assert found == one_by_one
    assert [len(f) for f in found] == [2, 1, 0, 1, 1, 0]
    assert found[1][0]["id"] == owners["601 000 002"]["id"]
    if not db.is_sqlite:  # five phone look-ups, one statement; the e-mail has its own
        assert cards._coalescer(db, cards.PHONE_OWNERS).reads == reads_before + 1


def test_openapi_documents_the_lookup_parameters(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/lookup"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"phone", "region", "email"}
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    assert parameters["region"]["schema"]["anyOf"][0]["maxLength"] == 2
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/LookupResult")


@pytest.fixture
def people(agent):
    return {
        "lucia": create_customer(
            agent,
            first_name="Lucía",
            last_name="Martínez",
            identification_type="dni",
            identification_number="12345678Z",
            contact_points=[
                {"type": "email", "value": "lucia@correo.es"},
                {"type": "mobile", "value": "+34 612 345 678"},
            ],
        ),
        "lukasz": create_customer(
            agent,
            first_name="Łukasz",
            last_name="Dąbrowski",
            identification_type="pesel",
            identification_number="85010112345",
            contact_points=[{"type": "phone", "value": "22 555 01 23"}],
        ),
        "acme": create_customer(
            agent,
            kind="company",
            first_name=None,
            last_name=None,
            company_name="Acme Hardware",
            contact_points=[{"type": "email", "value": "info@acme.com"}],
        ),
    }


def search(api, q, **params):
    response = api.get("/api/v1/customers", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("lucia", {"lucia"}),
        ("LUCÍA mart", {"lucia"}),
        ("lukasz", {"lukasz"}),
        ("dąbr", {"lukasz"}),
        ("acme", {"acme"}),
        ("hardw", {"acme"}),
        ("12345678z", {"lucia"}),
        ("85010112345", {"lukasz"}),
        ("lucia@correo.es", {"lucia"}),
        ("lucia@", {"lucia"}),
        ("info@acme.com", {"acme"}),
        ("+34 612 345 678", {"lucia"}),
        ("612 345", {"lucia"}),
        ("345678", {"lucia"}),
        ("22 555 01 23", {"lukasz"}),
        ("5550123", {"lukasz"}),
        ("nobody", set()),
        ("nobody@nowhere.es", set()),
        ("999 999 999", set()),
    ],
)
def test_search_reads_the_query_shape(agent, people, q, who):
    assert search(agent, q) == {people[name]["id"] for name in who}


def test_search_combines_with_filters(agent, people):
    assert search(agent, "acme", kind="person") == set()
    assert search(agent, "acme", kind="company") == {people["acme"]["id"]}


def test_tag_and_vip_filters(agent):
    tagged = create_customer(agent, tags=["loyal", "b2b"], vip=True)
    create_customer(agent, tags=["b2b"])
    assert {c["id"] for c in agent.get("/api/v1/customers?tag=loyal").json()["items"]} == {
        tagged["id"]
    }
    assert {c["id"] for c in agent.get("/api/v1/customers?vip=true").json()["items"]} == {
        tagged["id"]
    }
    assert len(agent.get("/api/v1/customers?tag=b2b").json()["items"]) == 2


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "name", "-updated_at"])
def test_keyset_pages_cover_the_list_once(agent, sort):
    names = ["Zofia", "Ana", "Marta", "Ana", "Piotr", "Łucja", "Bea", "Ola", "Ewa"]
    ids = {create_customer(agent, first_name=n, last_name="X")["id"] for n in names}
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, "sort": sort, **({"cursor": cursor} if cursor else {})}
        body = agent.get("/api/v1/customers", params=params).json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    assert pages == 5
    full = [c["id"] for c in agent.get("/api/v1/customers", params={"sort": sort}).json()["items"]]
    assert seen == full


def test_name_sort_orders_by_last_then_first_name(agent):
    for first, last in [("Ana", "Nowak"), ("Zofia", "Abad"), ("Bea", "Nowak")]:
        create_customer(agent, first_name=first, last_name=last)
    items = agent.get("/api/v1/customers?sort=name").json()["items"]
    assert [(c["first_name"], c["last_name"]) for c in items] == [
        ("Zofia", "Abad"),
        ("Ana", "Nowak"),
        ("Bea", "Nowak"),
    ]


@pytest.mark.parametrize("cursor", ["garbage!", "WzEsMl0", "eyJhIjoxfQ"])
def test_a_forged_cursor_is_422(agent, cursor):
    response = agent.get("/api/v1/customers", params={"cursor": cursor})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 500}, {"sort": "age"}, {"vip": "x"}])
def test_bad_list_parameters_are_422(agent, params):
    response = agent.get("/api/v1/customers", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(params))


def test_the_screen_pop_survives_a_dropped_database_connection(db, agent, ewa):
    """The screen pop's connections are not pinged when taken from the pool: one the
    server has dropped (a restart, a failover) is replaced and the look-up still answers."""
    assert agent.get("/api/v1/lookup", params={"phone": "+48601234567"}).status_code == 200
    if db.is_sqlite:  # no server to drop a connection: the pool's files are closed instead
        db.engine.dispose()
    else:
        with db.engine.connect() as connection:
            dropped = connection.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state = 'idle'"
            ).scalar_one()
        assert dropped >= 1
    for _ in range(3):
        response = agent.get("/api/v1/lookup", params={"phone": "+48601234567"})
        assert response.status_code == 200, response.text
        assert [c["id"] for c in response.json()["items"]] == [ewa["id"]]
