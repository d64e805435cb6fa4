"""The interaction export: answered questions with what users said about them, as
`functions.contract.InteractionRecord` JSON lines, the input of `training_jobs.data`.

Text is redacted once more on the way out (defence in depth: comments and reasons are free text);
user ids are the keyed hashes the stores keep (`functions.feedback.pseudonyms`), so the training
data carries no direct identifiers, and an erasure finds a user's rows by that pseudonym.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO

from functions.contract import InteractionRecord
from functions.feedback.ports import ConversationStore, FeedbackStore
from functions.guardrails.pii import redact_pii
from functions.guardrails.placeholders import Placeholders


def build_interactions(
    conversations: ConversationStore,
    feedback: FeedbackStore,
    human_answers: Mapping[str, str] | None = None,
) -> Iterator[InteractionRecord]:
    """One record per answered (not blocked) message, oldest first."""
    human_answers = human_answers or {}
    for message in conversations.iter_messages():
        if message.blocked:
            continue
        verdict = feedback.get_feedback(message.message_id)
        human = human_answers.get(message.message_id)
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
            "human_answer": _redacted(human, placeholders),
        }


def _redacted(text: str | None, placeholders: Placeholders) -> str | None:
    return redact_pii(text, placeholders=placeholders) if text else None


def write_jsonl(records: Iterable[InteractionRecord], out: IO[str]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
