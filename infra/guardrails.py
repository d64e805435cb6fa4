"""The Amazon Bedrock guardrail, built from the deployment's guardrail policy file.

Created only when the stack selects the Bedrock engine (`guardrails.engine`); the runtime then
calls `ApplyGuardrail` on it (`functions.guardrails.bedrock`), and the functions that check text
may apply this guardrail and no other. The policy file is the one the embedded engine reads, so
switching engines keeps the thresholds, denied topics, allowed PII and refusal text.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from functions.contract import EnvVar, GuardrailEngine
from functions.guardrails.base import Action
from functions.guardrails.config import DEFAULT_POLICY_PATH, PolicyFile, load_policy

#: Bedrock's PII entity types for the embedded detector's labels (`functions.guardrails.pii`).
PII_ENTITY_TYPES = {
    "EMAIL": "EMAIL",
    "PHONE": "PHONE",
    "CREDIT_CARD": "CREDIT_DEBIT_CARD_NUMBER",
    "IBAN": "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "US_SSN": "US_SOCIAL_SECURITY_NUMBER",
    "IP_ADDRESS": "IP_ADDRESS",
    "STREET_ADDRESS": "ADDRESS",
    "PERSON": "NAME",
}
ABUSE_FILTERS = ("INSULTS", "HATE", "VIOLENCE", "MISCONDUCT", "SEXUAL")
MAX_TOPIC_EXAMPLES = 5  # Bedrock's limit per denied topic


def filter_strength(threshold: float) -> str:
    """Bedrock's strength for a score threshold: a low threshold blocks more, as HIGH does."""
    if threshold <= 0.4:
        return "HIGH"
    if threshold <= 0.7:
        return "MEDIUM"
    return "LOW"


def guardrail_properties(policy: PolicyFile) -> dict[str, object]:
    """The `AWS::Bedrock::Guardrail` properties the policy file describes."""
    injection = policy.rule("prompt_injection")
    abuse = policy.rule("toxicity")
    filters = [
        bedrock.CfnGuardrail.ContentFilterConfigProperty(
            type="PROMPT_ATTACK",
            input_strength=filter_strength(injection.threshold)
            if injection.action is Action.BLOCK
            else "NONE",
            output_strength="NONE",  # Bedrock evaluates prompt attacks on input only
        )
    ]
    abuse_strength = filter_strength(abuse.threshold) if abuse.action is Action.BLOCK else "NONE"
    filters += [
        bedrock.CfnGuardrail.ContentFilterConfigProperty(
            type=name, input_strength=abuse_strength, output_strength=abuse_strength
        )
        for name in ABUSE_FILTERS
    ]
    properties: dict[str, object] = {
        "name": "genai-stack-guardrail",
        "description": "genai-stack: built from the guardrail policy file",
        "blocked_input_messaging": policy.refusal_text,
        "blocked_outputs_messaging": policy.refusal_text,
        "content_policy_config": bedrock.CfnGuardrail.ContentPolicyConfigProperty(filters_config=filters),
    }
    if policy.rule("denied_topic").action is Action.BLOCK and policy.denied_topics:
        properties["topic_policy_config"] = bedrock.CfnGuardrail.TopicPolicyConfigProperty(
            topics_config=[
                bedrock.CfnGuardrail.TopicConfigProperty(
                    name=topic.name,
                    definition=topic.definition,
                    examples=list(topic.examples[:MAX_TOPIC_EXAMPLES]),
                    type="DENY",
                )
                for topic in policy.denied_topics
            ]
        )
    pii = policy.rule("pii")
    if pii.action in (Action.REDACT, Action.BLOCK):
        action = "ANONYMIZE" if pii.action is Action.REDACT else "BLOCK"
        properties["sensitive_information_policy_config"] = (
            bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                pii_entities_config=[
                    bedrock.CfnGuardrail.PiiEntityConfigProperty(type=entity, action=action)
                    for label, entity in PII_ENTITY_TYPES.items()
                    if label not in policy.pii.allowed_types
                ]
            )
        )
    grounding = policy.rule("ungrounded")
    if grounding.action is Action.BLOCK:
        # Our score is "how unsupported"; Bedrock's threshold is the support an answer needs.
        properties["contextual_grounding_policy_config"] = (
            bedrock.CfnGuardrail.ContextualGroundingPolicyConfigProperty(
                filters_config=[
                    bedrock.CfnGuardrail.ContextualGroundingFilterConfigProperty(
                        type=kind, threshold=round(1.0 - grounding.threshold, 2)
                    )
                    for kind in ("GROUNDING", "RELEVANCE")
                ]
            )
        )
    return properties


class BedrockGuardrail(Construct):
    """The guardrail, a published version of it, and the settings that select it."""

    def __init__(self, scope: Construct, construct_id: str, *, policy_path: Path | None = None) -> None:
        super().__init__(scope, construct_id)
        policy = load_policy(policy_path or DEFAULT_POLICY_PATH)
        self.guardrail = bedrock.CfnGuardrail(self, "Guardrail", **guardrail_properties(policy))  # type: ignore[arg-type]
        self.version = bedrock.CfnGuardrailVersion(
            self, "Version", guardrail_identifier=self.guardrail.attr_guardrail_id
        )
        self.environment: dict[str, str] = {
            EnvVar.GUARDRAIL_ENGINE: GuardrailEngine.BEDROCK.value,
            EnvVar.BEDROCK_GUARDRAIL_ID: self.guardrail.attr_guardrail_id,
            EnvVar.BEDROCK_GUARDRAIL_VERSION: self.version.attr_version,
        }

    def grant_apply(self, functions: Iterable[lambda_.Function]) -> None:
        """`bedrock:ApplyGuardrail` on this guardrail only, for each function."""
        for function in functions:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["bedrock:ApplyGuardrail"], resources=[self.guardrail.attr_guardrail_arn]
                )
            )
