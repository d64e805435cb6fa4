"""The network, the data stores' retention and removal, and the alarms' thresholds."""

from __future__ import annotations

from pydantic import Field, field_validator

from infra.config.base import Section

#: The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


class NetworkConfig(Section):
    vpc_enabled: bool = Field(default=False, description="domain and Lambdas in private subnets")
    max_azs: int = Field(default=2, ge=2, le=3)
    nat_gateways: int = Field(default=1, ge=1, le=3)


class DataConfig(Section):
    retention_days: int = Field(default=365, ge=1, le=3650, description="TTL of conversations, feedback")
    retain_on_delete: bool = Field(default=True, description="keep tables, buckets, keys on stack delete")
    log_retention_days: int = 30

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {sorted(LOG_RETENTION_DAYS)}")
        return value


class MonitoringConfig(Section):
    alarm_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    api_p99_latency_ms: int = Field(default=15000, ge=1)
    api_5xx_per_5_minutes: int = Field(default=5, ge=1)
    lambda_errors_per_5_minutes: int = Field(default=5, ge=1)
    escalations_per_hour: int = Field(default=20, ge=1)
    guardrail_blocks_per_hour: int = Field(default=50, ge=1)
    dependency_failures_per_5_minutes: int = Field(
        default=5, ge=1, description="503s: OpenSearch, Bedrock, ..."
    )
    opensearch_disk_usage_percent: int = Field(default=80, ge=1, le=100)
    opensearch_jvm_pressure_percent: int = Field(default=85, ge=1, le=100)
    endpoint_5xx_per_5_minutes: int = Field(default=5, ge=1)
