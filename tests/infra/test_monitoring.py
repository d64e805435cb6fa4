"""Alarms exist for what breaks, and every one of them notifies the alarm topic."""

from __future__ import annotations

from typing import Any

from functions.contract import (
    GUARDRAIL_CATEGORIES,
    GUARDRAIL_CATEGORY_DIMENSION,
    INTENT_DIMENSION,
    METRICS_NAMESPACE,
    Intent,
    MetricName,
)
from tests.infra.conftest import Synthesized


def alarm_topic_id(stack: Synthesized) -> str:
    (topic_id,) = (lid for lid in stack.resources("AWS::SNS::Topic") if "Alarms" in lid)
    return topic_id


def alarms(stack: Synthesized) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in stack.resources("AWS::CloudWatch::Alarm").values()]


def test_every_alarm_notifies_the_alarm_topic(any_stack: Synthesized) -> None:
    topic = {"Ref": alarm_topic_id(any_stack)}

    assert all(alarm["AlarmActions"] == [topic] for alarm in alarms(any_stack))


def test_each_function_has_an_error_alarm(default_stack: Synthesized) -> None:
    functions = set(default_stack.resources("AWS::Lambda::Function")) - {
        lid
        for lid in default_stack.resources("AWS::Lambda::Function")
        if lid.startswith("BucketNotificationsHandler")
    }
    alarmed = {
        dimension["Value"]["Ref"]
        for alarm in alarms(default_stack)
        for metric in alarm.get("Metrics", [])
        if "MetricStat" in metric and metric["MetricStat"]["Metric"]["MetricName"] == "Errors"
        for dimension in metric["MetricStat"]["Metric"]["Dimensions"]
        if dimension["Name"] == "FunctionName"
    } | {
        dimension["Value"]["Ref"]
        for alarm in alarms(default_stack)
        if alarm.get("MetricName") == "Errors"
        for dimension in alarm.get("Dimensions", [])
        if dimension["Name"] == "FunctionName"
    }

    assert functions == alarmed


def test_what_breaks_is_alarmed(default_stack: Synthesized) -> None:
    watched = {(alarm.get("Namespace"), alarm.get("MetricName")) for alarm in alarms(default_stack)} | {
        (m["MetricStat"]["Metric"].get("Namespace"), m["MetricStat"]["Metric"]["MetricName"])
        for alarm in alarms(default_stack)
        for m in alarm.get("Metrics", [])
        if "MetricStat" in m
    }

    assert {
        ("AWS/ApiGateway", "5xx"),
        ("AWS/ES", "ClusterStatus.red"),
        ("AWS/ES", "JVMMemoryPressure"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/SageMaker", "Invocation5XXErrors"),
        (METRICS_NAMESPACE, MetricName.ESCALATIONS.value),
        (METRICS_NAMESPACE, MetricName.GUARDRAIL_BLOCKS.value),
        (METRICS_NAMESPACE, MetricName.DEPENDENCY_FAILURES.value),
    } <= watched


def test_the_configured_email_is_subscribed(default_stack: Synthesized, variant_stack: Synthesized) -> None:
    assert default_stack.resources("AWS::SNS::Subscription") == {}
    variant_stack.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": variant_stack.config.monitoring.alarm_email,
            "TopicArn": {"Ref": alarm_topic_id(variant_stack)},
        },
    )


def test_the_dashboard_draws_the_application_metrics(default_stack: Synthesized) -> None:
    (dashboard,) = default_stack.resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    text = body if isinstance(body, str) else "".join(p for p in body["Fn::Join"][1] if isinstance(p, str))

    for name in MetricName:
        assert f'"{name.value}"' in text, name


def test_the_dashboard_draws_guardrail_blocks_per_category(default_stack: Synthesized) -> None:
    (dashboard,) = default_stack.resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    text = body if isinstance(body, str) else "".join(p for p in body["Fn::Join"][1] if isinstance(p, str))
    assert "Guardrail blocks by category" in text
    for category in GUARDRAIL_CATEGORIES:
        assert f'"{GUARDRAIL_CATEGORY_DIMENSION}","{category}"' in text, category


def test_the_dashboard_draws_questions_per_intent(default_stack: Synthesized) -> None:
    (dashboard,) = default_stack.resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    text = body if isinstance(body, str) else "".join(p for p in body["Fn::Join"][1] if isinstance(p, str))
    assert "Questions by intent" in text
    for intent in Intent:
        assert (
            f'"{MetricName.INTENTS.value}","{INTENT_DIMENSION}","{intent.value}","service","genai-stack"'
            in text
        )
