"""Every CloudWatch log group of the stack is encrypted with the stack's customer-managed key.

Logs hold what users asked (redacted, but customer text all the same), so they get the key that
guards the rest of the customer data. An aspect covers every log group, whichever construct built
it, instead of each construct remembering to pass the key.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import IConstruct


def encrypt_log_groups(stack: cdk.Stack, key: kms.IKey) -> None:
    """Let CloudWatch Logs use `key` for this account's log groups, and set it on every one."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],  # in a key policy, "*" is this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    cdk.Aspects.of(stack).add(_EncryptLogGroups(key))


@jsii.implements(cdk.IAspect)
class _EncryptLogGroups:
    def __init__(self, key: kms.IKey) -> None:
        self._key = key

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, logs.CfnLogGroup) and node.kms_key_id is None:
            node.kms_key_id = self._key.key_arn
