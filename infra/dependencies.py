"""Drops the DependsOn entries that a Ref or Fn::GetAtt of the same resource already enforces.

CDK makes each Lambda function and state machine depend on its whole role construct (so that the
role's policy exists before anything can invoke it) and the S3 notification resource on the queue
it notifies. The part of each on the role or queue itself repeats what the resource's own `Role`
or `QueueArn` reference says, which cfn-lint reports as W3005. Construct dependencies become
DependsOn only while the app is prepared for synthesis, after aspects run; stack validation is the
first hook after that, so the clean-up is registered as a validation that reports nothing.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from constructs import IValidation


@jsii.implements(IValidation)
class RedundantDependsOn:
    """Removes, on every resource of `stack`, the dependencies its properties already reference."""

    def __init__(self, stack: cdk.Stack) -> None:
        self._stack = stack

    def validate(self) -> list[str]:
        for resource in self._stack.node.find_all():
            if not isinstance(resource, cdk.CfnResource):
                continue
            referenced = referenced_ids(self._stack.resolve(resource._cfn_properties))
            for target in resource.obtain_dependencies():
                if (
                    isinstance(target, cdk.CfnResource)
                    and cdk.Stack.of(target) is self._stack
                    and self._stack.resolve(self._stack.get_logical_id(target)) in referenced
                ):
                    resource.remove_resource_dependency(target)
        return []


def referenced_ids(value: Any) -> set[str]:
    """The logical ids that `Ref` or `Fn::GetAtt` name anywhere in resolved CloudFormation."""
    if isinstance(value, list):
        return set().union(*(referenced_ids(item) for item in value))
    if not isinstance(value, dict):
        return set()
    ids = set().union(*(referenced_ids(item) for item in value.values()))
    if isinstance(value.get("Ref"), str):
        ids.add(value["Ref"])
    attribute = value.get("Fn::GetAtt")
    if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
        ids.add(attribute[0])
    return ids
