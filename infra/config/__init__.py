"""Typed, validated view of the `cdk.json` context: every knob of the stack in one place.

This module must not import `aws_cdk`: `training_jobs.launch` reads the same training section
(instance types, image) to start jobs by hand, without the CDK installed. A bad value fails with
a message naming its key, e.g. `training.pretrain_instance_count: Input should be greater than or
equal to 2`.

The sections live beside this module, by concern (`api`, `search`, `platform`, `training`); this
module composes them and reads the context. Each section is a top-level context key
(`"training": {...}`); `cdk synth -c training.use_spot=true` overrides one field with a dotted
key. Keys that are not ours (CDK feature flags, `aws:cdk:*`, `acknowledged-issue-numbers`) are
ignored; unknown fields inside our sections are errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationError, model_validator

from functions.contract import EmbedderKind
from functions.settings import TITAN_DIMENSIONS
from infra.config.api import ApiConfig, EdgeConfig, FunctionConfig
from infra.config.base import ConfigError, Section
from infra.config.platform import LOG_RETENTION_DAYS, DataConfig, MonitoringConfig, NetworkConfig
from infra.config.search import GuardrailsConfig, IngestionConfig, ModelsConfig, SearchConfig
from infra.config.training import ECR_IMAGE_PATTERN, ServingConfig, TrainingConfig

__all__ = [
    "DEFAULT_CDK_JSON",
    "ECR_IMAGE_PATTERN",
    "LOG_RETENTION_DAYS",
    "ApiConfig",
    "ConfigError",
    "DataConfig",
    "EdgeConfig",
    "FunctionConfig",
    "GuardrailsConfig",
    "IngestionConfig",
    "ModelsConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "SearchConfig",
    "ServingConfig",
    "StackConfig",
    "TrainingConfig",
    "load_context",
]

DEFAULT_CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


class StackConfig(Section):
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
