"""The query path: input guardrails, rephrase check, hybrid retrieval, grounded prompt (the
conversation's prompt variant), chat model and its structured reply, output guardrails, then the
answer is stored for feedback, measured and logged."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.contract import PROMPT_VARIANT_DIMENSION, Intent, MetricName
from functions.errors import InvalidRequestError, KnowledgeBaseEmptyError, NotFoundError
from functions.feedback.ports import ConversationStore
from functions.feedback.records import MessageRecord
from functions.guardrails.base import Stage
from functions.guardrails.grounding import groundedness
from functions.guardrails.metrics import count_blocks
from functions.guardrails.placeholders import ConversationPlaceholders
from functions.guardrails.policy import GuardrailResult, Guardrails
from functions.observability import add_metric_by, logger, metrics, tracer
from functions.rag.documents import ScoredChunk
from functions.rag.embeddings.ports import cosine
from functions.rag.followups import FollowUpResolver, Resolution
from functions.rag.prompts import FALLBACK_ANSWER, PromptLibrary
from functions.rag.replies import (
    CheckedCitations,
    MalformedReplyError,
    StructuredReply,
    check_citations,
    parse_reply,
    repair_messages,
)
from functions.rag.retriever import Retriever

if TYPE_CHECKING:  # the chat model machinery (langsmith included) loads with the first model
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from functions.intents.routing import IntentRouter, Routed
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
    prompt_variant: str | None = None  # the conversation's variant, on every answer of it
    citations: list[int] = field(default_factory=list)  # retrieved sources the answer cites
    confidence: float | None = None  # the model's own, 0 to 1; None when no model answered
    dropped_citations: int = 0  # cited source numbers that named no retrieved source, removed

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
        prompts: PromptLibrary | None = None,
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
        self.prompts = prompts or PromptLibrary()
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
        variant = self.prompts.choose(conversation_id)
        timings: dict[str, float] = {}

        placeholders = self.placeholders.for_conversation(conversation_id)
        checked_input = self.guardrails.check(question, Stage.INPUT, placeholders=placeholders)
        safe_question = checked_input.redacted_text
        intent: Intent | None = None  # tagged once the question is resolved

        def finish(text: str, sources: list[ScoredChunk], **outcome: Any) -> Answer:
            answer = Answer(
                text,
                sources,
                message_id,
                conversation_id,
                input_guardrails=checked_input,
                prompt_variant=variant,
                intent=intent,
                **outcome,
            )
            self._record(answer, safe_question, previous, user_id)
            answer = replace(answer, timings_ms={**answer.timings_ms, "total": _elapsed_ms(started)})
            _measure(answer)
            _log(answer)
            return answer

        if not checked_input.allowed:  # refused before retrieval: the model never sees it
            count_blocks(checked_input)
            return finish(self.guardrails.refusal, [], timings_ms=timings)

        stage_started = time.perf_counter()
        resolution = self._resolve(safe_question, history)
        resolved = resolution.question if resolution.question != safe_question else None
        intent, routed = self._tag(resolution.question, safe_question, history)
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
        messages = self.prompts.messages(variant, retrieval.hits, resolution.question)
        reply, usage = self._generate(messages, retrieval.hits, on_event)
        timings["generation"] = _elapsed_ms(stage_started)
        if reply is None or not reply.answerable:  # the model's hand-off, or a reply beyond repair
            return finish(
                FALLBACK_ANSWER,
                retrieval.hits,
                fallback=True,
                rephrase_of=rephrase_of,
                resolved_question=resolved,
                usage=usage,
                timings_ms=timings,
                confidence=reply.confidence if reply else None,
            )
        cited = _checked_citations(reply, len(retrieval.hits))

        source_texts = [hit.chunk.text for hit in retrieval.hits]
        checked_output = self.guardrails.check(
            cited.answer, Stage.OUTPUT, sources=source_texts, placeholders=placeholders
        )
        score = groundedness(cited.answer, source_texts)
        metrics.add_metric(name=MetricName.GROUNDEDNESS, unit=MetricUnit.Percent, value=100.0 * score)
        if checked_output.allowed:
            text = checked_output.redacted_text
        else:
            count_blocks(checked_output)
            # An unsupported answer gets the fallback (offer a human); anything else, the refusal.
            only_ungrounded = set(checked_output.blocked_by) == {"ungrounded"}
            text = FALLBACK_ANSWER if only_ungrounded else self.guardrails.refusal
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
            citations=cited.citations if checked_output.allowed else [],
            dropped_citations=cited.dropped,
            confidence=reply.confidence,
        )

    def _generate(
        self, messages: list[BaseMessage], hits: list[ScoredChunk], on_event: EventListener | None
    ) -> tuple[StructuredReply | None, dict[str, int]]:
        """The model's structured reply (streamed to `on_event` while it is written) and the
        usage of every call. A reply that does not parse is shown to the model with what is
        wrong, once; None when that reply does not parse either: the caller hands off."""
        if on_event is None:
            message = self.chat_model.invoke(messages)
        else:
            from functions.rag.streaming import generate_guarded

            message = generate_guarded(self.chat_model, messages, self.guardrails, hits, on_event)
        usage = _usage(message.usage_metadata)
        try:
            return parse_reply(message.text), usage
        except MalformedReplyError as error:
            metrics.add_metric(name=MetricName.MALFORMED_REPLIES, unit=MetricUnit.Count, value=1)
            logger.warning("malformed reply; asking the model once more", extra={"problem": str(error)})
            repaired = self.chat_model.invoke(repair_messages(messages, message.text, error))
        usage = _added(usage, _usage(repaired.usage_metadata))
        try:
            return parse_reply(repaired.text), usage
        except MalformedReplyError as error:
            metrics.add_metric(name=MetricName.MALFORMED_REPLIES, unit=MetricUnit.Count, value=1)
            logger.warning("malformed reply after the repair; handing off", extra={"problem": str(error)})
            return None, usage

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

    def _tag(
        self, resolved: str, typed: str, history: list[MessageRecord]
    ) -> tuple[Intent | None, Routed | None]:
        """The resolved question's intent (the text retrieval embeds next, so its vector is
        shared), and the answer its intent gives without retrieval, if any. The message as typed
        and the earlier questions are searched for an order number, so one given is not asked again."""
        if self.intents is None:
            return None, None
        return self.intents.classify(resolved, [typed, *(turn.question for turn in history)])

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

    def _record(
        self, answer: Answer, question: str, previous: MessageRecord | None, user_id: str | None
    ) -> None:
        """Store the answer for feedback (and mark the turn it rephrases)."""
        if answer.rephrase_of is not None and previous is not None:
            self.conversations.mark_rephrased(previous)
            metrics.add_metric(name=MetricName.REPHRASES, unit=MetricUnit.Count, value=1)
        self.conversations.save_message(
            MessageRecord(
                message_id=answer.message_id,
                conversation_id=answer.conversation_id,
                user_id=user_id,
                turn=previous.turn + 1 if previous else 1,
                question=question,
                answer=answer.answer,
                sources=[
                    {"source": h.chunk.source, "title": h.chunk.title, "score": h.score}
                    for h in answer.sources
                ],
                grounded=answer.grounded,
                fallback=answer.fallback,
                blocked=answer.blocked,
                prompt_variant=answer.prompt_variant,
                intent=answer.intent,
                route=answer.route,
            )
        )
        if self.intents is not None and answer.route is not None:  # a ticket names a stored message
            self.intents.after_saved(answer.route, answer.message_id, user_id)


_STAGE_LATENCIES = {
    "total": MetricName.QUERY_LATENCY,
    "retrieval": MetricName.RETRIEVAL_LATENCY,
    "generation": MetricName.GENERATION_LATENCY,
}
_TOKENS = {"input_tokens": MetricName.INPUT_TOKENS, "output_tokens": MetricName.OUTPUT_TOKENS}


def _measure(answer: Answer) -> None:
    """The answer's metrics: latencies and tokens, and the counts the dashboard also shows per
    prompt variant (the A/B comparison)."""
    for stage, latency in _STAGE_LATENCIES.items():
        if stage in answer.timings_ms:
            metrics.add_metric(name=latency, unit=MetricUnit.Milliseconds, value=answer.timings_ms[stage])
    for key, tokens in _TOKENS.items():
        if key in answer.usage:
            metrics.add_metric(name=tokens, unit=MetricUnit.Count, value=answer.usage[key])
    counts = [MetricName.QUERIES]
    counts.append(MetricName.GROUNDED_ANSWERS if answer.grounded else MetricName.UNGROUNDED_ANSWERS)
    if answer.fallback:
        counts.append(MetricName.HAND_OFFS)
    for name in counts:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        if answer.prompt_variant is not None:
            add_metric_by(PROMPT_VARIANT_DIMENSION, answer.prompt_variant, name, MetricUnit.Count, 1)


def _log(answer: Answer) -> None:
    logger.info(
        "answered",
        extra={
            "message_id": answer.message_id,
            "conversation_id": answer.conversation_id,
            "prompt_variant": answer.prompt_variant,
            "intent": answer.intent,
            "fallback": answer.fallback,
            "blocked": answer.blocked,
            "grounded": answer.grounded,
            "sources": len(answer.sources),
            "latency_ms": round(answer.timings_ms["total"], 2),
        },
    )


def _checked_citations(reply: StructuredReply, retrieved: int) -> CheckedCitations:
    """The reply's citations that name a retrieved source; the others are dropped and counted."""
    cited = check_citations(reply, retrieved)
    if cited.dropped:
        metrics.add_metric(name=MetricName.DROPPED_CITATIONS, unit=MetricUnit.Count, value=cited.dropped)
    return cited


def _added(first: Mapping[str, int], second: Mapping[str, int]) -> dict[str, int]:
    return {key: first.get(key, 0) + second.get(key, 0) for key in {**first, **second}}


def _usage(metadata: Mapping[str, Any] | None) -> dict[str, int]:
    """A reply's token counts (input, output, total), as integers."""
    return {key: int(value) for key, value in (metadata or {}).items() if isinstance(value, int)}


def _elapsed_ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
