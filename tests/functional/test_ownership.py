"""Who may act on what: a conversation, its messages, their ratings and tickets belong to the
user who started it. Acting on them as anyone else is the same 404 as for an unknown id."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from functions.services import Services

SHIPPING = "How much does express shipping cost in the EU?"
REPHRASED = "Express shipping to the EU, how much does it cost?"


def post(client: TestClient, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(path, json=body)
    return response.status_code, response.json()


def start(client: TestClient, user_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = (
        {"question": SHIPPING} if user_id is None else {"question": SHIPPING, "user_id": user_id}
    )
    status, answer = post(client, "/v1/query", body)
    assert status == 200, answer
    return answer


def test_nobody_else_can_continue_a_conversation(client: TestClient, services: Services) -> None:
    # GIVEN alice's conversation
    alice = start(client, "alice")
    # WHEN bob continues it with a question that would rephrase alice's
    status, refused = post(
        client,
        "/v1/query",
        {"question": REPHRASED, "conversation_id": alice["conversation_id"], "user_id": "bob"},
    )
    # THEN it is the 404 of a conversation that does not exist, and alice's message is untouched
    unknown_status, unknown = post(
        client,
        "/v1/query",
        {"question": REPHRASED, "conversation_id": "no-such-conversation", "user_id": "bob"},
    )
    assert (
        (status, refused["error"]["code"]) == (unknown_status, unknown["error"]["code"]) == (404, "not_found")
    )
    assert refused["error"]["message"] == unknown["error"]["message"].replace(
        "no-such-conversation", alice["conversation_id"]
    )
    original = services.conversations.get_message(alice["message_id"], user_id="alice")
    assert original is not None and not original.rephrased
    assert services.sqlite.stats()["messages"] == 1
    # and alice herself continues it as before
    status, second = post(
        client,
        "/v1/query",
        {"question": REPHRASED, "conversation_id": alice["conversation_id"], "user_id": "alice"},
    )
    assert status == 200 and second["rephrase_of"] == alice["message_id"]


def test_an_anonymous_conversation_stays_anonymous(client: TestClient) -> None:
    anonymous = start(client, None)
    continued = {"question": REPHRASED, "conversation_id": anonymous["conversation_id"]}
    assert post(client, "/v1/query", {**continued, "user_id": "carol"})[0] == 404
    status, answer = post(client, "/v1/query", continued)
    assert status == 200 and answer["rephrase_of"] == anonymous["message_id"]


def test_nobody_else_can_rate_or_escalate_a_message(client: TestClient, services: Services) -> None:
    alice = start(client, "alice")
    rating = {"message_id": alice["message_id"], "rating": "down", "escalate": True, "comment": "useless"}
    status, refused = post(client, "/v1/feedback", {**rating, "user_id": "bob"})
    _, unknown = post(client, "/v1/feedback", {**rating, "message_id": "no-such-message", "user_id": "bob"})
    assert (status, refused["error"]["code"]) == (404, "not_found")
    assert refused["error"]["message"] == unknown["error"]["message"].replace(
        "no-such-message", alice["message_id"]
    )
    assert post(client, "/v1/feedback", rating)[0] == 404  # anonymous is someone else too
    assert services.sqlite.get_feedback(alice["message_id"]) is None
    assert services.sqlite.open_escalations() == []

    status, receipt = post(client, "/v1/feedback", {**rating, "user_id": "alice"})
    assert status == 200 and receipt["ticket_id"]
    (ticket,) = services.sqlite.open_escalations()
    # the ticket names the user by the pseudonym the stores keep
    assert (ticket["ticket_id"], ticket["user_id"]) == (receipt["ticket_id"], services.pseudonymiser("alice"))
