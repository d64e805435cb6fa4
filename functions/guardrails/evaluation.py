"""Measuring the guardrails: labelled data sets, per-category scores and per-detector latency.

One module serves `genai-stack eval guardrails` and the bench section, so both report the same
figures. Public sets are read from the shared folder beside the checkout, never copied in.
"""

from __future__ import annotations

import csv
import html
import json
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.guardrails.base import Action, CheckContext, Stage
from functions.guardrails.normalize import normalize
from functions.guardrails.pii import find_pii
from functions.guardrails.policy import GuardrailPolicy

if TYPE_CHECKING:
    from functions.rag.embeddings.ports import Embedder

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"  # as `genai-stack eval --datasets`
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "guardrails"


def is_held_out(text: str) -> bool:
    """A fixed quarter of a public set, chosen by a hash of the text: never trained on."""
    return zlib.crc32(text.encode("utf-8")) % 4 == 0


def load_deepset(datasets: Path) -> Iterator[tuple[str, int, bool]]:
    """deepset/prompt-injections rows as (text, label, held_out)."""
    path = datasets / "prompt_injection" / "deepset_train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["text"], int(row["label"]), is_held_out(row["text"])


def load_banking77(datasets: Path) -> Iterator[tuple[str, bool]]:
    """Banking77 customer questions (all benign) as (text, held_out)."""
    path = datasets / "intents" / "banking77_train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["text"], is_held_out(row["text"])


def load_davidson(datasets: Path) -> Iterator[tuple[str, int, bool]]:
    """Davidson et al.'s tweets as (text, label, held_out): 1 for hate speech or offensive language."""
    path = datasets / "toxicity" / "davidson_labeled_data.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = html.unescape(row["tweet"])
            yield text, int(row["class"] != "2"), is_held_out(text)


# --- Scores ------------------------------------------------------------------------------------


@dataclass
class Counts:
    """True and false positives and negatives of one category on one data set."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    def to_dict(self, beta: float = 1.0) -> dict[str, float | int]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        fpr = self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0
        b2 = beta * beta
        denominator = b2 * precision + recall
        f = (1 + b2) * precision * recall / denominator if denominator else 0.0
        name = "f1" if beta == 1.0 else f"f{beta:g}"
        scores: dict[str, float | int] = {"n": self.tp + self.fp + self.fn + self.tn}
        if self.tp + self.fn:  # a set of benign texts only has a false-positive rate
            scores.update({"precision": round(precision, 3), "recall": round(recall, 3), name: round(f, 3)})
        if self.tn:  # span matching has no true negatives, so no false-positive rate
            scores["fpr"] = round(fpr, 3)
        return scores


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _blocked(guardrails: GuardrailPolicy, text: str, category: str) -> bool:
    """Whether the input detector of `category` alone blocks the text under the policy."""
    context = CheckContext(Stage.INPUT)
    if guardrails.action(category) is not Action.BLOCK:
        return False
    return any(
        (finding := detector.detect(text, context)) is not None
        and finding.score >= guardrails.threshold(category)
        for detector in guardrails.detectors.get(Stage.INPUT, ())
        if detector.category == category
    )


def evaluate_injection(
    guardrails: GuardrailPolicy, datasets: Path, benign_sample: int = 500
) -> dict[str, Any]:
    """Attacks blocked and benign messages let through, on sets not trained on."""
    held_out = Counts()
    for text, label, is_test in load_deepset(datasets):
        if is_test:
            held_out.add(_blocked(guardrails, text, "prompt_injection"), bool(label))
    fixtures, odd = Counts(), Counts()
    for row in read_jsonl(FIXTURES / "injection.jsonl"):
        blocked = _blocked(guardrails, row["text"], "prompt_injection")
        fixtures.add(blocked, bool(row["label"]))
        if not row["label"]:
            odd.add(not guardrails.check(row["text"], Stage.INPUT).allowed, False)
    banking = Counts()
    questions = [text for text, is_test in load_banking77(datasets) if is_test][:benign_sample]
    for text in questions:
        banking.add(not guardrails.check(text, Stage.INPUT).allowed, False)
    return {
        "deepset held-out quarter": held_out.to_dict(),
        "project fixtures (support attacks, 4 languages, obfuscations)": fixtures.to_dict(),
        "odd-looking support questions blocked by any guardrail": odd.to_dict(),
        f"Banking77 held-out questions blocked by any guardrail (first {benign_sample})": banking.to_dict(),
    }


PRESIDIO_STRUCTURED = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
}
PRESIDIO_REPORTED_APART = {"STREET_ADDRESS": "STREET_ADDRESS", "PERSON": "PERSON"}


def _span_counts(
    rows: Iterable[tuple[str, list[tuple[int, int, str]]]], labels: Iterable[str]
) -> dict[str, Counts]:
    """Per-label counts where a predicted span overlapping a gold span of its label is a hit."""
    wanted = set(labels)
    counts = {label: Counts() for label in wanted}
    for text, gold in rows:
        predicted = [(s.start, s.end, s.label) for s in find_pii(text) if s.label in wanted]
        used: set[int] = set()
        for start, end, label in gold:
            match = next(
                (
                    i
                    for i, (p_start, p_end, p_label) in enumerate(predicted)
                    if i not in used and p_label == label and p_start < end and start < p_end
                ),
                None,
            )
            counts[label].add(match is not None, True)
            if match is not None:
                used.add(match)
        for i, (_, _, label) in enumerate(predicted):
            if i not in used:
                counts[label].add(True, False)
    return counts


def evaluate_pii(datasets: Path) -> dict[str, Any]:
    """F2 per structured type on Presidio's synthetic set; names and addresses apart; recall on
    the project's support messages."""
    mapping = {**PRESIDIO_STRUCTURED, **PRESIDIO_REPORTED_APART}
    records = json.loads((datasets / "pii" / "presidio_synth_dataset_v2.json").read_text(encoding="utf-8"))
    rows = [
        (
            record["full_text"],
            [
                (span["start_position"], span["end_position"], mapping[span["entity_type"]])
                for span in record["spans"]
                if span["entity_type"] in mapping
            ],
        )
        for record in records
    ]
    presidio = _span_counts(rows, mapping.values())
    structured = Counts()
    for label in PRESIDIO_STRUCTURED.values():
        for field_name in ("tp", "fp", "fn"):
            setattr(
                structured, field_name, getattr(structured, field_name) + getattr(presidio[label], field_name)
            )
    fixture_rows = [
        (row["text"], [(s["start"], s["end"], s["label"]) for s in row["spans"]])
        for row in read_jsonl(FIXTURES / "pii.jsonl")
    ]
    fixture_labels = {label for _, gold in fixture_rows for _, _, label in gold} | set(mapping.values())
    fixtures = _span_counts(fixture_rows, fixture_labels)
    every_span = Counts()
    for counts in fixtures.values():
        every_span.tp, every_span.fp, every_span.fn = (
            every_span.tp + counts.tp,
            every_span.fp + counts.fp,
            every_span.fn + counts.fn,
        )
    return {
        "presidio structured types together": structured.to_dict(beta=2.0),
        **{f"presidio {label}": presidio[label].to_dict(beta=2.0) for label in mapping.values()},
        "project support messages, every span": every_span.to_dict(beta=2.0),
    }


def evaluate_toxicity(guardrails: GuardrailPolicy, datasets: Path, sample: int = 2000) -> dict[str, Any]:
    davidson = Counts()
    tweets = [(text, label) for text, label, is_test in load_davidson(datasets) if is_test][:sample]
    for text, label in tweets:
        davidson.add(_blocked(guardrails, text, "toxicity"), bool(label))
    fixtures = Counts()
    for row in read_jsonl(FIXTURES / "toxicity.jsonl"):
        fixtures.add(_blocked(guardrails, row["text"], "toxicity"), bool(row["label"]))
    return {
        f"Davidson et al. held-out tweets (first {sample})": davidson.to_dict(),
        "project fixtures (abuse vs angry complaints)": fixtures.to_dict(),
    }


def evaluate_topics(guardrails: GuardrailPolicy) -> dict[str, Any]:
    fixtures = Counts()
    for row in read_jsonl(FIXTURES / "topics.jsonl"):
        fixtures.add(_blocked(guardrails, row["text"], "denied_topic"), row["topic"] is not None)
    return {"project fixtures (off-topic vs in-scope questions)": fixtures.to_dict()}


# --- Latency -----------------------------------------------------------------------------------


def latency_messages(datasets: Path, count: int = 200, max_chars: int = 4000) -> list[str]:
    """Messages of every length up to `max_chars`: fixture and Banking77 texts, some joined into
    long ones (a pasted e-mail, an attack hidden in the middle)."""
    texts = [row["text"] for row in read_jsonl(FIXTURES / "injection.jsonl")]
    texts += [text for text, is_test in load_banking77(datasets) if is_test][:200]
    messages: list[str] = []
    for i in range(count):
        length = max_chars * (i + 1) // count
        pieces: list[str] = []
        j = i
        while sum(len(p) + 1 for p in pieces) < length:
            pieces.append(texts[j % len(texts)])
            j += 7
        messages.append(" ".join(pieces)[:length])
    return messages


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def detector_latency(
    guardrails: GuardrailPolicy, messages: Sequence[str], embedder: Embedder | None = None
) -> dict[str, dict[str, float]]:
    """p50 and p99 in milliseconds of each input detector, and of all of them together, per message.
    Caches are cleared before each message, so every figure is a first sight of the text. With
    the `embedder` the detectors share (a `MemoizingEmbedder`), each message's query vector is made
    first and timed apart: retrieval makes it anyway, and the topic detector then reuses it."""
    detectors = list(guardrails.detectors.get(Stage.INPUT, ()))
    context = CheckContext(Stage.INPUT)
    timings: dict[str, list[float]] = {type(d).__name__: [] for d in detectors}
    embedding: list[float] = []
    together: list[float] = []
    for detector in detectors:  # warm up: models loaded, topic examples embedded
        detector.detect("warm up", context)
    for message in messages:
        normalize.cache_clear()
        if embedder is not None:
            started = time.perf_counter()
            embedder.embed_query(message)
            embedding.append((time.perf_counter() - started) * 1000.0)
        total = 0.0
        for detector in detectors:
            started = time.perf_counter()
            detector.detect(message, context)
            elapsed = (time.perf_counter() - started) * 1000.0
            timings[type(detector).__name__].append(elapsed)
            total += elapsed
        together.append(total)
    series = {**timings, "all input detectors": together}
    if embedding:
        series["the query embedding they share with retrieval"] = embedding
    return {
        name: {"p50_ms": round(_percentile(v, 0.5), 2), "p99_ms": round(_percentile(v, 0.99), 2)}
        for name, v in series.items()
    }


def evaluate_all(
    guardrails: GuardrailPolicy, datasets: Path, embedder: Embedder | None = None
) -> dict[str, Any]:
    """Every figure `genai-stack eval guardrails` reports."""
    return {
        "prompt_injection": evaluate_injection(guardrails, datasets),
        "pii": evaluate_pii(datasets),
        "toxicity": evaluate_toxicity(guardrails, datasets),
        "denied_topic": evaluate_topics(guardrails),
        "latency": detector_latency(guardrails, latency_messages(datasets), embedder),
    }
