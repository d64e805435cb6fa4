"""Powertools Logger, Tracer and Metrics, created once and imported everywhere.

In Lambda, metrics are flushed as CloudWatch EMF by the handler decorator; the local server
flushes them after each request, so the same EMF lines appear in its log. The tracer switches
itself off outside Lambda.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from functions.contract import METRICS_NAMESPACE, SERVICE_NAME

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
