"""The OpenAI-compatible chat model against a real HTTP server (tests/fake_openai.py): plain
answers, streaming, failures, and the whole query path with it configured in the settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage

from functions.api.app import all_routers, create_app
from functions.errors import DependencyUnavailableError
from functions.rag.chat_models.openai import NO_API_KEY, openai_chat_model
from functions.rag.replies import StructuredReply
from functions.services import Services
from tests.conftest import MINI_KB, make_services, make_settings
from tests.fake_openai import API_KEY, FakeOpenAIServer

ANSWER = StructuredReply(
    answerable=True,
    answer="You can return unworn items within 45 days of delivery [1]. Summit members get 60 days [1].",
    citations=[1],
    confidence=0.9,
)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer([ANSWER.to_json()]) as running:
        yield running


def test_the_adapter_answers_through_the_server(server: FakeOpenAIServer) -> None:
    model = openai_chat_model(server.base_url, "tiny-llama", API_KEY, max_tokens=64, timeout=5.0)
    reply = model.invoke([SystemMessage("Be brief."), HumanMessage("How long do I have to return an item?")])
    assert reply.text == ANSWER.to_json()
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == len(
        reply.text.split()
    )
    sent = server.requests[0]
    assert sent["model"] == "tiny-llama" and sent["temperature"] == 0.0
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent.get("max_completion_tokens", sent.get("max_tokens")) == 64
    assert server.authorizations == [f"Bearer {API_KEY}"]


def test_the_adapter_streams_with_the_usage_at_the_end(server: FakeOpenAIServer) -> None:
    model = openai_chat_model(server.base_url, "tiny-llama", None, max_tokens=64, timeout=5.0)
    chunks = list(model.stream([HumanMessage("How long do I have to return an item?")]))
    assert len(chunks) > 5 and "".join(chunk.text for chunk in chunks) == ANSWER.to_json()
    usages = [c.usage_metadata for c in chunks if isinstance(c, AIMessageChunk) and c.usage_metadata]
    assert len(usages) == 1 and usages[0]["output_tokens"] == len(ANSWER.to_json().split())
    assert server.requests[0]["stream"] is True
    assert server.authorizations == [f"Bearer {NO_API_KEY}"]  # a server that checks no key


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_failing_server_is_a_dependency_failure(server: FakeOpenAIServer, status: int) -> None:
    server.fail_with = status
    model = openai_chat_model(server.base_url, "tiny-llama", API_KEY, max_tokens=64, timeout=5.0)
    with pytest.raises(DependencyUnavailableError, match=f"HTTP {status}"):
        model.invoke([HumanMessage("Hello?")])
    with pytest.raises(DependencyUnavailableError):
        list(model.stream([HumanMessage("Hello?")]))


def test_an_unreachable_server_is_a_dependency_failure() -> None:
    model = openai_chat_model("http://127.0.0.1:9/v1", "tiny-llama", None, max_tokens=8, timeout=2.0)
    with pytest.raises(DependencyUnavailableError):
        model.invoke([HumanMessage("Hello?")])


def configured(tmp_path: Path, server: FakeOpenAIServer) -> Services:
    settings = make_settings(
        tmp_path / "data",
        chat_model="openai",
        openai_base_url=server.base_url,
        openai_model="tiny-llama",
        openai_api_key=API_KEY,
        prompt_variant="few-shot",
    )
    services = make_services(settings)
    services.ingestor.ingest_paths([MINI_KB])
    return services


def test_the_configured_server_answers_the_query_route(tmp_path: Path, server: FakeOpenAIServer) -> None:
    client = TestClient(create_app(all_routers(), configured(tmp_path, server)))
    body = client.post(
        "/v1/query", json={"question": "How many days do I have to return unworn items?"}
    ).json()
    assert body["answer"] == ANSWER.answer and body["citations"] == [1] and body["confidence"] == 0.9
    assert body["prompt_variant"] == "few-shot" and body["fallback"] is False
    sent = server.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant"] * 1 + ["user", "assistant"] * 2 + [
        "user"
    ]
    assert "Question: How many days do I have to return unworn items?" in sent[-1]["content"]


def test_the_configured_server_streams_the_answer(tmp_path: Path, server: FakeOpenAIServer) -> None:
    client = TestClient(create_app(all_routers(), configured(tmp_path, server)))
    response = client.post(
        "/v1/query/stream", json={"question": "How many days do I have to return unworn items?"}
    )
    events = [
        (lines["event"], json.loads(lines["data"]))
        for lines in (
            dict(line.split(": ", 1) for line in block.splitlines())
            for block in response.text.strip().split("\n\n")
        )
    ]
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert deltas == [
        "You can return unworn items within 45 days of delivery [1]. ",
        "Summit members get 60 days [1].",
    ]
    final = events[-1][1]
    assert (
        events[-1][0] == "final" and final["answer"] == ANSWER.answer and final["usage"]["output_tokens"] > 0
    )
