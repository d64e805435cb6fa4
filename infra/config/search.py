"""The models the functions call, the OpenSearch domain and index, ingestion and the guardrails."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from functions.contract import ChatModelKind, EmbedderKind, GuardrailEngine, SpaceType
from infra.config.base import Section


class ModelsConfig(Section):
    """Which adapters the Lambdas use for embeddings and answers, and their model ids."""

    embedder: Literal[EmbedderKind.BEDROCK, EmbedderKind.SAGEMAKER] = EmbedderKind.BEDROCK
    embedding_model_id: str = "amazon.titan-embed-text-v2:0"
    embedding_endpoint_name: str | None = None
    chat_model: Literal[ChatModelKind.BEDROCK, ChatModelKind.SAGEMAKER, ChatModelKind.OPENAI] = (
        ChatModelKind.BEDROCK
    )
    chat_model_id: str = "amazon.nova-lite-v1:0"
    # chat_model "openai": an OpenAI-compatible server (vLLM, TGI, llama.cpp, a hosted API) the
    # query functions reach at this URL, serving this model; its API key is read from this
    # existing Secrets Manager secret (a plain-text secret), the only one the functions may read.
    openai_base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    openai_model: str | None = None
    openai_api_key_secret_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$"
    )
    rerank_model_id: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9-]+\.[a-z0-9.:-]+$",
        description="a Bedrock Rerank model (amazon.rerank-v1:0, cohere.rerank-v3-5:0); null: no reranker",
    )

    @model_validator(mode="after")
    def _endpoint_when_sagemaker(self) -> Self:
        if self.embedder is EmbedderKind.SAGEMAKER and not self.embedding_endpoint_name:
            raise ValueError("embedding_endpoint_name is required when embedder is sagemaker")
        if self.chat_model is ChatModelKind.OPENAI and not (self.openai_base_url and self.openai_model):
            raise ValueError("openai_base_url and openai_model are required when chat_model is openai")
        return self


class SearchConfig(Section):
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


class IngestionConfig(Section):
    """The ingest function that indexes new documents from the documents bucket."""

    memory_mb: int = Field(default=1769, ge=128, le=10240)
    timeout_seconds: int = Field(default=300, ge=10, le=900)
    batch_size: int = Field(default=10, ge=1, le=10000)
    max_concurrency: int = Field(default=2, ge=2, le=1000, description="caps the load on OpenSearch")
    max_receive_count: int = Field(default=3, ge=1, le=1000, description="tries before the DLQ")


class GuardrailsConfig(Section):
    """Which engine applies the guardrail policy file: Bedrock creates the guardrail."""

    engine: GuardrailEngine = GuardrailEngine.EMBEDDED
    policy_path: Path | None = Field(default=None, description="default: functions/guardrails/policy.json")
