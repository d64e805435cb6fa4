"""POST /v1/query/stream over the mini knowledge base: the events, the per-sentence output
guardrails (redaction and withdrawal), and the errors before and during a stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from functions.api.app import all_routers, create_app
from functions.errors import DependencyUnavailableError
from functions.guardrails.base import Action, CheckContext, Finding, Stage
from functions.guardrails.pii import PiiDetector
from functions.guardrails.policy import GuardrailPolicy
from functions.rag.prompts import FALLBACK_ANSWER
from functions.rag.replies import StructuredReply, reply_pieces
from functions.services import Services
from tests.conftest import SUPPORT_DOMAIN

QUESTION = "How many days do I have to return unworn items?"


def structured(*pieces: str) -> list[str]:
    """A structured reply whose answer arrives in these pieces (token chunks), as a model streams it."""
    reply = StructuredReply(answerable=True, answer="".join(pieces), citations=[1], confidence=0.9)
    return list(reply_pieces(reply, pieces))


class ScriptedChatModel(BaseChatModel):
    """Streams the given pieces (token chunks) in order; `fail_after` raises after that many."""

    pieces: list[str]
    fail_after: int | None = None

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="".join(self.pieces)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for index, piece in enumerate(self.pieces):
            if self.fail_after is not None and index == self.fail_after:
                raise DependencyUnavailableError("the chat model is unavailable right now; please retry")
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


class ForbiddenWord:
    """Blocks any text that says "forbidden" (stands in for a toxicity or topic detector)."""

    category = "forbidden"

    def detect(self, text: str, context: CheckContext) -> Finding | None:
        return Finding(self.category, 1.0) if "forbidden" in text.lower() else None


def events(response: Any) -> list[tuple[str, dict[str, Any]]]:
    parsed = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


def stream(client: TestClient, question: str = QUESTION, **extra: str) -> list[tuple[str, dict[str, Any]]]:
    response = client.post("/v1/query/stream", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return events(response)


def client_with(services: Services, chat_model: BaseChatModel) -> TestClient:
    services.chat_model = chat_model  # type: ignore[misc]
    pii = PiiDetector(allow=(SUPPORT_DOMAIN,))
    services.guardrails = GuardrailPolicy(  # type: ignore[misc]
        detectors={Stage.INPUT: [pii], Stage.OUTPUT: [pii, ForbiddenWord()]},
        actions={"pii": Action.REDACT, "forbidden": Action.BLOCK},
    )
    return TestClient(create_app(all_routers(), services), raise_server_exceptions=False)


def test_stream_sends_sources_then_sentences_then_the_stored_answer(
    client: TestClient, services: Services
) -> None:
    received = stream(client)
    names = [name for name, _ in received]
    assert names[0] == "sources" and names[-1] == "final" and "delta" in names
    assert set(names[1:-1]) == {"delta"}
    assert received[0][1]["sources"][0]["source"] == "mini_kb/returns.md"
    final = received[-1][1]
    text = "".join(data["text"] for name, data in received if name == "delta")
    assert text.strip() == final["answer"] and "45 days" in text
    assert final["withdrawn"] is False and final["grounded"] is True
    assert final["guardrails"]["output"]["allowed"] is True
    stored = services.conversations.get_message(final["message_id"], user_id=None)
    assert stored is not None and stored.answer == final["answer"]
    # the message id is the one feedback takes
    feedback = client.post("/v1/feedback", json={"message_id": final["message_id"], "rating": "up"})
    assert feedback.status_code == 200


def test_stream_and_plain_query_give_the_same_answer(client: TestClient) -> None:
    plain = client.post("/v1/query", json={"question": QUESTION}).json()
    final = stream(client)[-1][1]
    assert final["answer"] == plain["answer"]
    assert [s["source"] for s in final["sources"]] == [s["source"] for s in plain["sources"]]


def test_extractive_answer_streams_one_sentence_per_event(client: TestClient) -> None:
    received = stream(client, "Can I return swimwear or personalised items?")
    deltas = [data["text"] for name, data in received if name == "delta"]
    assert len(deltas) >= 2, deltas
    assert all(delta.strip()[-1] in ".!?]" for delta in deltas)


def test_follow_up_keeps_the_conversation(client: TestClient) -> None:
    first = stream(client)[-1][1]
    second = stream(client, "And which cards do you accept?", conversation_id=first["conversation_id"])[-1][1]
    assert second["conversation_id"] == first["conversation_id"]
    assert second["message_id"] != first["message_id"]


def test_pii_split_across_chunks_is_redacted_before_it_is_sent(services: Services) -> None:
    model = ScriptedChatModel(
        pieces=structured("Write to jane.d", "oe@exam", "ple.com about it [1]. ", "Bye [1].")
    )
    received = stream(client_with(services, model))
    sent = "".join(data["text"] for name, data in received if name == "delta")
    assert "jane" not in sent and "[EMAIL_1]" in sent
    assert "jane" not in json.dumps(received[-1][1])


def test_a_blocked_sentence_withdraws_the_answer_and_nothing_after_it_is_sent(services: Services) -> None:
    model = ScriptedChatModel(
        pieces=structured(
            "Returns take 45 days [1]. ", "This is forbid", "den advice [1]. ", "Secret tail [1]."
        )
    )
    received = stream(client_with(services, model))
    sent = "".join(data["text"] for name, data in received if name == "delta")
    assert sent == "Returns take 45 days [1]. "
    final = received[-1][1]
    assert final["withdrawn"] is True and final["answer"] == services.guardrails.refusal
    assert "Secret" not in json.dumps(final) and final["guardrails"]["output"]["allowed"] is False


def test_fallback_answer_is_streamed_as_one_delta(client: TestClient) -> None:
    received = stream(client, "What is the capital of Australia?")
    assert [name for name, _ in received] == ["delta", "final"]
    assert received[0][1]["text"] == FALLBACK_ANSWER and received[1][1]["fallback"] is True


def test_bad_input_is_an_http_error_not_a_stream(client: TestClient) -> None:
    response = client.post("/v1/query/stream", json={"question": "   "})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "question: must not be empty"


def test_empty_knowledge_base_is_a_409_before_streaming(tmp_path: Any) -> None:
    from tests.conftest import make_services, make_settings

    services = make_services(make_settings(tmp_path / "empty"))
    client = TestClient(create_app(all_routers(), services))
    response = client.post("/v1/query/stream", json={"question": QUESTION})
    assert response.status_code == 409 and response.json()["error"]["code"] == "knowledge_base_empty"


def test_model_failure_mid_stream_ends_with_an_error_event(services: Services) -> None:
    model = ScriptedChatModel(pieces=structured("Returns take 45 days [1]. ", "More"), fail_after=2)
    received = stream(client_with(services, model))
    assert received[-1] == (
        "error",
        {
            "code": "dependency_unavailable",
            "message": "the chat model is unavailable right now; please retry",
        },
    )


def test_the_answer_streams_out_of_the_structured_reply_without_unknown_citations(services: Services) -> None:
    model = ScriptedChatModel(pieces=structured("Returns take 45 days [1][7]. ", "Refunds follow [1]."))
    received = stream(client_with(services, model))
    deltas = [data["text"] for name, data in received if name == "delta"]
    assert deltas == ["Returns take 45 days [1]. ", "Refunds follow [1]."]
    final = received[-1][1]
    assert final["answer"] == "Returns take 45 days [1]. Refunds follow [1]." and final["citations"] == [1]


def test_a_reply_saying_the_sources_do_not_answer_streams_only_the_fallback(services: Services) -> None:
    reply = StructuredReply(answerable=False, answer="Something made up [1].", confidence=0.2)
    received = stream(
        client_with(services, ScriptedChatModel(pieces=list(reply_pieces(reply, [reply.answer]))))
    )
    assert [name for name, _ in received] == ["sources", "delta", "final"]
    assert received[1][1]["text"] == FALLBACK_ANSWER and received[2][1]["fallback"] is True


def test_a_malformed_streamed_reply_is_repaired_and_the_repair_is_sent(services: Services) -> None:
    repaired = StructuredReply(
        answerable=True, answer="Returns take 45 days [1].", citations=[1], confidence=0.8
    )
    model = RepairingChatModel(pieces=["Returns take ", "45 days."], repaired=repaired.to_json())
    received = stream(client_with(services, model))
    final = received[-1][1]
    assert final["answer"] == "Returns take 45 days [1]." and final["fallback"] is False
    assert [data["text"] for name, data in received if name == "delta"] == ["Returns take 45 days [1]."]
    assert "could not be read" in model.repair_request


class RepairingChatModel(ScriptedChatModel):
    """Streams a malformed reply; asked again (a plain call), replies `repaired`."""

    repaired: str
    repair_request: str = ""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.repair_request = messages[-1].text
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.repaired))])
