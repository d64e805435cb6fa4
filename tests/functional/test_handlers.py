"""Each Lambda handler called in-process with an API Gateway HTTP API (v2) event, configured
through the environment exactly as in Lambda, with the real MiniLM embedder."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.contract import API_HANDLERS, EnvVar
from functions.services import Services
from functions.settings import get_settings
from tests.conftest import MINI_KB, SUPPORT_DOMAIN
from tests.fakes import FakeLambdaContext, api_gateway_event

EVENT = json.loads((Path(__file__).parent.parent / "events" / "http_api_v2_post.json").read_text())
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(scope="module")
def handlers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Handler]]:
    from functions.cli import main

    data_dir = tmp_path_factory.mktemp("lambda-data")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(EnvVar.DATA_DIR, str(data_dir))
        env.setenv("GENAI_STACK_PII_ALLOWLIST", json.dumps([SUPPORT_DOMAIN]))
        env.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # main() would switch off the EMF under test
        assert main(["ingest", str(MINI_KB), "--quiet"]) == 0
        get_settings.cache_clear()
        modules = {}
        for name in API_HANDLERS:
            module = importlib.import_module(f"functions.handlers.{name}")
            modules[name] = importlib.reload(module).handler  # built under this environment
        yield modules
    get_settings.cache_clear()


def invoke(handler: Handler, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = handler(api_gateway_event(EVENT, method, path, raw), FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_query_handler_answers_with_sources(handlers: dict[str, Handler]) -> None:
    status, body = invoke(handlers["query"], "POST", "/v1/query", {"question": "Can I pay in instalments?"})
    assert status == 200
    assert body["sources"][0]["source"] == "mini_kb/payments-faq.json"
    assert "Klarna" in body["answer"] and body["grounded"]


def signed_in(event: dict[str, Any], subject: str) -> dict[str, Any]:
    """The event as API Gateway passes it on after its JWT authorizer accepted the token."""
    authorizer = {"jwt": {"claims": {"sub": subject, "token_use": "id"}, "scopes": None}}
    return {**event, "requestContext": {**event["requestContext"], "authorizer": authorizer}}


def test_behind_the_authorizer_the_user_is_the_tokens_subject(handlers: dict[str, Handler]) -> None:
    from functions.feedback.sqlite_store import SQLiteStore

    def ask(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        event = signed_in(api_gateway_event(EVENT, "POST", "/v1/query", json.dumps(body)), "cognito-sub-1")
        response = handlers["query"](event, FakeLambdaContext())
        return response["statusCode"], json.loads(response["body"])

    status, answer = ask({"question": "Can I pay in instalments?"})
    same_status, _ = ask({"question": "Can I pay in instalments?", "user_id": "cognito-sub-1"})
    other_status, refused = ask({"question": "Can I pay in instalments?", "user_id": "someone-else"})

    assert status == same_status == 200
    pseudonyms = Services(get_settings()).pseudonymiser
    stored = SQLiteStore(get_settings().database_path, pseudonyms).get_message(
        answer["message_id"], user_id="cognito-sub-1"
    )
    assert stored is not None and stored.user_id == pseudonyms("cognito-sub-1")  # kept as its pseudonym
    assert (other_status, refused["error"]["code"]) == (403, "forbidden")
    assert "token's sub" in refused["error"]["message"]


def test_retrieval_handler_ranks_chunks(handlers: dict[str, Handler]) -> None:
    status, body = invoke(
        handlers["retrieval"], "POST", "/v1/retrieve", {"query": "express shipping price", "k": 3}
    )
    assert status == 200 and len(body["results"]) == 3
    assert body["results"][0]["source"] == "mini_kb/shipping.md"


def test_guardrails_handler_redacts(handlers: dict[str, Handler]) -> None:
    status, body = invoke(
        handlers["guardrails"], "POST", "/v1/guardrails/check", {"text": "SSN 123-45-6789", "stage": "input"}
    )
    assert status == 200 and body["redacted_text"] == "SSN [US_SSN_1]"


def test_feedback_handler_records_a_rating_for_an_answer(handlers: dict[str, Handler]) -> None:
    _, answer = invoke(handlers["query"], "POST", "/v1/query", {"question": "How long is the tent warranty?"})
    status, body = invoke(
        handlers["feedback"], "POST", "/v1/feedback", {"message_id": answer["message_id"], "rating": "up"}
    )
    assert status == 200 and body == {
        "message_id": answer["message_id"],
        "rating": "up",
        "escalated": False,
        "ticket_id": None,
    }


def test_each_function_mounts_only_its_own_route(handlers: dict[str, Handler]) -> None:
    status, body = invoke(handlers["feedback"], "POST", "/v1/query", {"question": "hi"})
    assert status == 404 and body["error"]["code"] == "not_found"
    health = invoke(handlers["retrieval"], "GET", "/health", None)[1]
    assert health == {"status": "ok", "index": {"version": "v000001", "healthy": True, "problem": None}}


def test_bad_input_through_a_handler_is_a_clear_4xx(handlers: dict[str, Handler]) -> None:
    assert invoke(handlers["query"], "POST", "/v1/query", '{"question":')[0] == 400
    status, body = invoke(
        handlers["feedback"], "POST", "/v1/feedback", {"message_id": "missing", "rating": "down"}
    )
    assert status == 404 and "message_id" in body["error"]["message"]
    assert "missing" not in body["error"]["message"]  # the caller's value is not repeated (nor logged)


def test_metrics_are_emitted_as_emf(handlers: dict[str, Handler], capsys: pytest.CaptureFixture[str]) -> None:
    invoke(handlers["query"], "POST", "/v1/query", {"question": "How much is standard shipping in the EU?"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    emitted = {m["Name"] for line in lines for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"Queries", "QueryLatency", "GroundedAnswers", "InputTokens"} <= emitted


def test_behind_the_authorizer_another_subject_cannot_act_on_a_conversation(
    handlers: dict[str, Handler],
) -> None:
    def call(name: str, path: str, body: dict[str, Any], subject: str) -> tuple[int, dict[str, Any]]:
        event = signed_in(api_gateway_event(EVENT, "POST", path, json.dumps(body)), subject)
        response = handlers[name](event, FakeLambdaContext())
        return response["statusCode"], json.loads(response["body"])

    _, answer = call("query", "/v1/query", {"question": "Can I pay in instalments?"}, "cognito-sub-1")
    continued = {"question": "Instalments, can I?", "conversation_id": answer["conversation_id"]}
    rating = {"message_id": answer["message_id"], "rating": "down", "escalate": True}

    assert call("query", "/v1/query", continued, "cognito-sub-2")[0] == 404
    assert call("feedback", "/v1/feedback", rating, "cognito-sub-2")[0] == 404
    status, receipt = call("feedback", "/v1/feedback", rating, "cognito-sub-1")
    assert status == 200 and receipt["ticket_id"]


def test_a_body_over_the_limit_is_refused_in_lambda(handlers: dict[str, Handler]) -> None:
    limit = get_settings().max_request_bytes
    body = json.dumps({"question": "x" * limit})
    event = api_gateway_event(EVENT, "POST", "/v1/query", body)
    event["headers"] = {key: value for key, value in event["headers"].items() if key != "content-length"}
    response = handlers["query"](event, FakeLambdaContext())
    error = json.loads(response["body"])["error"]
    assert (response["statusCode"], error["code"]) == (413, "body_too_large")
    assert f"limit of {limit} bytes" in error["message"]
