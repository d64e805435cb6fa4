"""The embedded default chat model: answers with the sources' own sentences and cites them.

It is a LangChain `BaseChatModel` reading the same rendered prompt a hosted LLM would get, so
the pipeline, tracing and metrics do not care which model answers. It cannot invent anything:
every sentence it returns is copied from a source, which makes it the safe default until a
fine-tuned or hosted model is configured.

Sentence choice: each sentence of each source scores the IDF-weighted share of the question's
content terms it contains, plus (with an embedder) its MiniLM similarity to the question, plus a
bonus when it holds the kind of answer the question asks for (a duration for "how long", an amount
for "how much"), discounted by the source's retrieval rank. The answer comes from one place: the
best sentence's section (its source under one heading). That sentence leads (with the next one
when it is a lead-in ending in a colon), and sentences of the same section that score close to it
follow in reading order. A list item or table row that leads keeps its heading ("Forgotten
password: The link is valid for 30 minutes."). Without any support (a paraphrased question and no
embedder) the top source's opening sentences are used: retrieval already judged it most relevant.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from functions.rag.prompts import PromptSource, parse_prompt
from functions.rag.replies import StructuredReply, reply_pieces
from functions.rag.sentences import Sentence, split_passage
from functions.rag.streaming import sentences_of
from functions.text import content_terms, words

# What kind of answer a question asks for, and how a sentence that holds one looks. A sentence
# with the right kind of answer gets a bonus on top of its term coverage.
_ANSWER_TYPES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (  # durations and deadlines
        re.compile(
            r"\bhow (long|soon|late|early|often|much (later|longer|sooner|earlier))\b|^\s*when\b"
            r"|\bwhen (will|would|do|does|did|is|are|can|should)\b|\bwhat time\b|\bby what date\b",
            re.I,
        ),
        re.compile(
            r"\b\d+(\s*(-|to|–)\s*\d+)?\s*(business |working |calendar )?"
            r"(minute|hour|day|week|month|year)s?\b|\b(midnight|noon|\d{1,2}(:\d\d)?\s*[ap]m)\b",
            re.I,
        ),
    ),
    (  # money
        re.compile(
            r"\bhow much\b(?! (later|longer|sooner|earlier))|\b(cost|price|fee|charge|bonus|discount)s?\b",
            re.I,
        ),
        re.compile(r"[$€£]\s?\d|\d\s?%|\d\s?(percent|usd|eur|gbp)\b", re.I),
    ),
    (  # counts and other quantities
        re.compile(r"\bhow (many|far)\b", re.I),
        re.compile(r"\d"),
    ),
)
_ANSWER_TYPE_BONUS = 0.15
# "long" in "how long" asks for a duration, it is not a topic: left in, it made "How long the
# money takes depends on how you paid" the answer to "How long do I have to return an item?".
_QUESTION_FORM = re.compile(r"\bhow (much|many|long|soon|late|early|often|far)\b", re.I)
_RANK_DISCOUNT = 0.15
_COMPANION_RATIO = 0.6


@dataclass(frozen=True)
class _Candidate:
    sentence: Sentence
    score: float

    @property
    def source(self) -> int:
        return self.sentence.source

    @property
    def section(self) -> tuple[int, str]:
        return self.sentence.source, self.sentence.heading


class ExtractiveChatModel(BaseChatModel):
    """Answers from the best-supported section of the prompt's sources, with [n] citations.

    With an `embedder` (the retrieval model), each sentence also scores its similarity to the
    question, which finds the answer to a question worded unlike the source."""

    max_sentences: int = 3
    embedder: Any = None  # functions.rag.embeddings.ports.Embedder; Any keeps pydantic out of the port
    semantic_weight: float = 0.5

    @property
    def _llm_type(self) -> str:
        return "genai-stack-extractive"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply, usage = self._reply(messages)
        message = AIMessage(content=reply.to_json(), usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """The same reply as `_generate`, its answer one sentence at a time; the usage rides on
        the last piece."""
        reply, usage = self._reply(messages)
        pieces = list(reply_pieces(reply, sentences_of([reply.answer])))
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=piece, usage_metadata=usage if last else None)
            )

    def _reply(self, messages: list[BaseMessage]) -> tuple[StructuredReply, UsageMetadata]:
        """The structured reply to the prompt's last message, and its usage in words (this model
        has no tokenizer)."""
        sources, question = parse_prompt(messages[-1].text if messages else "")
        reply = self.reply(question, sources)
        prompt_words, answer_words = sum(len(words(m.text)) for m in messages), len(words(reply.answer))
        usage = UsageMetadata(
            input_tokens=prompt_words, output_tokens=answer_words, total_tokens=prompt_words + answer_words
        )
        return reply, usage

    def reply(self, question: str, sources: Sequence[PromptSource]) -> StructuredReply:
        """The answer from the best-supported section, its sources and the best sentence's score
        as the confidence; "answerable": false when the sources hold no sentence at all."""
        sentences = [sentence for source in sources for sentence in split_passage(source.text, source.number)]
        if not sentences:
            return StructuredReply(answerable=False, confidence=1.0)
        candidates = _score(question, sentences, self._similarities(question, sentences))
        chosen = self._choose(candidates)
        return StructuredReply(
            answerable=True,
            answer=_render(chosen),
            citations=sorted({candidate.source for candidate in chosen}),
            confidence=round(min(1.0, chosen[0].score), 3),
        )

    def _similarities(self, question: str, sentences: Sequence[Sentence]) -> list[float]:
        if self.embedder is None or self.semantic_weight == 0.0:
            return [0.0] * len(sentences)
        # The question's vector is retrieval's (memoised); the sentences' come from ingestion
        # through the SentenceVectorCache, or from the model for any it has not seen.
        query = _as_floats(self.embedder.embed_query(question))
        vectors = self.embedder.embed_documents([s.in_context for s in sentences])
        return [self.semantic_weight * max(0.0, _dot(query, _as_floats(v))) for v in vectors]

    def _choose(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """The best sentence and, from its own section, the sentences that score close to it."""
        best = max(candidates, key=lambda c: (c.score, -c.source, -c.sentence.position))
        section = [c for c in candidates if c.section == best.section]
        if best.score == 0.0:
            opening = [c for c in candidates if c.source == best.source][: self.max_sentences - 1]
            return opening or [best]
        chosen = [best]
        follower = next((c for c in section if c.sentence.position == best.sentence.position + 1), None)
        if follower is not None and best.sentence.text.endswith(":"):  # a lead-in: keep its first item
            chosen.append(follower)
        for candidate in sorted(section, key=lambda c: c.score, reverse=True):
            if len(chosen) >= self.max_sentences or candidate.score < _COMPANION_RATIO * best.score:
                break
            if candidate not in chosen:
                chosen.append(candidate)
        return chosen[: self.max_sentences]


def _score(question: str, sentences: Sequence[Sentence], similarities: Sequence[float]) -> list[_Candidate]:
    terms_of = [set(content_terms(s.in_context if s.item else s.text)) for s in sentences]
    document_frequency = Counter(term for terms in terms_of for term in terms)
    total = len(sentences)

    def idf(term: str) -> float:
        return math.log(1.0 + total / (1 + document_frequency[term]))

    question_terms = set(content_terms(_QUESTION_FORM.sub(" ", question)))
    question_weight = sum(idf(term) for term in question_terms) or 1.0
    answer_shapes = [shape for asks, shape in _ANSWER_TYPES if asks.search(question)]

    candidates = []
    for sentence, terms, similarity in zip(sentences, terms_of, similarities, strict=True):
        coverage = sum(idf(term) for term in question_terms & terms) / question_weight
        support = coverage + similarity
        if support and any(shape.search(sentence.text) for shape in answer_shapes):
            support += _ANSWER_TYPE_BONUS
        score = support / (1.0 + _RANK_DISCOUNT * (sentence.source - 1))
        candidates.append(_Candidate(sentence, round(score, 6)))
    return candidates


def _render(chosen: list[_Candidate]) -> str:
    """The answering sentence first, then the rest of its section's chosen sentences in reading
    order; the run followed by its citation. A list item or table row keeps its heading."""
    lead, rest = chosen[0], sorted(chosen[1:], key=lambda c: (c.source, c.sentence.position))
    ordered = [lead, *rest]
    parts: list[str] = []
    for index, candidate in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        same_run = following is not None and following.source == candidate.source
        sentence = candidate.sentence
        leads_in = same_run and following is not None and following.sentence.position == sentence.position + 1
        text = _as_sentence(sentence.text, keep_colon=leads_in)
        if index == 0 and sentence.item and sentence.heading:
            text = f"{sentence.heading}: {text}"
        parts.append(text if same_run else f"{text} [{candidate.source}]")
    return " ".join(parts)


def _as_sentence(text: str, keep_colon: bool) -> str:
    """A list item or table row read as a sentence: capitalised, ending in a full stop (a colon
    only when the item it introduces follows)."""
    text = text.rstrip(" ;,") or text
    if text[:1].islower():
        text = text[0].upper() + text[1:]
    if text.endswith(":"):
        return text if keep_colon else f"{text[:-1]}."
    return text if text[-1] in ".!?" else f"{text}."


def _as_floats(vector: Any) -> list[float]:
    """A vector as a list of floats: numpy's scalar-by-scalar iteration is slower than a list's."""
    return vector.tolist() if hasattr(vector, "tolist") else [float(x) for x in vector]


def _dot(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two L2-normalised vectors (every embedder here normalises)."""
    return math.fsum(x * y for x, y in zip(a, b, strict=True))
