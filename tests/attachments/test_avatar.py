"""The customer's uploaded avatar (P2)."""

from __future__ import annotations

from tests.attachments.conftest import MAX_UPLOAD_BYTES, PDF, PNG, sha, stored_files
from tests.cases.conftest import history
from tests.conftest import create_customer


def put_avatar(api, customer_id: int, data: bytes = PNG, content_type="image/png", **kw):
    return api.client.put(
        f"/api/v1/customers/{customer_id}/avatar",
        files={"file": ("me.png", data, content_type)},
        headers={"Authorization": f"Bearer {api.token}", **kw.pop("headers", {})},
    )


def test_avatar_upload_sets_the_card_picture_and_moves_its_version(agent):
    customer = create_customer(agent)
    response = put_avatar(agent, customer["id"], headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    body = response.json()
    attachment_id = body["attachment"]["id"]
    assert body["avatar_attachment_id"] == attachment_id
    assert body["customer_version"] == 2
    assert body["avatar_url"] == f"/api/v1/customers/{customer['id']}/avatar?v={attachment_id}"
    assert body["attachment"]["source"] == "customer"
    assert body["attachment"]["content_type"] == "image/png"

    card = agent.get(f"/api/v1/customers/{customer['id']}")
    assert card.json()["version"] == 2 and card.headers["ETag"] == '"2"'

    entries = history(agent, customer["id"])
    assert entries[0]["action"] == "customer.updated"
    assert entries[0]["changes"] == {
        "avatar_attachment_id": {"before": None, "after": attachment_id}
    }
    assert entries[1]["action"] == "attachment.created"

    image = agent.get(body["avatar_url"])
    assert image.status_code == 200
    assert sha(image.content) == sha(PNG)
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Content-Disposition"] == 'inline; filename="me.png"'
    assert "immutable" in image.headers["Cache-Control"]
    assert (
        "immutable"
        not in agent.get(f"/api/v1/customers/{customer['id']}/avatar").headers["Cache-Control"]
    )


def test_avatar_is_images_only_and_smaller(agent, files_dir):
    customer = create_customer(agent)
    pdf = put_avatar(agent, customer["id"], data=PDF, content_type="application/pdf")
    assert pdf.status_code == 415
    assert pdf.json()["errors"][0]["field"] == "file"
    svg = put_avatar(agent, customer["id"], data=b"<svg/>", content_type="image/svg+xml")
    assert svg.status_code == 415
    big = put_avatar(agent, customer["id"], data=PNG + b"0" * MAX_UPLOAD_BYTES)
    assert big.status_code == 413
    stale = put_avatar(agent, customer["id"], headers={"If-Match": '"5"'})
    assert stale.status_code == 412
    assert stored_files(files_dir) == []  # the refused picture's bytes did not stay
    card = agent.get(f"/api/v1/customers/{customer['id']}").json()
    assert card["version"] == 1


def test_clearing_the_avatar_goes_back_to_none_and_keeps_the_file(agent):
    customer = create_customer(agent)
    attachment_id = put_avatar(agent, customer["id"]).json()["avatar_attachment_id"]
    cleared = agent.delete(f"/api/v1/customers/{customer['id']}/avatar")
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["avatar_attachment_id"] is None
    assert cleared.json()["avatar_url"] is None and cleared.json()["customer_version"] == 3
    assert agent.get(f"/api/v1/customers/{customer['id']}/avatar").status_code == 404
    assert history(agent, customer["id"])[0]["changes"] == {
        "avatar_attachment_id": {"before": attachment_id, "after": None}
    }
    files = agent.get(f"/api/v1/customers/{customer['id']}/attachments").json()["items"]
    assert [f["id"] for f in files] == [attachment_id]


def test_deleting_the_avatars_file_clears_the_avatar(agent, files_dir):
    customer = create_customer(agent)
    attachment_id = put_avatar(agent, customer["id"]).json()["avatar_attachment_id"]
    assert agent.delete(f"/api/v1/attachments/{attachment_id}").status_code == 204
    assert agent.get(f"/api/v1/customers/{customer['id']}/avatar").status_code == 404
    actions = [e["action"] for e in history(agent, customer["id"])[:2]]
    assert actions == ["attachment.deleted", "customer.updated"]
    assert stored_files(files_dir) == []


def test_avatar_of_an_unknown_customer_is_404(agent):
    assert put_avatar(agent, 999999).status_code == 404
    assert agent.get("/api/v1/customers/999999/avatar").status_code == 404
    assert agent.delete("/api/v1/customers/999999/avatar").status_code == 404
