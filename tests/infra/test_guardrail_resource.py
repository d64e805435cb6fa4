"""The Bedrock guardrail: created from the policy file when selected, applied by the functions
that check text, and granted on that guardrail only."""

from __future__ import annotations

from typing import Any

import pytest

from functions.contract import EnvVar
from functions.guardrails.config import load_policy
from tests.infra.conftest import Synthesized, synthesize


@pytest.fixture(scope="module")
def bedrock_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-bedrock-guardrail"), **{"guardrails.engine": "bedrock"})


def guardrail(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = stack.resources("AWS::Bedrock::Guardrail").items()
    return logical_id, resource["Properties"]


def test_the_embedded_engine_creates_no_guardrail(default_stack: Synthesized) -> None:
    assert default_stack.resources("AWS::Bedrock::Guardrail") == {}


def test_the_guardrail_is_built_from_the_policy_file(bedrock_stack: Synthesized) -> None:
    policy = load_policy()
    _, properties = guardrail(bedrock_stack)
    filters = {f["Type"]: f for f in properties["ContentPolicyConfig"]["FiltersConfig"]}
    assert filters["PROMPT_ATTACK"]["InputStrength"] == "MEDIUM"
    assert {"INSULTS", "HATE", "VIOLENCE", "MISCONDUCT"} <= set(filters)
    topics = properties["TopicPolicyConfig"]["TopicsConfig"]
    assert [t["Name"] for t in topics] == [t.name for t in policy.denied_topics]
    assert all(t["Type"] == "DENY" and 1 <= len(t["Examples"]) <= 5 for t in topics)
    entities = {
        e["Type"]: e["Action"] for e in properties["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]
    }
    assert entities["INTERNATIONAL_BANK_ACCOUNT_NUMBER"] == "ANONYMIZE" and "EMAIL" in entities
    grounding = properties["ContextualGroundingPolicyConfig"]["FiltersConfig"]
    assert {g["Type"] for g in grounding} == {"GROUNDING", "RELEVANCE"}
    assert properties["BlockedInputMessaging"] == policy.refusal_text


def test_apply_guardrail_is_granted_on_that_guardrail_only(bedrock_stack: Synthesized) -> None:
    logical_id, _ = guardrail(bedrock_stack)
    granted_roles: set[str] = set()
    for policy in bedrock_stack.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.startswith("bedrock:ApplyGuardrail") for action in actions):
                assert actions == ["bedrock:ApplyGuardrail"]
                assert statement["Resource"] == {"Fn::GetAtt": [logical_id, "GuardrailArn"]}
                granted_roles.update(role["Ref"] for role in policy["Properties"]["Roles"])
    assert len(granted_roles) == 2
    assert all("Query" in role or "Guardrails" in role for role in granted_roles)


def test_the_functions_are_told_to_use_it(bedrock_stack: Synthesized) -> None:
    logical_id, _ = guardrail(bedrock_stack)
    functions = bedrock_stack.resources("AWS::Lambda::Function").values()
    environments = [f["Properties"].get("Environment", {}).get("Variables", {}) for f in functions]
    selected = [env for env in environments if env.get(EnvVar.GUARDRAIL_ENGINE) == "bedrock"]
    assert selected
    assert all(
        env[EnvVar.BEDROCK_GUARDRAIL_ID] == {"Fn::GetAtt": [logical_id, "GuardrailId"]} for env in selected
    )


def test_cdk_nag_passes_with_the_guardrail(bedrock_stack: Synthesized) -> None:
    (report,) = bedrock_stack.validation_report["pluginReports"]
    assert report["conclusion"] == "success" and report["violations"] == []
