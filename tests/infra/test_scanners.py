"""What the IaC scanners would otherwise report: every finding fixed or skipped with its reason."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from infra.dependencies import referenced_ids
from infra.lambdas import REPO_ROOT
from infra.nag import CHECKOV, acknowledge
from tests.infra.conftest import Synthesized


def test_every_log_group_is_encrypted_with_the_stacks_key(any_stack: Synthesized) -> None:
    (key_id,) = (logical_id for logical_id in any_stack.resources("AWS::KMS::Key") if "DataKey" in logical_id)
    groups = any_stack.resources("AWS::Logs::LogGroup")

    assert groups and {str(group["Properties"].get("KmsKeyId")) for group in groups.values()} == {
        str({"Fn::GetAtt": [key_id, "Arn"]})
    }


def test_no_depends_on_repeats_a_reference(any_stack: Synthesized) -> None:
    """cfn-lint's W3005: a DependsOn on a resource that a Ref or GetAtt already waits for."""
    redundant = {
        logical_id: sorted(set(resource["DependsOn"]) & referenced_ids(resource.get("Properties", {})))
        for logical_id, resource in any_stack.template.to_json()["Resources"].items()
        if "DependsOn" in resource
    }
    assert {logical_id: ids for logical_id, ids in redundant.items() if ids} == {}


def checkov_skips(stack: Synthesized) -> list[dict[str, Any]]:
    return [
        skip
        for resource in stack.template.to_json()["Resources"].values()
        for skip in resource.get("Metadata", {}).get(CHECKOV, {}).get("skip", [])
    ]


def test_every_checkov_skip_gives_a_reason_listed_in_the_deploy_doc(any_stack: Synthesized) -> None:
    doc = (REPO_ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    skips = checkov_skips(any_stack)

    assert skips and all(len(skip["comment"]) > 40 for skip in skips)
    assert {skip["id"] for skip in skips} - set(re.findall(r"CKV2?_AWS_\d+", doc)) == set()


def test_one_acknowledgement_gives_both_scanners_the_reason_once() -> None:
    # GIVEN a construct with two resources, one already carrying a skip
    stack = cdk.Stack(cdk.App(), "Probe")
    queue = sqs.Queue(stack, "Queue")
    acknowledge(queue, checkov=("CKV_AWS_27",), reason="first reason")
    # WHEN findings of both scanners are acknowledged on it, the checkov one twice
    acknowledge(queue, "SQS3", reason="second reason", checkov=("CKV_AWS_27", "CKV_AWS_99"))
    # THEN checkov reads each check once, with the reason it was first given
    (resource,) = Template.from_stack(stack).find_resources("AWS::SQS::Queue").values()
    assert resource["Metadata"][CHECKOV]["skip"] == [
        {"id": "CKV_AWS_27", "comment": "first reason"},
        {"id": "CKV_AWS_99", "comment": "second reason"},
    ]
