"""cdk-nag acknowledgments: one finding at a time, each with the reason it is right for this stack.

docs/DEPLOY.md lists them all; a new finding fails synthesis until it is fixed or acknowledged here.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

PACK = "AwsSolutions"

XRAY = "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions"
KEY_ACTIONS = (
    "CDK's grant on the stack's customer-managed key: the wildcard is in the action family "
    "(GenerateDataKey*, ReEncrypt*) that envelope encryption needs; the resource is that one key"
)


def acknowledge(scope: IConstruct, *findings: str, reason: str) -> None:
    """Acknowledge `findings` (e.g. `IAM5[Resource::*]`) on `scope` and everything below it."""
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=f"{PACK}::{PACK}-{finding}", reason=reason) for finding in findings)
    )


def principal_of(grantee: iam.IGrantable) -> IConstruct:
    """The role construct a grant lands on, where its findings are reported."""
    principal = grantee.grant_principal
    if not isinstance(principal, Construct):
        raise TypeError(f"{grantee} is not backed by a role of this app")
    return principal


def arn_of(resource: IConstruct) -> str:
    """How a finding spells the ARN attribute of `resource` (`<LogicalId.Arn>`)."""
    cfn = resource.node.default_child
    if not isinstance(cfn, cdk.CfnElement):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    return f"<{cdk.Stack.of(resource).get_logical_id(cfn)}.Arn>"
