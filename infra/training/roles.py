"""The execution roles of SageMaker: the training jobs' and the serving endpoint's."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.data import KEY_WILDCARDS, DataStores
from infra.nag import KEY_ACTIONS, acknowledge, arn_of
from infra.training.naming import BASE_MODEL_PREFIX, GOLDEN_SET_PREFIX


def ecr_repository_arn(image_uri: str) -> str:
    """The repository ARN of an ECR image URI (its region may be a token)."""
    match = re.match(r"^(\d{12})\.dkr\.ecr\.(.+?)\.amazonaws\.com[^/]*/([^:@]+)", image_uri)
    if match is None:
        raise ValueError(f"not an ECR image: {image_uri}")
    account, region, repository = match.groups()
    return f"arn:{cdk.Aws.PARTITION}:ecr:{region}:{account}:repository/{repository}"


def build_training_role(
    scope: Construct, *, data: DataStores, code: s3_assets.Asset, image_uri: str
) -> iam.Role:
    """The jobs may read their code and inputs, write their outputs, log, and pull the image."""
    role = iam.Role(
        scope,
        "TrainingRole",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description="genai-stack SageMaker training jobs",
    )
    models, exports, documents = data.models, data.training_data, data.documents
    readable = [
        (exports, "exports/*"),
        (documents, "*"),
        (models, f"{BASE_MODEL_PREFIX}*"),
        (models, f"{GOLDEN_SET_PREFIX}*"),  # the evaluation's golden question set
    ]
    writable = [(models, "jobs/*"), (models, "checkpoints/*")]
    code_object = f"arn:{cdk.Aws.PARTITION}:s3:::{code.s3_bucket_name}/{code.s3_object_key}"
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
    data.key.grant_encrypt_decrypt(role)
    acknowledge(role, *KEY_WILDCARDS, reason=KEY_ACTIONS)
    acknowledge(
        role,
        *(f"IAM5[Resource::{arn_of(bucket)}/{keys}]" for bucket, keys in readable + writable),
        reason="prefixes of this stack's buckets: the jobs read exports, knowledge base, base "
        "model and golden set, and write job outputs and checkpoints; SageMaker copies whole prefixes",
    )
    _allow_sagemaker_basics(role, "TrainingJobs", image_uri)
    return role


def build_model_role(scope: Construct, *, data: DataStores, image_uri: str) -> iam.Role:
    """The endpoint may read promoted model folders, log, and pull the serving image."""
    role = iam.Role(
        scope,
        "ModelRole",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description="genai-stack SageMaker endpoint serving the promoted model",
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[data.models.arn_for_objects("jobs/*")])
    )
    role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[data.models.bucket_arn]))
    data.key.grant_decrypt(role)
    acknowledge(
        role,
        f"IAM5[Resource::{arn_of(data.models)}/jobs/*]",
        reason="model folders written by this stack's training jobs; which one is promoted is decided "
        "at run time",
    )
    _allow_sagemaker_basics(role, "Endpoints", image_uri)
    return role


def _allow_sagemaker_basics(role: iam.Role, log_group_kind: str, image_uri: str) -> None:
    """Logs, metrics and the container image: what every SageMaker execution role needs."""
    region, account = cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID
    log_groups = f"arn:{cdk.Aws.PARTITION}:logs:{region}:{account}:log-group:/aws/sagemaker/"
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
