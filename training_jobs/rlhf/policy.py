"""Policy optimization against the trained reward model, with a KL tie to the SFT reference.

trl removed `PPOTrainer` after 1.12; its maintained successors are used instead, chosen with
`--algorithm`:
- `grpo` (GRPOTrainer): PPO's clipped objective with group-relative advantages (each prompt is
  answered `--num_generations` times and each answer is scored against the group's mean), no
  value model;
- `rloo` (RLOOTrainer): REINFORCE with a leave-one-out baseline over the same groups.
The reward of an answer is the reward model's score (`AutoModelForSequenceClassification`). The
KL penalty `--beta` (must be > 0; default 0.05) ties the policy to the reference model, which is
the starting SFT model (trl loads a frozen copy, or disables the adapter with `--use_peft`).
Prompts are the user turns of the preference set. `metrics.json` reports the reward model's mean
score of greedy answers to the held-out prompts, before and after training.

Usage:
    python -m training_jobs.rlhf.policy --tiny --output_dir outputs/policy
    python -m training_jobs.rlhf.policy --algorithm rloo --model_name_or_path outputs/finetune \\
        --reward_model_name_or_path outputs/reward --data_dir outputs/data/preference \\
        --output_dir outputs/policy
    genai-stack train policy --tiny --algorithm rloo

On SageMaker the SFT model comes from the channel `model`, the reward model from the channel
`reward_model` and the prompts from the channel `preference`.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from training_jobs.common.args import run_job
from training_jobs.common.sagemaker import InputError, SageMakerEnvironment
from training_jobs.common.trainer import TINY_TRAINER, TrainerJobArguments

if TYPE_CHECKING:
    from transformers import PreTrainedModel
    from trl.scripts.utils import TrlParser
    from trl.trainer.grpo_config import GRPOConfig
    from trl.trainer.model_config import ModelConfig
    from trl.trainer.rloo_config import RLOOConfig

Algorithm = Literal["grpo", "rloo"]


@dataclass
class PolicyArguments(TrainerJobArguments):
    reward_model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Reward model folder. Default: channel 'reward_model'; with --tiny, a tiny reward model."
        },
    )
    algorithm: Algorithm = field(
        default="grpo",
        metadata={"help": "Policy optimization algorithm; its trl config's flags are this job's flags."},
    )
    max_eval_prompts: int = field(default=32, metadata={"help": "Held-out prompts answered and scored."})


#: Where this job differs from trl's GRPO and RLOO defaults: a KL tie (trl's default beta is 0
#: for GRPO), smaller groups and shorter answers.
DEFAULTS: dict[str, Any] = {
    "beta": 0.05,
    "num_generations": 4,
    "max_completion_length": 128,
    "learning_rate": 1e-6,
}

TINY: dict[str, Any] = {
    **TINY_TRAINER,
    "num_generations": 2,
    "max_completion_length": 8,
    "learning_rate": 1e-4,
    "max_eval_prompts": 4,
}


def main(args: PolicyArguments, config: GRPOConfig | RLOOConfig, model_args: ModelConfig) -> dict[str, Any]:
    """Optimise the policy, score held-out answers before and after, save; returns the metrics
    (empty on the other ranks of a torchrun job)."""
    from datasets import Dataset
    from trl.trainer.grpo_trainer import GRPOTrainer
    from trl.trainer.rloo_trainer import RLOOTrainer
    from trl.trainer.utils import get_peft_config

    from training_jobs.common.evaluation import generate_answers, reward_scores
    from training_jobs.common.lora import quantization_config, save_trained
    from training_jobs.common.models import load_causal_lm, load_reward_model, write_report
    from training_jobs.common.tiny import one_thread, tiny_inputs
    from training_jobs.common.trainer import (
        is_main_process,
        last_checkpoint,
        prepare_preference_job,
        trained_model,
    )
    from training_jobs.data.build import tiny_datasets
    from training_jobs.pretrain.train import tiny_base_model
    from training_jobs.rlhf.reward import tiny_reward_model

    if args.tiny:
        one_thread()
    max_completion_length = config.max_completion_length
    if max_completion_length is None:
        raise InputError("--max_completion_length: the held-out answers need a length limit")
    if config.beta <= 0:
        raise InputError(
            "--beta must be > 0: the KL tie to the SFT reference keeps the policy from reward hacking"
        )
    job = prepare_preference_job(
        args, config, model_args, tiny_model=tiny_base_model, tiny_datasets=tiny_datasets
    )
    paths, tokenizer = job.paths, job.tokenizer
    reward_path = SageMakerEnvironment.from_environ().require_channel(
        "reward_model",
        args.reward_model_name_or_path,
        "--reward_model_name_or_path",
        (lambda: tiny_reward_model(tiny_inputs(paths.output_dir))) if args.tiny else None,
    )
    train_prompts = _prompts(job.train_rows)
    eval_prompts = _prompts(job.eval_rows)[: args.max_eval_prompts]
    reward_model, reward_tokenizer = load_reward_model(reward_path)

    def held_out_reward(policy: PreTrainedModel) -> float:
        policy.eval()  # type: ignore[no-untyped-call, unused-ignore]  # transformers: PreTrainedModel.eval is untyped
        answers = generate_answers(policy, tokenizer, eval_prompts, max_new_tokens=max_completion_length)
        scores = reward_scores(reward_model, reward_tokenizer, eval_prompts, answers)
        return sum(scores) / len(scores)

    main_process = is_main_process()
    reward_before = held_out_reward(load_causal_lm(paths.model)) if main_process else math.nan
    trainer_class = {"grpo": GRPOTrainer, "rloo": RLOOTrainer}[args.algorithm]
    trainer = trainer_class(
        model=str(paths.model),
        reward_funcs=reward_model,
        reward_processing_classes=reward_tokenizer,
        args=config,
        train_dataset=Dataset.from_list([{"prompt": prompt} for prompt in train_prompts]),
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        quantization_config=quantization_config(model_args),
    )
    train_result = trainer.train(resume_from_checkpoint=last_checkpoint(paths.checkpoint_dir))
    if not main_process:
        return {}
    model = trained_model(trainer)
    reward_after = held_out_reward(model)
    saved = save_trained(model, tokenizer, paths.model, args.merge_adapter, paths.output_dir)
    metrics = {
        "algorithm": args.algorithm,
        "beta": config.beta,
        "train_loss": train_result.training_loss,
        "eval_reward_before": reward_before,
        "eval_reward_after": reward_after,
        "train_prompts": len(train_prompts),
        "eval_prompts": len(eval_prompts),
        "saved": saved,
        "base_model": str(paths.model),
        "reward_model": str(reward_path),
    }
    write_report(paths.output_dir, metrics)
    return metrics


def _prompts(pairs: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
    """The distinct prompts of a preference set, in order."""
    seen: dict[str, list[dict[str, str]]] = {}
    for pair in pairs:
        seen.setdefault(repr(pair["prompt"]), pair["prompt"])
    return list(seen.values())


def make_parser(prog: str | None = None, argv: Sequence[str] = ()) -> TrlParser:
    """The flags of the algorithm that `argv` asks for (default GRPO): its trl config's."""
    import argparse

    from trl.trainer.grpo_config import GRPOConfig
    from trl.trainer.rloo_config import RLOOConfig

    from training_jobs.common.trainer import make_trainer_parser

    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--algorithm", choices=typing.get_args(Algorithm), default="grpo")
    algorithm: Algorithm = peek.parse_known_args(list(argv))[0].algorithm
    config_class = {"grpo": GRPOConfig, "rloo": RLOOConfig}[algorithm]
    return make_trainer_parser(prog, __doc__, argv, "policy", PolicyArguments, config_class, DEFAULTS, TINY)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_job(make_parser, main, argv, prog)


if __name__ == "__main__":
    raise SystemExit(cli())
