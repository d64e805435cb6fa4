"""The SageMaker contract, the job runner and the shared helpers."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from training_jobs.common.args import INPUT_ERROR_STATUS, apply_preset
from training_jobs.common.jsonl import DatasetError, load_split, write_jsonl
from training_jobs.common.sagemaker import LOCAL_OUTPUT_ROOT, MissingInputError, SageMakerEnvironment


def sagemaker_environ(tmp_path: Path) -> dict[str, str]:
    """What a two-host training container sees."""
    (tmp_path / "sft").mkdir()
    return {
        "SM_MODEL_DIR": "/opt/ml/model",
        "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data",
        "SM_CHANNEL_SFT": str(tmp_path / "sft"),
        "SM_CHANNEL_REWARD_MODEL": "/opt/ml/input/data/reward_model",
        "SM_HOSTS": '["algo-1", "algo-2"]',
        "SM_CURRENT_HOST": "algo-2",
        "SM_HPS": json.dumps(
            {"learning_rate": "1e-4", "tiny": True, "sagemaker_program": "x.py", "targets": ["a", "b"]}
        ),
    }


def test_the_contract_is_read_from_the_container_environment(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    env = SageMakerEnvironment.from_environ(sagemaker_environ(tmp_path), checkpoint_dir=checkpoints)
    assert env.model_dir == Path("/opt/ml/model")
    assert env.output_data_dir == Path("/opt/ml/output/data")
    assert env.channels == {"sft": tmp_path / "sft", "reward_model": Path("/opt/ml/input/data/reward_model")}
    assert env.hosts == ("algo-1", "algo-2")
    assert env.current_host == "algo-2"
    assert env.output_dir(None, "finetune") == Path("/opt/ml/model")
    assert env.checkpoints(None, Path("/opt/ml/model")) == checkpoints
    assert env.require_channel("sft", None, "--data_dir") == tmp_path / "sft"
    assert env.hyperparameter_argv() == ["--learning_rate", "0.0001", "--tiny", "true", "--targets", "a", "b"]


def test_flags_win_over_the_container_and_local_defaults_apply_outside(tmp_path: Path) -> None:
    inside = SageMakerEnvironment.from_environ(sagemaker_environ(tmp_path), checkpoint_dir=tmp_path / "none")
    assert inside.output_dir("mine", "finetune") == Path("mine")
    assert inside.channel("sft", "local/sft") == Path("local/sft")
    outside = SageMakerEnvironment.from_environ(
        {}, checkpoint_dir=tmp_path / "none", hyperparameters_file=tmp_path / "none"
    )
    assert outside.output_dir(None, "finetune") == LOCAL_OUTPUT_ROOT / "finetune"
    assert outside.checkpoints(None, Path("out")) == Path("out/checkpoints")
    assert outside.hyperparameter_argv() == []


def test_hyperparameters_file_of_the_training_toolkit_is_read(tmp_path: Path) -> None:
    file = tmp_path / "hyperparameters.json"
    file.write_text(json.dumps({"max_steps": "10", "merge_adapter": "false"}))
    env = SageMakerEnvironment.from_environ({}, checkpoint_dir=tmp_path, hyperparameters_file=file)
    assert env.hyperparameter_argv() == ["--max_steps", "10", "--merge_adapter", "false"]


def test_a_missing_channel_says_how_to_give_it(tmp_path: Path) -> None:
    env = SageMakerEnvironment.from_environ(
        {}, checkpoint_dir=tmp_path, hyperparameters_file=tmp_path / "none"
    )
    with pytest.raises(
        MissingInputError, match=r"pass --model_name_or_path PATH.*channel 'model' \(SM_CHANNEL_MODEL\)"
    ):
        env.require_channel("model", None, "--model_name_or_path")
    with pytest.raises(MissingInputError, match="does not exist"):
        env.require_channel("model", str(tmp_path / "absent"), "--model_name_or_path")
    assert env.require_channel("model", None, "--model_name_or_path", lambda: tmp_path) == tmp_path


def test_a_job_without_its_model_fails_fast(tmp_path: Path) -> None:
    from training_jobs.common.args import parse_job_args
    from training_jobs.finetune.sft import main, make_parser

    argv = ["--output_dir", str(tmp_path / "out")]
    with pytest.raises(MissingInputError, match="no 'model' input"):
        main(*parse_job_args(make_parser(None, argv), argv))


def test_hyperparameters_reach_the_job_and_a_flag_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.training.conftest import export_records
    from training_jobs.data.build import cli

    export = tmp_path / "export.jsonl"
    write_jsonl(export, export_records())
    monkeypatch.setenv("SM_HPS", json.dumps({"eval_fraction": "0.5", "near_duplicate_threshold": "0.95"}))
    assert cli(["--export_path", str(export), "--output_dir", str(tmp_path), "--eval_fraction", "0.3"]) == 0
    options = json.loads((tmp_path / "dataset_card.json").read_text())["options"]
    assert options["near_duplicate_threshold"] == 0.95
    assert options["eval_fraction"] == 0.3


def test_a_yaml_config_sets_a_jobs_flags_and_a_flag_wins(tmp_path: Path) -> None:
    from training_jobs.common.args import parse_job_args
    from training_jobs.data.build import make_parser

    config = tmp_path / "data.yaml"
    config.write_text("eval_fraction: 0.5\nseed: 7\nkb_dir: docs/kb\n")
    (args,) = parse_job_args(make_parser(None), ["--config", str(config), "--seed", "9"])
    assert (args.eval_fraction, args.seed, args.kb_dir) == (0.5, 9, "docs/kb")


@pytest.mark.parametrize(
    ("content", "message"),
    [("no_such_field: 1\n", "unrecognized arguments"), ("- a list\n", "must contain a YAML mapping")],
)
def test_a_bad_config_file_is_refused_with_the_reason(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from training_jobs.common.args import parse_job_args
    from training_jobs.data.build import make_parser

    config = tmp_path / "data.yaml"
    config.write_text(content)
    for argv in (["--config", str(config)], ["--config", str(tmp_path / "missing.yaml")]):
        with pytest.raises(SystemExit) as stopped:
            parse_job_args(make_parser(None), argv)
        assert stopped.value.code == INPUT_ERROR_STATUS
    errors = capsys.readouterr().err
    assert message in errors and "expected the path of a YAML file" in errors


def test_bad_input_ends_a_job_with_one_clear_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from training_jobs.data.build import cli

    (tmp_path / "empty.jsonl").write_text("")
    with caplog.at_level(logging.ERROR):
        status = cli(["--export_path", str(tmp_path / "empty.jsonl"), "--output_dir", str(tmp_path)])
    assert status == INPUT_ERROR_STATUS
    assert "holds no records" in caplog.text


@dataclass
class _Flags:
    steps: int = 100
    rate: float = 0.1
    names: list[str] = field(default_factory=lambda: ["all"])


def test_a_preset_fills_defaults_but_keeps_what_was_given() -> None:
    flags = _Flags(rate=0.5)
    apply_preset({"steps": 3, "rate": 0.01, "names": ["q"]}, flags)
    assert (flags.steps, flags.rate, flags.names) == (3, 0.5, ["q"])
    with pytest.raises(KeyError, match="nothing"):
        apply_preset({"nothing": 1}, flags)


def test_data_sets_are_checked_for_file_content_and_keys(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_split(tmp_path, "train", "SFT set", ("messages",))
    write_jsonl(tmp_path / "train.jsonl", [])
    with pytest.raises(DatasetError, match="holds no examples; add some"):
        load_split(tmp_path, "train", "SFT set", ("messages",), hint="add some")
    write_jsonl(tmp_path / "train.jsonl", [{"text": "x"}])
    with pytest.raises(DatasetError, match=r"lack \['messages'\]"):
        load_split(tmp_path, "train", "SFT set", ("messages",))


def test_qlora_falls_back_to_lora_without_bitsandbytes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import importlib.util

    from trl import ModelConfig

    from training_jobs.common.lora import quantization_config

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bitsandbytes" else real_find_spec(name, *a),
    )
    with caplog.at_level(logging.WARNING):
        assert quantization_config(ModelConfig(use_peft=True, load_in_4bit=True)) is None
    assert "bitsandbytes is not installed: training plain LoRA instead of QLoRA" in caplog.text
    assert quantization_config(ModelConfig(use_peft=True)) is None
    with pytest.raises(ValueError, match="need --use_peft"):
        quantization_config(ModelConfig(load_in_4bit=True))


def test_reports_go_beside_the_model_and_to_sagemakers_output_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training_jobs.common.models import write_report

    write_report(tmp_path / "model", {"eval_loss": 1.5})
    assert json.loads((tmp_path / "model" / "metrics.json").read_text()) == {"eval_loss": 1.5}
    assert not (tmp_path / "output").exists()
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "output"))
    write_report(tmp_path / "model", {"primary_metric": "eval_loss"}, "evaluation.json")
    assert json.loads((tmp_path / "output" / "evaluation.json").read_text()) == {
        "primary_metric": "eval_loss"
    }
