"""The promotion step: compare with the model serving now, gate, and deploy only a winner.

Evaluation compares the candidate with the model recorded in the models bucket (the base model
before any promotion); the gate (Lambda) decides; a winner becomes a model and an endpoint config,
then the endpoint is created or updated and the record rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import ServingConfig, TrainingConfig
from infra.data import DataStores
from infra.training.naming import NAME_PREFIX, job_output

#: The promoted model, recorded in the models bucket: what the next evaluation compares with.
CURRENT_MODEL_KEY = "production/current.json"


@dataclass(frozen=True)
class Promotion:
    """The states around the evaluation job: look up the current model before it, gate after it."""

    scope: Construct
    serving: ServingConfig
    data: DataStores
    model_role: iam.IRole
    image_uri: str  # the serving image

    def current_model(self, *, then: sfn.IChainable) -> tasks.CallAwsService:
        """Puts the promoted model's folder at `$.current` (the base model before any promotion)."""
        models = self.data.models
        lookup = tasks.CallAwsService(
            self.scope,
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
            self.scope,
            "UseCurrent",
            state_name="UseCurrentModel",
            parameters={"model_uri": sfn.JsonPath.string_at("$.lookup.record.model_uri")},
            result_path="$.current",
        )
        first = sfn.Pass(
            self.scope,
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

    def gate(self, function: lambda_.IFunction, *, training: TrainingConfig) -> sfn.Chain:
        """The gate reads this run's evaluation and the configuration's thresholds; promote the
        candidate or keep the current model. The decision, its reasons and the answer figures stay
        in the execution's history (`$.gate`)."""
        gate = tasks.LambdaInvoke(
            self.scope,
            "Gate",
            state_name="PromotionGate",
            lambda_function=function,
            payload=sfn.TaskInput.from_object(
                {
                    "evaluation_uri": self._output("evaluate", "evaluation.json"),
                    "min_improvement": training.min_improvement,
                    "min_groundedness": training.min_groundedness,
                    "min_handoff_correctness": training.min_handoff_correctness,
                    "max_answer_regression": training.max_answer_regression,
                }
            ),
            result_selector={
                "promote.$": "$.Payload.promote",
                "reason.$": "$.Payload.reason",
                "failed.$": "$.Payload.failed",
                "answers.$": "$.Payload.answers",
            },
            result_path="$.gate",
        )
        choice = sfn.Choice(self.scope, "PromoteChoice", state_name="Promote?")
        choice.when(sfn.Condition.boolean_equals("$.gate.promote", True), self._promote())
        choice.otherwise(sfn.Succeed(self.scope, "KeepCurrent", state_name="KeepCurrentModel"))
        return sfn.Chain.start(gate).next(choice)

    def _output(self, step: str, path: str = "") -> str:
        return job_output(self.data.models.bucket_name, step, path)

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
                    "Image": self.image_uri,
                    "ModelDataSource": {
                        "S3DataSource": {
                            "S3Uri": self._output("policy"),
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
            self.scope,
            "CurrentRecord",
            state_name="DescribeCurrentModel",
            parameters={
                "model_uri": self._output("policy"),
                "model_name": name,
                "evaluation_uri": self._output("evaluate", "evaluation.json"),
                "reason": sfn.JsonPath.string_at("$.gate.reason"),
                "answers": sfn.JsonPath.object_at("$.gate.answers"),
            },
            result_path="$.record",
        )
        write = tasks.CallAwsService(
            self.scope,
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
            self.scope,
            state,
            service="sagemaker",
            action=action,
            parameters=parameters,
            iam_resources=resources,
            additional_iam_statements=extra,
            result_path=sfn.JsonPath.DISCARD,
        )
