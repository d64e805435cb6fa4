"""The training jobs by name: their modules, inputs and SageMaker defaults, for the CLI and launch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """One job: the module SageMaker runs and the CLI imports, and how it is launched."""

    module: str
    summary: str
    channels: tuple[str, ...]  # the SageMaker input channels it reads
    instance_type_key: str | None  # its field of infra.config.TrainingConfig, if it has one
    torchrun: bool  # run under torchrun on SageMaker: all GPUs of every node

    @property
    def entry_script(self) -> str:
        """The module as a path relative to the repository root (SourceCode.entry_script)."""
        return self.module.replace(".", "/") + ".py"


#: The data job is light CPU work with no key in the CDK configuration.
DATA_INSTANCE_TYPE = "ml.m5.2xlarge"
#: Where `launch --tiny` runs a job: a smoke test of the SageMaker wiring, no GPU needed.
TINY_INSTANCE_TYPE = "ml.m5.xlarge"

JOBS: dict[str, Job] = {
    "data": Job(
        "training_jobs.data.build",
        "build SFT chats, preference pairs and a pretraining corpus from an interaction export",
        ("export", "kb"),
        None,
        torchrun=False,
    ),
    "pretrain": Job(
        "training_jobs.pretrain.train",
        "pretrain a Llama-style model from scratch (torchrun: DDP or FSDP2)",
        ("corpus",),
        "pretrain_instance_type",
        torchrun=True,
    ),
    "finetune": Job(
        "training_jobs.finetune.sft",
        "supervised fine-tuning with LoRA or QLoRA",
        ("model", "sft"),
        "finetune_instance_type",
        torchrun=True,
    ),
    "reward": Job(
        "training_jobs.rlhf.reward",
        "train a reward model on preference pairs",
        ("model", "preference"),
        "reward_instance_type",
        torchrun=True,
    ),
    "policy": Job(
        "training_jobs.rlhf.policy",
        "policy optimization (GRPO or RLOO) against the reward model, KL-tied to the SFT model",
        ("model", "reward_model", "preference"),
        "policy_instance_type",
        torchrun=True,
    ),
    "dpo": Job(
        "training_jobs.rlhf.dpo",
        "direct preference optimization on preference pairs",
        ("model", "preference"),
        "policy_instance_type",
        torchrun=True,
    ),
    "evaluate": Job(
        "training_jobs.evaluate",
        "compare a candidate model with the current one on held-out data",
        ("model", "current_model", "reward_model", "sft", "preference"),
        "evaluation_instance_type",
        torchrun=False,
    ),
}
