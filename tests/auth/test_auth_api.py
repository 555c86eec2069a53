"""Login, bearer tokens, API tokens for systems, user administration, roles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from clientcard.audit.models import AuditEntry
from clientcard.auth.models import ApiToken
from clientcard.base import utcnow
from tests.conftest import Api, login


def test_every_api_call_needs_a_bearer_token(client):
    for method, url in [
        ("get", "/api/v1/customers"),
        ("post", "/api/v1/customers"),
        ("get", "/api/v1/lookup?phone=1"),
        ("get", "/api/v1/customers/1/history"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 401, url
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    bad = client.get("/api/v1/customers", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_health_and_openapi_are_public(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    assert "/api/v1/lookup" in spec["paths"] and "/api/v1/customers/{customer_id}" in spec["paths"]


def test_login_with_wrong_password_is_401(client, agent):
    response = client.post("/api/v1/auth/token", json={"username": "ana", "password": "wrong"})
    assert response.status_code == 401
    missing = client.post("/api/v1/auth/token", json={"username": "ghost", "password": "x"})
    assert missing.status_code == 401
    assert response.json()["detail"] == missing.json()["detail"]


def test_login_body_is_validated(client):
    response = client.post("/api/v1/auth/token", json={"username": "ana"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "password", "message": "is required"}]


def test_token_response_shape(client, agent):
    response = client.post(
        "/api/v1/auth/token", json={"username": "ana", "password": "secret-pass-1"}
    )
    body = response.json()
    assert body["token_type"] == "bearer" and len(body["access_token"]) > 30


def test_logout_revokes_the_token(client, agent):
    assert agent.delete("/api/v1/auth/token").status_code == 204
    assert agent.get("/api/v1/customers").status_code == 401


def test_only_admins_manage_users(admin, supervisor, agent):
    body = {"username": "new-agent", "password": "long-enough", "role": "agent"}
    assert agent.post("/api/v1/users", json=body).status_code == 403
    assert supervisor.post("/api/v1/users", json=body).status_code == 403
    created = admin.post("/api/v1/users", json=body)
    assert created.status_code == 201
    assert "password" not in created.json() and "password_hash" not in created.json()
    assert admin.post("/api/v1/users", json=body).status_code == 409
    assert agent.get("/api/v1/users").status_code == 403
    assert {u["username"] for u in admin.get("/api/v1/users").json()["items"]} >= {"new-agent"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "x", "password": "long-enough", "role": "agent"}, "username"),
        ({"username": "joe", "password": "short", "role": "agent"}, "password"),
        ({"username": "joe", "password": "long-enough", "role": "boss"}, "role"),
        ({"username": "joe", "password": "long-enough", "role": "agent", "email": "x@"}, "email"),
    ],
)
def test_user_input_is_validated(admin, body, field):
    response = admin.post("/api/v1/users", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


def test_deactivated_user_loses_access(client, admin, agent):
    response = admin.patch(f"/api/v1/users/{agent.user_id}", json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    assert agent.get("/api/v1/customers").status_code == 401
    denied = client.post(
        "/api/v1/auth/token", json={"username": "ana", "password": "secret-pass-1"}
    )
    assert denied.status_code == 401


def test_admin_cannot_lock_themselves_out(admin):
    response = admin.patch(f"/api/v1/users/{admin.user_id}", json={"role": "agent"})
    assert response.status_code == 422
    assert admin.get("/api/v1/users/me").json()["role"] == "admin"


def test_password_change_takes_effect(client, admin, agent):
    admin.patch(f"/api/v1/users/{agent.user_id}", json={"password": "a-new-password"})
    assert login(client, "ana", "a-new-password")


def test_api_token_for_a_system(client, admin, agent):
    response = admin.post(
        f"/api/v1/users/{agent.user_id}/api-tokens", json={"name": "telephony platform"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "telephony platform" and body["kind"] == "api"
    system = Api(client, body["access_token"], "ana", agent.user_id)
    assert system.get("/api/v1/users/me").json()["username"] == "ana"
    past = admin.post(
        f"/api/v1/users/{agent.user_id}/api-tokens",
        json={"name": "old", "expires_at": "2001-01-01T00:00:00Z"},
    )
    assert past.status_code == 422
    assert (
        agent.post(f"/api/v1/users/{agent.user_id}/api-tokens", json={"name": "mine"}).status_code
        == 403
    )


def test_an_administrator_lists_and_revokes_a_systems_tokens(client, db, admin, agent):
    """A leaked or retired integration token is revoked from the list; the others go on."""
    issued = {
        name: admin.post(f"/api/v1/users/{agent.user_id}/api-tokens", json={"name": name}).json()
        for name in ("PBX", "chat gateway")
    }
    listed = admin.get(f"/api/v1/users/{agent.user_id}/api-tokens")
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [t["name"] for t in items] == ["chat gateway", "PBX"]  # newest first
    assert all(t["revoked_at"] is None and "access_token" not in t for t in items)
    assert all(t["kind"] == "api" for t in items)  # not the agent's login sessions

    pbx, gateway = issued["PBX"], issued["chat gateway"]
    pbx_system = Api(client, pbx["access_token"], "ana", agent.user_id)
    gateway_system = Api(client, gateway["access_token"], "ana", agent.user_id)
    assert pbx_system.get("/api/v1/users/me").status_code == 200  # now cached as valid
    revoked = admin.delete(f"/api/v1/users/{agent.user_id}/api-tokens/{pbx['id']}")
    assert revoked.status_code == 204
    assert pbx_system.get("/api/v1/users/me").status_code == 401
    assert gateway_system.get("/api/v1/users/me").status_code == 200
    again = admin.delete(f"/api/v1/users/{agent.user_id}/api-tokens/{pbx['id']}")
    assert again.status_code == 204

    items = admin.get(f"/api/v1/users/{agent.user_id}/api-tokens").json()["items"]
    assert [t["revoked_at"] is not None for t in items] == [False, True]
    assert [t["status"] for t in items] == ["active", "revoked"]
    with db.write() as session:  # the gateway's token runs out
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == gateway["id"])
            .values(expires_at=utcnow() - dt.timedelta(minutes=1))
        )
    items = admin.get(f"/api/v1/users/{agent.user_id}/api-tokens").json()["items"]
    assert [t["status"] for t in items] == ["expired", "revoked"]
    with db.read() as session:
        entries = session.execute(
            select(AuditEntry.entity_id, AuditEntry.actor).where(
                AuditEntry.action == "api_token.revoked"
            )
        ).all()
    assert entries == [(pbx["id"], "root-admin")]  # once: the second revoke changed nothing


def test_api_tokens_are_for_administrators_and_of_their_user(admin, agent, other_agent):
    token = admin.post(f"/api/v1/users/{agent.user_id}/api-tokens", json={"name": "PBX"}).json()
    path = f"/api/v1/users/{agent.user_id}/api-tokens"
    assert agent.get(path).status_code == 403
    assert agent.delete(f"{path}/{token['id']}").status_code == 403
    wrong_user = admin.delete(f"/api/v1/users/{other_agent.user_id}/api-tokens/{token['id']}")
    assert wrong_user.status_code == 404
    assert wrong_user.headers["content-type"].startswith("application/problem+json")
    assert admin.delete(f"{path}/999999").status_code == 404
    assert admin.get("/api/v1/users/999999/api-tokens").status_code == 404
    assert admin.get(path).json()["items"][0]["revoked_at"] is None


def test_users_see_themselves_but_agents_not_others(admin, agent):
    assert agent.get("/api/v1/users/me").json()["role"] == "agent"
    assert agent.get(f"/api/v1/users/{admin.user_id}").status_code == 403
