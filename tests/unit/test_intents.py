"""Intent tagging and routing: the classifier artefact, the routes, what the stores keep and what
`stats` shows. A keyword embedder and a hand-made model stand in for MiniLM and the trained
artefact (their figures are tested in tests/training/test_intents.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from moto import mock_aws

from functions.contract import Intent
from functions.feedback.dynamodb_store import DynamoDBConversationStore
from functions.feedback.pseudonyms import pseudonymiser
from functions.feedback.records import MessageRecord
from functions.feedback.sqlite_store import SQLiteStore
from functions.feedback.statistics import count_intents, statistics
from functions.intents.classifier import (
    PACKAGED_MODEL,
    IntentModel,
    IntentModelMismatchError,
    build_model,
    embedder_identity,
    load_model,
    save_model,
)
from functions.intents.routing import ASK_FOR_ORDER_NUMBER, HANDED_TO_A_PERSON, IntentRouter, Route
from functions.rag.embeddings.ports import MemoizingEmbedder
from functions.services import Services
from functions.settings import Settings
from tests.conftest import MINI_KB, make_services, make_settings
from tests.dynamodb_tables import create_store_tables
from tests.fakes import HashingEmbedder

PSEUDONYMS = pseudonymiser(lambda: b"test-key")
LABELS = tuple(Intent)
WORDS = 384 - len(LABELS)  # the index's dimension, less one slot per intent
#: A word that marks each intent for the keyword embedder.
KEYWORDS = {
    Intent.ORDER_STATUS: "order",
    Intent.RETURNS: "return",
    Intent.REFUNDS: "refund",
    Intent.SHIPPING: "shipping",
    Intent.PAYMENT: "pay",
    Intent.ACCOUNT: "password",
    Intent.PRODUCT_QUESTION: "tent",
    Intent.COMPLAINT: "terrible",
    Intent.TALK_TO_PERSON: "human",
    Intent.OTHER: "hello",
}


class KeywordEmbedder(HashingEmbedder):
    """The hashing embedder's vector, followed by one slot per intent set when its keyword occurs;
    counts its query calls, to show which texts cost a model call."""

    def __init__(self) -> None:
        super().__init__(dimension=WORDS + len(LABELS))
        self.queries: list[str] = []

    def embed_query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return self._vector(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(text) for text in texts])

    def _vector(self, text: str) -> np.ndarray:
        words = HashingEmbedder(WORDS)._vector(text)
        slots = np.array([float(KEYWORDS[label] in text.lower()) for label in LABELS], dtype=np.float32)
        return np.concatenate([words, slots])


def keyword_model(embedder: str = "test:keywords") -> IntentModel:
    """10 on each intent's slot, nothing on the words; OTHER slightly favoured when no slot is set."""
    weights = np.zeros((len(LABELS), WORDS + len(LABELS)))
    weights[:, WORDS:] = 10.0 * np.eye(len(LABELS))
    bias = [0.5 if label is Intent.OTHER else 0.0 for label in LABELS]
    return build_model([label.value for label in LABELS], weights, bias, embedder=embedder, metadata={})


class Tickets:
    def __init__(self) -> None:
        self.opened: list[tuple[str, str | None, str]] = []

    def __call__(self, message_id: str, user_id: str | None, reason: str) -> str:
        self.opened.append((message_id, user_id, reason))
        return "ticket-1"


# --- the classifier artefact --------------------------------------------------------------------


def test_the_packaged_artefact_reads_minilm_vectors_and_names_every_intent() -> None:
    model = load_model(embedder=embedder_identity(Settings()))
    assert set(model.labels) == set(Intent)
    assert all(len(row) == 384 for row in model.weights)
    assert model.metadata["examples"] >= 300


def test_an_artefact_for_another_embedder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IntentModelMismatchError, match="trained on local:all-MiniLM-L6-v2"):
        load_model(PACKAGED_MODEL, embedder="bedrock:amazon.titan-embed-text-v2:0:512")
    path = tmp_path / "titan.json"
    save_model(path, keyword_model(embedder="bedrock:amazon.titan-embed-text-v2:0:512"))
    with pytest.raises(ValueError, match="retrain it"):  # at start-up, not on the first question
        Settings(intent_model_path=path)


def test_tagging_is_off_with_another_embedder_unless_a_fitting_artefact_is_given(tmp_path: Path) -> None:
    titan = {"embedder": "bedrock", "embedding_dimension": 512}
    assert Services(Settings(data_dir=tmp_path, **titan)).intents is None  # type: ignore[arg-type]
    path = tmp_path / "titan.json"
    save_model(path, keyword_model(embedder="bedrock:amazon.titan-embed-text-v2:0:512"))
    settings = Settings(data_dir=tmp_path, intent_model_path=path, **titan)  # type: ignore[arg-type]
    router = Services(settings).intents
    assert router is not None and router.model.embedder.startswith("bedrock:")


def test_a_saved_model_loads_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    model = keyword_model()
    save_model(path, model)
    assert load_model(path) == model


# --- routing ------------------------------------------------------------------------------------


@pytest.fixture
def router() -> IntentRouter:
    return IntentRouter(keyword_model(), KeywordEmbedder(), Tickets())


@pytest.mark.parametrize(
    ("question", "earlier"),
    [
        ("Where is my order?", []),
        ("my order still hasnt come", ["Hi there"]),
    ],
)
def test_an_order_status_question_without_an_order_number_asks_for_it(
    router: IntentRouter, question: str, earlier: list[str]
) -> None:
    intent, routed = router.classify(question, earlier)
    assert intent is Intent.ORDER_STATUS
    assert routed is not None and routed.route is Route.ASK_ORDER_NUMBER
    assert routed.answer == ASK_FOR_ORDER_NUMBER and "order number" in routed.answer


@pytest.mark.parametrize(
    ("question", "earlier"),
    [
        ("Where is my order NW-20481377?", []),
        ("where is order nw20481377", []),
        ("Where is my order? It's 20481377", []),
        ("Any news on the order?", ["My order number is NW-55120934"]),  # given earlier
    ],
)
def test_an_order_number_given_now_or_earlier_is_not_asked_for(
    router: IntentRouter, question: str, earlier: list[str]
) -> None:
    assert router.classify(question, earlier) == (Intent.ORDER_STATUS, None)


def test_a_request_for_a_person_is_handed_off_once_its_message_is_stored(router: IntentRouter) -> None:
    intent, routed = router.classify("Can I talk to a human please?")
    assert intent is Intent.TALK_TO_PERSON
    assert routed is not None and routed.route is Route.HAND_OFF and routed.answer == HANDED_TO_A_PERSON
    tickets = router._hand_off
    assert isinstance(tickets, Tickets) and tickets.opened == []  # nothing before the message is stored
    router.after_saved(routed.route, "m1", "u1")
    assert tickets.opened == [("m1", "u1", "the customer asked for a person")]


def test_other_intents_are_tagged_but_not_routed(router: IntentRouter) -> None:
    assert router.classify("I want a refund") == (Intent.REFUNDS, None)
    assert router.classify("hello") == (Intent.OTHER, None)


def test_an_unsure_tag_routes_nothing() -> None:
    # "human" and "order" both set: the two intents split the probability, neither reaches 0.5
    unsure = IntentRouter(keyword_model(), KeywordEmbedder(), Tickets(), min_probability=0.5)
    intent, routed = unsure.classify("a human about my order")
    assert intent in {Intent.TALK_TO_PERSON, Intent.ORDER_STATUS}
    assert routed is None


# --- the pipeline, the stores and the statistics ------------------------------------------------


@pytest.fixture
def tagged(tmp_path: Path) -> Iterator[tuple[Services, KeywordEmbedder]]:
    """Services over the mini knowledge base with the keyword embedder (memoized, as shipped)
    and the keyword model tagging every question."""
    services = make_services(make_settings(tmp_path / "data", min_relevance=0.05))
    embedder = KeywordEmbedder()
    services.embedder = MemoizingEmbedder(embedder)  # type: ignore[misc]
    services.ingestor.ingest_paths([MINI_KB])
    services.intents = IntentRouter(keyword_model(), services.embedder, services._hand_off)  # type: ignore[misc]
    yield services, embedder
    services.sqlite.close()


def test_tagging_costs_no_model_call_beyond_retrievals(tagged: tuple[Services, KeywordEmbedder]) -> None:
    services, embedder = tagged
    embedder.queries.clear()
    answer = services.pipeline.answer("How long does a refund take?")
    assert answer.intent is Intent.REFUNDS and answer.route is None and answer.sources
    # one model call for the question: tagging embedded the text retrieval embeds
    assert embedder.queries == ["How long does a refund take?"]


def test_every_answer_is_stored_with_its_intent_and_counted_in_stats(
    tagged: tuple[Services, KeywordEmbedder],
) -> None:
    services, _ = tagged
    first = services.pipeline.answer("How long does a refund take?", user_id="u1")
    services.pipeline.answer("And a refund to PayPal?", first.conversation_id, user_id="u1")
    services.pipeline.answer("Where is my order?", user_id="u2")
    stored = services.sqlite.get_message(first.message_id, user_id="u1")
    assert stored is not None and stored.intent is Intent.REFUNDS and stored.route is None
    assert statistics(services)["intents"] == {"refunds": 2, "order_status": 1}


def test_an_order_status_question_is_answered_with_a_question_and_recorded_so(
    tagged: tuple[Services, KeywordEmbedder],
) -> None:
    services, _ = tagged
    answer = services.pipeline.answer("Where is my order?", user_id="u1")
    assert answer.answer == ASK_FOR_ORDER_NUMBER and answer.sources == [] and not answer.fallback
    stored = services.sqlite.get_message(answer.message_id, user_id="u1")
    assert stored is not None and stored.route == Route.ASK_ORDER_NUMBER
    # the customer answers with the number: now the question is answered from the knowledge base
    again = services.pipeline.answer("my order is NW-20481377", answer.conversation_id, user_id="u1")
    assert again.route is None


def test_a_request_for_a_person_opens_a_ticket_through_the_escalation_path(
    tagged: tuple[Services, KeywordEmbedder],
) -> None:
    services, _ = tagged
    answer = services.pipeline.answer("I want to talk to a human", user_id="u1")
    assert answer.answer == HANDED_TO_A_PERSON and answer.route == Route.HAND_OFF
    (ticket,) = services.sqlite.open_escalations()
    assert ticket["message_id"] == answer.message_id
    assert ticket["user_id"] == pseudonym_of(services, "u1")  # the stored pseudonym, never the raw id
    assert ticket["reason"] == "the customer asked for a person"
    assert services.sqlite.get_feedback(answer.message_id) is None  # no rating was invented


def pseudonym_of(services: Services, user_id: str) -> str:
    pseudonym = services.pseudonymiser(user_id)
    assert pseudonym is not None
    return pseudonym


def test_an_api_answer_carries_its_intent(tagged: tuple[Services, KeywordEmbedder]) -> None:
    from fastapi.testclient import TestClient

    from functions.api.app import all_routers, create_app

    services, _ = tagged
    client = TestClient(create_app(all_routers(), services))
    body = client.post("/v1/query", json={"question": "I want to talk to a human"}).json()
    assert (body["intent"], body["route"]) == ("talk_to_person", "hand_off")


def test_sqlite_keeps_intents_and_adds_the_columns_to_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE messages (message_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, user_id TEXT,"
        " turn INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, sources TEXT NOT NULL,"
        " grounded INTEGER NOT NULL, fallback INTEGER NOT NULL, blocked INTEGER NOT NULL,"
        " rephrased INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);"
        "INSERT INTO messages VALUES ('m0', 'c0', NULL, 1, 'q', 'a', '[]', 1, 0, 0, 0, '2026-11-01T00:00:00+00:00');"
    )
    old.close()
    store = SQLiteStore(path, PSEUDONYMS)
    record = MessageRecord("m1", "c1", None, 1, "q", "a", [], False, False, False, intent=Intent.SHIPPING)
    store.save_message(record)
    loaded = store.get_message("m1", user_id=None)
    assert loaded is not None and loaded.intent is Intent.SHIPPING
    old_message = store.get_message("m0", user_id=None)
    assert old_message is not None and old_message.intent is None  # untagged, not lost
    assert store.intent_counts() == {"shipping": 1}
    store.close()


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="eu-west-1")
        create_store_tables(resource)
        yield resource


def test_dynamodb_keeps_intents_and_routes_and_stats_count_them(dynamodb: Any) -> None:
    store = DynamoDBConversationStore("conversations", 30, PSEUDONYMS, resource=dynamodb)
    tagged = [
        MessageRecord(
            "m1",
            "c1",
            "u1",
            1,
            "q",
            "a",
            [],
            False,
            False,
            False,
            intent=Intent.ORDER_STATUS,
            route=Route.ASK_ORDER_NUMBER,
        ),
        MessageRecord("m2", "c1", "u1", 2, "q", "a", [], True, False, False, intent=Intent.ORDER_STATUS),
        MessageRecord("m3", "c2", None, 1, "q", "a", [], True, False, False, intent=Intent.RETURNS),
        MessageRecord("m4", "c3", None, 1, "q", "a", [], False, False, True),  # blocked: untagged
    ]
    for record in tagged:
        store.save_message(record)
    first = store.get_message("m1", user_id="u1")
    assert first is not None and first.intent is Intent.ORDER_STATUS and first.route == "ask_order_number"
    item = dynamodb.Table("conversations").get_item(Key={"conversation_id": "c1", "turn": 1})["Item"]
    assert (item["intent"], item["route"]) == ("order_status", "ask_order_number")
    assert count_intents(store) == {"order_status": 2, "returns": 1}
