"""Synthesizes the stack the way `app.py` does (cdk.json context, cdk-nag on), without the pip step.

Synthesis takes several seconds, so each configuration is built once and shared.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.config import StackConfig, load_context
from infra.stack import GenAiStack

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

#: A configuration unlike the defaults in every respect the tests check, so that a value that is
#: ignored instead of applied shows up as a failure.
VARIANT_CONTEXT: dict[str, Any] = {
    "network": {"vpc_enabled": True},
    "search": {
        "data_nodes": 2,
        "zone_awareness": True,
        "dedicated_master_count": 3,
        "replicas": 1,
        "engine": "lucene",
        "space_type": "cosinesimil",
        "m": 32,
        "ef_construction": 256,
    },
    "api": {"mfa_required": True},
    "edge": {"web_acl_arn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared/0a1b2c3d"},
    "monitoring": {"alarm_email": "oncall@example.com"},
    "training.finetune_instance_type": "ml.g6.12xlarge",
    "training.reward_instance_type": "ml.g6.2xlarge",
    "training.policy_instance_type": "ml.p4d.24xlarge",
    "training.evaluation_instance_type": "ml.g6.xlarge",
    "training.pretrain_instance_type": "ml.p5.48xlarge",
    "training.pretrain_instance_count": 4,
    "training.use_spot": True,
    "training.schedule_enabled": True,
    "data": {"log_retention_days": 90, "retain_on_delete": False},
}


@dataclass(frozen=True)
class Synthesized:
    config: StackConfig
    template: Template
    validation_report: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.template.find_resources(resource_type)

    def state_machine(self, name: str) -> dict[str, Any]:
        """The parsed definition of the state machine whose logical id contains `name`."""
        (machine,) = (
            r for lid, r in self.resources("AWS::StepFunctions::StateMachine").items() if name in lid
        )
        return parse_joined_json(machine["Properties"]["DefinitionString"])


def synthesize(outdir: Path, **overrides: Any) -> Synthesized:
    context = {**load_context(), "skip_layer_bundling": True, **overrides}
    app = cdk.App(context=context, outdir=str(outdir))
    config = StackConfig.from_context(app.node.get_all_context())
    stack = GenAiStack(app, config.stack_name, config=config)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    return Synthesized(config=config, template=Template.from_stack(stack), validation_report=report)


def parse_joined_json(value: Any) -> Any:
    """JSON held in a CloudFormation string, with each intrinsic (Ref, GetAtt, ...) replaced by `TOKEN`."""
    if isinstance(value, str):
        return json.loads(value)
    parts = value["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    return json.loads(re.sub(r"\$\{AWS::[A-Za-z]+\}", "TOKEN", text))


@pytest.fixture(scope="session")
def default_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def variant_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-variant"), **VARIANT_CONTEXT)


@pytest.fixture(scope="session", params=["default", "variant"])
def any_stack(request: pytest.FixtureRequest) -> Synthesized:
    """Each configuration in turn: properties that must hold whatever the settings."""
    return request.getfixturevalue(f"{request.param}_stack")
