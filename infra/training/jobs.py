"""The SageMaker training-job states: how a state starts a job of the catalogue
(`training_jobs.common.jobs`), and what the container runs.

Jobs run the image's Python on the `training_jobs` asset: the container command unzips it, installs
the `training` extra of pyproject.toml (torch comes with the image) and starts the module, under
torchrun where the job trains. SageMaker's training toolkit is not involved, so the state sets the
`SM_*` variables the jobs read. Outputs are uncompressed (`CompressionType: NONE`), so a job's model
folder (`<output path>/<job name>/output/model/`) is the next job's input channel and the endpoint's
model data as it is.
"""

from __future__ import annotations

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
from infra.training.naming import run_uri
from training_jobs.common.jobs import JOBS, Job

CODE_DIR = "/opt/ml/code"
RENDEZVOUS_PORT = 29400


def command(job: Job, instance_count: int) -> str:
    """The container's shell command: unpack the code, install the extra, run the module."""
    if not job.torchrun:
        launcher = "python"
    elif instance_count == 1:
        launcher = "torchrun --standalone --nproc_per_node=gpu"
    else:  # c10d rendezvous on the first host; torchrun assigns the node ranks
        launcher = (
            f"torchrun --nnodes={instance_count} --nproc_per_node=gpu --rdzv_backend=c10d "
            f"--rdzv_endpoint=algo-1:{RENDEZVOUS_PORT} --rdzv_id={job.name}"
        )
    return " && ".join(
        [
            "set -euo pipefail",
            f"python -m zipfile -e /opt/ml/input/data/code/*.zip {CODE_DIR}",
            f"python -m pip install --quiet --requirement {CODE_DIR}/requirements.txt",
            f"cd {CODE_DIR}",
            f"exec {launcher} -m {job.module}",
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

    def state(
        self, prefix: str, name: str, channels: Mapping[str, str], *, instance_count: int = 1
    ) -> sfn.CustomState:
        """CreateTrainingJob with `.sync` for the catalogue's job `name`, given where its channels
        are (S3 URIs or JSONPath expressions): the state ends when the job does (and fails with it)."""
        job = JOBS[name]
        if set(channels) != set(job.channels):
            raise ValueError(f"{name} reads the channels {list(job.channels)}, given {list(channels)}")
        bucket = self.data.models.bucket_name
        stopping: dict[str, Any] = {"MaxRuntimeInSeconds": self.config.max_runtime_seconds}
        if self.config.use_spot:
            stopping["MaxWaitTimeInSeconds"] = self.config.max_wait_seconds
        parameters: dict[str, Any] = {
            "TrainingJobName.$": run_uri(f"{{}}-{name}"),
            "RoleArn": self.role.role_arn,
            "AlgorithmSpecification": {
                "TrainingImage": self.image_uri,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["/bin/bash", "-c"],
                "ContainerArguments": [command(job, instance_count)],
            },
            "Environment": {
                "SM_MODEL_DIR": "/opt/ml/model",
                "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data",
                **{f"SM_CHANNEL_{channel.upper()}": f"/opt/ml/input/data/{channel}" for channel in channels},
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
                for channel, uri in {"code": self.code.s3_object_url, **channels}.items()
            ],
            "OutputDataConfig": {
                "S3OutputPath": f"s3://{bucket}/jobs/",
                "KmsKeyId": self.data.key.key_arn,
                "CompressionType": "NONE",
            },
            "CheckpointConfig": {
                "S3Uri.$": run_uri(f"s3://{bucket}/checkpoints/{{}}-{name}/"),
                "LocalPath": "/opt/ml/checkpoints",
            },
            "ResourceConfig": {
                "InstanceType": job.instance_type(self.config),
                "InstanceCount": instance_count,
                "VolumeSizeInGB": self.config.volume_size_gb,
            },
            "EnableManagedSpotTraining": self.config.use_spot,
            "StoppingCondition": stopping,
        }
        return sfn.CustomState(
            self.scope,
            f"{prefix}{name.capitalize()}Job",
            state_json={
                "Type": "Task",
                "Resource": f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync",
                "Parameters": parameters,
                "ResultSelector": {
                    "TrainingJobName.$": "$.TrainingJobName",
                    "BillableTimeInSeconds.$": "$.BillableTimeInSeconds",
                },
                "ResultPath": f"$.jobs.{name}",
            },
        )


def _dynamic(key: str, value: str) -> str:
    """`Key.$` when `value` is a JSONPath expression (CustomState does not add the suffix itself)."""
    return f"{key}.$" if sfn.JsonPath.is_encoded_json_path(value) else key
