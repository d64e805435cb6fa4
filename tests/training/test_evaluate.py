"""The retraining pipeline's evaluation step and the format of evaluation.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from training_jobs.common.sagemaker import MissingInputError
from training_jobs.evaluate import EVALUATION_FILE, EvaluateArguments, main


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
    assert 0.0 <= result["win_rate"] <= 1.0
    for prefix in ("", "current_"):
        assert math.isfinite(result[f"{prefix}eval_loss"])
        assert result[f"{prefix}eval_perplexity"] == pytest.approx(math.exp(result[f"{prefix}eval_loss"]))
        assert 0.0 <= result[f"{prefix}answer_f1"] <= 1.0
        assert 0.0 <= result[f"{prefix}preference_accuracy"] <= 1.0
    assert all(not isinstance(value, dict | list) for value in result.values())  # flat, for the Lambda


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
