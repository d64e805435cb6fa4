"""The dashboard's custom groups: the application's own metrics (EMF from
`functions.observability`, default dimension `service`) and the SageMaker endpoint, which the stack
does not own (the retraining pipeline creates it). `infra.monitoring` adds them to its facade.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_monitoring_constructs as mc
from aws_cdk import aws_cloudwatch as cloudwatch

from functions.contract import (
    GUARDRAIL_CATEGORIES,
    GUARDRAIL_CATEGORY_DIMENSION,
    METRICS_NAMESPACE,
    SERVICE_NAME,
    MetricName,
)
from infra.config import MonitoringConfig
from infra.monitoring_intents import intents_group

FIVE_MINUTES = cdk.Duration.minutes(5)
ONE_HOUR = cdk.Duration.hours(1)


def app_metric(
    name: MetricName, statistic: str = "Sum", period: cdk.Duration = FIVE_MINUTES
) -> cloudwatch.Metric:
    """A metric the functions emit through Powertools (namespace and `service` dimension: the contract)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name.value,
        dimensions_map={"service": SERVICE_NAME},
        statistic=statistic,
        period=period,
        label=name.value,
    )


def guardrail_blocks(category: str) -> cloudwatch.Metric:
    """`GuardrailBlocks` of one category (the dimension `functions.guardrails.metrics` adds)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=MetricName.GUARDRAIL_BLOCKS.value,
        dimensions_map={"service": SERVICE_NAME, GUARDRAIL_CATEGORY_DIMENSION: category},
        statistic="Sum",
        period=FIVE_MINUTES,
        label=category,
    )


def percent(label: str, expression: str, **metrics: MetricName) -> cloudwatch.MathExpression:
    """100 x `expression` over application metrics named by keyword (`e=MetricName.ESCALATIONS`)."""
    return cloudwatch.MathExpression(
        expression=f"100 * {expression}",
        using_metrics={metric_id: app_metric(name) for metric_id, name in metrics.items()},
        label=label,
        period=FIVE_MINUTES,
    )


def above(threshold: float) -> mc.CustomThreshold:
    """An alarm on a count above `threshold`; no data (nothing happened) is not a breach."""
    return mc.CustomThreshold(
        threshold=threshold,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def monitor_application(facade: mc.MonitoringFacade, config: MonitoringConfig) -> None:
    hourly_alarm = {
        MetricName.ESCALATIONS: config.escalations_per_hour,
        MetricName.GUARDRAIL_BLOCKS: config.guardrail_blocks_per_hour,
    }
    facade.monitor_custom(
        human_readable_name="Assistant",
        alarm_friendly_name="Assistant",
        metric_groups=[
            mc.CustomMetricGroup(
                title="Queries and tokens",
                metrics=[
                    app_metric(MetricName.QUERIES),
                    app_metric(MetricName.INPUT_TOKENS),
                    app_metric(MetricName.OUTPUT_TOKENS),
                ],
            ),
            mc.CustomMetricGroup(
                title="Latency per stage (p90, ms)",
                metrics=[
                    app_metric(name, statistic="p90")
                    for name in (
                        MetricName.QUERY_LATENCY,
                        MetricName.RETRIEVAL_LATENCY,
                        MetricName.GENERATION_LATENCY,
                    )
                ],
            ),
            mc.CustomMetricGroup(
                title="Quality (%)",
                metrics=[
                    percent(
                        "escalation rate",
                        "esc / queries",
                        esc=MetricName.ESCALATIONS,
                        queries=MetricName.QUERIES,
                    ),
                    percent(
                        "positive feedback",
                        "up / (up + down)",
                        up=MetricName.FEEDBACK_POSITIVE,
                        down=MetricName.FEEDBACK_NEGATIVE,
                    ),
                    percent(
                        "grounded answers",
                        "yes / (yes + no)",
                        yes=MetricName.GROUNDED_ANSWERS,
                        no=MetricName.UNGROUNDED_ANSWERS,
                    ),
                    app_metric(MetricName.GROUNDEDNESS, statistic="Average"),
                    percent(
                        "empty retrievals",
                        "empty / queries",
                        empty=MetricName.EMPTY_RETRIEVALS,
                        queries=MetricName.QUERIES,
                    ),
                    percent(
                        "rephrased questions",
                        "again / queries",
                        again=MetricName.REPHRASES,
                        queries=MetricName.QUERIES,
                    ),
                ],
            ),
            mc.CustomMetricGroup(
                title="Guardrail blocks by category",
                metrics=[guardrail_blocks(category) for category in GUARDRAIL_CATEGORIES],
            ),
            intents_group(),
            mc.CustomMetricGroup(
                title="Hand-offs and reply problems",
                metrics=[
                    app_metric(MetricName.HAND_OFFS),
                    app_metric(MetricName.MALFORMED_REPLIES),
                    app_metric(MetricName.DROPPED_CITATIONS),
                ],
            ),
            mc.CustomMetricGroup(
                title="Failures",
                metrics=[
                    mc.CustomMetricWithAlarm(
                        metric=app_metric(MetricName.DEPENDENCY_FAILURES),
                        alarm_friendly_name=MetricName.DEPENDENCY_FAILURES.value,
                        add_alarm={"Critical": above(config.dependency_failures_per_5_minutes)},
                    ),
                    app_metric(MetricName.CONFLICTS),
                ],
            ),
            mc.CustomMetricGroup(
                title="Hourly counts",
                metrics=[
                    mc.CustomMetricWithAlarm(
                        metric=app_metric(name, period=ONE_HOUR),
                        alarm_friendly_name=name.value,
                        add_alarm={"Warning": above(threshold)},
                    )
                    for name, threshold in hourly_alarm.items()
                ],
            ),
        ],
    )


def monitor_endpoint(facade: mc.MonitoringFacade, config: MonitoringConfig, endpoint_name: str) -> None:
    def metric(name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name=name,
            dimensions_map={"EndpointName": endpoint_name, "VariantName": "primary"},
            statistic=statistic,
            period=FIVE_MINUTES,
        )

    facade.monitor_custom(
        human_readable_name=f"SageMaker endpoint {endpoint_name}",
        alarm_friendly_name="Endpoint",
        metric_groups=[
            mc.CustomMetricGroup(
                title="Model latency (µs)",
                metrics=[metric("ModelLatency", "p50"), metric("ModelLatency", "p99")],
            ),
            mc.CustomMetricGroup(
                title="Errors",
                metrics=[
                    metric("Invocation4XXErrors", "Sum"),
                    mc.CustomMetricWithAlarm(
                        metric=metric("Invocation5XXErrors", "Sum"),
                        alarm_friendly_name="Endpoint5xx",
                        add_alarm={"Critical": above(config.endpoint_5xx_per_5_minutes)},
                    ),
                ],
            ),
        ],
    )
