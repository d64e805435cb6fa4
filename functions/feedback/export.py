"""The training export, the input of `training_jobs.data`: one function, `export_training_data`,
writes it for the CLI (a local folder) and for the retraining pipeline's Lambda (a prefix of the
training-data bucket). An export is two JSON-lines files (names in `functions.contract`):

- `interactions.jsonl`: answered questions with what users said about them (`InteractionRecord`);
- `review_pairs.jsonl`: reviewers' preferences between two answers (`ReviewPairRecord`, trl's
  preference format), which the data builder puts beside the pairs from thumbs and escalations.

Text is redacted once more on the way out (defence in depth: comments, reasons and notes are free
text); user and reviewer ids are the keyed hashes the stores keep (`functions.feedback.pseudonyms`),
so the training data carries no direct identifiers, and an erasure finds a user's rows by that
pseudonym.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from functions import aws
from functions.contract import INTERACTIONS_FILE, REVIEW_PAIRS_FILE, InteractionRecord, ReviewPairRecord
from functions.feedback.ports import ConversationStore, FeedbackStore
from functions.feedback.reviews import ReviewChoice, ReviewPair, Verdict
from functions.guardrails.pii import redact_pii
from functions.guardrails.placeholders import Placeholders


def build_interactions(
    conversations: ConversationStore, feedback: FeedbackStore
) -> Iterator[InteractionRecord]:
    """One record per answered (not blocked) message, oldest first."""
    for message in conversations.iter_messages():
        if message.blocked:
            continue
        verdict = feedback.get_feedback(message.message_id)
        placeholders = Placeholders()  # one numbering per record: a value keeps its number across fields
        yield {
            "message_id": message.message_id,
            "conversation_id": message.conversation_id,
            "user_id": message.user_id,  # the pseudonym, as stored
            "turn": message.turn,
            "question": redact_pii(message.question, placeholders=placeholders),
            "answer": message.answer,
            "sources": [
                {"source": s["source"], "title": s.get("title", ""), "score": float(s.get("score", 0.0))}
                for s in message.sources
            ],
            "grounded": message.grounded,
            "created_at": message.created_at.isoformat(),
            "rating": verdict.rating.value if verdict else None,
            "reason": _redacted(verdict.reason, placeholders) if verdict else None,
            "comment": _redacted(verdict.comment, placeholders) if verdict else None,
            "escalated": bool(verdict and verdict.escalate),
            "rephrased": message.rephrased,
        }


def _redacted(text: str | None, placeholders: Placeholders) -> str | None:
    return redact_pii(text, placeholders=placeholders) if text else None


def build_review_pairs(judged: Iterable[tuple[ReviewPair, ReviewChoice]]) -> Iterator[ReviewPairRecord]:
    """One preference pair per reviewer's choice of one answer; ties prefer neither and are left out."""
    for pair, choice in judged:
        if choice.verdict is Verdict.TIE:
            continue
        placeholders = Placeholders()  # one numbering per pair, as per interaction record
        redacted = partial(redact_pii, placeholders=placeholders)
        chosen, rejected = (
            (pair.first, pair.second) if choice.verdict is Verdict.FIRST else (pair.second, pair.first)
        )
        yield {
            "prompt": [{"role": "user", "content": redacted(pair.question)}],
            "chosen": [{"role": "assistant", "content": redacted(chosen.answer)}],
            "rejected": [{"role": "assistant", "content": redacted(rejected.answer)}],
            "pair_id": pair.pair_id,
            "user_id": choice.reviewer,  # the pseudonym, as stored
            "chosen_config": chosen.config,
            "rejected_config": rejected.config,
            "note": _redacted(choice.note, placeholders),
            "created_at": choice.created_at,
        }


class ExportSink(Protocol):
    """Where an export's files go; `write` returns the file's location (a path or an s3:// URI)."""

    def write(self, name: str, text: str) -> str: ...


class LocalFolder:
    """Files in a folder, created readable by their owner only (like the database they come from)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def write(self, name: str, text: str) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # tighten a file an older version wrote with another mode
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        return str(path)


class S3Prefix:
    """Objects under one prefix of a bucket (the retraining run's export folder)."""

    def __init__(self, bucket: str, prefix: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    def write(self, name: str, text: str) -> str:
        key = f"{self.prefix}/{name}" if self.prefix else name
        client = self._client or aws.client("s3")
        try:
            client.put_object(
                Bucket=self.bucket, Key=key, Body=text.encode(), ContentType="application/x-ndjson"
            )
        except Exception as error:
            raise aws.translate(error, "the training-data bucket") from error
        return f"s3://{self.bucket}/{key}"


@dataclass(frozen=True)
class ExportReport:
    interactions: int
    review_pairs: int
    interactions_at: str
    review_pairs_at: str


def export_training_data(
    conversations: ConversationStore,
    feedback: FeedbackStore,
    judged: Iterable[tuple[ReviewPair, ReviewChoice]],
    sink: ExportSink,
) -> ExportReport:
    """Write both files of an export to `sink`; how many records each holds and where it is."""
    interactions = _jsonl(build_interactions(conversations, feedback))
    pairs = _jsonl(build_review_pairs(judged))
    return ExportReport(
        interactions=len(interactions),
        review_pairs=len(pairs),
        interactions_at=sink.write(INTERACTIONS_FILE, "".join(interactions)),
        review_pairs_at=sink.write(REVIEW_PAIRS_FILE, "".join(pairs)),
    )


def _jsonl(records: Iterable[InteractionRecord] | Iterable[ReviewPairRecord]) -> list[str]:
    return [json.dumps(record, ensure_ascii=False) + "\n" for record in records]
