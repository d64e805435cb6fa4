"""The training pipelines: Step Functions state machines that run `training_jobs` on SageMaker.

Retraining: export (Lambda) -> dataset build -> SFT -> reward model -> policy -> evaluation against
the model serving now -> promotion gate (Lambda) -> create model and endpoint config, then create or
update the endpoint, only if the candidate won. Pretraining: export -> dataset build -> multi-node
pretraining with checkpoints (managed spot optional). A schedule starts retraining; it is disabled
by default.

Jobs run the image's Python on the `training_jobs` asset: the container command unzips it, installs
the `training` extra of pyproject.toml (torch comes with the image) and starts the module, under
torchrun where the job trains. SageMaker's training toolkit is not involved, so the stack sets the
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
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from functions.contract import EnvVar, handler_path
from infra.config import ServingConfig, TrainingConfig
from infra.data import DataStores
from infra.lambdas import REPO_ROOT, FunctionFactory, package_asset
from infra.nag import KEY_ACTIONS, XRAY, acknowledge, arn_of

#: Jobs, models and endpoint configs of the pipelines are named `genai-<uuid>[-<step>]`.
NAME_PREFIX = "genai"
RUN_NAMES = "names this pipeline gives what it creates at run time (genai-<execution uuid>[-<step>])"
#: The promoted model, recorded in the models bucket: what the next evaluation compares with.
CURRENT_MODEL_KEY = "production/current.json"
#: Default base model of fine-tuning: a Hugging Face model folder the user uploads (docs/DEPLOY.md).
BASE_MODEL_PREFIX = "base-model/"
CODE_DIR = "/opt/ml/code"
RENDEZVOUS_PORT = 29400
KEY_WILDCARDS = ("IAM5[Action::kms:GenerateDataKey*]", "IAM5[Action::kms:ReEncrypt*]")


def training_requirements() -> str:
    """The `training` extra of pyproject.toml without torch, which the training image provides."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = pyproject["project"]["optional-dependencies"]["training"]
    return "".join(f"{req}\n" for req in requirements if not re.match(r"torch\b", req))


def ecr_repository_arn(image_uri: str) -> str:
    """The repository ARN of an ECR image URI (its region may be a token)."""
    match = re.match(r"^(\d{12})\.dkr\.ecr\.(.+?)\.amazonaws\.com[^/]*/([^:@]+)", image_uri)
    if match is None:
        raise ValueError(f"not an ECR image: {image_uri}")
    account, region, repository = match.groups()
    return f"arn:{cdk.Aws.PARTITION}:ecr:{region}:{account}:repository/{repository}"


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


class TrainingPipeline(Construct):
    """Roles, the two state machines, their Lambda steps and the retraining schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TrainingConfig,
        serving: ServingConfig,
        data: DataStores,
        functions: FunctionFactory,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.serving = serving
        self.data = data
        self.training_image = config.image_uri.replace("{region}", cdk.Aws.REGION)
        self.serving_image = serving.image_uri.replace("{region}", cdk.Aws.REGION)
        self.code = s3_assets.Asset(
            self,
            "Code",
            **package_asset(
                "training_jobs", "functions", extra_files={"requirements.txt": training_requirements()}
            ),
        )
        self.training_role = self._build_training_role()
        self.model_role = self._build_model_role()
        self.export = functions.build(
            self,
            "Export",
            handler=handler_path("export"),
            description="genai-stack: export conversations and feedback as training JSONL",
            memory_mb=1024,
            timeout=cdk.Duration.minutes(15),
            in_vpc=False,
        )
        data.grant_table(data.conversations, self.export, write=False)
        data.grant_table(data.feedback, self.export, write=False)
        data.grant_write_objects(data.training_data, self.export, key_pattern="exports/*")
        self.pseudonym_key = self._build_pseudonym_key(data)
        self.pseudonym_key.grant_read(self.export)
        self.export.add_environment(EnvVar.PSEUDONYM_SECRET_ARN, self.pseudonym_key.secret_arn)
        self.gate = functions.build(
            self,
            "PromotionGate",
            handler=handler_path("promotion_gate"),
            description="genai-stack: promote the candidate model only if its evaluation wins",
            memory_mb=256,
            timeout=cdk.Duration.seconds(30),
            in_vpc=False,
            layers=[],
        )
        data.grant_read_objects(data.models, self.gate, key_pattern="jobs/*")
        self.retraining = self._state_machine("Retraining", self._retraining_definition(), functions)
        acknowledge(
            self.retraining.role,
            *(f"IAM5[Resource::{_arn_pattern(resource)}]" for resource in ("model", "endpoint-config")),
            reason=RUN_NAMES,
        )
        self.pretraining = self._state_machine("Pretraining", self._pretraining_definition(), functions)
        events.Rule(
            self,
            "Schedule",
            description="Starts the retraining pipeline (training.schedule_enabled)",
            schedule=events.Schedule.expression(config.schedule_expression),
            enabled=config.schedule_enabled,
            targets=[targets.SfnStateMachine(self.retraining, input=events.RuleTargetInput.from_object({}))],
        )

    # --- S3 locations of one execution ------------------------------------------------------------

    def _uri(self, template: str) -> str:
        """`template` with its `{}` filled with the execution's run id."""
        return sfn.JsonPath.format(template, sfn.JsonPath.string_at("$.run_id"))

    def _job_output(self, step: str, path: str = "") -> str:
        return self._uri(f"s3://{self.data.models.bucket_name}/jobs/{{}}-{step}/output/model/{path}")

    # --- roles ------------------------------------------------------------------------------------

    def _build_pseudonym_key(self, data: DataStores) -> secretsmanager.Secret:
        """The key of the user-id HMAC in the training export (functions.feedback.pseudonyms)."""
        secret = secretsmanager.Secret(
            self,
            "PseudonymKey",
            description="genai-stack: HMAC key that pseudonymises user ids in training exports",
            encryption_key=data.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=data.removal_policy,
        )
        acknowledge(
            secret,
            "SMG4",
            reason="a pseudonymisation key must stay the same: rotating it would give every user a "
            "new pseudonym and unlink their records across training exports",
        )
        return secret

    def _build_training_role(self) -> iam.Role:
        """The jobs may read their code and inputs, write their outputs, log, and pull the image."""
        role = iam.Role(
            self,
            "TrainingRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="genai-stack SageMaker training jobs",
        )
        models, exports, documents = self.data.models, self.data.training_data, self.data.documents
        readable = [(exports, "exports/*"), (documents, "*"), (models, f"{BASE_MODEL_PREFIX}*")]
        writable = [(models, "jobs/*"), (models, "checkpoints/*")]
        code_object = f"arn:{cdk.Aws.PARTITION}:s3:::{self.code.s3_bucket_name}/{self.code.s3_object_key}"
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[code_object, *(bucket.arn_for_objects(keys) for bucket, keys in readable)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(keys) for bucket, keys in writable],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[models.bucket_arn, exports.bucket_arn, documents.bucket_arn],
            )
        )
        self.data.key.grant_encrypt_decrypt(role)
        acknowledge(role, *KEY_WILDCARDS, reason=KEY_ACTIONS)
        acknowledge(
            role,
            *(f"IAM5[Resource::{arn_of(bucket)}/{keys}]" for bucket, keys in readable + writable),
            reason="prefixes of this stack's buckets: the jobs read exports, knowledge base and base "
            "model, and write job outputs and checkpoints; SageMaker copies whole prefixes",
        )
        self._allow_sagemaker_basics(role, "TrainingJobs", self.training_image)
        return role

    def _build_model_role(self) -> iam.Role:
        """The endpoint may read promoted model folders, log, and pull the serving image."""
        role = iam.Role(
            self,
            "ModelRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="genai-stack SageMaker endpoint serving the promoted model",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self.data.models.arn_for_objects("jobs/*")]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.data.models.bucket_arn])
        )
        self.data.key.grant_decrypt(role)
        acknowledge(
            role,
            f"IAM5[Resource::{arn_of(self.data.models)}/jobs/*]",
            reason="model folders written by this stack's training jobs; which one is promoted is decided "
            "at run time",
        )
        self._allow_sagemaker_basics(role, "Endpoints", self.serving_image)
        return role

    def _allow_sagemaker_basics(self, role: iam.Role, log_group_kind: str, image_uri: str) -> None:
        """Logs, metrics and the container image: what every SageMaker execution role needs."""
        log_groups = (
            f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/"
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[f"{log_groups}{log_group_kind}*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}},
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[ecr_repository_arn(image_uri)],
            )
        )
        acknowledge(
            role,
            "IAM5[Resource::*]",
            reason="ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level "
            "permissions (metrics are limited to SageMaker's namespaces by condition)",
        )
        acknowledge(
            role,
            f"IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/"
            f"{log_group_kind}*]",
            reason=f"SageMaker's own log groups /aws/sagemaker/{log_group_kind} (a stream per job)",
        )

    # --- states -----------------------------------------------------------------------------------

    def _start(self, prefix: str) -> sfn.Chain:
        """Gives the execution a run id, and its input with the defaults filled in."""
        defaults = sfn.Pass(
            self,
            f"{prefix}Defaults",
            state_name="Defaults",
            result=sfn.Result.from_object(
                {"base_model_uri": f"s3://{self.data.models.bucket_name}/{BASE_MODEL_PREFIX}"}
            ),
            result_path="$.defaults",
        )
        start = sfn.Pass(
            self,
            f"{prefix}Start",
            state_name="Start",
            parameters={
                "run_id": sfn.JsonPath.format(f"{NAME_PREFIX}-{{}}", sfn.JsonPath.uuid()),
                "input": sfn.JsonPath.json_merge(
                    sfn.JsonPath.object_at("$.defaults"), sfn.JsonPath.object_at("$$.Execution.Input")
                ),
            },
        )
        return sfn.Chain.start(defaults).next(start)

    def _export(self, prefix: str) -> tasks.LambdaInvoke:
        return tasks.LambdaInvoke(
            self,
            f"{prefix}Export",
            state_name="ExportInteractions",
            lambda_function=self.export,
            payload=sfn.TaskInput.from_object({"prefix": self._uri("exports/{}/")}),
            result_path=sfn.JsonPath.DISCARD,
        )

    def _data_job(self) -> Job:
        return Job(
            step="data",
            module="training_jobs.data.build",
            instance_type=self.config.data_instance_type,
            channels={
                "export": self._uri(f"s3://{self.data.training_data.bucket_name}/exports/{{}}/"),
                "kb": f"s3://{self.data.documents.bucket_name}/",
            },
        )

    def _training_job(self, prefix: str, job: Job) -> sfn.CustomState:
        """CreateTrainingJob with `.sync`: the state ends when the job does (and fails with it)."""
        name = self._uri(f"{{}}-{job.step}")
        channels = {"code": self.code.s3_object_url, **job.channels}
        stopping: dict[str, Any] = {"MaxRuntimeInSeconds": self.config.max_runtime_seconds}
        if self.config.use_spot:
            stopping["MaxWaitTimeInSeconds"] = self.config.max_wait_seconds
        parameters: dict[str, Any] = {
            "TrainingJobName.$": name,
            "RoleArn": self.training_role.role_arn,
            "AlgorithmSpecification": {
                "TrainingImage": self.training_image,
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
                "S3OutputPath": f"s3://{self.data.models.bucket_name}/jobs/",
                "KmsKeyId": self.data.key.key_arn,
                "CompressionType": "NONE",
            },
            "CheckpointConfig": {
                "S3Uri.$": self._uri(f"s3://{self.data.models.bucket_name}/checkpoints/{{}}-{job.step}/"),
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
            self,
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

    def _retraining_definition(self) -> sfn.IChainable:
        sft_data, preference_data = self._job_output("data", "sft/"), self._job_output("data", "preference/")
        sft = Job(
            step="sft",
            module="training_jobs.finetune.sft",
            instance_type=self.config.finetune_instance_type,
            channels={"model": sfn.JsonPath.string_at("$.input.base_model_uri"), "sft": sft_data},
            torchrun=True,
        )
        reward = Job(
            step="reward",
            module="training_jobs.rlhf.reward",
            instance_type=self.config.reward_instance_type,
            channels={"model": self._job_output("sft"), "preference": preference_data},
            torchrun=True,
        )
        policy = Job(
            step="policy",
            module="training_jobs.rlhf.policy",
            instance_type=self.config.policy_instance_type,
            channels={
                "model": self._job_output("sft"),
                "reward_model": self._job_output("reward"),
                "preference": preference_data,
            },
            torchrun=True,
        )
        evaluate = Job(
            step="evaluate",
            module="training_jobs.evaluate",
            instance_type=self.config.evaluation_instance_type,
            channels={
                "model": self._job_output("policy"),
                "current_model": sfn.JsonPath.string_at("$.current.model_uri"),
                "reward_model": self._job_output("reward"),
                "sft": sft_data,
                "preference": preference_data,
            },
        )
        gate = tasks.LambdaInvoke(
            self,
            "Gate",
            state_name="PromotionGate",
            lambda_function=self.gate,
            payload=sfn.TaskInput.from_object(
                {
                    "evaluation_uri": self._job_output("evaluate", "evaluation.json"),
                    "min_improvement": self.config.min_improvement,
                }
            ),
            result_selector={"promote.$": "$.Payload.promote", "reason.$": "$.Payload.reason"},
            result_path="$.gate",
        )
        choice = sfn.Choice(self, "PromoteChoice", state_name="Promote?")
        choice.when(sfn.Condition.boolean_equals("$.gate.promote", True), self._promote())
        choice.otherwise(sfn.Succeed(self, "KeepCurrent", state_name="KeepCurrentModel"))
        evaluation = self._training_job("Retrain", evaluate)
        evaluation.next(gate).next(choice)
        return (
            self._start("Retrain")
            .next(self._export("Retrain"))
            .next(self._training_job("Retrain", self._data_job()))
            .next(self._training_job("Retrain", sft))
            .next(self._training_job("Retrain", reward))
            .next(self._training_job("Retrain", policy))
            .next(self._current_model(then=evaluation))
        )

    def _current_model(self, *, then: sfn.IChainable) -> tasks.CallAwsService:
        """Puts the promoted model's folder at `$.current` (the base model before any promotion)."""
        models = self.data.models
        lookup = tasks.CallAwsService(
            self,
            "LookupCurrent",
            state_name="LookupCurrentModel",
            service="s3",
            action="getObject",
            parameters={"Bucket": models.bucket_name, "Key": CURRENT_MODEL_KEY},
            iam_resources=[models.arn_for_objects(CURRENT_MODEL_KEY)],
            # Without ListBucket a missing key reads as AccessDenied instead of NoSuchKey.
            additional_iam_statements=[
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[models.bucket_arn])
            ],
            result_selector={"record": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at("$.Body"))},
            result_path="$.lookup",
        )
        found = sfn.Pass(
            self,
            "UseCurrent",
            state_name="UseCurrentModel",
            parameters={"model_uri": sfn.JsonPath.string_at("$.lookup.record.model_uri")},
            result_path="$.current",
        )
        first = sfn.Pass(
            self,
            "UseBase",
            state_name="CompareWithBaseModel",
            comment="Nothing promoted yet: the candidate must beat the model it was trained from",
            parameters={"model_uri": sfn.JsonPath.string_at("$.input.base_model_uri")},
            result_path="$.current",
        )
        lookup.add_catch(first, errors=["S3.NoSuchKeyException"], result_path=sfn.JsonPath.DISCARD)
        lookup.next(found)
        found.next(then)
        first.next(then)
        return lookup

    def _promote(self) -> sfn.IChainable:
        """Model -> endpoint config -> create or update the endpoint -> record it as current."""
        name = sfn.JsonPath.string_at("$.run_id")
        endpoint = self.serving.endpoint_name
        create_model = self._sagemaker_call(
            "CreateModel",
            "createModel",
            "model",
            {
                "ModelName": name,
                "ExecutionRoleArn": self.model_role.role_arn,
                "PrimaryContainer": {
                    "Image": self.serving_image,
                    "ModelDataSource": {
                        "S3DataSource": {
                            "S3Uri": self._job_output("policy"),
                            "S3DataType": "S3Prefix",
                            "CompressionType": "None",
                        }
                    },
                    "Environment": {"HF_MODEL_ID": "/opt/ml/model"},
                },
            },
            pass_role=self.model_role,
        )
        create_config = self._sagemaker_call(
            "CreateEndpointConfig",
            "createEndpointConfig",
            "endpoint-config",
            {
                "EndpointConfigName": name,
                "ProductionVariants": [
                    {
                        "VariantName": "primary",
                        "ModelName": name,
                        "InstanceType": self.serving.instance_type,
                        "InitialInstanceCount": self.serving.instance_count,
                    }
                ],
            },
        )
        describe = self._sagemaker_call(
            "DescribeEndpoint", "describeEndpoint", "endpoint", {"EndpointName": endpoint}
        )
        update = self._sagemaker_call(
            "UpdateEndpoint",
            "updateEndpoint",
            "endpoint",
            {"EndpointName": endpoint, "EndpointConfigName": name},
        )
        create = self._sagemaker_call(
            "CreateEndpoint",
            "createEndpoint",
            "endpoint",
            {"EndpointName": endpoint, "EndpointConfigName": name},
        )
        record = sfn.Pass(
            self,
            "CurrentRecord",
            state_name="DescribeCurrentModel",
            parameters={
                "model_uri": self._job_output("policy"),
                "model_name": name,
                "evaluation_uri": self._job_output("evaluate", "evaluation.json"),
                "reason": sfn.JsonPath.string_at("$.gate.reason"),
            },
            result_path="$.record",
        )
        write = tasks.CallAwsService(
            self,
            "RecordCurrent",
            state_name="RecordCurrentModel",
            service="s3",
            action="putObject",
            parameters={
                "Bucket": self.data.models.bucket_name,
                "Key": CURRENT_MODEL_KEY,
                "ContentType": "application/json",
                "Body": sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.record")),
            },
            iam_resources=[self.data.models.arn_for_objects(CURRENT_MODEL_KEY)],
            result_path=sfn.JsonPath.DISCARD,
        )
        describe.add_catch(create, errors=[sfn.Errors.TASKS_FAILED], result_path=sfn.JsonPath.DISCARD)
        describe.next(update)
        update.next(record)
        create.next(record)
        record.next(write)
        return sfn.Chain.start(create_model).next(create_config).next(describe)

    def _sagemaker_call(
        self,
        state: str,
        action: str,
        resource: str,
        parameters: dict[str, Any],
        *,
        pass_role: iam.IRole | None = None,
    ) -> tasks.CallAwsService:
        """A SageMaker API call whose permission names the resources this pipeline creates."""
        names = self.serving.endpoint_name.lower() if resource == "endpoint" else f"{NAME_PREFIX}-*"
        arn = f"arn:{cdk.Aws.PARTITION}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
        resources = [f"{arn}:{resource}/{names}"]
        if action in {"createEndpoint", "updateEndpoint"}:
            resources.append(f"{arn}:endpoint-config/{NAME_PREFIX}-*")
        extra = []
        if pass_role is not None:
            extra.append(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[pass_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                )
            )
        return tasks.CallAwsService(
            self,
            state,
            service="sagemaker",
            action=action,
            parameters=parameters,
            iam_resources=resources,
            additional_iam_statements=extra,
            result_path=sfn.JsonPath.DISCARD,
        )

    def _pretraining_definition(self) -> sfn.IChainable:
        pretrain = Job(
            step="pretrain",
            module="training_jobs.pretrain.train",
            instance_type=self.config.pretrain_instance_type,
            instance_count=self.config.pretrain_instance_count,
            channels={"corpus": self._job_output("data", "corpus/")},
            torchrun=True,
        )
        return (
            self._start("Pretrain")
            .next(self._export("Pretrain"))
            .next(self._training_job("Pretrain", self._data_job()))
            .next(self._training_job("Pretrain", pretrain))
        )

    # --- state machines ---------------------------------------------------------------------------

    def _state_machine(
        self, name: str, definition: sfn.IChainable, functions: FunctionFactory
    ) -> sfn.StateMachine:
        machine = sfn.StateMachine(
            self,
            name,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(
                    self,
                    f"{name}Logs",
                    retention=functions.log_retention,
                    removal_policy=functions.removal_policy,
                ),
                level=sfn.LogLevel.ALL,
            ),
        )
        self._allow_training_jobs(machine)
        role = machine.role
        acknowledge(
            role,
            "IAM5[Resource::*]",
            reason=f"{XRAY}; Step Functions' log delivery actions (logs:*LogDelivery*) have none either",
        )
        for function in (self.export, self.gate):
            acknowledge(
                role,
                f"IAM5[Resource::{arn_of(function)}:*]",
                reason="versions and aliases of this pipeline's own function (CDK's LambdaInvoke grant)",
            )
        acknowledge(role, *KEY_WILDCARDS, reason=KEY_ACTIONS)
        return machine

    def _allow_training_jobs(self, machine: sfn.StateMachine) -> None:
        """What `createTrainingJob.sync` needs: the jobs, the role they run as, and the polling rule."""
        region, account = cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID
        jobs = f"arn:{cdk.Aws.PARTITION}:sagemaker:{region}:{account}:training-job/{NAME_PREFIX}-*"
        rule_name = "StepFunctionsGetEventsForSageMakerTrainingJobsRule"  # managed by Step Functions
        rule = f"arn:{cdk.Aws.PARTITION}:events:{region}:{account}:rule/{rule_name}"
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                ],
                resources=[jobs],
            )
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[rule]
            )
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.training_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        self.data.key.grant_encrypt_decrypt(machine)
        acknowledge(machine.role, f"IAM5[Resource::{_arn_pattern('training-job')}]", reason=RUN_NAMES)


def _arn_pattern(resource: str) -> str:
    """How a finding spells this pipeline's SageMaker resource ARNs of one type."""
    return f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:{resource}/{NAME_PREFIX}-*"


def _dynamic(key: str, value: str) -> str:
    """`Key.$` when `value` is a JSONPath expression (CustomState does not add the suffix itself)."""
    return f"{key}.$" if sfn.JsonPath.is_encoded_json_path(value) else key
