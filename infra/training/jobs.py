"""The SageMaker training-job states: what a job runs, on what, and how the state starts it.

Jobs run the image's Python on the `training_jobs` asset: the container command unzips it, installs
the `training` extra of pyproject.toml (torch comes with the image) and starts the module, under
torchrun where the job trains. SageMaker's training toolkit is not involved, so the state sets the
`SM_*` variables the jobs read. Outputs are uncompressed (`CompressionType: NONE`), so a job's model
folder (`<output path>/<job name>/output/model/`) is the next job's input channel and the endpoint's
model data as it is.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import TrainingConfig
from infra.data import DataStores
from infra.lambdas import REPO_ROOT
from infra.training.naming import run_uri

CODE_DIR = "/opt/ml/code"
RENDEZVOUS_PORT = 29400


def training_requirements() -> str:
    """The `training` extra of pyproject.toml without torch, which the training image provides."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = pyproject["project"]["optional-dependencies"]["training"]
    return "".join(f"{req}\n" for req in requirements if not re.match(r"torch\b", req))


@dataclass(frozen=True)
class Job:
    """One SageMaker training job: which module runs on what, with which input channels."""

    step: str  # job-name suffix, e.g. `genai-<uuid>-sft`
    module: str
    instance_type: str
    channels: Mapping[str, str]  # channel name -> S3 URI (a JSONPath expression)
    instance_count: int = 1
    torchrun: bool = False

    def command(self) -> str:
        """The container's shell command: unpack the code, install the extra, run the module."""
        if not self.torchrun:
            launcher = "python"
        elif self.instance_count == 1:
            launcher = "torchrun --standalone --nproc_per_node=gpu"
        else:  # c10d rendezvous on the first host; torchrun assigns the node ranks
            launcher = (
                f"torchrun --nnodes={self.instance_count} --nproc_per_node=gpu --rdzv_backend=c10d "
                f"--rdzv_endpoint=algo-1:{RENDEZVOUS_PORT} --rdzv_id={self.step}"
            )
        return " && ".join(
            [
                "set -euo pipefail",
                f"python -m zipfile -e /opt/ml/input/data/code/*.zip {CODE_DIR}",
                f"python -m pip install --quiet --requirement {CODE_DIR}/requirements.txt",
                f"cd {CODE_DIR}",
                f"exec {launcher} -m {self.module}",
            ]
        )


@dataclass(frozen=True)
class JobStates:
    """Builds the `createTrainingJob.sync` states of one pipeline: same role, image, code and limits."""

    scope: Construct
    config: TrainingConfig
    data: DataStores
    role: iam.IRole
    image_uri: str
    code: s3_assets.Asset

    def state(self, prefix: str, job: Job) -> sfn.CustomState:
        """CreateTrainingJob with `.sync`: the state ends when the job does (and fails with it)."""
        bucket = self.data.models.bucket_name
        channels = {"code": self.code.s3_object_url, **job.channels}
        stopping: dict[str, Any] = {"MaxRuntimeInSeconds": self.config.max_runtime_seconds}
        if self.config.use_spot:
            stopping["MaxWaitTimeInSeconds"] = self.config.max_wait_seconds
        parameters: dict[str, Any] = {
            "TrainingJobName.$": run_uri(f"{{}}-{job.step}"),
            "RoleArn": self.role.role_arn,
            "AlgorithmSpecification": {
                "TrainingImage": self.image_uri,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["/bin/bash", "-c"],
                "ContainerArguments": [job.command()],
            },
            "Environment": {
                "SM_MODEL_DIR": "/opt/ml/model",
                "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data",
                **{
                    f"SM_CHANNEL_{channel.upper()}": f"/opt/ml/input/data/{channel}"
                    for channel in job.channels
                },
            },
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            _dynamic("S3Uri", uri): uri,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
                for channel, uri in channels.items()
            ],
            "OutputDataConfig": {
                "S3OutputPath": f"s3://{bucket}/jobs/",
                "KmsKeyId": self.data.key.key_arn,
                "CompressionType": "NONE",
            },
            "CheckpointConfig": {
                "S3Uri.$": run_uri(f"s3://{bucket}/checkpoints/{{}}-{job.step}/"),
                "LocalPath": "/opt/ml/checkpoints",
            },
            "ResourceConfig": {
                "InstanceType": job.instance_type,
                "InstanceCount": job.instance_count,
                "VolumeSizeInGB": self.config.volume_size_gb,
            },
            "EnableManagedSpotTraining": self.config.use_spot,
            "StoppingCondition": stopping,
        }
        return sfn.CustomState(
            self.scope,
            f"{prefix}{job.step.capitalize()}Job",
            state_json={
                "Type": "Task",
                "Resource": f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync",
                "Parameters": parameters,
                "ResultSelector": {
                    "TrainingJobName.$": "$.TrainingJobName",
                    "BillableTimeInSeconds.$": "$.BillableTimeInSeconds",
                },
                "ResultPath": f"$.jobs.{job.step}",
            },
        )


def _dynamic(key: str, value: str) -> str:
    """`Key.$` when `value` is a JSONPath expression (CustomState does not add the suffix itself)."""
    return f"{key}.$" if sfn.JsonPath.is_encoded_json_path(value) else key
