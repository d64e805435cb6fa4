"""The embedded default chat model: answers with the sources' own sentences and cites them.

It is a LangChain `BaseChatModel` reading the same rendered prompt a hosted LLM would get, so
the pipeline, tracing and metrics do not care which model answers. It cannot invent anything:
every sentence it returns is copied from a source, which makes it the safe default until a
fine-tuned or hosted model is configured.

Sentence choice: each sentence of each source scores the IDF-weighted share of the question's
content terms it contains, plus a bonus when it holds the kind of answer the question asks for (a
duration for "how long", an amount for "how much"), discounted by the source's retrieval rank. The
best sentence leads (with the next one when it is a lead-in ending in a colon), and other sentences
join when they score close to the best. Without any overlap (a paraphrased question) the top
source's opening sentences are used: retrieval already judged that source the most relevant.
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
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from functions.rag.prompts import FALLBACK_ANSWER, PromptSource, parse_prompt
from functions.rag.streaming import sentences_of
from functions.text import content_terms, split_sentences, words

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
    source: int  # 1-based source number, as cited
    position: int
    text: str
    score: float


class ExtractiveChatModel(BaseChatModel):
    """Answers from the best-supported sentences of the prompt's sources, with [n] citations."""

    max_sentences: int = 3

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
        prompt = messages[-1].text if messages else ""
        sources, question = parse_prompt(prompt)
        answer = self.answer(question, sources)
        prompt_words = sum(len(words(m.text)) for m in messages)
        usage = {  # word counts: this model has no tokenizer
            "input_tokens": prompt_words,
            "output_tokens": len(words(answer)),
            "total_tokens": prompt_words + len(words(answer)),
        }
        message = AIMessage(content=answer, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """The same answer as `_generate`, one sentence at a time; the usage rides on the last."""
        message = self._generate(messages, stop, run_manager, **kwargs).generations[0].message
        sentences = list(sentences_of([message.text]))
        usage = message.usage_metadata if isinstance(message, AIMessage) else None
        for index, sentence in enumerate(sentences):
            last = index == len(sentences) - 1
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=sentence, usage_metadata=usage if last else None)
            )

    def answer(self, question: str, sources: Sequence[PromptSource]) -> str:
        candidates = _score_sentences(question, sources)
        if not candidates:
            return FALLBACK_ANSWER
        chosen = self._choose(candidates)
        return _render(chosen)

    def _choose(self, candidates: list[_Candidate]) -> list[_Candidate]:
        best = max(candidates, key=lambda c: (c.score, -c.source, -c.position))
        if best.score == 0.0:
            opening = [c for c in candidates if c.source == best.source][: self.max_sentences - 1]
            return opening or [best]
        chosen = [best]
        follower = next(
            (c for c in candidates if c.source == best.source and c.position == best.position + 1), None
        )
        if follower is not None and best.text.endswith(":"):  # a lead-in to a list: keep its first item
            chosen.append(follower)
        for candidate in sorted(candidates, key=lambda c: c.score, reverse=True):
            if len(chosen) >= self.max_sentences or candidate.score < _COMPANION_RATIO * best.score:
                break
            if candidate not in chosen:
                chosen.append(candidate)
        return chosen[: self.max_sentences]


def _score_sentences(question: str, sources: Sequence[PromptSource]) -> list[_Candidate]:
    sentences = [
        (source.number, position, text)
        for source in sources
        for position, text in enumerate(split_sentences(source.text))
    ]
    if not sentences:
        return []
    terms_of = [set(content_terms(text)) for _, _, text in sentences]
    document_frequency = Counter(term for terms in terms_of for term in terms)
    total = len(sentences)

    def idf(term: str) -> float:
        return math.log(1.0 + total / (1 + document_frequency[term]))

    question_terms = set(content_terms(_QUESTION_FORM.sub(" ", question)))
    question_weight = sum(idf(term) for term in question_terms) or 1.0
    answer_shapes = [shape for asks, shape in _ANSWER_TYPES if asks.search(question)]

    candidates = []
    for (number, position, text), terms in zip(sentences, terms_of, strict=True):
        coverage = sum(idf(term) for term in question_terms & terms) / question_weight
        if coverage and any(shape.search(text) for shape in answer_shapes):
            coverage += _ANSWER_TYPE_BONUS
        score = coverage / (1.0 + _RANK_DISCOUNT * (number - 1))
        candidates.append(_Candidate(number, position, text, round(score, 6)))
    return candidates


def _render(chosen: list[_Candidate]) -> str:
    """The best sentence's source first, then the others in the order they were chosen; within a
    source its sentences in reading order, the run followed by its citation."""
    source_order = list(dict.fromkeys(c.source for c in chosen))
    ordered = sorted(chosen, key=lambda c: (source_order.index(c.source), c.position))
    parts: list[str] = []
    for index, candidate in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        same_run = following is not None and following.source == candidate.source
        leads_in = same_run and following is not None and following.position == candidate.position + 1
        text = _as_sentence(candidate.text, keep_colon=leads_in)
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
