"""Evaluate a candidate model against the current one on held-out data: the retraining pipeline's
gate before a model is promoted.

Inputs: the candidate model folder, optionally the current (serving) model folder and a reward
model, and held-out data: an SFT set (chats) and/or preference pairs, as `genai-stack train data`
writes them (the `eval` split by default). Each model is measured the same way:
- `eval_loss`, `eval_perplexity`: mean negative log-likelihood per token of the held-out answers
  (comparable between models that share a tokenizer, as retrained models do);
- `answer_f1`: word-overlap F1 of greedy answers against the held-out answers;
- `preference_accuracy`: share of held-out pairs whose chosen answer has the higher mean
  log-probability per token than the rejected one;
- `reward_mean`: the reward model's mean score of greedy answers to every held-out prompt.
The current model's values carry a `current_` prefix; with a reward model and a current model,
`win_rate` is the share of prompts where the candidate's answer scores higher (ties count half).

With a knowledge base and a golden question-and-answer set (channels `kb` and `golden`; with
`--tiny`, a tiny pair built on the spot), each model also answers the golden questions through the
whole answer pipeline (`training_jobs.answers`): `answers_<figure>` (and `current_answers_<figure>`)
are `genai-stack eval answers`' figures: retrieval hit rate, key-fact match, groundedness, citation
correctness, hand-off correctness. The promotion gate refuses a candidate that loses to the
serving model on them or misses the floors on groundedness and hand-off correctness.

`evaluation.json` in the output folder is one flat JSON object: `primary_metric` names the metric
that decides (`reward_mean` with a reward model, else `eval_loss` with an SFT set, else
`preference_accuracy`), `higher_is_better` says its direction, and with a current model
`candidate_is_better` is the verdict on it.

Usage:
    python -m training_jobs.evaluate --tiny --output_dir outputs/evaluate
    python -m training_jobs.evaluate --model_name_or_path outputs/policy --current_model_name_or_path \\
        outputs/finetune --reward_model_name_or_path outputs/reward --sft_dir outputs/data/sft \\
        --preference_dir outputs/data/preference --output_dir outputs/evaluate
    genai-stack train evaluate --tiny

On SageMaker the inputs come from the channels `model`, `current_model`, `reward_model`, `sft`,
`preference`, `kb` and `golden`; `evaluation.json` is written to SM_MODEL_DIR.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training_jobs.common.args import JobArguments, make_job_parser, run_job
from training_jobs.common.sagemaker import MissingInputError, SageMakerEnvironment

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase
    from trl.scripts.utils import TrlParser

logger = logging.getLogger(__name__)

EVALUATION_FILE = "evaluation.json"
Messages = list[dict[str, str]]


@dataclass
class EvaluateArguments(JobArguments):
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Candidate model folder. Default: channel 'model'; with --tiny, a tiny base."},
    )
    current_model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "The model serving now, to compare with. Default: channel 'current_model'."},
    )
    reward_model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Reward model for reward_mean and win_rate. Default: channel 'reward_model'."},
    )
    sft_dir: str | None = field(default=None, metadata={"help": "SFT set folder. Default: channel 'sft'."})
    preference_dir: str | None = field(
        default=None, metadata={"help": "Preference pairs folder. Default: channel 'preference'."}
    )
    kb_dir: str | None = field(
        default=None, metadata={"help": "Knowledge-base folder for answer evaluation. Default: channel 'kb'."}
    )
    golden_set: str | None = field(
        default=None,
        metadata={
            "help": "Golden question-and-answer set (a JSONL file, or a folder holding one) for answer "
            "evaluation. Default: channel 'golden'."
        },
    )
    max_golden_questions: int = field(
        default=0, metadata={"help": "Answer at most this many golden questions (0: all)."}
    )
    split: str = field(default="eval", metadata={"help": "Which split of the data sets to evaluate on."})
    max_examples: int = field(
        default=64, metadata={"help": "At most this many chats, pairs and prompts each."}
    )
    max_new_tokens: int = field(default=128, metadata={"help": "Longest generated answer."})
    max_length: int = field(default=1024, metadata={"help": "Longest scored sequence, in tokens."})


TINY: dict[str, Any] = {"max_examples": 8, "max_new_tokens": 16, "max_length": 256, "max_golden_questions": 6}


@dataclass(frozen=True)
class HeldOut:
    """What every model is measured on."""

    chats: list[tuple[Messages, str]]  # prompt, reference answer
    pairs: list[tuple[Messages, str, str]]  # prompt, chosen, rejected
    prompts: list[Messages]  # every distinct prompt, chats' first


def main(args: EvaluateArguments) -> dict[str, Any]:
    """Measure the candidate (and the current model), write `evaluation.json`; returns its content."""
    from training_jobs.common.models import load_causal_lm, load_reward_model, write_report
    from training_jobs.common.tiny import apply_tiny, tiny_inputs
    from training_jobs.data.build import tiny_datasets
    from training_jobs.pretrain.train import tiny_base_model

    if args.tiny:
        apply_tiny(TINY, args)
    env = SageMakerEnvironment.from_environ()
    output_dir = env.output_dir(args.output_dir, "evaluate")
    root = tiny_inputs(output_dir)
    candidate = env.require_channel(
        "model",
        args.model_name_or_path,
        "--model_name_or_path",
        (lambda: tiny_base_model(root)) if args.tiny else None,
    )
    current = env.channel("current_model", args.current_model_name_or_path)
    reward_path = env.channel("reward_model", args.reward_model_name_or_path)
    sft_dir = env.channel("sft", args.sft_dir)
    preference_dir = env.channel("preference", args.preference_dir)
    if args.tiny and sft_dir is None and preference_dir is None:
        sft_dir, preference_dir = tiny_datasets(root) / "sft", tiny_datasets(root) / "preference"
    held_out = _held_out(sft_dir, preference_dir, args.split, args.max_examples)

    reward = load_reward_model(reward_path) if reward_path is not None else None
    results: dict[str, Any] = {
        "candidate_model": str(candidate),
        "current_model": str(current) if current else None,
    }
    candidate_metrics, candidate_rewards = _measure(
        load_causal_lm(candidate), candidate, held_out, reward, args
    )
    results |= candidate_metrics
    primary, higher_is_better = _primary(candidate_metrics)
    results |= {"primary_metric": primary, "higher_is_better": higher_is_better}
    if current is not None:
        current_metrics, current_rewards = _measure(load_causal_lm(current), current, held_out, reward, args)
        results |= {f"current_{name}": value for name, value in current_metrics.items()}
        if reward is not None:
            wins = [
                1.0 if c > o else 0.5 if c == o else 0.0
                for c, o in zip(candidate_rewards, current_rewards, strict=True)
            ]
            results["win_rate"] = sum(wins) / len(wins)
        mine, theirs = results[primary], results[f"current_{primary}"]
        results["candidate_is_better"] = mine > theirs if higher_is_better else mine < theirs
    results |= _answer_evaluation(env, args, root, {"": candidate, "current_": current})
    write_report(output_dir, results, EVALUATION_FILE)
    return results


def _answer_evaluation(
    env: SageMakerEnvironment,
    args: EvaluateArguments,
    root: Path,
    models: dict[str, Path | None],
) -> dict[str, float | int | None]:
    """The golden set's answer figures per model; none without a knowledge base and a golden set."""
    from training_jobs.answers import answer_figures, tiny_golden_set

    kb_dir, golden = env.channel("kb", args.kb_dir), env.channel("golden", args.golden_set)
    if args.tiny and kb_dir is None and golden is None:
        kb_dir, golden = tiny_golden_set(root)
    if kb_dir is None and golden is None:
        return {}
    if kb_dir is None or golden is None:
        raise MissingInputError(
            "answer evaluation needs both a knowledge base (--kb_dir, channel 'kb') and a golden set "
            "(--golden_set, channel 'golden')"
        )
    if golden.is_dir():
        found = sorted(golden.rglob("*.jsonl"))
        if not found:
            raise MissingInputError(f"no golden set (*.jsonl) in {golden}")
        golden = found[0]
    present = {prefix: path for prefix, path in models.items() if path is not None}
    return answer_figures(
        present,
        kb_dir,
        golden,
        limit=args.max_golden_questions,
        max_new_tokens=args.max_new_tokens,
    )


def _held_out(sft_dir: Path | None, preference_dir: Path | None, split: str, limit: int) -> HeldOut:
    from training_jobs.common.trainer import load_chat_set, load_preference_set

    if sft_dir is None and preference_dir is None:
        raise MissingInputError(
            "no held-out data: pass --sft_dir and/or --preference_dir, or attach the SageMaker channels "
            "'sft' and/or 'preference'"
        )
    chats = (
        [(row["prompt"], row["completion"][0]["content"]) for row in load_chat_set(sft_dir, split)[:limit]]
        if sft_dir
        else []
    )
    pairs = (
        [
            (row["prompt"], row["chosen"][-1]["content"], row["rejected"][-1]["content"])
            for row in load_preference_set(preference_dir, split)[:limit]
        ]
        if preference_dir
        else []
    )
    prompts: dict[str, Messages] = {}
    for prompt in [chat[0] for chat in chats] + [pair[0] for pair in pairs]:
        prompts.setdefault(repr(prompt), prompt)
    return HeldOut(chats, pairs, list(prompts.values())[:limit])


def _measure(
    model: PreTrainedModel,
    path: Path,
    held_out: HeldOut,
    reward: tuple[PreTrainedModel, PreTrainedTokenizerBase] | None,
    args: EvaluateArguments,
) -> tuple[dict[str, float], list[float]]:
    """One model's metrics, and its reward per prompt (empty without a reward model)."""
    from transformers import AutoTokenizer

    from training_jobs.common.evaluation import completion_logprobs, generate_answers, reward_scores, token_f1

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    metrics: dict[str, float] = {}
    answers = generate_answers(model, tokenizer, held_out.prompts, max_new_tokens=args.max_new_tokens)
    if held_out.chats:
        scored = completion_logprobs(
            model,
            tokenizer,
            [c[0] for c in held_out.chats],
            [c[1] for c in held_out.chats],
            max_length=args.max_length,
        )
        loss = -sum(total for total, _ in scored) / max(1, sum(count for _, count in scored))
        references = dict(
            zip([repr(c[0]) for c in held_out.chats], [c[1] for c in held_out.chats], strict=True)
        )
        f1 = [
            token_f1(a, references[repr(p)])
            for p, a in zip(held_out.prompts, answers, strict=True)
            if repr(p) in references
        ]
        metrics |= {"eval_loss": loss, "eval_perplexity": math.exp(loss), "answer_f1": sum(f1) / len(f1)}
    if held_out.pairs:
        prompts = [p[0] for p in held_out.pairs]
        chosen = completion_logprobs(
            model, tokenizer, prompts, [p[1] for p in held_out.pairs], max_length=args.max_length
        )
        rejected = completion_logprobs(
            model, tokenizer, prompts, [p[2] for p in held_out.pairs], max_length=args.max_length
        )
        wins = [c / max(1, cn) > r / max(1, rn) for (c, cn), (r, rn) in zip(chosen, rejected, strict=True)]
        metrics["preference_accuracy"] = sum(wins) / len(wins)
    rewards: list[float] = []
    if reward is not None:
        reward_model, reward_tokenizer = reward
        rewards = reward_scores(
            reward_model, reward_tokenizer, held_out.prompts, answers, max_length=args.max_length
        )
        metrics["reward_mean"] = sum(rewards) / len(rewards)
    metrics["examples"] = len(held_out.prompts)
    return metrics, rewards


def _primary(metrics: dict[str, float]) -> tuple[str, bool]:
    """The deciding metric and whether higher is better."""
    if "reward_mean" in metrics:
        return "reward_mean", True
    if "eval_loss" in metrics:
        return "eval_loss", False
    return "preference_accuracy", True


def make_parser(prog: str | None = None, argv: Sequence[str] = ()) -> TrlParser:
    """The job's flags (`argv` is unused: its `--tiny` preset is applied in `main`)."""
    return make_job_parser(prog, __doc__, EvaluateArguments)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    return run_job(make_parser, main, argv, prog)


if __name__ == "__main__":
    raise SystemExit(cli())
