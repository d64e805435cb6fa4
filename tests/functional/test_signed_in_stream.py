"""Signed-in customers on the streaming route, where no JWT authorizer stands in front of the app
(the function URL): the app verifies their Cognito token and acts as its `sub`."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from functions.api.app import all_routers, create_app
from functions.contract import TOKEN_HEADER
from functions.services import Services
from tests.conftest import MINI_KB, make_services, make_settings
from tests.fake_cognito import CLIENT_ID, ISSUER, FakeUserPool, new_key

QUESTION = {"question": "How many days do I have to return unworn items?"}


def stream_client(tmp_path: Path) -> tuple[TestClient, Services, FakeUserPool]:
    settings = make_settings(
        tmp_path / "data",
        cognito_issuer=ISSUER,
        cognito_client_id=CLIENT_ID,
        guest_token_required=True,  # as the stack configures the streaming function
        questions_per_window=3,
    )
    services = make_services(settings)
    pool = FakeUserPool()
    services.customer_tokens = pool.tokens  # type: ignore[misc]  # the fake pool's JWKS, no network
    services.ingestor.ingest_paths([MINI_KB])
    return TestClient(create_app(all_routers(), services)), services, pool


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def final_event(text: str) -> str:
    (final,) = [block for block in text.split("\n\n") if block.startswith("event: final")]
    return final


def test_a_signed_in_customer_streams_as_the_tokens_subject(tmp_path: Path) -> None:
    client, services, pool = stream_client(tmp_path)
    response = client.post("/v1/query/stream", json=QUESTION, headers=bearer(pool.token("alice")))
    assert response.status_code == 200
    message_id = final_event(response.text).split('"message_id": "')[1].split('"')[0]
    # the store keeps the pseudonym: the message is alice's and nobody else's
    assert services.conversations.get_message(message_id, user_id="alice") is not None
    assert services.conversations.get_message(message_id, user_id=None) is None
    # naming oneself in the body is allowed; an ID token works too
    named = client.post(
        "/v1/query/stream",
        json={**QUESTION, "user_id": "alice"},
        headers=bearer(pool.token("alice", token_use="id")),
    )
    assert named.status_code == 200


def test_another_users_conversation_is_a_404_and_another_users_id_a_403(tmp_path: Path) -> None:
    client, _, pool = stream_client(tmp_path)
    alice = client.post("/v1/query", json=QUESTION, headers=bearer(pool.token("alice")))
    assert alice.status_code == 200
    follow_up = {**QUESTION, "conversation_id": alice.json()["conversation_id"]}
    assert (
        client.post("/v1/query/stream", json=follow_up, headers=bearer(pool.token("alice"))).status_code
        == 200
    )
    stolen = client.post("/v1/query/stream", json=follow_up, headers=bearer(pool.token("bob")))
    assert stolen.status_code == 404
    impersonating = client.post(
        "/v1/query/stream", json={**QUESTION, "user_id": "alice"}, headers=bearer(pool.token("bob"))
    )
    assert impersonating.status_code == 403


def test_a_forged_expired_or_foreign_token_is_a_401_with_a_message(tmp_path: Path) -> None:
    client, _, pool = stream_client(tmp_path)
    bad = {
        "forged": pool.token("alice", key=new_key()),
        "expired": pool.token("alice", expires_in=-60),
        "wrong issuer": pool.token("alice", iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X"),
    }
    for kind, token in bad.items():
        response = client.post("/v1/query/stream", json=QUESTION, headers=bearer(token))
        assert response.status_code == 401, kind
        error = response.json()["error"]
        assert error["code"] == "unauthorized" and "sign-in token" in error["message"], kind


def test_signed_in_customers_are_counted_per_user_and_guests_keep_their_tokens(tmp_path: Path) -> None:
    client, _, pool = stream_client(tmp_path)
    token = pool.token("carol")
    for _ in range(3):
        assert client.post("/v1/query/stream", json=QUESTION, headers=bearer(token)).status_code == 200
    assert client.post("/v1/query/stream", json=QUESTION, headers=bearer(token)).status_code == 429
    guest = client.post("/v1/guest-sessions").json()["token"]
    assert client.post("/v1/query/stream", json=QUESTION, headers=bearer(guest)).status_code == 200


def test_behind_cloudfront_the_token_travels_in_its_own_header(tmp_path: Path) -> None:
    # CloudFront's origin access control puts its SigV4 signature in the Authorization header
    client, services, pool = stream_client(tmp_path)
    signed = {"authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20261202/eu-west-1/lambda/aws4_request"}
    response = client.post(
        "/v1/query/stream", json=QUESTION, headers={**signed, TOKEN_HEADER: pool.token("dave")}
    )
    assert response.status_code == 200
    message_id = final_event(response.text).split('"message_id": "')[1].split('"')[0]
    # the store keeps the pseudonym: the message is dave's and nobody else's
    assert services.conversations.get_message(message_id, user_id="dave") is not None
    assert services.conversations.get_message(message_id, user_id=None) is None
    guest = client.post("/v1/guest-sessions").json()["token"]
    as_guest = client.post("/v1/query/stream", json=QUESTION, headers={**signed, TOKEN_HEADER: guest})
    assert as_guest.status_code == 200
    # without a token, the signature alone is no visitor
    assert client.post("/v1/query/stream", json=QUESTION, headers=signed).status_code == 401
