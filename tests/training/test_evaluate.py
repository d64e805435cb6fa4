"""The retraining pipeline's evaluation step and the format of evaluation.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from functions.contract import GATED_ANSWER_FIGURES
from training_jobs.common.sagemaker import MissingInputError
from training_jobs.evaluate import EVALUATION_FILE, TINY, EvaluateArguments, main


def test_candidate_against_current_model_with_a_reward_model(
    tmp_path: Path, datasets_dir: Path, dpo_adapter: Path, sft_model: Path, reward_model: Path
) -> None:
    result = main(
        EvaluateArguments(
            tiny=True,
            model_name_or_path=str(dpo_adapter),  # an adapter: merged into its base to be measured
            current_model_name_or_path=str(sft_model),
            reward_model_name_or_path=str(reward_model),
            sft_dir=str(datasets_dir / "sft"),
            preference_dir=str(datasets_dir / "preference"),
            output_dir=str(tmp_path),
        )
    )
    assert json.loads((tmp_path / EVALUATION_FILE).read_text()) == result
    assert (result["primary_metric"], result["higher_is_better"]) == ("reward_mean", True)
    assert result["candidate_is_better"] == (result["reward_mean"] > result["current_reward_mean"])
    # each prompt is a win, a tie (half) or a loss
    assert (result["win_rate"] * 2 * result["examples"]) == pytest.approx(
        round(result["win_rate"] * 2 * result["examples"])
    )
    for prefix in ("", "current_"):
        assert math.isfinite(result[f"{prefix}eval_loss"])
        assert result[f"{prefix}eval_perplexity"] == pytest.approx(math.exp(result[f"{prefix}eval_loss"]))
    assert all(not isinstance(value, dict | list) for value in result.values())  # flat, for the Lambda
    # both models answered the tiny golden set through the answer pipeline
    assert result["answers_questions"] == TINY["max_golden_questions"]
    for prefix in ("", "current_"):
        for figure in GATED_ANSWER_FIGURES:
            value = result[f"{prefix}answers_{figure}"]
            assert value is None or 0.0 <= value <= 1.0, (prefix, figure)


def test_a_model_compared_with_itself_ties(
    tmp_path: Path, datasets_dir: Path, sft_model: Path, reward_model: Path
) -> None:
    result = main(
        EvaluateArguments(
            tiny=True,
            model_name_or_path=str(sft_model),
            current_model_name_or_path=str(sft_model),
            reward_model_name_or_path=str(reward_model),
            sft_dir=str(datasets_dir / "sft"),
            preference_dir=str(datasets_dir / "preference"),
            output_dir=str(tmp_path),
        )
    )
    for metric in ("eval_loss", "answer_f1", "preference_accuracy", "reward_mean"):
        assert result[metric] == pytest.approx(result[f"current_{metric}"]), metric
    for figure in GATED_ANSWER_FIGURES:  # greedy answers to the golden set are the same too
        assert result[f"answers_{figure}"] == result[f"current_answers_{figure}"], figure
    assert result["win_rate"] == 0.5  # greedy answers are the same: every prompt is a tie
    assert result["candidate_is_better"] is False


def test_preference_accuracy_is_the_share_of_pairs_whose_chosen_answer_is_likelier(
    tmp_path: Path, datasets_dir: Path, sft_model: Path
) -> None:
    """Swapping chosen and rejected answers turns the share into its complement."""
    from training_jobs.common.jsonl import read_jsonl, write_jsonl

    pairs = read_jsonl(datasets_dir / "preference" / "eval.jsonl")
    swapped = [{**pair, "chosen": pair["rejected"], "rejected": pair["chosen"]} for pair in pairs]
    write_jsonl(tmp_path / "swapped" / "eval.jsonl", swapped)
    accuracy = {}
    for name, directory in (("original", datasets_dir / "preference"), ("swapped", tmp_path / "swapped")):
        accuracy[name] = main(
            EvaluateArguments(
                tiny=True,
                model_name_or_path=str(sft_model),
                preference_dir=str(directory),
                output_dir=str(tmp_path / name),
            )
        )["preference_accuracy"]
    assert accuracy["original"] + accuracy["swapped"] == pytest.approx(1.0)
    scored = len(pairs[: TINY["max_examples"]])
    assert accuracy["original"] * scored == pytest.approx(round(accuracy["original"] * scored))


def test_without_a_reward_model_the_held_out_loss_decides(
    tmp_path: Path, datasets_dir: Path, sft_model: Path, pretrained: Path
) -> None:
    result = main(
        EvaluateArguments(
            tiny=True,
            model_name_or_path=str(sft_model),
            current_model_name_or_path=str(pretrained),
            sft_dir=str(datasets_dir / "sft"),
            output_dir=str(tmp_path),
        )
    )
    assert (result["primary_metric"], result["higher_is_better"]) == ("eval_loss", False)
    assert result["candidate_is_better"] == (result["eval_loss"] < result["current_eval_loss"])
    assert "win_rate" not in result and "reward_mean" not in result


def test_evaluation_needs_held_out_data(tmp_path: Path, pretrained: Path) -> None:
    with pytest.raises(MissingInputError, match="no held-out data"):
        main(EvaluateArguments(model_name_or_path=str(pretrained), output_dir=str(tmp_path)))


def test_answer_evaluation_needs_both_a_knowledge_base_and_a_golden_set(
    tmp_path: Path, datasets_dir: Path, pretrained: Path
) -> None:
    with pytest.raises(MissingInputError, match="golden set"):
        main(
            EvaluateArguments(
                model_name_or_path=str(pretrained),
                sft_dir=str(datasets_dir / "sft"),
                kb_dir=str(tmp_path),
                output_dir=str(tmp_path / "out"),
            )
        )
