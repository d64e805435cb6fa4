"""Typed, validated view of the `cdk.json` context: every knob of the stack in one place.

This module must not import `aws_cdk`: `training_jobs.launch` reads the same training section
(instance types, image) to start jobs by hand, without the CDK installed. A bad value fails with
a message naming its key, e.g. `training.pretrain_instance_count: Input should be greater than or
equal to 2`.

Each section is a top-level context key (`"training": {...}`); `cdk synth -c training.use_spot=true`
overrides one field with a dotted key. Keys that are not ours (CDK feature flags, `aws:cdk:*`,
`acknowledged-issue-numbers`) are ignored; unknown fields inside our sections are errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from functions.contract import API_HANDLERS, ChatModelKind, EmbedderKind, GuardrailEngine, SpaceType
from functions.settings import TITAN_DIMENSIONS

DEFAULT_CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"

#: The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


class ConfigError(ValueError):
    """A context value is missing or invalid; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FunctionConfig(_Section):
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
    }


class ApiConfig(_Section):
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


class EdgeConfig(_Section):
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


class ModelsConfig(_Section):
    """Which adapters the Lambdas use for embeddings and answers, and their model ids."""

    embedder: Literal[EmbedderKind.BEDROCK, EmbedderKind.SAGEMAKER] = EmbedderKind.BEDROCK
    embedding_model_id: str = "amazon.titan-embed-text-v2:0"
    embedding_endpoint_name: str | None = None
    chat_model: Literal[ChatModelKind.BEDROCK, ChatModelKind.SAGEMAKER] = ChatModelKind.BEDROCK
    chat_model_id: str = "amazon.nova-lite-v1:0"

    @model_validator(mode="after")
    def _endpoint_when_sagemaker(self) -> Self:
        if self.embedder is EmbedderKind.SAGEMAKER and not self.embedding_endpoint_name:
            raise ValueError("embedding_endpoint_name is required when embedder is sagemaker")
        return self


class SearchConfig(_Section):
    """The OpenSearch domain and the k-NN index on it."""

    domain_name: str = Field(default="genai-stack", pattern=r"^[a-z][a-z0-9-]{2,27}$")
    engine_version: str = Field(default="3.3", pattern=r"^\d+\.\d+$")
    instance_type: str = Field(default="t3.medium.search", pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")
    data_nodes: int = Field(default=1, ge=1, le=80)
    volume_size_gb: int = Field(default=20, ge=10, le=3000)
    zone_awareness: bool = False
    availability_zones: Literal[2, 3] = 2
    dedicated_master_count: Literal[0, 3, 5] = 0
    dedicated_master_instance_type: str = Field(
        default="m7g.large.search", pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$"
    )
    index_name: str = Field(default="genai-stack-chunks", pattern=r"^[a-z0-9][a-z0-9_-]{0,254}$")
    dimension: int = Field(default=512, ge=1, le=16000, description="must be one the embedder gives")
    engine: Literal["faiss", "lucene"] = "faiss"
    space_type: SpaceType = SpaceType.INNER_PRODUCT
    m: int = Field(default=16, ge=2, le=100)
    ef_construction: int = Field(default=128, ge=2, le=4096)
    ef_search: int = Field(default=100, ge=2, le=4096)
    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _cluster_shape(self) -> Self:
        if self.zone_awareness and self.data_nodes % self.availability_zones:
            raise ValueError("data_nodes must be a multiple of availability_zones with zone_awareness")
        if self.replicas > self.data_nodes - 1:
            raise ValueError("replicas must be below data_nodes (a replica never shares a node)")
        return self


class IngestionConfig(_Section):
    """The ingest function that indexes new documents from the documents bucket."""

    memory_mb: int = Field(default=1769, ge=128, le=10240)
    timeout_seconds: int = Field(default=300, ge=10, le=900)
    batch_size: int = Field(default=10, ge=1, le=10000)
    max_concurrency: int = Field(default=2, ge=2, le=1000, description="caps the load on OpenSearch")
    max_receive_count: int = Field(default=3, ge=1, le=1000, description="tries before the DLQ")


class NetworkConfig(_Section):
    vpc_enabled: bool = Field(default=False, description="domain and Lambdas in private subnets")
    max_azs: int = Field(default=2, ge=2, le=3)
    nat_gateways: int = Field(default=1, ge=1, le=3)


class DataConfig(_Section):
    retention_days: int = Field(default=365, ge=1, le=3650, description="TTL of conversations, feedback")
    retain_on_delete: bool = Field(default=True, description="keep tables, buckets, keys on stack delete")
    log_retention_days: int = 30

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {sorted(LOG_RETENTION_DAYS)}")
        return value


class MonitoringConfig(_Section):
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


#: An ECR image; `{region}` stands for the stack's region.
ECR_IMAGE_PATTERN = r"^\d{12}\.dkr\.ecr\.(\{region\}|[a-z0-9-]+)\.amazonaws\.com/[a-z0-9._/-]+[:@][\w.:-]+$"


class ServingConfig(_Section):
    """The SageMaker endpoint that the training pipeline creates or updates on promotion."""

    endpoint_name: str = Field(default="genai-stack-chat", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    instance_type: str = Field(default="ml.g5.xlarge", pattern=r"^ml\.")
    instance_count: int = Field(default=1, ge=1)
    image_uri: str = Field(
        default=(
            "763104351884.dkr.ecr.{region}.amazonaws.com/"
            "huggingface-pytorch-tgi-inference:2.4.0-tgi2.3.1-gpu-py311-cu124-ubuntu22.04"
        ),
        pattern=ECR_IMAGE_PATTERN,
        description="{region} is replaced by the stack's region",
    )


class TrainingConfig(_Section):
    """The SageMaker jobs of the retraining and pretraining state machines."""

    data_instance_type: str = Field(
        default="ml.m5.2xlarge", pattern=r"^ml\.", description="dataset build (CPU)"
    )
    finetune_instance_type: str = Field(default="ml.g5.12xlarge", pattern=r"^ml\.")
    reward_instance_type: str = Field(default="ml.g5.12xlarge", pattern=r"^ml\.")
    policy_instance_type: str = Field(default="ml.g5.12xlarge", pattern=r"^ml\.")
    evaluation_instance_type: str = Field(default="ml.g5.2xlarge", pattern=r"^ml\.")
    pretrain_instance_type: str = Field(default="ml.p4d.24xlarge", pattern=r"^ml\.")
    pretrain_instance_count: int = Field(default=2, ge=2, le=100)
    use_spot: bool = False
    max_runtime_seconds: int = Field(default=86_400, ge=60, le=2_419_200)
    max_wait_seconds: int = Field(default=172_800, ge=60, le=2_419_200)
    volume_size_gb: int = Field(default=200, ge=1, le=16_384)
    image_uri: str = Field(
        default=(
            # an AWS PyTorch training image: FSDP2 (`fully_shard`) needs torch >= 2.6; the jobs
            # install the project's `training` extra (transformers 5, trl, peft) on top
            "763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:2.7.1-gpu-py312-cu128-ubuntu22.04-sagemaker"
        ),
        pattern=ECR_IMAGE_PATTERN,
        description="{region} is replaced by the stack's region",
    )
    min_improvement: float = Field(
        default=0.0, ge=0.0, description="margin on the evaluation's primary metric"
    )
    # The promotion gate's answer checks (functions/handlers/promotion_gate.py): floors on the
    # golden set's groundedness and hand-off correctness, and how far any gated answer figure may
    # fall below the serving model's. The extractive answerer scores 1.0 and 0.72 on the sample
    # knowledge base's set (data/qa/sample_kb.jsonl).
    min_groundedness: float = Field(default=0.8, ge=0.0, le=1.0)
    min_handoff_correctness: float = Field(default=0.7, ge=0.0, le=1.0)
    max_answer_regression: float = Field(default=0.0, ge=0.0, le=1.0)
    schedule_enabled: bool = False
    schedule_expression: str = Field(default="rate(7 days)", pattern=r"^(rate|cron)\(.+\)$")

    @model_validator(mode="after")
    def _spot_wait_covers_runtime(self) -> Self:
        if self.use_spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError("max_wait_seconds must be at least max_runtime_seconds with use_spot")
        return self


class GuardrailsConfig(_Section):
    """Which engine applies the guardrail policy file (issue 12): Bedrock creates the guardrail."""

    engine: GuardrailEngine = GuardrailEngine.EMBEDDED
    policy_path: Path | None = Field(default=None, description="default: functions/guardrails/policy.json")


class StackConfig(_Section):
    """Everything `GenAiStack` needs, read from the `cdk.json` context."""

    stack_name: str = Field(default="GenAiStack", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    skip_layer_bundling: bool = Field(default=False, description="tests: do not run pip for the layer")
    api: ApiConfig = Field(default_factory=ApiConfig)
    edge: EdgeConfig = Field(default_factory=EdgeConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    ingestion: IngestionConfig = Field(default_factory=IngestionConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)

    @model_validator(mode="after")
    def _index_fits_the_embedder(self) -> Self:
        if self.models.embedder is EmbedderKind.BEDROCK and self.search.dimension not in TITAN_DIMENSIONS:
            raise ValueError(
                f"search.dimension must be one of {TITAN_DIMENSIONS} with the Bedrock Titan embedder"
            )
        return self

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> StackConfig:
        """Validate our keys of a CDK context; dotted keys (`training.use_spot`) override one field."""
        values: dict[str, Any] = {}
        overrides = []
        for key, value in context.items():
            section = key.split(".", 1)[0]
            if section not in cls.model_fields:
                continue  # CDK feature flags and other tools' keys
            if "." in key:
                overrides.append((key.split("."), value))
            else:
                values[key] = _copy(value)
        for path, value in overrides:
            node = values
            for part in path[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"{'.'.join(path)}: {part} is not a section")
            node[path[-1]] = value
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigError(_describe(error)) from None


def load_context(path: str | Path = DEFAULT_CDK_JSON) -> dict[str, Any]:
    """The `context` object of a `cdk.json` file."""
    with Path(path).open(encoding="utf-8") as file:
        context = json.load(file).get("context", {})
    if not isinstance(context, dict):
        raise ConfigError(f"{path}: context must be an object")
    return context


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data, so overrides never write into the caller's mapping."""
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    return value


def _describe(error: ValidationError) -> str:
    lines = [
        f"{'.'.join(str(part) for part in item['loc']) or 'context'}: {item['msg']}"
        + (
            ""
            if isinstance(item["input"], dict) or item["type"] == "extra_forbidden"
            else f" (got {item['input']!r})"
        )
        for item in error.errors()
    ]
    return "invalid cdk.json context:\n  " + "\n  ".join(lines)
