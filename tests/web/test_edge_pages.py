"""Pages answer input that breaks the edge rules with a 4xx page, never a server error."""

from __future__ import annotations

from tests.api.test_edge_rules import forged
from tests.conftest import Api, create_customer
from tests.web.conftest import Browser


def test_a_forged_cursor_on_a_page_is_a_422_page(agent: Api, web: Browser):
    customer = create_customer(agent)["id"]
    for url in (
        "/customers?",
        f"/customers/{customer}/timeline?",
        f"/customers/{customer}/cases?",
        f"/customers/{customer}/history?",
        f"/customers/{customer}/attachments?",
    ):
        for cursor in (forged([2**80]), forged([None]), forged(["\x00", 1]), "%00"):
            response = web.get(f"{url}cursor={cursor}")
            assert response.status_code == 422, (url, cursor, response.text[:300])
            assert "text/html" in response.headers["content-type"]


def test_nul_in_a_page_form_is_a_422_page(agent: Api, web: Browser):
    customer = create_customer(agent)["id"]
    response = web.post(f"/customers/{customer}/notes", {"text": "a\x00b"})
    assert response.status_code == 422 and "NUL" in response.text
    assert "a\x00b" not in agent.get(f"/api/v1/customers/{customer}/timeline").text
