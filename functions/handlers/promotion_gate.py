"""Step in the retraining state machine: promote the candidate model only if it beats the current one.

`training_jobs.evaluate` measures the candidate and the model serving now on the same held-out
data and writes one flat `evaluation.json`: `primary_metric` names the deciding metric,
`higher_is_better` its direction, the candidate's value sits under the metric's name and the
current model's under `current_<metric>`. It also has both models answer a golden question set
through the whole answer pipeline: `answers_<figure>` and `current_answers_<figure>`.

The rule: promote only when
1. the primary metric gains more than `min_improvement` on the serving model's (or nothing serves yet);
2. no gated answer figure (key-fact match, groundedness, hand-off correctness) falls more than
   `max_answer_regression` below the serving model's: a customer would see the worse answers;
3. groundedness and hand-off correctness reach `min_groundedness` and `min_handoff_correctness`
   (floors that hold even when the serving model is worse).
The thresholds come in the event, from the training configuration (`infra.config.TrainingConfig`).
A missing or non-finite value fails the step, so the execution fails loudly instead of promoting
a model nobody measured; a groundedness of null (the candidate answered nothing) misses its floor.
Only boto3 is needed, so the function has no layer.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlparse

import boto3

from functions.contract import ANSWER_FIGURE_PREFIX, GATED_ANSWER_FIGURES

logger = logging.getLogger()
logger.setLevel(logging.INFO)


class EvaluationError(ValueError):
    """The evaluation file lacks what the decision needs."""


@dataclass(frozen=True)
class Thresholds:
    """The rule's numbers (the training configuration's `min_improvement`, `min_groundedness`,
    `min_handoff_correctness` and `max_answer_regression`, passed in the event)."""

    min_groundedness: float
    min_handoff_correctness: float
    min_improvement: float = 0.0
    max_answer_regression: float = 0.0

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Thresholds:
        try:
            return cls(
                min_groundedness=float(event["min_groundedness"]),
                min_handoff_correctness=float(event["min_handoff_correctness"]),
                min_improvement=float(event.get("min_improvement", 0.0)),
                max_answer_regression=float(event.get("max_answer_regression", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise EvaluationError(f"the gate's event lacks a threshold: {error}") from error


@dataclass(frozen=True)
class Decision:
    promote: bool
    metric: str
    candidate: float
    current: float | None
    reason: str
    #: The gated answer figures, `answers_<figure>` and `current_answers_<figure>`.
    answers: dict[str, float | None] = field(default_factory=dict)
    #: Every check the candidate failed; empty when it is promoted.
    failed: list[str] = field(default_factory=list)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{"evaluation_uri": "s3://...", "min_groundedness": ..., "min_handoff_correctness": ...,
    "min_improvement"?, "max_answer_regression"?}` -> the decision as a dict."""
    evaluation = read_json(event["evaluation_uri"])
    decision = decide(evaluation, Thresholds.from_event(event))
    logger.info("promotion gate: %s", decision.reason)
    return asdict(decision)


def decide(evaluation: Mapping[str, Any], thresholds: Thresholds) -> Decision:
    """Promote when the candidate beats the current model and its answers pass (the module's rule)."""
    metric = evaluation.get("primary_metric")
    if not isinstance(metric, str) or "higher_is_better" not in evaluation:
        raise EvaluationError("evaluation.json needs 'primary_metric' and 'higher_is_better'")
    candidate = _finite(evaluation, metric)
    answers = _answer_figures(evaluation)
    failed = _answer_failures(answers, thresholds)
    if evaluation.get(f"current_{metric}") is None:
        current = None
        summary = f"no current model to compare with; {metric}={candidate:g}"
    else:
        current = _finite(evaluation, f"current_{metric}")
        gain = candidate - current if evaluation["higher_is_better"] else current - candidate
        required = thresholds.min_improvement
        summary = f"{metric} {candidate:g} vs {current:g} (gain {gain:g}, required > {required:g})"
        if not gain > thresholds.min_improvement:
            failed.insert(0, f"{metric} does not beat the current model")
    promote = not failed
    verdict = "promote" if promote else "keep the current model: " + "; ".join(failed)
    return Decision(promote, metric, candidate, current, f"{verdict} [{summary}]", answers, failed)


def _answer_figures(evaluation: Mapping[str, Any]) -> dict[str, float | None]:
    """The gated figures of both models; the candidate's must be there (groundedness may be null)."""
    figures: dict[str, float | None] = {}
    for prefix in ("", "current_"):
        for name in GATED_ANSWER_FIGURES:
            key = f"{prefix}{ANSWER_FIGURE_PREFIX}{name}"
            if key not in evaluation:
                if prefix:
                    continue  # nothing serves yet
                raise EvaluationError(f"evaluation.json has no answer evaluation: {key!r} is missing")
            figures[key] = None if evaluation[key] is None else _finite(evaluation, key)
    return figures


def _answer_failures(answers: Mapping[str, float | None], thresholds: Thresholds) -> list[str]:
    failed = []
    floors = {
        "groundedness": thresholds.min_groundedness,
        "handoff_correctness": thresholds.min_handoff_correctness,
    }
    for name, floor in floors.items():
        value = answers[f"{ANSWER_FIGURE_PREFIX}{name}"]
        if value is None or value < floor:
            failed.append(f"answer {name} {_show(value)} is below the floor {floor:g}")
    for name in GATED_ANSWER_FIGURES:
        value = answers[f"{ANSWER_FIGURE_PREFIX}{name}"]
        serving = answers.get(f"current_{ANSWER_FIGURE_PREFIX}{name}")
        if serving is not None and (value is None or value < serving - thresholds.max_answer_regression):
            failed.append(f"answer {name} {_show(value)} is worse than the current model's {serving:g}")
    return failed


def _show(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def read_json(uri: str) -> dict[str, Any]:
    """A JSON object stored at an `s3://bucket/key` URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise EvaluationError(f"not an s3://bucket/key URI: {uri!r}")
    body = _s3().get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
    value = json.loads(body)
    if not isinstance(value, dict):
        raise EvaluationError(f"{uri} does not hold a JSON object")
    return value


def _finite(evaluation: Mapping[str, Any], key: str) -> float:
    value = evaluation.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EvaluationError(f"evaluation.json: {key!r} must be a finite number, got {value!r}")
    return float(value)


@cache
def _s3() -> Any:
    """Created on first use, so importing the module (and the tests) needs no AWS configuration."""
    return boto3.client("s3")
