"""Launching on SageMaker with ModelTrainer, against moto: the CreateTrainingJob request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROLE = "arn:aws:iam::123456789012:role/genai-stack-training"
BUCKET = "genai-stack-artifacts"
TRAINING = {
    "data_instance_type": "ml.c5.4xlarge",
    "finetune_instance_type": "ml.g5.4xlarge",
    "reward_instance_type": "ml.g5.2xlarge",
    "policy_instance_type": "ml.g5.12xlarge",
    "evaluation_instance_type": "ml.g5.xlarge",
    "pretrain_instance_type": "ml.p5.48xlarge",
    "pretrain_instance_count": 3,
    "use_spot": True,
    "max_runtime_seconds": 3600,
    "max_wait_seconds": 7200,
    "volume_size_gb": 300,
    "image_uri": "111122223333.dkr.ecr.{region}.amazonaws.com/genai-stack-training:1",
}


@pytest.fixture
def cdk_json(tmp_path: Path) -> Path:
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"app": "python3 app.py", "context": {"training": TRAINING}}))
    return path


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """moto, and every CreateTrainingJob request as the SDK sent it."""
    import boto3
    from moto import mock_aws

    for name, value in {
        "SAGEMAKER_VALIDATE_ROLE": "false",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    requests: list[dict[str, Any]] = []
    real_session = boto3.Session

    def recording_session(*args: Any, **kwargs: Any) -> Any:
        session = real_session(*args, **kwargs)
        session.events.register(
            "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: requests.append(params)
        )
        return session

    with mock_aws():
        boto3.client("s3", region_name="eu-west-1").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        monkeypatch.setattr(boto3, "Session", recording_session)
        yield requests


def launch(cdk_json: Path, *argv: str) -> str:
    from training_jobs.launch import main, parse

    return main(
        parse(
            [
                *argv[:1],
                "--role",
                ROLE,
                "--s3-uri",
                f"s3://{BUCKET}/genai-stack",
                "--cdk-json",
                str(cdk_json),
                *argv[1:],
            ]
        )
    )


def uploaded(prefix: str, name: str) -> str:
    import boto3

    s3 = boto3.client("s3", region_name="eu-west-1")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
    key = next(key for key in keys if key.endswith(name))
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def test_pretraining_runs_multi_node_on_spot_with_the_cdk_configuration(
    aws: list[dict[str, Any]], cdk_json: Path
) -> None:
    name = launch(
        cdk_json,
        "pretrain",
        "--input",
        f"corpus=s3://{BUCKET}/data/corpus/",
        "--",
        "--parallelism",
        "fsdp",
        "--max-steps",
        "500",
    )
    (request,) = aws
    assert request["TrainingJobName"] == name and name.startswith("genai-stack-pretrain-")
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.p5.48xlarge",
        "InstanceCount": 3,
        "VolumeSizeInGB": 300,
    }
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert request["CheckpointConfig"] == {
        "S3Uri": f"s3://{BUCKET}/genai-stack/genai-stack-pretrain/{name}/checkpoints",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert request["HyperParameters"] == {"parallelism": "fsdp", "max_steps": "500"}
    assert request["AlgorithmSpecification"]["TrainingImage"] == (
        "111122223333.dkr.ecr.eu-west-1.amazonaws.com/genai-stack-training:1"
    )
    channels = {channel["ChannelName"]: channel for channel in request["InputDataConfig"]}
    assert set(channels) == {"corpus", "code", "sm_drivers"}
    assert channels["corpus"]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/data/corpus/"
    assert request["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{BUCKET}/genai-stack/pretrain/output",
        "CompressionType": "NONE",
    }
    assert request["Environment"] == {"PYTHONPATH": "/opt/ml/input/data/code"}
    # torchrun on every node, running the module's file from the staged code
    drivers = f"genai-stack/genai-stack-pretrain/{name}/input/sm_drivers/"
    assert "distributed_drivers/torchrun_driver.py" in uploaded(drivers, "sm_train.sh")
    assert (
        json.loads(uploaded(drivers, "sourcecode.json"))["entry_script"] == "training_jobs/pretrain/train.py"
    )
    requirements = uploaded(
        f"genai-stack/genai-stack-pretrain/{name}/input/code/", "requirements.txt"
    ).split()
    assert any(line.startswith("trl") for line in requirements)
    assert not any(line.startswith("torch") for line in requirements)
    code = f"genai-stack/genai-stack-pretrain/{name}/input/code/"
    assert "def main(" in uploaded(code, "training_jobs/pretrain/train.py")
    assert "def redact_pii(" in uploaded(code, "functions/guardrails/pii.py")


def test_flags_override_the_configuration(aws: list[dict[str, Any]], cdk_json: Path) -> None:
    launch(
        cdk_json,
        "finetune",
        "--instance-type",
        "ml.g6.12xlarge",
        "--instance-count",
        "2",
        "--no-spot",
        "--checkpoint-s3-uri",
        f"s3://{BUCKET}/checkpoints/sft-1",
        "--job-name",
        "sft-weekly",
        "--input",
        f"model=s3://{BUCKET}/models/base/",
        "--input",
        f"sft=s3://{BUCKET}/data/sft/",
        "--",
        "--load_in_4bit",
        "--lora-r",
        "32",
    )
    (request,) = aws
    assert request["TrainingJobName"].startswith("sft-weekly-")
    assert request["ResourceConfig"]["InstanceType"] == "ml.g6.12xlarge"
    assert request["ResourceConfig"]["InstanceCount"] == 2
    assert request["EnableManagedSpotTraining"] is False
    assert "MaxWaitTimeInSeconds" not in request["StoppingCondition"]
    assert request["CheckpointConfig"]["S3Uri"] == f"s3://{BUCKET}/checkpoints/sft-1"
    assert request["HyperParameters"] == {"load_in_4bit": "true", "lora_r": "32"}
    assert {c["ChannelName"] for c in request["InputDataConfig"]} == {"model", "sft", "code", "sm_drivers"}


def test_tiny_launch_is_an_on_demand_cpu_smoke_test(aws: list[dict[str, Any]], cdk_json: Path) -> None:
    name = launch(cdk_json, "evaluate", "--tiny")
    (request,) = aws
    assert request["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert request["ResourceConfig"]["InstanceCount"] == 1
    assert request["EnableManagedSpotTraining"] is False
    assert request["HyperParameters"] == {"tiny": "true"}
    drivers = f"genai-stack/genai-stack-evaluate/{name}/input/sm_drivers/"
    assert "basic_script_driver.py" in uploaded(drivers, "sm_train.sh")  # one process: no torchrun


def test_instance_type_defaults_per_job(cdk_json: Path) -> None:
    from infra.config import StackConfig, load_context
    from training_jobs.common.jobs import JOBS

    config = StackConfig.from_context(load_context(cdk_json)).training
    types = {name: job.instance_type(config) for name, job in JOBS.items()}
    assert types == {
        "data": "ml.c5.4xlarge",
        "pretrain": "ml.p5.48xlarge",
        "finetune": "ml.g5.4xlarge",
        "reward": "ml.g5.2xlarge",
        "policy": "ml.g5.12xlarge",
        "dpo": "ml.g5.12xlarge",  # preference optimization, like the policy job
        "evaluate": "ml.g5.xlarge",
    }


def test_bad_launches_fail_before_anything_is_created(
    aws: list[dict[str, Any]], cdk_json: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from training_jobs.common.sagemaker import InputError
    from training_jobs.launch import cli

    with pytest.raises(InputError, match=r"finetune reads the channels \['model', 'sft'\], not \['corpus'\]"):
        launch(cdk_json, "finetune", "--input", f"corpus=s3://{BUCKET}/data/corpus/")
    with pytest.raises(SystemExit):  # the job's own parser refuses the flag, with its usage
        launch(cdk_json, "finetune", "--", "--no-such-flag", "1")
    with pytest.raises(InputError, match="give them after `--`"):
        launch(cdk_json, "finetune", "--", "--config", "finetune.yaml")
    with pytest.raises(InputError, match="one value per flag"):
        launch(cdk_json, "finetune", "--", "--lora_target_modules", "q_proj", "v_proj")
    status = cli(["finetune", "--role", ROLE, "--s3-uri", f"s3://{BUCKET}", "--input", "model=/local/path"])
    assert status == 2
    assert "expected CHANNEL=s3://bucket/prefix" in caplog.text
    assert cli(["finetune", "--role", ROLE, "--s3-uri", BUCKET]) == 2
    assert "expected s3://bucket/prefix" in caplog.text
    assert aws == []


def test_the_staged_code_runs_a_job_without_the_repository(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.training.conftest import export_records
    from training_jobs.common.jsonl import write_jsonl
    from training_jobs.launch import stage_code

    staged = stage_code(tmp_path / "code")
    write_jsonl(tmp_path / "export" / "records.jsonl", export_records())
    done = subprocess.run(
        [
            sys.executable,
            str(staged / "training_jobs" / "data" / "build.py"),
            "--output_dir",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(staged), "SM_CHANNEL_EXPORT": str(tmp_path / "export")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "dataset_card.json").is_file()
