"""The API functions' sizing and throttling, and the edge (CloudFront, WAF) in front of them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from functions.contract import API_HANDLERS
from infra.config.base import Section


class FunctionConfig(Section):
    """Sizing and per-route throttling of one API Lambda function."""

    memory_mb: int = Field(default=1024, ge=128, le=10240)
    timeout_seconds: int = Field(default=29, ge=1, le=29, description="API Gateway waits at most 29 s")
    reserved_concurrency: int | None = Field(
        default=5, ge=1, description="null leaves the function on the account's unreserved pool"
    )
    rate_limit: float = Field(default=10.0, gt=0, description="steady requests per second on the route")
    burst_limit: int = Field(default=20, ge=1)


def _default_functions() -> dict[str, FunctionConfig]:
    return {
        "query": FunctionConfig(memory_mb=1769, timeout_seconds=29, reserved_concurrency=20),
        "retrieval": FunctionConfig(memory_mb=1024, timeout_seconds=15),
        "guardrails": FunctionConfig(memory_mb=1024, timeout_seconds=10),
        "feedback": FunctionConfig(memory_mb=512, timeout_seconds=10),
        # erasure: rare; it rewrites the user's export objects, so it gets API Gateway's whole 29 s
        "privacy": FunctionConfig(
            memory_mb=512, timeout_seconds=29, reserved_concurrency=2, rate_limit=1.0, burst_limit=2
        ),
        "stats": FunctionConfig(
            memory_mb=512, timeout_seconds=29, reserved_concurrency=2, rate_limit=1.0, burst_limit=2
        ),
        # reviewers: a few people, one choice every few seconds each
        "review": FunctionConfig(
            memory_mb=512, timeout_seconds=10, reserved_concurrency=2, rate_limit=2.0, burst_limit=5
        ),
    }


class ApiConfig(Section):
    allowed_origins: tuple[str, ...] = ("http://localhost:8000",)
    functions: dict[str, FunctionConfig] = Field(default_factory=_default_functions)
    mfa_required: bool = Field(default=False, description="require MFA for every user of the pool")

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [origin for origin in value if not origin.startswith(("https://", "http://localhost"))]
        if bad:
            raise ValueError(f"origins must be https:// (or http://localhost), got {bad}")
        return value

    @field_validator("functions")
    @classmethod
    def _one_entry_per_handler(cls, value: dict[str, FunctionConfig]) -> dict[str, FunctionConfig]:
        if set(value) != set(API_HANDLERS):
            raise ValueError(f"needs exactly the handlers {list(API_HANDLERS)}, got {sorted(value)}")
        return value


class EdgeConfig(Section):
    """CloudFront and AWS WAF in front of the HTTP API (WAF cannot be attached to an HTTP API)."""

    enabled: bool = Field(default=True, description="the API's public URL is a CloudFront distribution")
    web_acl_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global/webacl/.+$",
        description="a CloudFront web ACL made in us-east-1; null: the stack makes one (us-east-1 only)",
    )
    requests_per_ip: int = Field(
        default=300, ge=10, le=2_000_000_000, description="per client IP in each rate window"
    )
    rate_window_seconds: Literal[60, 120, 300, 600] = 300
