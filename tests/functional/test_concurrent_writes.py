"""Stored once, stored right, on the embedded store: concurrent clients and a locked database."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from functions.api.app import all_routers, create_app
from functions.services import Services
from tests.conftest import MINI_KB, make_services, make_settings

CLIENTS = 8


def all_at_once(call: Callable[[], Any]) -> list[Any]:
    """`call` from CLIENTS threads released together."""
    start = threading.Barrier(CLIENTS)

    def released() -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(lambda _: released(), range(CLIENTS)))


def test_the_same_feedback_twice_is_recorded_once(client: TestClient, services: Services) -> None:
    message_id = client.post("/v1/query", json={"question": "Can I pay with Klarna?"}).json()["message_id"]
    submission = {"message_id": message_id, "rating": "down", "comment": "wrong", "escalate": True}
    first = client.post("/v1/feedback", json=submission)
    second = client.post("/v1/feedback", json=submission)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["ticket_id"]
    assert len(services.sqlite.open_escalations()) == 1


def test_concurrent_identical_feedback_opens_one_ticket(client: TestClient, services: Services) -> None:
    message_id = client.post("/v1/query", json={"question": "Can I pay with Klarna?"}).json()["message_id"]
    submission = {"message_id": message_id, "rating": "down", "escalate": True}
    responses = all_at_once(lambda: client.post("/v1/feedback", json=submission))

    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {200, 409} and 200 in statuses, statuses
    for response in responses:
        if response.status_code == 409:
            assert "retry in a moment" in response.json()["error"]["message"]
    tickets = {response.json()["ticket_id"] for response in responses if response.status_code == 200}
    (ticket,) = services.sqlite.open_escalations()
    assert tickets == {ticket["ticket_id"]}
    assert services.sqlite.stats()["thumbs_down"] == 1
    # a client that got the 409 and retries gets the first receipt, not a second ticket
    retried = client.post("/v1/feedback", json=submission)
    assert retried.status_code == 200 and retried.json()["ticket_id"] == ticket["ticket_id"]
    assert len(services.sqlite.open_escalations()) == 1


def test_concurrent_questions_in_one_conversation_take_distinct_turns(
    client: TestClient, services: Services
) -> None:
    conversation = client.post("/v1/query", json={"question": "Can I pay with Klarna?"}).json()[
        "conversation_id"
    ]
    responses = all_at_once(
        lambda: client.post(
            "/v1/query", json={"question": "Do you ship abroad?", "conversation_id": conversation}
        )
    )
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {200, 409} and 200 in statuses, statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["message"] == (
                "the conversation store: the record was changed by another request"
            )
    turns = [
        message.turn for message in services.sqlite.iter_messages() if message.conversation_id == conversation
    ]
    assert sorted(turns) == list(range(1, len(turns) + 1))
    assert len(turns) == 1 + statuses.count(200)


def test_a_locked_database_is_a_503_and_stores_nothing(tmp_path: Path) -> None:
    services = make_services(make_settings(tmp_path / "data", database_busy_timeout=0.05))
    services.ingestor.ingest_paths([MINI_KB])
    client = TestClient(create_app(all_routers(), services), raise_server_exceptions=False)
    assert client.post("/v1/query", json={"question": "Can I pay with Klarna?"}).status_code == 200

    # GIVEN another process holding the write lock
    other = sqlite3.connect(services.settings.database_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        response = client.post("/v1/query", json={"question": "Do you ship abroad?"})
    finally:
        other.execute("ROLLBACK")
        other.close()

    # THEN the caller is told to retry, as for any other dependency failure
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "dependency_unavailable"
    assert error["message"] == "the conversation database is unavailable (database is locked); please retry"
    assert services.sqlite.stats()["messages"] == 1
    services.sqlite.close()


def test_feedback_on_a_locked_database_is_a_503_and_can_be_retried(tmp_path: Path) -> None:
    services = make_services(make_settings(tmp_path / "data", database_busy_timeout=0.05))
    services.ingestor.ingest_paths([MINI_KB])
    client = TestClient(create_app(all_routers(), services), raise_server_exceptions=False)
    message_id = client.post("/v1/query", json={"question": "Can I pay with Klarna?"}).json()["message_id"]
    submission = {"message_id": message_id, "rating": "down", "escalate": True}

    other = sqlite3.connect(services.settings.database_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        refused = client.post("/v1/feedback", json=submission)
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "dependency_unavailable")
    assert services.sqlite.open_escalations() == []
    retried = client.post("/v1/feedback", json=submission)
    assert retried.status_code == 200 and len(services.sqlite.open_escalations()) == 1
    services.sqlite.close()
