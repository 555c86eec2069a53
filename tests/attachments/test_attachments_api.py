"""Attachments over the REST API: upload, download headers, limits, rename, delete, the
card's gathered list, history."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from clientcard.attachments import service
from clientcard.attachments.models import Attachment
from clientcard.attachments.storage import LocalFileStore
from clientcard.auth.actor import Actor, Role
from clientcard.errors import Conflict
from tests.attachments.conftest import (
    MAX_UPLOAD_BYTES,
    PDF,
    interaction,
    sha,
    stored_files,
    upload,
    uploaded,
)
from tests.cases.conftest import create_case, history
from tests.conftest import create_customer


def count_rows(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Attachment))


def test_upload_and_download_keep_the_bytes_with_safe_headers(agent, files_dir):
    customer = create_customer(agent)
    data = PDF + bytes(range(256)) * 300  # more than one chunk
    name = "Umowa łódź \u2013 2026.pdf"  # with an en dash
    response = upload(
        agent, f"/api/v1/customers/{customer['id']}/attachments", name=name, data=data
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"/api/v1/attachments/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert body["name"] == name
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(data) and body["sha256"] == sha(data)
    assert body["source"] == "customer" and body["customer_id"] == customer["id"]
    assert body["case_id"] is None and body["interaction_id"] is None
    assert body["created_by"] == "ana" and body["version"] == 1
    assert body["content_url"] == f"/api/v1/attachments/{body['id']}/content"
    assert agent.get(f"/api/v1/attachments/{body['id']}").json() == body

    content = agent.get(body["content_url"])
    assert content.status_code == 200
    assert sha(content.content) == sha(data)
    assert content.headers["Content-Type"] == "application/pdf"
    assert content.headers["Content-Length"] == str(len(data))
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["ETag"] == f'"{sha(data)}"'
    disposition = content.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Umowa lodz _ 2026.pdf"; ')
    encoded = disposition.split("filename*=", 1)[1]
    assert encoded.startswith("UTF-8''")
    assert unquote(encoded.removeprefix("UTF-8''"), encoding="utf-8") == name
    assert all(ord(c) < 128 for c in disposition)

    again = agent.get(body["content_url"], headers={"If-None-Match": f'"{sha(data)}"'})
    assert again.status_code == 304 and again.content == b""

    # The store names the bytes by their hash only.
    digest = sha(data)
    assert stored_files(files_dir) == [f"{digest[:2]}/{digest[2:4]}/{digest}"]


def test_plain_ascii_names_have_no_extended_parameter(agent):
    customer = create_customer(agent)
    body = uploaded(
        agent,
        f"/api/v1/customers/{customer['id']}/attachments",
        name="notes.txt",
        data=b"call back on Monday\n",
        content_type="text/plain",
    )
    content = agent.get(body["content_url"])
    assert content.headers["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert content.headers["Content-Type"] == "text/plain"
    assert content.text == "call back on Monday\n"


def test_an_oversized_upload_is_413_and_leaves_nothing_behind(agent, db, files_dir):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}/attachments"
    uploaded(agent, url)  # the store's directory exists, with one file in it
    before_files, before_rows = stored_files(files_dir), count_rows(db)

    # Just over the limit: refused while streaming; and far over it: refused by its length.
    for size in (MAX_UPLOAD_BYTES + 1, MAX_UPLOAD_BYTES * 3):
        response = upload(agent, url, name="big.pdf", data=PDF + b"x" * (size - len(PDF)))
        assert response.status_code == 413, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["errors"] == [
            {"field": "file", "message": f"is larger than {MAX_UPLOAD_BYTES} bytes"}
        ]
        assert problem["max_bytes"] == MAX_UPLOAD_BYTES
        assert stored_files(files_dir) == before_files  # no temporary file either
        assert count_rows(db) == before_rows

    # Exactly at the limit is accepted.
    exact = PDF + b"y" * (MAX_UPLOAD_BYTES - len(PDF))
    assert uploaded(agent, url, name="exact.pdf", data=exact)["size"] == MAX_UPLOAD_BYTES


def test_types_outside_the_allowed_list_are_415_with_the_field(agent, db, files_dir):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}/attachments"
    response = upload(
        agent, url, name="setup.exe", data=b"MZ\x90\x00", content_type="application/x-msdownload"
    )
    assert response.status_code == 415, response.text
    problem = response.json()
    assert problem["errors"] == [
        {"field": "file", "message": "type application/x-msdownload is not allowed"}
    ]
    assert "application/pdf" in problem["allowed"]

    # A declared type that the content contradicts.
    response = upload(
        agent, url, name="photo.png", data=b"<html>hi</html>", content_type="image/png"
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["field"] == "file"

    # Neither left anything behind.
    assert stored_files(files_dir) == [] and count_rows(db) == 0


def test_generic_types_are_read_from_the_extension_and_aliases_understood(agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}/attachments"
    mail = uploaded(
        agent,
        url,
        name="complaint.eml",
        data=b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
        content_type="application/octet-stream",
    )
    assert mail["content_type"] == "message/rfc822"
    photo = uploaded(
        agent, url, name="scan.jpg", data=b"\xff\xd8\xff\xe0" + b"0" * 50, content_type="image/JPG"
    )
    assert photo["content_type"] == "image/jpeg"
    unknown = upload(
        agent, url, name="blob.bin", data=b"abc", content_type="application/octet-stream"
    )
    assert unknown.status_code == 415


def test_path_traversal_and_control_characters_are_stripped_from_names(agent, files_dir):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}/attachments"
    data = b"root:x:0:0\n"
    body = uploaded(agent, url, name="../../etc/passwd", data=data, content_type="text/plain")
    assert body["name"] == "passwd"
    # Written by hand: clients percent-encode control characters in a filename.
    raw = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; '
        b'filename="..\\..\\win\\evil\xe2\x80\xaetxt.exe\x07"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n--XyZ--\r\n"
    )
    response = agent.post(
        url, content=raw, headers={"Content-Type": "multipart/form-data; boundary=XyZ"}
    )
    assert response.status_code == 201, response.text
    sneaky = response.json()
    assert sneaky["name"] == "eviltxt.exe"
    assert stored_files(files_dir) == [f"{sha(data)[:2]}/{sha(data)[2:4]}/{sha(data)}"]
    assert not (files_dir.parent / "etc").exists()


def test_requests_that_are_not_a_file_upload(agent):
    customer = create_customer(agent)
    url = f"/api/v1/customers/{customer['id']}/attachments"
    response = agent.post(url, json={"file": "x"})
    assert response.status_code == 415
    assert response.json()["errors"] == [
        {"field": "Content-Type", "message": "must be multipart/form-data"}
    ]
    response = agent.post(url, files={"other": ("a.txt", b"abc", "text/plain")})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "file", "message": "is required"}]
    response = upload(agent, url, name="empty.txt", data=b"", content_type="text/plain")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "file", "message": "is empty"}]


def test_same_bytes_are_stored_once_and_deleted_after_the_last_row(agent, db, files_dir):
    customer = create_customer(agent)
    case = create_case(agent, customer["id"])
    first = uploaded(agent, f"/api/v1/customers/{customer['id']}/attachments", name="a.pdf")
    second = uploaded(agent, f"/api/v1/cases/{case['id']}/attachments", name="b.pdf")
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"] == sha(PDF)
    assert len(stored_files(files_dir)) == 1 and count_rows(db) == 2

    assert agent.delete(f"/api/v1/attachments/{first['id']}").status_code == 204
    assert agent.get(f"/api/v1/attachments/{first['id']}").status_code == 404
    assert len(stored_files(files_dir)) == 1  # the case's file still uses the bytes
    assert sha(agent.get(second["content_url"]).content) == sha(PDF)

    assert agent.delete(f"/api/v1/attachments/{second['id']}").status_code == 204
    assert stored_files(files_dir) == [] and count_rows(db) == 0


def test_delete_honours_if_match_and_is_in_the_history(agent):
    customer = create_customer(agent)
    body = uploaded(agent, f"/api/v1/customers/{customer['id']}/attachments")
    stale = agent.delete(f"/api/v1/attachments/{body['id']}", headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert (
        agent.delete(f"/api/v1/attachments/{body['id']}", headers={"If-Match": '"1"'}).status_code
        == 204
    )
    assert agent.delete(f"/api/v1/attachments/{body['id']}").status_code == 404
    entry = history(agent, customer["id"])[0]
    assert (entry["action"], entry["entity"], entry["entity_id"]) == (
        "attachment.deleted",
        "attachment",
        body["id"],
    )
    assert entry["changes"] == {
        "content_type": {"before": "application/pdf", "after": None},
        "name": {"before": "invoice.pdf", "after": None},
        "sha256": {"before": sha(PDF), "after": None},
        "size": {"before": len(PDF), "after": None},
    }


def test_upload_is_audited_with_exact_values(agent):
    customer = create_customer(agent)
    case = create_case(agent, customer["id"])
    body = uploaded(agent, f"/api/v1/cases/{case['id']}/attachments", name="scan.pdf")
    entry = history(agent, customer["id"])[0]
    assert entry["action"] == "attachment.created"
    assert entry["entity"] == "attachment" and entry["entity_id"] == body["id"]
    assert entry["actor"] == "ana"
    assert entry["changes"] == {
        "case_id": {"before": None, "after": case["id"]},
        "content_type": {"before": None, "after": "application/pdf"},
        "name": {"before": None, "after": "scan.pdf"},
        "sha256": {"before": None, "after": sha(PDF)},
        "size": {"before": None, "after": len(PDF)},
    }


def test_rename_needs_a_current_if_match_and_records_before_and_after(agent):
    customer = create_customer(agent)
    body = uploaded(agent, f"/api/v1/customers/{customer['id']}/attachments", name="scan.pdf")
    url = f"/api/v1/attachments/{body['id']}"
    assert agent.patch(url, json={"name": "x.pdf"}).status_code == 428
    stale = agent.patch(url, json={"name": "x.pdf"}, headers={"If-Match": '"2"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 1

    renamed = agent.patch(
        url, json={"name": "../Umowa\tpodpisana.pdf"}, headers={"If-Match": '"1"'}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Umowa podpisana.pdf"
    assert renamed.json()["version"] == 2 and renamed.headers["ETag"] == '"2"'
    entry = history(agent, customer["id"])[0]
    assert (entry["action"], entry["entity_id"]) == ("attachment.updated", body["id"])
    assert entry["changes"] == {"name": {"before": "scan.pdf", "after": "Umowa podpisana.pdf"}}
    disposition = agent.get(body["content_url"]).headers["Content-Disposition"]
    assert disposition == 'attachment; filename="Umowa podpisana.pdf"'

    empty = agent.patch(url, json={"name": "../.."}, headers={"If-Match": '"2"'})
    assert empty.status_code == 422
    assert empty.json()["errors"] == [{"field": "name", "message": "is not a usable file name"}]
    extra = agent.patch(url, json={"name": "a.pdf", "size": 1}, headers={"If-Match": '"2"'})
    assert extra.status_code == 422


def test_the_card_gathers_files_of_its_cases_and_interactions(agent):
    customer = create_customer(agent)
    other = create_customer(agent, last_name="Nowak")
    case = create_case(agent, customer["id"])
    call = interaction(agent, customer["id"])
    own = uploaded(agent, f"/api/v1/customers/{customer['id']}/attachments", name="id-card.pdf")
    of_case = uploaded(agent, f"/api/v1/cases/{case['id']}/attachments", name="claim.pdf")
    of_call = uploaded(
        agent,
        f"/api/v1/interactions/{call['id']}/attachments",
        name="recording.wav",
        data=b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40,
        content_type="audio/wav",
    )
    uploaded(agent, f"/api/v1/customers/{other['id']}/attachments", name="not-hers.pdf")

    page = agent.get(f"/api/v1/customers/{customer['id']}/attachments").json()
    assert [a["id"] for a in page["items"]] == [of_call["id"], of_case["id"], own["id"]]
    assert page["next_cursor"] is None
    by_name = {a["name"]: a for a in page["items"]}
    assert by_name["id-card.pdf"]["source"] == "customer"
    assert (by_name["claim.pdf"]["source"], by_name["claim.pdf"]["case_number"]) == (
        "case",
        case["number"],
    )
    recording = by_name["recording.wav"]
    assert (recording["source"], recording["interaction_id"]) == ("interaction", call["id"])
    assert recording["interaction_channel"] == "voice"
    assert recording["content_type"] == "audio/wav"

    first = agent.get(f"/api/v1/customers/{customer['id']}/attachments", params={"limit": 2}).json()
    assert [a["id"] for a in first["items"]] == [of_call["id"], of_case["id"]]
    rest = agent.get(
        f"/api/v1/customers/{customer['id']}/attachments",
        params={"limit": 2, "cursor": first["next_cursor"]},
    ).json()
    assert [a["id"] for a in rest["items"]] == [own["id"]] and rest["next_cursor"] is None

    only = agent.get(
        f"/api/v1/customers/{customer['id']}/attachments",
        params=[("source", "case"), ("source", "customer")],
    ).json()
    assert [a["id"] for a in only["items"]] == [of_case["id"], own["id"]]

    case_files = agent.get(f"/api/v1/cases/{case['id']}/attachments").json()["items"]
    assert [a["id"] for a in case_files] == [of_case["id"]]
    call_files = agent.get(f"/api/v1/interactions/{call['id']}/attachments").json()["items"]
    assert [a["id"] for a in call_files] == [of_call["id"]]


@pytest.mark.parametrize("kind", ["customers", "cases", "interactions"])
def test_unknown_targets_are_404(agent, kind, files_dir):
    url = f"/api/v1/{kind}/999999/attachments"
    assert upload(agent, url).status_code == 404
    assert agent.get(url).status_code == 404
    assert stored_files(files_dir) == []


def test_unknown_attachments_are_404(agent):
    for response in (
        agent.get("/api/v1/attachments/424242"),
        agent.get("/api/v1/attachments/424242/content"),
        agent.patch("/api/v1/attachments/424242", json={"name": "a"}, headers={"If-Match": '"1"'}),
        agent.delete("/api/v1/attachments/424242"),
    ):
        assert response.status_code == 404, response.text
        assert response.headers["Content-Type"] == "application/problem+json"


def test_files_of_a_deleted_customer_are_hidden_from_agents(agent, supervisor, admin):
    customer = create_customer(agent)
    body = uploaded(agent, f"/api/v1/customers/{customer['id']}/attachments")
    deleted = supervisor.delete(f"/api/v1/customers/{customer['id']}")
    assert deleted.status_code == 204, deleted.text
    assert agent.get(f"/api/v1/attachments/{body['id']}").status_code == 404
    assert upload(agent, f"/api/v1/customers/{customer['id']}/attachments").status_code == 404
    assert admin.get(f"/api/v1/attachments/{body['id']}").status_code == 200


def test_uploads_need_a_token(client):
    response = client.post("/api/v1/customers/1/attachments", files={"file": ("a.txt", b"a")})
    assert response.status_code == 401


def test_bytes_removed_while_uploading_refuse_the_row_instead_of_dangling(agent, db, files_dir):
    """A concurrent release deleted the bytes between the upload's put and its row: the row
    is refused (409), never written without its bytes."""
    customer = create_customer(agent)
    store = LocalFileStore(files_dir)
    digest, size = store.put(io.BytesIO(PDF))
    stored = service.StoredFile(
        sha256=digest, size=size, name="a.pdf", content_type="application/pdf"
    )
    with db.write() as session:
        assert service.release_bytes(session, store=store, sha256=digest) is True
    actor = Actor(user_id=agent.user_id, username="ana", role=Role.AGENT)
    with pytest.raises(Conflict), db.write() as session:
        service.create_attachment(
            session,
            actor=actor,
            store=store,
            target=service.Target("customer", customer["id"]),
            stored=stored,
        )
    assert count_rows(db) == 0
    # With the bytes present, the same call succeeds and a release keeps them.
    store.put(io.BytesIO(PDF))
    with db.write() as session:
        service.create_attachment(
            session,
            actor=actor,
            store=store,
            target=service.Target("customer", customer["id"]),
            stored=stored,
        )
    with db.write() as session:
        assert service.release_bytes(session, store=store, sha256=digest) is False
    assert store.exists(digest) and count_rows(db) == 1
