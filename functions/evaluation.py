"""Answer-quality evaluation on a labelled question set (`genai-stack eval`, the benchmarks and the
retrieval-quality test all use it).

Each line of the set is `{"id", "question", "doc", "kind", "answer_contains"}`: `doc` is the file
that answers it (null when nothing does), `kind` is direct, paraphrase, followup or unanswerable.
A follow-up also has `history`, the questions asked before it in the same conversation.

The report gives, for each kind: whether the key facts are in the answer and in its first
sentence, the hand-off rate, Recall@k of the answering document and the latency.

Besides the hand-written unanswerable questions, every answerable one is also asked as if its
answering document were missing from the knowledge base (its chunks are left out of the ranking):
the share the confidence gate then hands to a human says how the assistant treats the questions a
real knowledge base does not cover, which sit close to the ones it does. It is an upper bound on
what should be handed off: another document may answer part of the question.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.rag.pipeline import AnswerPipeline
from functions.rag.retriever import Retriever
from functions.text import split_sentences


@dataclass(frozen=True)
class LabelledQuestion:
    id: str
    question: str
    doc: str | None
    kind: str
    answer_contains: tuple[str, ...] = ()
    history: tuple[str, ...] = ()  # earlier questions of the conversation (follow-ups)

    @property
    def answerable(self) -> bool:
        return self.doc is not None


def load_questions(path: Path) -> list[LabelledQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(
                LabelledQuestion(
                    id=item["id"],
                    question=item["question"],
                    doc=item.get("doc"),
                    kind=item["kind"],
                    answer_contains=tuple(item.get("answer_contains") or ()),
                    history=tuple(item.get("history") or ()),
                )
            )
        except (json.JSONDecodeError, KeyError) as error:
            raise ValueError(f"{path}:{number}: not a labelled question ({error})") from error
    return questions


def source_matches(source: str, doc: str) -> bool:
    """Sources are named `<folder>/<path>`; the labelled set names the path inside the folder."""
    return source == doc or source.endswith(f"/{doc}")


@dataclass(frozen=True)
class QuestionResult:
    question: LabelledQuestion
    rank: int | None  # 1-based rank of the answering document among the sources
    fallback: bool
    answer_ok: bool
    latency_ms: float
    first_sentence_ok: bool = False
    # Whether the gate would hand off with the answering document left out (answerable only).
    fallback_without_doc: bool | None = None


@dataclass
class EvaluationReport:
    k: int
    results: list[QuestionResult] = field(default_factory=list)

    def _answerable(self, kind: str | None = None) -> list[QuestionResult]:
        return [
            r for r in self.results if r.question.answerable and (kind is None or r.question.kind == kind)
        ]

    def recall_at_k(self, kind: str | None = None) -> float:
        rows = self._answerable(kind)
        return _mean([r.rank is not None and r.rank <= self.k for r in rows])

    def mrr(self, kind: str | None = None) -> float:
        rows = self._answerable(kind)
        return _mean([1.0 / r.rank if r.rank else 0.0 for r in rows])

    def fallback_rate(self, answerable: bool) -> float:
        rows = [r for r in self.results if r.question.answerable is answerable]
        return _mean([r.fallback for r in rows])

    def _kind(self, kind: str) -> list[QuestionResult]:
        return [r for r in self.results if r.question.kind == kind]

    def fallback_rate_without_doc(self) -> float:
        """Hand-off rate of the answerable questions with their answering document left out."""
        return _mean([bool(r.fallback_without_doc) for r in self._answerable()])

    def answer_accuracy(self, kind: str | None = None) -> float:
        return _mean([r.answer_ok for r in self._answerable(kind)])

    def first_sentence_accuracy(self, kind: str | None = None) -> float:
        return _mean([r.first_sentence_ok for r in self._answerable(kind)])

    def _by_kind(self) -> dict[str, dict[str, float | None]]:
        table: dict[str, dict[str, float | None]] = {}
        for kind in sorted({r.question.kind for r in self.results}):
            rows = self._kind(kind)
            answerable = rows[0].question.answerable
            table[kind] = {
                "questions": len(rows),
                f"recall@{self.k}": round(self.recall_at_k(kind), 4) if answerable else None,
                "answer_contains_rate": round(self.answer_accuracy(kind), 4) if answerable else None,
                "first_sentence_rate": round(self.first_sentence_accuracy(kind), 4) if answerable else None,
                "fallback_rate": round(_mean([r.fallback for r in rows]), 4),
                "latency_p50_ms": round(statistics.median(r.latency_ms for r in rows), 3),
            }
        return table

    def summary(self) -> dict[str, Any]:
        latencies = sorted(r.latency_ms for r in self.results)
        kinds = sorted({r.question.kind for r in self.results if r.question.answerable})
        return {
            "questions": len(self.results),
            "answerable": len(self._answerable()),
            f"recall@{self.k}": round(self.recall_at_k(), 4),
            **{f"recall@{self.k}_{kind}": round(self.recall_at_k(kind), 4) for kind in kinds},
            "mrr": round(self.mrr(), 4),
            "answer_contains_rate": round(self.answer_accuracy(), 4),
            "first_sentence_rate": round(self.first_sentence_accuracy(), 4),
            "fallback_rate_unanswerable": round(self.fallback_rate(answerable=False), 4),
            "fallback_rate_answerable": round(self.fallback_rate(answerable=True), 4),
            "fallback_rate_answering_doc_removed": round(self.fallback_rate_without_doc(), 4),
            "latency_p50_ms": round(statistics.median(latencies), 3) if latencies else None,
            "by_kind": self._by_kind(),
        }


def evaluate(pipeline: AnswerPipeline, questions: Sequence[LabelledQuestion]) -> EvaluationReport:
    """Ask every question through the whole pipeline, as a user would: a follow-up in a new
    conversation, after its history."""
    report = EvaluationReport(k=pipeline.retriever.config.top_k)
    for question in questions:
        conversation_id = None  # the server names a new conversation
        for earlier in question.history:
            conversation_id = pipeline.answer(earlier, conversation_id=conversation_id).conversation_id
        started = time.perf_counter()
        answer = pipeline.answer(question.question, conversation_id=conversation_id)
        latency = (time.perf_counter() - started) * 1000.0
        asked = answer.resolved_question or question.question
        # Rank among what retrieval found, even when the confidence gate then withheld it.
        ranked = answer.sources or pipeline.retriever.retrieve(asked).hits
        rank = None
        fallback_without_doc = None
        if question.doc is not None:
            rank = next(
                (
                    n
                    for n, hit in enumerate(ranked, start=1)
                    if source_matches(hit.chunk.source, question.doc)
                ),
                None,
            )
            fallback_without_doc = not _gate_passes_without(pipeline.retriever, asked, question.doc)
        # A guardrail refusal (an off-topic question) offers a person too: it counts as the hand-off.
        handed_off = answer.fallback or answer.blocked
        sentences = split_sentences(answer.answer)
        answer_ok = not handed_off and _holds(answer.answer, question.answer_contains)
        first_ok = answer_ok and bool(sentences) and _holds(sentences[0], question.answer_contains)
        report.results.append(
            QuestionResult(
                question,
                rank,
                handed_off,
                answer_ok,
                latency,
                first_sentence_ok=first_ok,
                fallback_without_doc=fallback_without_doc,
            )
        )
    return report


def _holds(text: str, facts: Sequence[str]) -> bool:
    return all(fact.lower() in text.lower() for fact in facts)


def _gate_passes_without(retriever: Retriever, question: str, doc: str) -> bool:
    """Would the confidence gate let the question through if `doc` were not in the knowledge base?
    Its chunks are dropped from the whole candidate pool, and the gate judges the best `top_k` left."""
    config = retriever.config
    hits = retriever.retrieve(question, k=config.candidate_pool).hits
    remaining = [hit for hit in hits if not source_matches(hit.chunk.source, doc)][: config.top_k]
    return retriever.confident_in(remaining)


def _mean(values: Sequence[float | bool]) -> float:
    return sum(float(v) for v in values) / len(values) if values else 0.0
