"""Human preference collection: reviewers compare two candidate answers to one question and say
which is better, or that they tie, with an optional note.

A pair holds two answers from two configurations (two prompt variants, two models), stored in a
fixed order with each configuration's label; a reviewer sees them as A and B in an order drawn
from the pair and the reviewer (`presented_first`), so half the reviewers see each answer first
and nobody learns which configuration wrote which. A choice is stored in the pair's own order,
once per reviewer and pair: a second submission is a ConflictError (409), never a silent
overwrite, so a reviewer's first judgement stands and a retried request cannot count twice.

Reviewer ids are pseudonymised like customer ids (`functions.feedback.pseudonyms`) before any
store sees them; notes are PII-redacted.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from functions.errors import InvalidRequestError, NotFoundError
from functions.feedback.ports import ReviewStore
from functions.feedback.pseudonyms import Pseudonymiser
from functions.feedback.records import utc_now
from functions.guardrails.pii import redact_pii


class Choice(StrEnum):
    """What a reviewer says about the answers as they were shown: A, B, or a tie."""

    A = "A"
    B = "B"
    TIE = "tie"


class Verdict(StrEnum):
    """A choice in the pair's stored order (what the stores keep and the export reads)."""

    FIRST = "first"
    SECOND = "second"
    TIE = "tie"


@dataclass(frozen=True)
class Candidate:
    """One answer and the configuration that wrote it (a prompt variant, a model)."""

    answer: str
    config: str


@dataclass(frozen=True)
class ReviewPair:
    pair_id: str
    question: str
    first: Candidate
    second: Candidate
    created_at: str = field(default_factory=lambda: utc_now().isoformat())


@dataclass(frozen=True)
class ReviewChoice:
    """One reviewer's (pseudonym's) judgement of one pair."""

    pair_id: str
    reviewer: str
    verdict: Verdict
    note: str | None = None
    created_at: str = field(default_factory=lambda: utc_now().isoformat())


@dataclass(frozen=True)
class PresentedPair:
    """A pair as one reviewer sees it: the question and answers A and B, without their configurations."""

    pair_id: str
    question: str
    answer_a: str
    answer_b: str


def presented_first(pair_id: str, reviewer: str) -> bool:
    """Whether this reviewer sees the pair's first answer as A. Drawn from the pair and the
    reviewer's pseudonym, so it is random across reviewers and pairs yet the same on every fetch
    and on the submission (no state to keep between the two)."""
    return hashlib.sha256(f"{pair_id}:{reviewer}".encode()).digest()[0] % 2 == 0


def verdict_of(choice: Choice, first_is_a: bool) -> Verdict:
    if choice is Choice.TIE:
        return Verdict.TIE
    return Verdict.FIRST if (choice is Choice.A) == first_is_a else Verdict.SECOND


class ReviewService:
    """Serves pairs to reviewers and records their choices (`ReviewStore` keeps both)."""

    def __init__(self, store: ReviewStore, pseudonymiser: Pseudonymiser) -> None:
        self._store = store
        self._pseudonymise = pseudonymiser

    def add_pair(self, question: str, first: Candidate, second: Candidate) -> ReviewPair | None:
        """Store a pair to review; None when the two answers are the same (nothing to compare)."""
        if " ".join(first.answer.split()) == " ".join(second.answer.split()):
            return None
        pair = ReviewPair(uuid.uuid4().hex, question, first, second)
        self._store.save_pair(pair)
        return pair

    def next_pair(self, reviewer_id: str) -> PresentedPair | None:
        """The pair this reviewer should judge next (one they have not judged), or None."""
        reviewer = self._reviewer(reviewer_id)
        pair = self._store.next_pair(reviewer)
        return None if pair is None else self._present(pair, reviewer)

    def record(self, reviewer_id: str, pair_id: str, choice: Choice, note: str | None = None) -> ReviewChoice:
        """Store the reviewer's choice; NotFoundError for an unknown pair, ConflictError when this
        reviewer has already judged it."""
        reviewer = self._reviewer(reviewer_id)
        pair = self._store.get_pair(pair_id)
        if pair is None:
            raise NotFoundError("no review pair with that pair_id: fetch one from /v1/review/next")
        verdict = verdict_of(choice, presented_first(pair.pair_id, reviewer))
        clean_note = redact_pii(note) if note and note.strip() else None
        recorded = ReviewChoice(pair.pair_id, reviewer, verdict, clean_note)
        self._store.save_choice(recorded)
        return recorded

    def judged_pairs(self) -> Iterator[tuple[ReviewPair, ReviewChoice]]:
        return self._store.iter_choices()

    def _reviewer(self, reviewer_id: str) -> str:
        pseudonym = self._pseudonymise(reviewer_id)
        if not reviewer_id or pseudonym is None:
            raise InvalidRequestError("a review needs the reviewer's id")
        return pseudonym

    @staticmethod
    def _present(pair: ReviewPair, reviewer: str) -> PresentedPair:
        a, b = (
            (pair.first, pair.second)
            if presented_first(pair.pair_id, reviewer)
            else (pair.second, pair.first)
        )
        return PresentedPair(pair.pair_id, pair.question, a.answer, b.answer)


#: Answers one question with one configuration: the answer's text (a pipeline's `answer`).
Answerer = Callable[[str], str]


def generate_pairs(
    service: ReviewService,
    questions: Iterable[str],
    first: tuple[str, Answerer],
    second: tuple[str, Answerer],
) -> list[ReviewPair]:
    """Answer each question with both configurations (label, answerer) and store a pair where the
    answers differ; the stored pairs."""
    pairs = []
    for question in questions:
        candidates = [Candidate(answer(question), label) for label, answer in (first, second)]
        pair = service.add_pair(question, *candidates)
        if pair is not None:
            pairs.append(pair)
    return pairs
