"""Scanner acknowledgments: one finding at a time, each with the reason it is right for this stack.

Two scanners read the stack: cdk-nag during synthesis (acknowledgements in the validation report)
and checkov on the synthesized template (`make checkov`; skips in each resource's `Metadata`).
`acknowledge` writes the same reason for both, so a reason is given once, where the resource is
built. docs/DEPLOY.md lists them all; a new finding of either scanner fails the build until it is
fixed or acknowledged here.
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


def acknowledge(scope: IConstruct, *findings: str, reason: str, checkov: tuple[str, ...] = ()) -> None:
    """Acknowledge cdk-nag `findings` (e.g. `IAM5[Resource::*]`) on `scope` and everything below
    it, and skip the `checkov` checks (e.g. `CKV_AWS_116`) on the CloudFormation resources there."""
    if findings:
        cdk.Validations.of(scope).acknowledge(
            *(cdk.Acknowledgment(id=f"{PACK}::{PACK}-{finding}", reason=reason) for finding in findings)
        )
    if not checkov:
        return
    for resource in (child for child in scope.node.find_all() if isinstance(child, cdk.CfnResource)):
        skips = checkov_skips(resource)
        skips += [{"id": check, "comment": reason} for check in checkov if check not in _ids(skips)]
        resource.add_metadata(CHECKOV, {"skip": skips})


#: The metadata key checkov reads: `Metadata: {checkov: {skip: [{id, comment}]}}`.
CHECKOV = "checkov"


def checkov_skips(resource: cdk.CfnResource) -> list[dict[str, str]]:
    """The checkov checks skipped on `resource` so far, each with its reason."""
    metadata = resource.get_metadata(CHECKOV)
    return list(metadata["skip"]) if metadata else []


def _ids(skips: list[dict[str, str]]) -> set[str]:
    return {skip["id"] for skip in skips}


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
