"""The training state machines call SageMaker with the configured jobs, and promote only winners."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from functions.contract import EnvVar
from infra.config import TrainingConfig
from infra.training import CURRENT_MODEL_KEY
from tests.infra.conftest import Synthesized
from training_jobs.common.jobs import JOBS, training_requirements

TRAINING_JOB = "sagemaker:createTrainingJob.sync"
RETRAINING_JOBS = ("data", "finetune", "reward", "policy", "evaluate")


def training_jobs(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The CreateTrainingJob parameters of each job, by job-name suffix (`finetune`, `reward`, ...)."""
    jobs = {}
    for state in definition["States"].values():
        if state.get("Resource", "").endswith(TRAINING_JOB):
            parameters = state["Parameters"]
            suffix = parameters["TrainingJobName.$"].split("-")[-1].split("'")[0]
            jobs[suffix] = parameters
    return jobs


def next_states(definition: dict[str, Any], name: str) -> list[str]:
    state = definition["States"][name]
    targets = [state.get("Next"), state.get("Default")]
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    targets += [catch["Next"] for catch in state.get("Catch", [])]
    return [target for target in targets if target]


@pytest.mark.parametrize("stack_name", ["default_stack", "variant_stack"])
def test_retraining_runs_each_job_on_its_configured_instance_type(
    stack_name: str, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_name)
    training = stack.config.training
    jobs = training_jobs(stack.state_machine("Retraining"))

    instance_types = {step: job["ResourceConfig"]["InstanceType"] for step, job in jobs.items()}
    assert instance_types == {
        "data": training.data_instance_type,
        "finetune": training.finetune_instance_type,
        "reward": training.reward_instance_type,
        "policy": training.policy_instance_type,
        "evaluate": training.evaluation_instance_type,
    }
    for job in jobs.values():
        assert job["EnableManagedSpotTraining"] is training.use_spot
        assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == training.max_runtime_seconds
        assert ("MaxWaitTimeInSeconds" in job["StoppingCondition"]) is training.use_spot
        assert job["OutputDataConfig"]["CompressionType"] == "NONE"
        assert job["AlgorithmSpecification"]["TrainingImage"].startswith(
            training.image_uri.split("{region}")[0]
        )


def test_jobs_run_the_catalogues_modules_with_its_channels(default_stack: Synthesized) -> None:
    jobs = training_jobs(default_stack.state_machine("Retraining"))
    assert sorted(jobs) == sorted(RETRAINING_JOBS)
    for step, job in jobs.items():
        channels = {c["ChannelName"] for c in job["InputDataConfig"]} - {"code"}
        assert channels == set(JOBS[step].channels), step
        for channel in channels:
            assert job["Environment"][f"SM_CHANNEL_{channel.upper()}"] == f"/opt/ml/input/data/{channel}"
        command = job["AlgorithmSpecification"]["ContainerArguments"][0]
        assert command.endswith(f"-m {JOBS[step].module}")
        assert command.startswith("set -euo pipefail")
        assert ("torchrun" in command) is JOBS[step].torchrun, step


def test_every_job_of_the_catalogue_exists_and_has_an_instance_type_setting() -> None:
    for job in JOBS.values():
        assert importlib.util.find_spec(job.module) is not None, job.module
        assert job.instance_type_key in TrainingConfig.model_fields, job.instance_type_key
        assert (
            job.instance_type(TrainingConfig()) == TrainingConfig.model_fields[job.instance_type_key].default
        )


def test_the_pipeline_ships_the_code_launch_stages(tmp_path: Path) -> None:
    """One list of shipped code: the CDK asset and `launch`'s staging folder hold the same files."""
    from infra.lambdas import REPO_ROOT, package_files
    from training_jobs.common.jobs import CODE
    from training_jobs.launch import stage_code

    staged = stage_code(tmp_path)
    staged_files = {
        str(path.relative_to(staged))
        for path in staged.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    asset_files = {str(path.relative_to(REPO_ROOT)) for path in package_files(CODE)}
    assert staged_files == asset_files | {"requirements.txt"}
    assert "functions/handlers/query.py" not in asset_files  # the runtime's code stays out


def test_pretraining_is_distributed_with_checkpoints(variant_stack: Synthesized) -> None:
    training = variant_stack.config.training
    job = training_jobs(variant_stack.state_machine("Pretraining"))["pretrain"]
    command = job["AlgorithmSpecification"]["ContainerArguments"][0]

    assert job["ResourceConfig"] == {
        "InstanceType": training.pretrain_instance_type,
        "InstanceCount": training.pretrain_instance_count,
        "VolumeSizeInGB": training.volume_size_gb,
    }
    assert job["EnableManagedSpotTraining"] is True
    assert job["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert "checkpoints/" in job["CheckpointConfig"]["S3Uri.$"]
    assert f"torchrun --nnodes={training.pretrain_instance_count}" in command
    assert command.endswith("-m training_jobs.pretrain.train")


def test_only_a_winning_candidate_reaches_the_endpoint(default_stack: Synthesized) -> None:
    definition = default_stack.state_machine("Retraining")
    states = definition["States"]

    assert next_states(definition, "PromotionGate") == ["Promote?"]
    (promote,) = states["Promote?"]["Choices"]
    assert promote == {"Variable": "$.gate.promote", "BooleanEquals": True, "Next": "CreateModel"}
    assert states["Promote?"]["Default"] == "KeepCurrentModel"
    assert next_states(definition, "CreateModel") == ["CreateEndpointConfig"]
    assert sorted(next_states(definition, "DescribeEndpoint")) == ["CreateEndpoint", "UpdateEndpoint"]
    variant = states["CreateEndpointConfig"]["Parameters"]["ProductionVariants"][0]
    assert variant["InstanceType"] == default_stack.config.serving.instance_type
    assert states["RecordCurrentModel"]["Parameters"]["Key"] == CURRENT_MODEL_KEY


def test_the_gate_reads_the_evaluation_of_this_run(default_stack: Synthesized) -> None:
    gate = default_stack.state_machine("Retraining")["States"]["PromotionGate"]
    payload = gate["Parameters"]["Payload"]

    assert "-evaluate/output/model/evaluation.json" in payload["evaluation_uri.$"]
    training = default_stack.config.training
    for threshold in (
        "min_improvement",
        "min_groundedness",
        "min_handoff_correctness",
        "max_answer_regression",
    ):
        assert payload[threshold] == getattr(training, threshold), threshold
    # the decision, what failed and the answer figures stay in the execution's history
    assert set(gate["ResultSelector"]) == {"promote.$", "reason.$", "failed.$", "answers.$"}


def test_the_evaluation_answers_the_golden_set_over_the_knowledge_base(default_stack: Synthesized) -> None:
    job = training_jobs(default_stack.state_machine("Retraining"))["evaluate"]
    channels = {
        channel["ChannelName"]: channel["DataSource"]["S3DataSource"] for channel in job["InputDataConfig"]
    }

    assert channels["golden"]["S3Uri.$"] == "$.input.golden_set_uri"
    assert "kb" in channels


def test_retraining_is_scheduled_but_disabled_by_default(
    default_stack: Synthesized, variant_stack: Synthesized
) -> None:
    for stack, state in ((default_stack, "DISABLED"), (variant_stack, "ENABLED")):
        (rule,) = stack.resources("AWS::Events::Rule").values()
        assert rule["Properties"]["State"] == state
        assert rule["Properties"]["ScheduleExpression"] == stack.config.training.schedule_expression
        assert "Retraining" in rule["Properties"]["Targets"][0]["Arn"]["Ref"]


def test_state_machines_may_only_start_this_pipelines_jobs(default_stack: Synthesized) -> None:
    for logical_id, policy in default_stack.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "sagemaker:CreateTrainingJob" in actions:
                (resource,) = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                assert resource["Fn::Join"][1][-1].endswith(":training-job/genai-*"), logical_id
            if "iam:PassRole" in actions:
                assert statement["Condition"] == {
                    "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
                }


def test_jobs_install_the_training_extra_but_keep_the_images_torch() -> None:
    names = [re.split(r"[<>=!~\[ ]", line)[0] for line in training_requirements().splitlines()]

    assert {"transformers", "peft", "trl"} <= set(names)
    assert "torch" not in names


def test_only_the_functions_that_handle_user_ids_read_the_pseudonym_key(default_stack: Synthesized) -> None:
    """The export, and the API functions that store, compare or erase user ids (issue 14)."""
    ((secret_id, secret),) = (  # the widget's guest-token key is the other secret
        item
        for item in default_stack.resources("AWS::SecretsManager::Secret").items()
        if "Guest" not in item[0]
    )
    assert secret["Properties"]["KmsKeyId"] and secret["Properties"]["GenerateSecretString"]
    readers = {
        function_id
        for function_id, function in default_stack.resources("AWS::Lambda::Function").items()
        if function["Properties"].get("Environment", {}).get("Variables", {}).get(EnvVar.PSEUDONYM_SECRET_ARN)
        == {"Ref": secret_id}
    }
    prefixes = ("TrainingExport", "ApiQuery", "ApiFeedback", "ApiPrivacy", "ApiReview", "WidgetStream")
    assert sorted(prefix for prefix in prefixes for r in readers if r.startswith(prefix)) == sorted(prefixes)
    assert len(readers) == len(prefixes)
    grants = [
        (policy_id, statement)
        for policy_id, policy in default_stack.resources("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in statement["Action"]
        # CDK folds a function's grants on two secrets into one statement
        and {"Ref": secret_id} in _as_list(statement["Resource"])
    ]
    assert sorted(prefix for prefix in prefixes for p, _ in grants if p.startswith(prefix)) == sorted(
        prefixes
    )
    assert len(grants) == len(prefixes)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
