"""What every Lambda function of the stack shares: runtime, code asset, layer, logs, tracing, network.

One factory keeps the functions uniform (arm64, the latest Python, X-Ray, a log group with a
retention, a role that may write only to that log group) and each construct states only what
differs: handler, sizing, environment and grants.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.contract import METRICS_NAMESPACE, SERVICE_NAME
from infra.config import LOG_RETENTION_DAYS
from infra.nag import XRAY, acknowledge

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64


def log_retention(days: int) -> logs.RetentionDays:
    """The enum member for a number of days (jsii's Python enum keeps the names, not the numbers)."""
    finite = [member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE]
    return dict(zip(sorted(LOG_RETENTION_DAYS), finite, strict=True))[days]


#: The network-interface actions a function in a VPC needs (those of AWSLambdaVPCAccessExecutionRole).
VPC_ACCESS_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
VPC_ACCESS = "Lambda's VPC network-interface actions are granted on * as in AWSLambdaVPCAccessExecutionRole"

#: Why no function of the stack has a dead-letter queue (checkov CKV_AWS_116).
NO_DLQ = (
    "no function is invoked asynchronously by a source that cannot see its failure: API Gateway and "
    "Step Functions invoke synchronously and get the error, the SQS event source leaves failed "
    "messages to the queue's own dead-letter queue, and the index creator answers CloudFormation"
)
#: Why environment variables use Lambda's own key (checkov CKV_AWS_173).
PLAIN_ENVIRONMENT = (
    "the variables hold resource names and settings, no secret (the pseudonym key is read from "
    "Secrets Manager at run time); Lambda encrypts them at rest with its AWS managed key"
)


@jsii.implements(cdk.ILocalBundling)
class CopyPackages:
    """Copies top-level packages of the repository into the asset, without bytecode caches."""

    def __init__(self, packages: tuple[str, ...], extra_files: Mapping[str, str]) -> None:
        self._packages = packages
        self._extra_files = extra_files

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_options: object) -> bool:
        for path in package_files(self._packages):
            target = Path(output_dir) / path.relative_to(REPO_ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        for name, text in self._extra_files.items():
            (Path(output_dir) / name).write_text(text, encoding="utf-8")
        return True


def package_files(packages: tuple[str, ...]) -> list[Path]:
    """The source files of `packages` (folders, or single files), bytecode caches left out."""
    roots = [REPO_ROOT / package for package in packages]
    missing = [str(root) for root in roots if not root.exists()]
    if missing:
        raise FileNotFoundError(f"not in the repository: {missing}")
    return sorted(
        path
        for root in roots
        for path in (root.rglob("*") if root.is_dir() else [root])
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def package_asset(*packages: str, extra_files: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Asset options for a folder holding only `packages`, each at the asset root (plus `extra_files`).

    So `functions.handlers.query.handler` imports the same way in Lambda, in SageMaker, in tests and
    on a laptop. The hash covers exactly the copied files: fingerprinting the repository root instead
    would walk `.venv` and `node_modules` (seconds per asset).
    """
    extra_files = extra_files or {}
    digest = hashlib.sha256()
    for path in package_files(packages):
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    for name, text in sorted(extra_files.items()):
        digest.update(name.encode() + b"\0" + text.encode())
    return {
        "path": str(REPO_ROOT / packages[0]),
        "asset_hash": digest.hexdigest(),
        "asset_hash_type": cdk.AssetHashType.CUSTOM,
        # The image is required by the API and never pulled: local bundling always succeeds or raises.
        "bundling": cdk.BundlingOptions(
            image=RUNTIME.bundling_image, local=CopyPackages(packages, extra_files)
        ),
    }


def python_code(*packages: str) -> lambda_.Code:
    """A Lambda code asset holding only `packages` of this repository."""
    options = package_asset(*packages)
    return lambda_.Code.from_asset(options.pop("path"), **options)


@dataclass(frozen=True)
class Placement:
    """Private subnets and the security group of functions that run in the VPC."""

    vpc: ec2.IVpc
    security_group: ec2.ISecurityGroup


@dataclass
class FunctionFactory:
    """Builds the stack's Lambda functions with the shared settings."""

    code: lambda_.Code
    layers: list[lambda_.ILayerVersion]
    environment: dict[str, str]
    log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy
    placement: Placement | None = None
    functions: list[lambda_.Function] = field(default_factory=list)

    def build(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        memory_mb: int,
        timeout: cdk.Duration,
        reserved_concurrency: int | None = 1,
        in_vpc: bool = True,
        layers: list[lambda_.ILayerVersion] | None = None,
    ) -> lambda_.Function:
        """A function whose role may only write its own logs and traces; callers add grants.

        `reserved_concurrency` defaults to 1: the background functions run one invocation at a
        time; the API and ingest functions pass their configured limits (None: the unreserved pool).
        """
        log_group = logs.LogGroup(
            scope, f"{construct_id}Logs", retention=self.log_retention, removal_policy=self.removal_policy
        )
        role = iam.Role(
            scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{construct_id}: own log group, X-Ray, and the grants its construct adds",
        )
        log_group.grant_write(role)
        placement = self.placement if in_vpc else None
        if placement is None:
            acknowledge(role, "IAM5[Resource::*]", reason=XRAY)
        else:
            # AWSLambdaVPCAccessExecutionRole inline: CDK adds nothing to a role it did not create.
            role.add_to_policy(iam.PolicyStatement(actions=list(VPC_ACCESS_ACTIONS), resources=["*"]))
            acknowledge(role, "IAM5[Resource::*]", reason=f"{XRAY}; {VPC_ACCESS}", checkov=("CKV_AWS_111",))
        function = lambda_.Function(
            scope,
            construct_id,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=self.code,
            handler=handler,
            description=description,
            layers=self.layers if layers is None else layers,
            memory_size=memory_mb,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                # Traces carry no question or answer text, whatever a decorator says.
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                **self.environment,
            },
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            role=role,
            vpc=placement.vpc if placement else None,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
            if placement
            else None,
            security_groups=[placement.security_group] if placement else None,
        )
        acknowledge(function, checkov=("CKV_AWS_116",), reason=NO_DLQ)
        acknowledge(function, checkov=("CKV_AWS_173",), reason=PLAIN_ENVIRONMENT)
        if placement is None:
            acknowledge(
                function,
                checkov=("CKV_AWS_117",),
                reason="network.vpc_enabled is false (no NAT gateway to pay for): the function calls "
                "only AWS APIs, over TLS and signed with its role"
                if self.placement is None
                else "it calls only AWS APIs (S3, DynamoDB, SageMaker, Secrets Manager) and reaches "
                "nothing inside the VPC, so it stays outside and needs no NAT path",
            )
        if reserved_concurrency is None:
            acknowledge(
                function,
                checkov=("CKV_AWS_115",),
                reason="reserved_concurrency is null in cdk.json: it shares the account's unreserved pool",
            )
        self.functions.append(function)
        return function
