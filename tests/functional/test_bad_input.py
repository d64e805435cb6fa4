"""Bad requests get a 4xx that says what is wrong, and nothing stored changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from functions.services import Services


def send(client: TestClient, path: str, payload: dict) -> Any:
    """POST `payload` as JSON; json.dumps escapes lone surrogates as a client's encoder would."""
    return client.post(path, content=json.dumps(payload), headers={"content-type": "application/json"})


def error_of(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    body = response.json()
    return response.status_code, body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": ""}, "question: String should have at least 1 character"),
        ({"question": "   \n\t "}, "question: must not be empty"),
        ({"question": "x" * 4001}, "question: String should have at most 4000 characters"),
        ({"question": "\ud800 can I return it?"}, "question: Input should be a valid string"),
        ({"question": "returns\x00?"}, "question: must not contain NUL characters"),
        ({"question": "\x00\x00\x00"}, "question: must not contain NUL characters"),
        ({}, "question: Field required"),
        ({"question": 42}, "question: Input should be a valid string"),
        ({"question": "hi", "colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_questions(client: TestClient, services: Services, payload: dict, fragment: str) -> None:
    status, code, message = error_of(send(client, "/v1/query", payload))
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


@pytest.mark.parametrize(
    ("path", "payload", "fragment"),
    [
        ("/v1/retrieve", {"query": "\udfff"}, "query: Input should be a valid string"),
        ("/v1/retrieve", {"query": "a\x00b"}, "query: must not contain NUL characters"),
        ("/v1/retrieve", {"query": ""}, "query: String should have at least 1 character"),
        ("/v1/retrieve", {"query": "returns", "k": True}, "k: Input should be a valid integer"),
        ("/v1/retrieve", {"query": "returns", "k": "3"}, "k: Input should be a valid integer"),
        ("/v1/retrieve", {"query": "returns", "k": 2.5}, "k: Input should be a valid integer"),
        (
            "/v1/retrieve",
            {"query": "x", "filters": {"kind": "\ud800"}},
            "filters.kind: is not valid Unicode text",
        ),
        (
            "/v1/feedback",
            {"message_id": "m", "rating": "up", "escalate": "yes"},
            "escalate: Input should be a valid boolean",
        ),
        (
            "/v1/feedback",
            {"message_id": "m", "rating": "up", "comment": "\ud83d"},
            "comment: Input should be a valid string",
        ),
        (
            "/v1/guardrails/check",
            {"text": "x", "stage": "input", "sources": ["s"] * 21},
            "sources: List should have at most 20 items",
        ),
        (
            "/v1/guardrails/check",
            {"text": "x", "stage": "input", "sources": ["s" * 5001]},
            "sources.0: String should have at most 5000 characters",
        ),
    ],
)
def test_bad_fields_are_named(
    client: TestClient, services: Services, path: str, payload: dict, fragment: str
) -> None:
    status, code, message = error_of(send(client, path, payload))
    assert (status, code) == (422, "invalid_request") and fragment in message, message
    assert services.sqlite.stats() == {key: 0 for key in services.sqlite.stats()}


def test_the_schema_states_the_limits(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    question = schemas["QueryRequest"]["properties"]["question"]
    assert (question["minLength"], question["maxLength"]) == (1, 4000) and "pattern" in question
    sources = schemas["GuardrailCheckRequest"]["properties"]["sources"]
    assert (sources["maxItems"], sources["items"]["maxLength"]) == (20, 5000)
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/query", "/v1/retrieve", "/v1/feedback", "/v1/guardrails/check"):
        assert {"400", "413", "415", "422", "503"} <= set(paths[path]["post"]["responses"]), path


def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(client: TestClient, services: Services) -> None:
    limit = services.settings.max_request_bytes
    big = b'{"question": "' + b"x" * limit + b'"}'
    status, code, message = error_of(
        client.post("/v1/query", content=big, headers={"content-type": "application/json"})
    )
    assert (status, code) == (413, "body_too_large") and f"limit of {limit} bytes" in message
    # a streamed body (no Content-Length) is cut off as it passes the limit
    chunks = iter([b'{"question": "', b"x" * limit, b'"}'])
    streamed = client.post("/v1/query", content=chunks, headers={"content-type": "application/json"})
    assert error_of(streamed)[:2] == (413, "body_too_large")
    assert services.sqlite.stats()["messages"] == 0


def test_a_wrong_content_type_is_named(client: TestClient) -> None:
    response = client.post(
        "/v1/query", content=b'{"question": "returns?"}', headers={"content-type": "text/plain"}
    )
    status, code, message = error_of(response)
    assert (status, code) == (415, "unsupported_media_type") and "'text/plain'" in message


def test_a_wrong_method_keeps_its_allow_header(client: TestClient) -> None:
    response = client.get("/v1/query")
    assert error_of(response)[:2] == (405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_an_integral_number_is_an_integer_as_in_json_schema(client: TestClient) -> None:
    response = client.post("/v1/retrieve", json={"query": "returns", "k": 2.0})
    assert response.status_code == 200 and len(response.json()["results"]) == 2
