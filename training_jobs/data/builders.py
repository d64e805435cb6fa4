"""Turn exported interactions into training sets: SFT chats, preference pairs and a text corpus.

What counts as a good answer and what as a bad one:
- good (an SFT target, a "chosen" answer): the human agent's `human_answer`, or an answer rated up;
- bad (a "rejected" answer): an answer rated down, or an unrated one that was escalated to a human
  or that the user rephrased (asked again in other words: an implicit thumbs-down).
A preference pair joins a bad answer with a good answer to the same question: the human answer of
the same record first, else a good answer from its question group. Reviewers' pairs (two answers
to one question, one of them judged better: `functions.feedback.reviews`) join the set as they are,
grouped with the records that ask the same question. A question group holds the
questions that are the same or nearly the same (MinHash), and a rephrased question joins the group
of the question the user asked next in the same conversation.

Every text is PII-redacted before anything else sees it, sets are deduplicated (exact and near),
and train/eval splits are made per question group, by a hash, so they are deterministic and the
same question never lands on both sides.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar, cast

from functions.contract import ChatTurn, InteractionRecord, ReviewPairRecord
from functions.guardrails.pii import redact_pii
from functions.text import fold_case_and_space
from training_jobs.data.dedupe import NearDuplicateIndex, deduplicate, text_hash

T = TypeVar("T")
Row = dict[str, Any]


@dataclass(frozen=True)
class BuildOptions:
    eval_fraction: float = 0.1
    near_duplicate_threshold: float = 0.85
    question_threshold: float = 0.6
    seed: int = 42

    def __post_init__(self) -> None:
        if not 0 <= self.eval_fraction < 1:
            raise ValueError(f"eval_fraction must be in [0, 1), got {self.eval_fraction}")


@dataclass(frozen=True)
class SetCounts:
    candidates: int
    exact_duplicates: int
    near_duplicates: int
    train: int
    eval: int


@dataclass
class BuiltDatasets:
    sft: dict[str, list[Row]]
    preference: dict[str, list[Row]]
    corpus: dict[str, list[Row]]
    card: dict[str, Any] = field(default_factory=dict)


def redact_record(record: InteractionRecord) -> tuple[InteractionRecord, int]:
    """The record with PII redacted in every free-text field, and how many fields changed."""
    changed = 0
    updates: dict[str, str] = {}
    for key in ("question", "answer", "human_answer", "comment"):
        text = record.get(key)
        if isinstance(text, str):
            clean = redact_pii(text)
            changed += clean != text
            updates[key] = clean
    return cast(InteractionRecord, {**record, **updates}), changed


def good_answer(record: InteractionRecord) -> str | None:
    """The answer to learn from: a human agent's, else the bot's when rated up."""
    if record.get("human_answer"):
        return record["human_answer"]
    return record["answer"] if record.get("rating") == "up" else None


def is_rejected(record: InteractionRecord) -> bool:
    """Whether the bot's answer was bad: rated down, or unrated and escalated or rephrased."""
    rating = record.get("rating")
    return rating == "down" or (rating is None and bool(record.get("escalated") or record.get("rephrased")))


class _UnionFind:
    """Disjoint sets over record positions, to merge near-same questions into groups."""

    def __init__(self, size: int) -> None:
        self._parent = list(range(size))

    def find(self, item: int) -> int:
        while self._parent[item] != item:
            self._parent[item] = self._parent[self._parent[item]]
            item = self._parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        self._parent[self.find(b)] = self.find(a)


def question_groups(records: Sequence[InteractionRecord], threshold: float) -> list[str]:
    """A group key per record: records asking the same or nearly the same question share one."""
    sets = _UnionFind(len(records))
    index = NearDuplicateIndex(threshold)
    for position, record in enumerate(records):
        match = index.find(record["question"])
        if match is None:
            index.add(str(position), record["question"])
        else:
            sets.union(int(match.key), position)
    by_turn = {(r.get("conversation_id"), r.get("turn")): i for i, r in enumerate(records)}
    for position, record in enumerate(records):
        if record.get("rephrased"):
            following = by_turn.get((record.get("conversation_id"), (record.get("turn") or 0) + 1))
            if following is not None:
                sets.union(following, position)
    members: dict[int, list[int]] = defaultdict(list)
    for position in range(len(records)):
        members[sets.find(position)].append(position)
    key_of_root = {root: min(text_hash(records[i]["question"]) for i in group) for root, group in members.items()}
    return [key_of_root[sets.find(position)] for position in range(len(records))]


def sft_rows(records: Sequence[InteractionRecord], groups: Sequence[str]) -> list[tuple[Row, str]]:
    """One single-turn chat per record with a good answer, with its question group."""
    rows = []
    for record, group in zip(records, groups, strict=True):
        answer = good_answer(record)
        if answer:
            messages = [{"role": "user", "content": record["question"]}, {"role": "assistant", "content": answer}]
            rows.append(({"messages": messages}, group))
    return rows


def preference_rows(records: Sequence[InteractionRecord], groups: Sequence[str]) -> list[tuple[Row, str]]:
    """Pairs in trl's conversational format: each bad answer against a good one to the same question."""
    good_by_group: dict[str, list[str]] = defaultdict(list)
    for human_first in (True, False):
        for record, group in zip(records, groups, strict=True):
            answer = good_answer(record)
            if answer and bool(record.get("human_answer")) == human_first:
                good_by_group[group].append(answer)
    rows = []
    for record, group in zip(records, groups, strict=True):
        if not is_rejected(record):
            continue
        chosen = record.get("human_answer") or next(iter(good_by_group[group]), None)
        if chosen is None or fold_case_and_space(chosen) == fold_case_and_space(record["answer"]):
            continue
        rows.append(
            (
                {
                    "prompt": [{"role": "user", "content": record["question"]}],
                    "chosen": [{"role": "assistant", "content": chosen}],
                    "rejected": [{"role": "assistant", "content": record["answer"]}],
                },
                group,
            )
        )
    return rows


def split_by_group(
    items: Sequence[tuple[T, str]], eval_fraction: float, seed: int
) -> tuple[list[T], list[T]]:
    """Deterministic train/eval split by a hash of each item's group. Train is never empty, and
    eval is not either when there are two groups or more and `eval_fraction` > 0."""
    keys = sorted({group for _, group in items})
    score = {key: int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:12], 16) / 16**12 for key in keys}
    eval_keys = {key for key in keys if score[key] < eval_fraction}
    if eval_fraction > 0 and len(keys) > 1 and not eval_keys:
        eval_keys = {min(keys, key=score.__getitem__)}
    if keys and len(eval_keys) == len(keys):  # training needs something
        eval_keys.remove(max(keys, key=score.__getitem__))
    train = [item for item, group in items if group not in eval_keys]
    held_out = [item for item, group in items if group in eval_keys]
    return train, held_out


def _dedupe_and_split(
    rows: list[tuple[Row, str]], text_of: Callable[[Row], str], options: BuildOptions
) -> tuple[dict[str, list[Row]], SetCounts]:
    kept, dropped = deduplicate(rows, lambda item: text_of(item[0]), options.near_duplicate_threshold)
    train, held_out = split_by_group(kept, options.eval_fraction, options.seed)
    counts = SetCounts(len(rows), dropped.exact, dropped.near, len(train), len(held_out))
    return {"train": train, "eval": held_out}, counts


def _chat_text(messages: Iterable[dict[str, str]]) -> str:
    return "\n".join(message["content"] for message in messages)


def reviewed_rows(pairs: Sequence[ReviewPairRecord]) -> list[Row]:
    """Reviewers' pairs in trl's conversational format, text redacted (their metadata dropped)."""
    def redacted(turns: Sequence[ChatTurn]) -> list[Row]:
        return [{"role": turn["role"], "content": redact_pii(turn["content"])} for turn in turns]

    return [
        {"prompt": redacted(pair["prompt"]), "chosen": redacted(pair["chosen"]), "rejected": redacted(pair["rejected"])}
        for pair in pairs
    ]


def build_datasets(
    records: Sequence[InteractionRecord],
    documents: Sequence[str],
    options: BuildOptions,
    review_pairs: Sequence[ReviewPairRecord] = (),
) -> BuiltDatasets:
    """All three sets from redacted, grouped records, reviewers' pairs and knowledge-base documents,
    with a card."""
    redacted = [redact_record(record) for record in records]
    usable = [record for record, _ in redacted if record["question"].strip() and record["answer"].strip()]
    reviewed = reviewed_rows(review_pairs)
    raw_documents = [document for document in documents if document.strip()]
    clean_documents = [redact_pii(document) for document in raw_documents]
    redacted_fields = sum(changed for _, changed in redacted) + sum(
        clean != raw for clean, raw in zip(clean_documents, raw_documents, strict=True)
    )
    # A reviewed pair's question is grouped like a record's, so the split keeps it with its kin.
    asked = [cast(InteractionRecord, {"question": _chat_text(row["prompt"])}) for row in reviewed]
    all_groups = question_groups([*usable, *asked], options.question_threshold)
    groups, reviewed_groups = all_groups[: len(usable)], all_groups[len(usable) :]

    sft, sft_counts = _dedupe_and_split(
        sft_rows(usable, groups), lambda row: _chat_text(row["messages"]), options
    )
    preference, preference_counts = _dedupe_and_split(
        preference_rows(usable, groups) + list(zip(reviewed, reviewed_groups, strict=True)),
        lambda row: _chat_text([*row["prompt"], *row["chosen"], *row["rejected"]]),
        options,
    )
    corpus_texts = clean_documents + [_chat_text(row["messages"]) for row in sft["train"] + sft["eval"]]
    corpus, corpus_counts = _dedupe_and_split(
        [({"text": text}, text_hash(text)) for text in corpus_texts], lambda row: row["text"], options
    )
    card = {
        "records": len(records),
        "records_without_question_or_answer": len(records) - len(usable),
        "pii_redacted_fields": redacted_fields,
        "knowledge_base_documents": len(clean_documents),
        "question_groups": len(set(all_groups)),
        "review_pairs": len(reviewed),
        "sft": asdict(sft_counts),
        "preference": asdict(preference_counts),
        "corpus": asdict(corpus_counts),
        "options": asdict(options),
    }
    return BuiltDatasets(sft=sft, preference=preference, corpus=corpus, card=card)
