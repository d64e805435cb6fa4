"""The one catalogue of training jobs, read by the CDK pipeline (`infra.training`), `launch`, the
CLI and the tests: each job's module, input channels, launcher, instance-type key and code.

Standard library only: the stack reads it at synthesis and a job's container at start, neither
with the training dependencies installed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: What every job's code channel holds: the training package and the modules of `functions` it
#: shares with the runtime: the interaction record and the PII redactor, and the answer path the
#: evaluation job runs golden questions through (settings, services, retrieval, guardrails,
#: ingestion, chat models), never the HTTP face (api/, handlers/). Paths relative to the
#: repository root; a folder means all of its files.
CODE = (
    "training_jobs",
    *(
        f"functions/{module}.py"
        for module in (
            "__init__",
            "aws",
            "contract",
            "customers",
            "errors",
            "evaluation",
            "evaluation_answers",
            "evaluation_judge",
            "guests",
            "observability",
            "services",
            "settings",
            "text",
        )
    ),
    *(
        f"functions/{package}"
        for package in ("feedback", "guardrails", "ingest", "intents", "limits", "privacy", "rag")
    ),
)

#: Where `launch --tiny` runs a job: a smoke test of the SageMaker wiring, no GPU needed.
TINY_INSTANCE_TYPE = "ml.m5.xlarge"


@dataclass(frozen=True)
class Job:
    """One job: the module SageMaker runs and the CLI imports, and how it is launched."""

    name: str  # the CLI's name, and the suffix of its SageMaker job names (`genai-<uuid>-<name>`)
    module: str
    summary: str
    channels: tuple[str, ...]  # the SageMaker input channels it reads
    instance_type_key: str  # its field of infra.config.TrainingConfig
    torchrun: bool  # run under torchrun on SageMaker: all GPUs of every node

    @property
    def entry_script(self) -> str:
        """The module as a path relative to the repository root (SourceCode.entry_script)."""
        return self.module.replace(".", "/") + ".py"

    def instance_type(self, training_config: object) -> str:
        """Its instance type in the CDK configuration's training section (infra.config.TrainingConfig)."""
        value = getattr(training_config, self.instance_type_key)
        if not isinstance(value, str):
            raise TypeError(f"training.{self.instance_type_key} is not an instance type: {value!r}")
        return value


def training_requirements() -> str:
    """The `training` extra of pyproject.toml, with the runtime's core and `local` dependencies
    the evaluation job's answer pipeline needs (the embedded store, MiniLM), as a requirements
    file; without torch, since the training image's torch is built for its CUDA, and without the
    local server."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    extras = project["optional-dependencies"]
    requirements: dict[str, str] = {}
    for requirement in [*extras["training"], *project["dependencies"], *extras["local"]]:
        name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()
        if name not in {"torch", "uvicorn"}:
            requirements.setdefault(name, requirement)
    return "".join(f"{requirement}\n" for requirement in requirements.values())


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "data",
            "training_jobs.data.build",
            "build SFT chats, preference pairs and a pretraining corpus from an interaction export",
            ("export", "kb"),
            "data_instance_type",
            torchrun=False,
        ),
        Job(
            "pretrain",
            "training_jobs.pretrain.train",
            "pretrain a Llama-style model from scratch (torchrun: DDP or FSDP2)",
            ("corpus",),
            "pretrain_instance_type",
            torchrun=True,
        ),
        Job(
            "finetune",
            "training_jobs.finetune.sft",
            "supervised fine-tuning with LoRA or QLoRA",
            ("model", "sft"),
            "finetune_instance_type",
            torchrun=True,
        ),
        Job(
            "reward",
            "training_jobs.rlhf.reward",
            "train a reward model on preference pairs",
            ("model", "preference"),
            "reward_instance_type",
            torchrun=True,
        ),
        Job(
            "policy",
            "training_jobs.rlhf.policy",
            "policy optimization (GRPO or RLOO) against the reward model, KL-tied to the SFT model",
            ("model", "reward_model", "preference"),
            "policy_instance_type",
            torchrun=True,
        ),
        Job(
            "dpo",
            "training_jobs.rlhf.dpo",
            "direct preference optimization on preference pairs",
            ("model", "preference"),
            "policy_instance_type",
            torchrun=True,
        ),
        Job(
            "evaluate",
            "training_jobs.evaluate",
            "compare a candidate model with the current one on held-out data and golden questions",
            ("model", "current_model", "reward_model", "sft", "preference", "kb", "golden"),
            "evaluation_instance_type",
            torchrun=False,
        ),
    )
}
