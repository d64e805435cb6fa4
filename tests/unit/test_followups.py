"""Follow-up resolution: the embedded rewrite and the LLM condense step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import HumanMessage
from pydantic import Field

from functions.feedback.records import MessageRecord
from functions.rag.followups import CondenseQuestionResolver, EllipsisRewriter, Resolution
from tests.fakes import HashingEmbedder


class KindEmbedder(HashingEmbedder):
    """The hashing embedder, except that words of one kind (kinds of gear) share a vector, so
    "sleeping bags" is close to "tents" as it would be for MiniLM."""

    GEAR = ("tent", "tents", "sleeping bags", "backpacks")

    def _vector(self, text: str) -> np.ndarray:
        if text.lower() in self.GEAR:
            return super()._vector("gear")
        return super()._vector(text)


def turns(*questions: str) -> list[MessageRecord]:
    return [
        MessageRecord(f"m{n}", "c1", None, n, question, f"answer {n}", [], True, False, False)
        for n, question in enumerate(questions, start=1)
    ]


def resolve(question: str, *history: str) -> Resolution:
    return EllipsisRewriter(KindEmbedder()).resolve(question, turns(*history))


def test_a_first_question_or_one_that_stands_alone_is_unchanged() -> None:
    assert resolve("How long is the warranty on tents?") == Resolution("How long is the warranty on tents?")
    standalone = "How do I reset my password?"
    assert resolve(standalone, "How long is the warranty on tents?") == Resolution(standalone)


def test_an_elliptical_follow_up_takes_the_place_of_the_previous_subject() -> None:
    previous = "How long is the warranty on tents?"
    resolution = resolve("And what about sleeping bags?", previous)
    assert resolution == Resolution("How long is the warranty on sleeping bags?", previous)


def test_the_new_subject_drops_its_preposition() -> None:
    resolution = resolve("and for sleeping bags?", "How long is the warranty on tents?")
    assert resolution.question == "How long is the warranty on sleeping bags?"


def test_an_existential_there_is_not_a_follow_up() -> None:
    assert resolve("Is there a fee for returns?", "How do I reset my password?") == Resolution(
        "Is there a fee for returns?"
    )


def test_a_chain_of_follow_ups_resolves_each_against_the_one_before() -> None:
    resolution = resolve("and backpacks?", "How long is the warranty on tents?", "What about sleeping bags?")
    assert resolution.question == "How long is the warranty on backpacks?"
    assert resolution.previous == "How long is the warranty on sleeping bags?"


def test_a_subject_close_to_nothing_before_is_added_to_the_previous_question() -> None:
    resolution = resolve("What about Canada?", "How long is the warranty on tents?")
    assert resolution.question == "How long is the warranty on tents (Canada)?"


def test_a_follow_up_that_points_back_carries_the_previous_question() -> None:
    resolution = resolve("How much does it cost?", "Can I rent a tent in Denver?")
    assert resolution == Resolution(
        "How much does it cost? (Can I rent a tent in Denver?)", "Can I rent a tent in Denver?"
    )


class RecordingChatModel(FakeListChatModel):
    """A fake LLM that remembers the messages of its last call."""

    seen: list[list[str]] = Field(default_factory=list)

    def _call(self, messages: Sequence[object], *args: object, **kwargs: object) -> str:
        self.seen.append([getattr(m, "text", str(m)) for m in messages])
        return super()._call(messages, *args, **kwargs)


def test_the_llm_condenses_the_follow_up_over_the_recent_turns() -> None:
    model = RecordingChatModel(responses=["Can I return boots I bought online?"])
    history = turns("Can I return a jacket I bought online?")
    resolution = CondenseQuestionResolver(model, token_budget=500).resolve("and boots?", history)
    assert resolution == Resolution("Can I return boots I bought online?")
    (prompt,) = model.seen
    assert prompt[1:] == ["Can I return a jacket I bought online?", "answer 1", "and boots?"]


def test_the_llm_is_not_asked_without_history() -> None:
    model = RecordingChatModel(responses=["never used"])
    resolution = CondenseQuestionResolver(model, token_budget=500).resolve("Where is my parcel?", [])
    assert resolution == Resolution("Where is my parcel?") and model.seen == []


def test_the_history_keeps_the_latest_turns_within_the_token_budget() -> None:
    long_answer = "word " * 200
    history = [
        MessageRecord(f"m{n}", "c1", None, n, f"question {n}", long_answer, [], True, False, False)
        for n in range(1, 6)
    ]
    messages = CondenseQuestionResolver(
        FakeListChatModel(responses=["x"]), token_budget=300
    ).history_messages(history)
    assert messages and isinstance(messages[0], HumanMessage)
    assert [m.text for m in messages if isinstance(m, HumanMessage)] == ["question 5"]
