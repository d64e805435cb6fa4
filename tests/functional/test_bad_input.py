"""Bad requests get a 4xx that says what is wrong, and nothing stored changes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from functions.services import Services


def error_of(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    body = response.json()
    return response.status_code, body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": ""}, "question must not be empty"),
        ({"question": "   \n\t "}, "question must not be empty"),
        ({"question": "x" * 4001}, "4001 characters long; the limit is 4000"),
        ({}, "question: Field required"),
        ({"question": 42}, "question: Input should be a valid string"),
        ({"question": "hi", "colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_questions(client: TestClient, services: Services, payload: dict, fragment: str) -> None:
    status, code, message = error_of(client.post("/v1/query", json=payload))
    assert (status, code) == (422, "invalid_request") and fragment in message
    assert services.sqlite.stats()["messages"] == 0


def test_invalid_json_is_a_400(client: TestClient) -> None:
    response = client.post(
        "/v1/query", content=b'{"question": ', headers={"content-type": "application/json"}
    )
    assert error_of(response) == (400, "invalid_json", "the request body is not valid JSON")


@pytest.mark.parametrize("k", [0, 51, -3])
def test_k_out_of_range(client: TestClient, k: int) -> None:
    status, _, message = error_of(client.post("/v1/retrieve", json={"query": "returns", "k": k}))
    assert status == 422 and message.startswith("k: Input should be")


def test_nested_filter_values_are_refused(client: TestClient) -> None:
    status, _, message = error_of(
        client.post("/v1/retrieve", json={"query": "x", "filters": {"kind": ["a", "b"]}})
    )
    assert status == 422
    assert message == "filters.kind: a filter value is one string, number or boolean, not list"


def test_feedback_for_an_unknown_message(client: TestClient, services: Services) -> None:
    status, code, message = error_of(client.post("/v1/feedback", json={"message_id": "nope", "rating": "up"}))
    assert (status, code) == (404, "not_found") and "no answer with that message_id" in message
    assert "nope" not in message  # the caller's value is not repeated (nor logged)
    assert services.sqlite.stats()["thumbs_up"] == 0


def test_feedback_with_an_unknown_rating(client: TestClient) -> None:
    status, _, message = error_of(client.post("/v1/feedback", json={"message_id": "m", "rating": "meh"}))
    assert status == 422 and "rating: Input should be 'up' or 'down'" in message


def test_guardrails_stage_must_be_input_or_output(client: TestClient) -> None:
    status, _, message = error_of(client.post("/v1/guardrails/check", json={"text": "x", "stage": "middle"}))
    assert status == 422 and "stage" in message


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    assert error_of(client.get("/v1/nothing-here"))[:2] == (404, "not_found")


def test_empty_knowledge_base_is_a_409(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from functions.api.app import all_routers, create_app
    from tests.conftest import make_services, make_settings

    client = TestClient(create_app(all_routers(), make_services(make_settings(tmp_path))))
    status, code, message = error_of(client.post("/v1/query", json={"question": "returns?"}))
    assert (status, code) == (409, "knowledge_base_empty") and "genai-stack ingest" in message
