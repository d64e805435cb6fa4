"""Guardrails: precision, recall and F1 per category (F2 for PII) on the shared data sets and
the project's fixtures, the linear-time check on adversarial input, and per-detector latency.

The figures are `genai-stack eval guardrails`'s (`functions.guardrails.evaluation`), with the
embedded engine and the local MiniLM embedder the topic detector uses.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import Options, SkipSection, markdown_table, progress
from functions.guardrails.base import CheckContext, Stage

#: Inputs that make a backtracking pattern quadratic (a nested-quantifier e-mail pattern on
#: 20,000 characters of "a."); the adversarial table shows each detector's time on them.
ADVERSARIAL = ("a.", "a@b.", "1 ", "1-", "[a](", "de89", "a at ", "ignore the ", "i g n o r e ")
ADVERSARIAL_LENGTH = 20_000


def _rows(section: dict[str, dict[str, Any]], score: str) -> list[list[object]]:
    return [
        [name, v["n"], v.get("precision", ""), v.get("recall", ""), v.get(score, ""), v.get("fpr", "")]
        for name, v in section.items()
    ]


def run(options: Options) -> str:
    from functions.guardrails.config import load_policy
    from functions.guardrails.evaluation import evaluate_all
    from functions.guardrails.factory import embedded_policy
    from functions.rag.embeddings.minilm import MiniLMEmbedder
    from functions.rag.embeddings.ports import MemoizingEmbedder

    if not (options.datasets / "prompt_injection").is_dir():
        raise SkipSection(f"shared data sets not found in {options.datasets}: pass --datasets")
    embedder = MemoizingEmbedder(MiniLMEmbedder())  # as Services shares it with retrieval
    guardrails = embedded_policy(load_policy(), embedder)
    progress("guardrails: scoring every category")
    figures = evaluate_all(guardrails, options.datasets, embedder)
    headers = ["data set", "n", "precision", "recall", "F1", "false-positive rate"]
    parts = [
        "Policy: `functions/guardrails/policy.json` (block at 0.5 for injection, toxicity and denied "
        "topics; PII redacted). A finding counts when its detector alone would block (PII: when a "
        "predicted span overlaps a gold span of the same type). Classifier artefacts: "
        "`python -m training_jobs.guardrails.train_classifier --task injection|toxicity`; none of "
        "the rows below was trained on (held-out quarters chosen by a hash of the text; fixtures "
        "written apart from the training examples).",
    ]
    for category, title in (
        ("prompt_injection", "Prompt injection and jailbreaks"),
        ("toxicity", "Toxicity and abuse"),
        ("denied_topic", "Denied and off-topic requests"),
    ):
        parts.append(f"### {title}\n\n" + markdown_table(headers, _rows(figures[category], "f1")))
    parts.append(
        "### PII (F2, as Presidio's evaluation recommends)\n\n"
        + markdown_table(["data set", "spans", "precision", "recall", "F2", ""], _rows(figures["pii"], "f2"))
        + "\n\nNames (PERSON) and street addresses are reported apart: only names given next to who "
        'the customer is ("my name is ...", a signature) and numbered street forms are detected.'
    )
    latency = figures["latency"]
    parts.append(
        "### Latency per input detector (200 messages, 20 to 4,000 characters, caches cleared)\n\n"
        + markdown_table(
            ["detector", "p50 ms", "p99 ms"], [[n, v["p50_ms"], v["p99_ms"]] for n, v in latency.items()]
        )
        + "\n\nThe topic detector embeds the question as retrieval does (PII already replaced by "
        "placeholders), so the shared `MemoizingEmbedder` makes that vector once per question; it is "
        "made before the detectors run and timed on its own row (MiniLM on this machine's shared CPU)."
    )
    parts.append("### No pattern slower than linear\n\n" + _adversarial(guardrails))
    return "\n\n".join(parts)


def _adversarial(guardrails: Any) -> str:
    """Seconds per detector on 20,000-character inputs built to make backtracking patterns blow up."""
    context = CheckContext(Stage.OUTPUT, sources=("a source",))
    detectors = [*guardrails.detectors[Stage.INPUT], *guardrails.detectors[Stage.OUTPUT]]
    rows: list[list[object]] = []
    for piece in ADVERSARIAL:
        text = (piece * (ADVERSARIAL_LENGTH // len(piece) + 1))[:ADVERSARIAL_LENGTH]
        worst_name, worst = "", 0.0
        for detector in detectors:
            if detector.category == "denied_topic":
                continue  # an embedding of the text: no pattern
            started = time.perf_counter()
            detector.detect(text, context)
            elapsed = time.perf_counter() - started
            if elapsed > worst:
                worst_name, worst = type(detector).__name__, elapsed
        rows.append([f"`{piece!r}` x {ADVERSARIAL_LENGTH // len(piece)}", worst_name, f"{worst * 1000:.0f}"])
    return markdown_table(["input (20,000 characters)", "slowest detector", "its time, ms"], rows)
