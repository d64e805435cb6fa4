"""One dashboard and the alarms, built with cdk-monitoring-constructs, notifying an SNS topic.

AWS metrics come from the library's monitors (API, Lambda, OpenSearch, SQS, Step Functions); the
application's own metrics and the SageMaker endpoint are custom groups (`infra.custom_metrics`).
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_monitoring_constructs as mc
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import MonitoringConfig
from infra.custom_metrics import monitor_application, monitor_endpoint


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
        monitor_application(facade, config)
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
        monitor_endpoint(facade, config, endpoint_name)

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
