"""Powertools Logger, Tracer and Metrics, created once and imported everywhere.

In Lambda, metrics are flushed as CloudWatch EMF by the handler decorator; the local server
flushes them after each request, so the same EMF lines appear in its log. The tracer switches
itself off outside Lambda. The other commands of `genai-stack` switch metrics off
(`POWERTOOLS_METRICS_DISABLED`): their output is the answer or the report.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from functions.contract import METRICS_NAMESPACE, SERVICE_NAME


class _SwitchableMetrics(Metrics):
    """Powertools' Metrics, with `POWERTOOLS_METRICS_DISABLED` honoured when values are added.

    Powertools 3 checks the switch only in `flush_metrics`: `add_metric` still prints the set once
    a metric holds 100 values, which put an EMF line into `genai-stack eval`'s JSON report, and a
    disabled set that is never flushed would only grow.
    """

    def add_metric(
        self, name: str, unit: MetricUnit | str, value: float, resolution: MetricResolution | int = 60
    ) -> None:
        if not is_metrics_disabled():
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)


logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = _SwitchableMetrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)


def add_metric_by(dimension: str, dimension_value: str, name: str, unit: MetricUnit, value: float) -> None:
    """One value of a metric with its own dimension (written at once as its own EMF line): the
    metric set's dimensions are shared by all its metrics, so a per-value dimension cannot go there."""
    if is_metrics_disabled():
        return
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE_NAME},
    ) as metric:
        metric.add_dimension(name=dimension, value=dimension_value)
