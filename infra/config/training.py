"""The SageMaker training jobs and the endpoint a promoted model serves from."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from infra.config.base import Section

#: An ECR image; `{region}` stands for the stack's region.
ECR_IMAGE_PATTERN = r"^\d{12}\.dkr\.ecr\.(\{region\}|[a-z0-9-]+)\.amazonaws\.com/[a-z0-9._/-]+[:@][\w.:-]+$"


class ServingConfig(Section):
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


class TrainingConfig(Section):
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
    # fall below the serving model's (`genai-stack eval answers` measures them on a QA set).
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
