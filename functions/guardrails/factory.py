"""Builds the guardrails a deployment runs from its settings and policy file."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from functions.contract import GuardrailEngine
from functions.guardrails.base import Stage
from functions.guardrails.config import DEFAULT_POLICY_PATH, PolicyFile, load_policy
from functions.guardrails.policy import GuardrailPolicy, Guardrails

if TYPE_CHECKING:
    from functions.rag.embeddings.ports import Embedder
    from functions.settings import Settings


def embedded_policy(
    policy: PolicyFile, embedder: Embedder, pii_allowlist: tuple[str, ...] = ()
) -> GuardrailPolicy:
    """The embedded detectors at every stage, with the policy file's thresholds and actions."""
    from functions.guardrails.grounding import GroundingDetector
    from functions.guardrails.injection import InjectionDetector
    from functions.guardrails.output_checks import LinkDetector, SystemPromptLeakDetector
    from functions.guardrails.pii import PiiDetector
    from functions.guardrails.topics import TopicDetector
    from functions.guardrails.toxicity import ToxicityDetector
    from functions.rag.prompts import system_prompts

    injection = InjectionDetector.with_shipped_model()
    toxicity = ToxicityDetector.with_shipped_model()
    pii = PiiDetector(
        allow=(*pii_allowlist, *policy.pii.allowed_values), allowed_types=policy.pii.allowed_types
    )
    topics = TopicDetector(embedder, policy.denied_topics, policy.scope_examples)
    return GuardrailPolicy(
        detectors={
            # PII first: the topic detector embeds the redacted question, as retrieval does.
            Stage.INPUT: [pii, injection, toxicity, topics],
            Stage.OUTPUT: [
                SystemPromptLeakDetector(system_prompts()),
                LinkDetector(policy.allowed_link_hosts),
                toxicity,
                pii,
                GroundingDetector(),
            ],
            # Documents are not chat messages (headings, lists, lengths the classifier never saw):
            # planted instructions in them are found by the patterns alone.
            Stage.CONTEXT: [InjectionDetector(model=None)],
        },
        actions={name: rule.action for name, rule in policy.categories.items()},
        thresholds={name: rule.threshold for name, rule in policy.categories.items()},
        refusal=policy.refusal_text,
    )


def build_guardrails(settings: Settings, embedder: Callable[[], Embedder]) -> Guardrails:
    """The engine the settings select, applying the deployment's policy file. `embedder` is
    called only by the embedded engine (the topic detector embeds with it)."""
    policy = load_policy(settings.guardrail_policy_path or DEFAULT_POLICY_PATH)
    if settings.guardrail_engine is GuardrailEngine.BEDROCK:
        from functions.guardrails.bedrock import BedrockGuardrails

        assert settings.bedrock_guardrail_id is not None  # enforced by Settings
        return BedrockGuardrails(
            settings.bedrock_guardrail_id, settings.bedrock_guardrail_version, refusal=policy.refusal_text
        )
    return embedded_policy(policy, embedder(), settings.pii_allowlist)
