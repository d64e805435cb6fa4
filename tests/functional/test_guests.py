"""Guest sessions over HTTP: a token from POST /v1/guest-sessions, its questions counted on both
question routes, and visitors without one refused where the configuration requires a token."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from functions.api.app import all_routers, create_app
from functions.services import Services
from tests.conftest import MINI_KB, make_services, make_settings

QUESTION = {"question": "How many days do I have to return unworn items?"}


def guest_client(tmp_path: Path, **settings: object) -> tuple[TestClient, Services]:
    services = make_services(make_settings(tmp_path / "data", **settings))
    services.ingestor.ingest_paths([MINI_KB])
    return TestClient(create_app(all_routers(), services)), services


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_a_guest_asks_its_share_of_questions_then_gets_429(tmp_path: Path) -> None:
    client, services = guest_client(tmp_path, guest_questions=2)
    started = client.post("/v1/guest-sessions")
    assert started.status_code == 201
    session = started.json()
    assert session["questions"] == 2 and session["token"].startswith("guest.")

    streamed = client.post("/v1/query/stream", json=QUESTION, headers=bearer(session["token"]))
    assert streamed.status_code == 200
    plain = client.post("/v1/query", json=QUESTION, headers=bearer(session["token"]))
    assert plain.status_code == 200
    guest = services.guest_sessions.verify(session["token"]).user_id
    assert guest.startswith("guest:")
    message_id = plain.json()["message_id"]
    assert services.conversations.get_message(message_id, user_id=guest) is not None
    assert services.conversations.get_message(message_id, user_id=None) is None  # not anonymous

    refused = client.post("/v1/query/stream", json=QUESTION, headers=bearer(session["token"]))
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith("this guest session has asked its 2 questions")
    assert int(refused.headers["retry-after"]) > 0
    # a new session starts a new count
    fresh = client.post("/v1/guest-sessions").json()["token"]
    assert client.post("/v1/query", json=QUESTION, headers=bearer(fresh)).status_code == 200


def test_a_guest_over_its_token_budget_gets_429_on_both_routes(tmp_path: Path) -> None:
    # GIVEN a budget smaller than two answers' usage (the extractive model reports word counts)
    client, _ = guest_client(tmp_path, guest_questions=50, guest_tokens=1)
    token = client.post("/v1/guest-sessions").json()["token"]
    # WHEN the session streams one answer, whose usage is counted
    streamed = client.post("/v1/query/stream", json=QUESTION, headers=bearer(token))
    assert streamed.status_code == 200 and "event: final" in streamed.text
    # THEN its next question, on either route, is refused with a message
    for route in ("/v1/query", "/v1/query/stream"):
        refused = client.post(route, json=QUESTION, headers=bearer(token))
        assert refused.status_code == 429
        assert "used its budget of 1 tokens" in refused.json()["error"]["message"]
    # and the plain route counts its answers' tokens too
    fresh = client.post("/v1/guest-sessions").json()["token"]
    assert client.post("/v1/query", json=QUESTION, headers=bearer(fresh)).status_code == 200
    assert client.post("/v1/query/stream", json=QUESTION, headers=bearer(fresh)).status_code == 429


def test_a_forged_guest_token_is_a_401(tmp_path: Path) -> None:
    client, _ = guest_client(tmp_path)
    token = client.post("/v1/guest-sessions").json()["token"]
    response = client.post("/v1/query/stream", json=QUESTION, headers=bearer(token[:-3] + "abc"))
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthorized",
        "message": "the guest token is not valid: start a new guest session",
    }


def test_where_a_token_is_required_an_anonymous_question_is_refused(tmp_path: Path) -> None:
    client, _ = guest_client(tmp_path, guest_token_required=True)
    for route in ("/v1/query", "/v1/query/stream"):
        response = client.post(route, json=QUESTION)
        assert response.status_code == 401
        assert "POST /v1/guest-sessions" in response.json()["error"]["message"]
    token = client.post("/v1/guest-sessions").json()["token"]
    assert client.post("/v1/query", json=QUESTION, headers=bearer(token)).status_code == 200


def test_a_guest_cannot_file_questions_under_another_user(tmp_path: Path) -> None:
    client, _ = guest_client(tmp_path)
    token = client.post("/v1/guest-sessions").json()["token"]
    response = client.post("/v1/query/stream", json={**QUESTION, "user_id": "alice"}, headers=bearer(token))
    assert response.status_code == 403


def test_the_guest_key_survives_a_restart(tmp_path: Path) -> None:
    client, _ = guest_client(tmp_path)
    token = client.post("/v1/guest-sessions").json()["token"]
    restarted = make_services(make_settings(tmp_path / "data"))
    assert restarted.guest_sessions.verify(token).token == token


def test_a_guest_rates_its_own_answer_and_no_one_else_can(tmp_path: Path) -> None:
    """Feedback knows the guest by its token (without counting a question); another guest's token,
    or none, finds no such message (404), as for signed-in users."""
    client, _ = guest_client(tmp_path, guest_questions=1)
    token = client.post("/v1/guest-sessions").json()["token"]
    message_id = client.post("/v1/query", json=QUESTION, headers=bearer(token)).json()["message_id"]
    rating = {"message_id": message_id, "rating": "down", "reason": "not helpful"}

    other = client.post("/v1/guest-sessions").json()["token"]
    assert client.post("/v1/feedback", json=rating, headers=bearer(other)).status_code == 404
    assert client.post("/v1/feedback", json=rating).status_code == 404
    accepted = client.post("/v1/feedback", json=rating, headers=bearer(token))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["message_id"] == message_id
