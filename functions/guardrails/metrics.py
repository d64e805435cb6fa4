"""The `GuardrailBlocks` metric: once without dimensions (the alarm's) and once per category."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.contract import GUARDRAIL_CATEGORY_DIMENSION, MetricName
from functions.guardrails.policy import GuardrailResult
from functions.observability import add_metric_by, metrics


def count_blocks(result: GuardrailResult) -> None:
    """Count one blocked text, and one block for each category that blocked it."""
    metrics.add_metric(name=MetricName.GUARDRAIL_BLOCKS, unit=MetricUnit.Count, value=1)
    for category in result.blocked_by:
        add_metric_by(
            GUARDRAIL_CATEGORY_DIMENSION, category, MetricName.GUARDRAIL_BLOCKS, MetricUnit.Count, 1
        )
