"""The dashboard's intents graph: questions per intent, from the `Intents` metric's dimension
(`functions.intents.routing.count_intent`). Kept apart from `infra.monitoring` so that the
application's dashboard grows by groups, not by lines in one construct."""

from __future__ import annotations

import aws_cdk as cdk
import cdk_monitoring_constructs as mc
from aws_cdk import aws_cloudwatch as cloudwatch

from functions.contract import INTENT_DIMENSION, METRICS_NAMESPACE, SERVICE_NAME, Intent, MetricName

FIVE_MINUTES = cdk.Duration.minutes(5)


def intent_questions(intent: Intent) -> cloudwatch.Metric:
    """`Intents` of one intent: how many questions were tagged with it."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=MetricName.INTENTS.value,
        dimensions_map={"service": SERVICE_NAME, INTENT_DIMENSION: intent.value},
        statistic="Sum",
        period=FIVE_MINUTES,
        label=intent.value,
    )


def intents_group() -> mc.CustomMetricGroup:
    """One line per intent, stacked, so the mix of what customers ask shows at a glance."""
    return mc.CustomMetricGroup(
        title="Questions by intent",
        metrics=[intent_questions(intent) for intent in Intent],
        graph_widget_type=mc.GraphWidgetType.STACKED_AREA,
    )
