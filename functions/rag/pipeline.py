"""The query path: input guardrails, rephrase check, hybrid retrieval, grounded prompt, chat
model, output guardrails, then the answer is stored for feedback and measured."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.contract import Intent, MetricName
from functions.errors import InvalidRequestError, KnowledgeBaseEmptyError, NotFoundError
from functions.feedback.ports import ConversationStore
from functions.feedback.records import MessageRecord
from functions.guardrails.base import Stage
from functions.guardrails.grounding import groundedness
from functions.guardrails.metrics import count_blocks
from functions.guardrails.placeholders import ConversationPlaceholders
from functions.guardrails.policy import GuardrailResult, Guardrails
from functions.observability import logger, metrics, tracer
from functions.rag.documents import ScoredChunk
from functions.rag.embeddings.ports import cosine
from functions.rag.followups import FollowUpResolver, Resolution
from functions.rag.prompts import FALLBACK_ANSWER, format_sources, grounded_answer_prompt, says_not_in_sources
from functions.rag.retriever import Retriever

if TYPE_CHECKING:  # the chat model machinery (langsmith included) loads with the first model
    from langchain_core.language_models.chat_models import BaseChatModel

    from functions.intents.routing import IntentRouter
    from functions.rag.streaming import EventListener


@dataclass(frozen=True)
class Answer:
    answer: str
    sources: list[ScoredChunk]
    message_id: str
    conversation_id: str
    input_guardrails: GuardrailResult
    grounded: bool = False
    groundedness: float | None = None  # worst sentence's share of terms found in the sources
    fallback: bool = False
    output_guardrails: GuardrailResult | None = None
    rephrase_of: str | None = None
    resolved_question: str | None = None  # the standalone question a follow-up became
    usage: dict[str, int] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    intent: Intent | None = None  # what the question is about (functions.intents)
    route: str | None = None  # answered without retrieval because of its intent (asked, handed off)

    @property
    def blocked(self) -> bool:
        return not self.input_guardrails.allowed or (
            self.output_guardrails is not None and not self.output_guardrails.allowed
        )


def validate_question(question: str, max_chars: int, name: str = "question") -> str:
    """The question stripped, or an InvalidRequestError that says what is wrong with it."""
    stripped = question.strip()
    if not stripped:
        raise InvalidRequestError(f"{name} must not be empty")
    if len(question) > max_chars:
        raise InvalidRequestError(f"{name} is {len(question)} characters long; the limit is {max_chars}")
    return stripped


class AnswerPipeline:
    def __init__(
        self,
        retriever: Retriever,
        chat_model: BaseChatModel,
        guardrails: Guardrails,
        conversations: ConversationStore,
        *,
        max_question_chars: int = 4000,
        rephrase_similarity: float = 0.8,
        followups: FollowUpResolver | None = None,
        history_turns: int = 6,
        intents: IntentRouter | None = None,
    ) -> None:
        self.retriever = retriever
        self.chat_model = chat_model
        self.guardrails = guardrails
        self.conversations = conversations
        self.max_question_chars = max_question_chars
        self.rephrase_similarity = rephrase_similarity
        self.followups = followups
        self.history_turns = history_turns
        self.intents = intents
        self.placeholders = ConversationPlaceholders()

    @tracer.capture_method(capture_response=False)  # the response holds the question and answer
    def answer(
        self,
        question: str,
        conversation_id: str | None = None,
        user_id: str | None = None,
        *,
        on_event: EventListener | None = None,
    ) -> Answer:
        """The answer, stored for feedback. With `on_event`, the sources and each guardrail-checked
        sentence are handed to it while the model writes (see `functions.rag.streaming`)."""
        started = time.perf_counter()
        question = validate_question(question, self.max_question_chars)
        history = self._history(conversation_id, user_id)
        previous = history[-1] if history else None
        conversation_id = conversation_id or uuid.uuid4().hex
        message_id = uuid.uuid4().hex
        timings: dict[str, float] = {}

        placeholders = self.placeholders.for_conversation(conversation_id)
        checked_input = self.guardrails.check(question, Stage.INPUT, placeholders=placeholders)
        safe_question = checked_input.redacted_text
        intent: Intent | None = None  # tagged once the question is resolved

        def finish(text: str, sources: list[ScoredChunk], **outcome: Any) -> Answer:
            answer = Answer(
                text, sources, message_id, conversation_id, checked_input, intent=intent, **outcome
            )
            return self._finish(answer, safe_question, previous, user_id, started)

        if not checked_input.allowed:  # refused before retrieval: the model never sees it
            count_blocks(checked_input)
            return finish(self.guardrails.refusal, [], timings_ms=timings)

        stage_started = time.perf_counter()
        resolution = self._resolve(safe_question, history)
        resolved = resolution.question if resolution.question != safe_question else None
        if self.intents is not None:  # tags the resolved question: the text retrieval embeds next
            # The message as typed and the earlier questions: an order number given is not asked again.
            intent, routed = self.intents.classify(
                resolution.question, [safe_question, *(turn.question for turn in history)]
            )
            if routed is not None:  # answered by its intent: no retrieval, no model
                return finish(routed.answer, [], route=routed.route, resolved_question=resolved)
        retrieval = self.retriever.retrieve(resolution.question, previous=resolution.previous)
        timings["retrieval"] = _elapsed_ms(stage_started)
        rephrase_of = self._rephrase_of(safe_question, previous)

        if not retrieval.hits and self.retriever.store.count() == 0:
            raise KnowledgeBaseEmptyError(
                "the knowledge base is empty: ingest documents first (genai-stack ingest PATH)"
            )
        if not retrieval.confident:
            metrics.add_metric(name=MetricName.EMPTY_RETRIEVALS, unit=MetricUnit.Count, value=1)
            return finish(
                FALLBACK_ANSWER,
                [],
                fallback=True,
                rephrase_of=rephrase_of,
                resolved_question=resolved,
                timings_ms=timings,
            )

        stage_started = time.perf_counter()
        messages = grounded_answer_prompt().format_messages(
            sources=format_sources(retrieval.hits), question=resolution.question
        )
        if on_event is None:
            reply = self.chat_model.invoke(messages)
        else:
            from functions.rag.streaming import generate_guarded

            reply = generate_guarded(self.chat_model, messages, self.guardrails, retrieval.hits, on_event)
        timings["generation"] = _elapsed_ms(stage_started)
        usage = {
            key: int(value) for key, value in (reply.usage_metadata or {}).items() if isinstance(value, int)
        }

        source_texts = [hit.chunk.text for hit in retrieval.hits]
        checked_output = self.guardrails.check(
            reply.text, Stage.OUTPUT, sources=source_texts, placeholders=placeholders
        )
        score = groundedness(reply.text, source_texts)
        metrics.add_metric(name=MetricName.GROUNDEDNESS, unit=MetricUnit.Percent, value=100.0 * score)
        if checked_output.allowed:
            text = checked_output.redacted_text
        else:
            count_blocks(checked_output)
            # An unsupported answer gets the fallback (offer a human); anything else, the refusal.
            only_ungrounded = set(checked_output.blocked_by) == {"ungrounded"}
            text = FALLBACK_ANSWER if only_ungrounded else self.guardrails.refusal
        # An LLM that finds no answer in the sources says so (NOT_IN_SOURCES): the hand-off too.
        text = FALLBACK_ANSWER if says_not_in_sources(text) else text
        fallback = text.strip() == FALLBACK_ANSWER
        return finish(
            text,
            retrieval.hits,
            grounded=checked_output.allowed and not fallback and not checked_output.has("ungrounded"),
            groundedness=round(score, 3),
            fallback=fallback,
            output_guardrails=checked_output,
            rephrase_of=rephrase_of,
            resolved_question=resolved,
            usage=usage,
            timings_ms=timings,
        )

    def _history(self, conversation_id: str | None, user_id: str | None) -> list[MessageRecord]:
        """The recent turns of the conversation being continued, oldest first; a new conversation
        has none.

        A conversation id that is unknown, or another user's, is the same 404: the answer does
        not reveal whether the conversation exists. New conversations get their id from the
        server (leave `conversation_id` out), so a client cannot pick one that someone else holds.
        """
        if conversation_id is None:
            return []
        history = self.conversations.recent_messages(
            conversation_id, max(1, self.history_turns), user_id=user_id
        )
        if not history:
            # The caller's value is not repeated: the error is logged, and a mistyped field can hold PII.
            raise NotFoundError(
                "no conversation with that conversation_id: leave conversation_id out to start a new one"
            )
        return history

    def _resolve(self, question: str, history: list[MessageRecord]) -> Resolution:
        """A follow-up made standalone against the conversation (unchanged without a resolver)."""
        if self.followups is None:
            return Resolution(question)
        return self.followups.resolve(question, history)

    def _rephrase_of(self, question: str, previous: MessageRecord | None) -> str | None:
        """The previous message's id when this question asks the same thing again in other words:
        the earlier answer did not help, an implicit thumbs-down for the training data."""
        if previous is None:
            return None
        embedder = self.retriever.embedder  # query vectors: retrieval has just embedded both texts
        similarity = cosine(embedder.embed_query(question), embedder.embed_query(previous.question))
        return previous.message_id if similarity >= self.rephrase_similarity else None

    def _finish(
        self,
        result: Answer,
        question: str,
        previous: MessageRecord | None,
        user_id: str | None,
        started: float,
    ) -> Answer:
        if result.rephrase_of is not None and previous is not None:
            self.conversations.mark_rephrased(previous)
            metrics.add_metric(name=MetricName.REPHRASES, unit=MetricUnit.Count, value=1)
        self.conversations.save_message(
            MessageRecord(
                message_id=result.message_id,
                conversation_id=result.conversation_id,
                user_id=user_id,
                turn=previous.turn + 1 if previous else 1,
                question=question,
                answer=result.answer,
                sources=[
                    {"source": h.chunk.source, "title": h.chunk.title, "score": h.score}
                    for h in result.sources
                ],
                grounded=result.grounded,
                fallback=result.fallback,
                blocked=result.blocked,
                intent=result.intent,
                route=result.route,
            )
        )
        if self.intents is not None and result.route is not None:  # a ticket names a stored message
            self.intents.after_saved(result.route, result.message_id, user_id)
        total_ms = _elapsed_ms(started)
        result.timings_ms["total"] = total_ms
        metrics.add_metric(name=MetricName.QUERIES, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=MetricName.QUERY_LATENCY, unit=MetricUnit.Milliseconds, value=total_ms)
        if "retrieval" in result.timings_ms:
            metrics.add_metric(
                name=MetricName.RETRIEVAL_LATENCY,
                unit=MetricUnit.Milliseconds,
                value=result.timings_ms["retrieval"],
            )
        if "generation" in result.timings_ms:
            metrics.add_metric(
                name=MetricName.GENERATION_LATENCY,
                unit=MetricUnit.Milliseconds,
                value=result.timings_ms["generation"],
            )
        for key, metric in (
            ("input_tokens", MetricName.INPUT_TOKENS),
            ("output_tokens", MetricName.OUTPUT_TOKENS),
        ):
            if key in result.usage:
                metrics.add_metric(name=metric, unit=MetricUnit.Count, value=result.usage[key])
        grounded_metric = MetricName.GROUNDED_ANSWERS if result.grounded else MetricName.UNGROUNDED_ANSWERS
        metrics.add_metric(name=grounded_metric, unit=MetricUnit.Count, value=1)
        logger.info(
            "answered",
            extra={
                "message_id": result.message_id,
                "conversation_id": result.conversation_id,
                "fallback": result.fallback,
                "blocked": result.blocked,
                "grounded": result.grounded,
                "intent": result.intent,
                "sources": len(result.sources),
                "latency_ms": round(total_ms, 2),
            },
        )
        return result


def _elapsed_ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
