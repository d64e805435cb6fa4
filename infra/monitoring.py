"""One dashboard and the alarms, built with cdk-monitoring-constructs, notifying an SNS topic.

AWS metrics come from the library's monitors (API, Lambda, OpenSearch, SQS, Step Functions); the
application's own metrics (EMF from `functions.observability`, default dimension `service`) and
the SageMaker endpoint, which the stack does not own (the pipeline creates it), are custom groups.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_monitoring_constructs as mc
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

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


class Monitoring(Construct):
    """Dashboard, alarms and the topic (with the configured e-mail) that the alarms notify."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: MonitoringConfig,
        http_api: apigwv2.IHttpApi,
        functions: list[lambda_.Function],
        domain: opensearch.IDomain,
        queue: sqs.IQueue,
        dead_letters: sqs.IQueue,
        state_machines: dict[str, sfn.IStateMachine],
        endpoint_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._build_topic(config)
        stack_name = cdk.Stack.of(self).stack_name
        facade = mc.MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=mc.AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=stack_name,
                action=mc.SnsAlarmActionStrategy(on_alarm_topic=self.topic),
            ),
            dashboard_factory=mc.DefaultDashboardFactory(
                self, "Dashboards", dashboard_name_prefix=stack_name, create_summary_dashboard=False
            ),
        )
        facade.monitor_api_gateway_v2_http_api(
            api=http_api,
            latency_types_to_render=[mc.LatencyType.P50, mc.LatencyType.P90, mc.LatencyType.P99],
            add5xx_count_alarm={
                "Critical": mc.ErrorCountThreshold(max_error_count=config.api_5xx_per_5_minutes)
            },
            add_latency_p99_alarm={
                "Warning": mc.LatencyThreshold(max_latency=cdk.Duration.millis(config.api_p99_latency_ms))
            },
        )
        for function in functions:
            facade.monitor_lambda_function(
                lambda_function=function,
                add_fault_count_alarm={
                    "Critical": mc.ErrorCountThreshold(max_error_count=config.lambda_errors_per_5_minutes)
                },
                add_throttles_count_alarm={"Warning": mc.ErrorCountThreshold(max_error_count=0)},
            )
        self._monitor_application(facade, config)
        facade.monitor_open_search_cluster(
            domain=domain,
            add_cluster_status_alarm={
                "Critical": mc.OpenSearchClusterStatusCustomization(status=mc.OpenSearchClusterStatus.RED),
                "Warning": mc.OpenSearchClusterStatusCustomization(status=mc.OpenSearchClusterStatus.YELLOW),
            },
            add_jvm_memory_pressure_alarm={
                "Warning": mc.UsageThreshold(max_usage_percent=config.opensearch_jvm_pressure_percent)
            },
            add_disk_space_usage_alarm={
                "Warning": mc.UsageThreshold(max_usage_percent=config.opensearch_disk_usage_percent)
            },
            add_cluster_index_writes_blocked_alarm={
                "Critical": mc.OpenSearchClusterIndexWritesBlockedThreshold(max_blocked_writes=0)
            },
        )
        facade.monitor_sqs_queue_with_dlq(
            queue=queue,
            dead_letter_queue=dead_letters,
            human_readable_name="Ingestion queue",
            add_dead_letter_queue_max_size_alarm={
                "Warning": mc.MaxMessageCountThreshold(max_message_count=0)
            },
        )
        for name, machine in state_machines.items():
            facade.monitor_step_function(
                state_machine=machine,
                human_readable_name=f"{name} pipeline",
                add_failed_execution_count_alarm={"Critical": mc.ErrorCountThreshold(max_error_count=0)},
            )
        self._monitor_endpoint(facade, config, endpoint_name)

    def _build_topic(self, config: MonitoringConfig) -> sns.Topic:
        key = kms.Key(
            self,
            "AlarmsKey",
            enable_key_rotation=True,
            description="genai-stack: alarm notifications",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # CloudWatch publishes alarm notifications, so it must be able to use the topic's key.
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True, display_name="genai-stack alarms")
        if config.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        return topic

    def _monitor_application(self, facade: mc.MonitoringFacade, config: MonitoringConfig) -> None:
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
                    title="Failures",
                    metrics=[
                        mc.CustomMetricWithAlarm(
                            metric=app_metric(MetricName.DEPENDENCY_FAILURES),
                            alarm_friendly_name=MetricName.DEPENDENCY_FAILURES.value,
                            add_alarm={
                                "Critical": mc.CustomThreshold(
                                    threshold=config.dependency_failures_per_5_minutes,
                                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                                    treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                                )
                            },
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
                            add_alarm={
                                "Warning": mc.CustomThreshold(
                                    threshold=threshold,
                                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                                    treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                                )
                            },
                        )
                        for name, threshold in hourly_alarm.items()
                    ],
                ),
            ],
        )

    def _monitor_endpoint(
        self, facade: mc.MonitoringFacade, config: MonitoringConfig, endpoint_name: str
    ) -> None:
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
                            add_alarm={
                                "Critical": mc.CustomThreshold(
                                    threshold=config.endpoint_5xx_per_5_minutes,
                                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                                    treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                                )
                            },
                        ),
                    ],
                ),
            ],
        )
