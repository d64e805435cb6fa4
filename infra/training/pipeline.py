"""The two state machines, composed from the job states and the promotion step.

Retraining: export (Lambda) -> dataset build -> SFT -> reward model -> policy -> evaluation against
the model serving now -> promotion gate (Lambda) -> create model and endpoint config, then create or
update the endpoint, only if the candidate won. Pretraining: export -> dataset build -> multi-node
pretraining with checkpoints (managed spot optional). A schedule starts retraining; it is disabled
by default.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from functions.contract import EnvVar, handler_path
from infra.config import ServingConfig, TrainingConfig
from infra.data import KEY_WILDCARDS, DataStores
from infra.lambdas import FunctionFactory, package_asset
from infra.nag import KEY_ACTIONS, XRAY, acknowledge, arn_of
from infra.training.jobs import JobStates
from infra.training.naming import (
    BASE_MODEL_PREFIX,
    GOLDEN_SET_PREFIX,
    NAME_PREFIX,
    RUN_NAMES,
    arn_pattern,
    job_output,
    run_uri,
)
from infra.training.promotion import Promotion
from infra.training.roles import build_model_role, build_training_role
from training_jobs.common.jobs import CODE, training_requirements


class TrainingPipeline(Construct):
    """The code asset, the Lambda steps, the two state machines and the retraining schedule."""

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
        self.data = data
        training_image = config.image_uri.replace("{region}", cdk.Aws.REGION)
        serving_image = serving.image_uri.replace("{region}", cdk.Aws.REGION)
        code = s3_assets.Asset(
            self,
            "Code",
            **package_asset(*CODE, extra_files={"requirements.txt": training_requirements()}),
        )
        self.training_role = build_training_role(self, data=data, code=code, image_uri=training_image)
        model_role = build_model_role(self, data=data, image_uri=serving_image)
        self.jobs = JobStates(
            self, config=config, data=data, role=self.training_role, image_uri=training_image, code=code
        )
        self.promotion = Promotion(
            self, serving=serving, data=data, model_role=model_role, image_uri=serving_image
        )
        self.export = functions.build(
            self,
            "Export",
            handler=handler_path("export"),
            description="genai-stack: export conversations, feedback and reviews as training JSONL",
            memory_mb=1024,
            timeout=cdk.Duration.minutes(15),
            in_vpc=False,
        )
        data.grant_table(data.conversations, self.export, write=False)
        data.grant_table(data.feedback, self.export, write=False)
        data.grant_table(data.reviews, self.export, write=False)
        data.grant_write_objects(data.training_data, self.export, key_pattern="exports/*")
        data.pseudonym_key.grant_read(self.export)
        self.export.add_environment(EnvVar.PSEUDONYM_SECRET_ARN, data.pseudonym_key.secret_arn)
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
            *(f"IAM5[Resource::{arn_pattern(resource)}]" for resource in ("model", "endpoint-config")),
            reason=RUN_NAMES,
        )
        acknowledge(
            self.retraining.role,
            checkov=("CKV_AWS_108",),
            reason="checkov counts any s3:GetObject as data exfiltration; this role reads one object, "
            "the models bucket's production/current.json (the promoted model's record)",
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

    def _output(self, step: str, path: str = "") -> str:
        return job_output(self.data.models.bucket_name, step, path)

    # --- states -----------------------------------------------------------------------------------

    def _start(self, prefix: str) -> sfn.Chain:
        """Gives the execution a run id, and its input with the defaults filled in."""
        defaults = sfn.Pass(
            self,
            f"{prefix}Defaults",
            state_name="Defaults",
            result=sfn.Result.from_object(
                {
                    "base_model_uri": f"s3://{self.data.models.bucket_name}/{BASE_MODEL_PREFIX}",
                    "golden_set_uri": f"s3://{self.data.models.bucket_name}/{GOLDEN_SET_PREFIX}",
                }
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
            payload=sfn.TaskInput.from_object({"prefix": run_uri("exports/{}/")}),
            result_path=sfn.JsonPath.DISCARD,
        )

    def _data_job(self, prefix: str) -> sfn.CustomState:
        exports = run_uri(f"s3://{self.data.training_data.bucket_name}/exports/{{}}/")
        kb = f"s3://{self.data.documents.bucket_name}/"
        return self.jobs.state(prefix, "data", {"export": exports, "kb": kb})

    def _retraining_definition(self) -> sfn.IChainable:
        sft_data, preference_data = self._output("data", "sft/"), self._output("data", "preference/")
        base_model = sfn.JsonPath.string_at("$.input.base_model_uri")
        finetune = self.jobs.state("Retrain", "finetune", {"model": base_model, "sft": sft_data})
        reward = self.jobs.state(
            "Retrain", "reward", {"model": self._output("finetune"), "preference": preference_data}
        )
        policy = self.jobs.state(
            "Retrain",
            "policy",
            {
                "model": self._output("finetune"),
                "reward_model": self._output("reward"),
                "preference": preference_data,
            },
        )
        evaluation = self.jobs.state(
            "Retrain",
            "evaluate",
            {
                "model": self._output("policy"),
                "current_model": sfn.JsonPath.string_at("$.current.model_uri"),
                "reward_model": self._output("reward"),
                "sft": sft_data,
                "preference": preference_data,
                "kb": f"s3://{self.data.documents.bucket_name}/",
                "golden": sfn.JsonPath.string_at("$.input.golden_set_uri"),
            },
        )
        evaluation.next(self.promotion.gate(self.gate, training=self.config))
        return (
            self._start("Retrain")
            .next(self._export("Retrain"))
            .next(self._data_job("Retrain"))
            .next(finetune)
            .next(reward)
            .next(policy)
            .next(self.promotion.current_model(then=evaluation))
        )

    def _pretraining_definition(self) -> sfn.IChainable:
        pretrain = self.jobs.state(
            "Pretrain",
            "pretrain",
            {"corpus": self._output("data", "corpus/")},
            instance_count=self.config.pretrain_instance_count,
        )
        return (
            self._start("Pretrain")
            .next(self._export("Pretrain"))
            .next(self._data_job("Pretrain"))
            .next(pretrain)
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
        acknowledge(machine.role, f"IAM5[Resource::{arn_pattern('training-job')}]", reason=RUN_NAMES)
