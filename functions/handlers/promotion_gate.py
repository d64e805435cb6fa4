"""Step in the retraining state machine: promote the candidate model only if it beats the current one.

`training_jobs.evaluate` measures the candidate and the model serving now on the same held-out
data and writes one flat `evaluation.json`: `primary_metric` names the deciding metric,
`higher_is_better` its direction, the candidate's value sits under the metric's name and the
current model's under `current_<metric>`. This gate reads that file and answers the state
machine's Choice; a missing or non-finite value fails the step, so the execution fails loudly
instead of promoting a model nobody measured. Only boto3 is needed, so the function has no layer.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any
from urllib.parse import urlparse

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)


class EvaluationError(ValueError):
    """The evaluation file lacks what the decision needs."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    metric: str
    candidate: float
    current: float | None
    reason: str


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{"evaluation_uri": "s3://...", "min_improvement": 0.0}` -> the decision as a dict."""
    evaluation = read_json(event["evaluation_uri"])
    decision = decide(evaluation, min_improvement=float(event.get("min_improvement", 0.0)))
    logger.info("promotion gate: %s", decision.reason)
    return asdict(decision)


def decide(evaluation: Mapping[str, Any], *, min_improvement: float = 0.0) -> Decision:
    """Promote when the candidate beats the current model by more than `min_improvement`."""
    metric = evaluation.get("primary_metric")
    if not isinstance(metric, str) or "higher_is_better" not in evaluation:
        raise EvaluationError("evaluation.json needs 'primary_metric' and 'higher_is_better'")
    candidate = _finite(evaluation, metric)
    if evaluation.get(f"current_{metric}") is None:
        reason = f"no current model to compare with; {metric}={candidate:g}"
        return Decision(True, metric, candidate, None, reason)
    current = _finite(evaluation, f"current_{metric}")
    gain = candidate - current if evaluation["higher_is_better"] else current - candidate
    promote = gain > min_improvement
    verdict = "promote" if promote else "keep the current model"
    return Decision(
        promote,
        metric,
        candidate,
        current,
        f"{verdict}: {metric} {candidate:g} vs {current:g} (gain {gain:g}, required > {min_improvement:g})",
    )


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
