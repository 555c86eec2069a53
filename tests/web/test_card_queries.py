"""The card runs a fixed number of SQL statements per page, however much the customer has:
more contact points, relations, accounts, files or interactions never add a query (no N+1).
The numbers are pinned so that a change that adds one shows up here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from clientcard.db import Database
from tests.conftest import Api, create_customer
from tests.web.conftest import Browser

# Statements a card page runs, the session's actor being cached: the header's (the card
# read of customer and contact points, lead statuses, custom field groups, the neighbours
# in the list the agent came from: membership and one probe each way), then the tab's own.
PINNED = {"": 8, "timeline": 11, "contact-points": 8, "cases": 10, "related": 8, "accounts": 8}


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _grow(agent: Api, customer_id: int, n: int) -> None:
    """Gives the customer n more of everything the card lists."""
    for i in range(n):
        agent.post(
            f"/api/v1/customers/{customer_id}/contact-points",
            json={"type": "email", "value": f"extra{i}@example.com"},
        )
        agent.post(
            f"/api/v1/customers/{customer_id}/accounts",
            json={"number": f"A-{customer_id}-{i}", "type": "bank"},
        )
        other = create_customer(agent, last_name=f"Other{i}")
        agent.post(
            f"/api/v1/customers/{customer_id}/relations",
            json={"other_id": other["id"], "labels": ["friend"]},
        )
        agent.post(f"/api/v1/customers/{customer_id}/cases", json={"subject": f"Case {i}"})
        agent.post(
            "/api/v1/interactions",
            json={
                "source": "t",
                "external_id": f"{customer_id}-{i}",
                "channel": "sms",
                "direction": "inbound",
                "from": "+48601234567",
                "customer_id": customer_id,
                "started_at": f"2026-01-{i + 1:02d}T10:00:00Z",
            },
        )


def test_each_tab_runs_the_same_pinned_number_of_queries_for_a_small_and_a_big_card(
    db: Database, agent: Api, web: Browser
):
    small = create_customer(agent, last_name="Small")
    big = create_customer(agent, last_name="Big")
    _grow(agent, small["id"], 1)
    _grow(agent, big["id"], 12)
    web.get(f"/customers/{small['id']}")  # the session's actor is now cached
    for tab, pinned in PINNED.items():
        counts = []
        for customer in (small, big):
            with counted(db) as statements:
                response = web.get(f"/customers/{customer['id']}{'/' + tab if tab else ''}")
            assert response.status_code == 200, (tab, response.text)
            counts.append(len(statements))
        assert counts == [pinned, pinned], (tab, counts)
