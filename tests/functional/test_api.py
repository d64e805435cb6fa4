"""The HTTP API over the mini knowledge base (hashing embedder, extractive answerer, SQLite)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from functions.rag.prompts import FALLBACK_ANSWER
from functions.services import Services


def ask(client: TestClient, question: str, **extra: str) -> dict:
    response = client.post("/v1/query", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_query_answers_from_the_right_document_with_citations(client: TestClient) -> None:
    body = ask(client, "How many days do I have to return unworn items?")
    assert "45 days" in body["answer"] and "[1]" in body["answer"]
    assert body["sources"][0]["source"] == "mini_kb/returns.md"
    assert set(body["sources"][0]) == {"source", "title", "text", "score", "relevance"}
    assert body["grounded"] is True and body["fallback"] is False
    assert body["guardrails"]["input"]["allowed"] and body["guardrails"]["output"]["allowed"]
    assert body["message_id"] and body["conversation_id"]


def test_unrelated_question_gets_the_fallback_and_no_sources(client: TestClient) -> None:
    body = ask(client, "What is the capital of Australia?")
    assert body["answer"] == FALLBACK_ANSWER
    assert body["fallback"] is True and body["grounded"] is False and body["sources"] == []


def test_question_pii_is_redacted_before_it_is_stored(client: TestClient, services: Services) -> None:
    body = ask(client, "I am jane@example.com, can I return swimwear?")
    assert body["guardrails"]["input"]["findings"][0]["category"] == "pii"
    stored = services.conversations.get_message(body["message_id"], user_id=None)
    assert stored is not None and stored.question == "I am [EMAIL_1], can I return swimwear?"


def test_public_support_address_survives_ingestion_and_output_checks(client: TestClient) -> None:
    body = ask(client, "What e-mail address does the support team answer?")
    assert "support@northwind.example" in body["answer"]


def test_asking_again_in_other_words_marks_the_previous_answer(
    client: TestClient, services: Services
) -> None:
    first = ask(client, "How much does express shipping cost in the EU?")
    second = ask(
        client, "Express shipping to the EU, how much does it cost?", conversation_id=first["conversation_id"]
    )
    assert second["rephrase_of"] == first["message_id"]
    stored = services.conversations.get_message(first["message_id"], user_id=None)
    assert stored is not None and stored.rephrased


def test_retrieve_returns_ranked_chunks_and_honours_filters(client: TestClient) -> None:
    response = client.post("/v1/retrieve", json={"query": "klarna instalments", "k": 2})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2 and results[0]["source"] == "mini_kb/payments-faq.json"
    assert results[0]["score"] >= results[1]["score"]
    filtered = client.post("/v1/retrieve", json={"query": "klarna", "filters": {"kind": "markdown"}}).json()
    assert filtered["results"] and all(r["metadata"]["kind"] == "markdown" for r in filtered["results"])


def test_guardrails_check_reports_and_redacts(client: TestClient) -> None:
    response = client.post(
        "/v1/guardrails/check", json={"text": "Card 4111 1111 1111 1111 please", "stage": "input"}
    )
    assert response.json() == {
        "allowed": True,
        "findings": [
            {"category": "pii", "score": 0.95, "spans": [{"start": 5, "end": 24, "label": "CREDIT_CARD"}]}
        ],
        "redacted_text": "Card [CREDIT_CARD_1] please",
    }


def test_feedback_is_stored_and_escalation_opens_a_ticket(client: TestClient, services: Services) -> None:
    message_id = ask(client, "Which cards do you accept?")["message_id"]
    response = client.post(
        "/v1/feedback",
        json={
            "message_id": message_id,
            "rating": "down",
            "reason": "incomplete",
            "comment": "AmEx?",
            "escalate": True,
        },
    )
    assert response.status_code == 200
    assert response.json()["escalated"] is True and response.json()["ticket_id"]
    stored = services.feedback_store.get_feedback(message_id)
    assert stored is not None and stored.reason == "incomplete"
    assert services.sqlite.open_escalations()[0]["message_id"] == message_id


def test_health_and_openapi(client: TestClient) -> None:
    index = {"version": "v000001", "healthy": True, "problem": None}
    assert client.get("/health").json() == {"status": "ok", "index": index}
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/query", "/v1/retrieve", "/v1/guardrails/check", "/v1/feedback", "/health"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_a_chat_model_saying_the_sources_do_not_answer_is_a_hand_off(services: Services) -> None:
    services.chat_model = FakeListChatModel(responses=["NOT_IN_SOURCES"])  # type: ignore[misc]
    answer = services.pipeline.answer("How long is the warranty on tents?")
    assert answer.answer == FALLBACK_ANSWER and answer.fallback and not answer.grounded
