"""The `GuardrailBlocks` metric: once without dimensions (the alarm's) and once per category."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from functions.contract import GUARDRAIL_CATEGORY_DIMENSION, METRICS_NAMESPACE, SERVICE_NAME, MetricName
from functions.guardrails.policy import GuardrailResult
from functions.observability import metrics


def count_blocks(result: GuardrailResult) -> None:
    """Count one blocked text, and one block for each category that blocked it."""
    metrics.add_metric(name=MetricName.GUARDRAIL_BLOCKS, unit=MetricUnit.Count, value=1)
    if is_metrics_disabled():
        return
    for category in result.blocked_by:
        with single_metric(
            name=MetricName.GUARDRAIL_BLOCKS,
            unit=MetricUnit.Count,
            value=1,
            namespace=METRICS_NAMESPACE,
            default_dimensions={"service": SERVICE_NAME},
        ) as metric:
            metric.add_dimension(name=GUARDRAIL_CATEGORY_DIMENSION, value=category)
