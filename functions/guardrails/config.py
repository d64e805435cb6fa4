"""The per-deployment guardrail policy file: thresholds and actions per category, denied topics
with examples, the store's scope, hosts links may point to, and PII a store allows.

JSON, validated with pydantic when the service starts (Settings loads it, so a bad file fails start-up
with a message naming the field). `functions/guardrails/policy.json` is the default; a deployment points
`GENAI_STACK_GUARDRAIL_POLICY_PATH` at its own. The CDK stack reads the same file to build the
Amazon Bedrock guardrail, so both adapters enforce one policy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.contract import GUARDRAIL_CATEGORIES
from functions.guardrails.base import Action

DEFAULT_POLICY_PATH = Path(__file__).parent / "policy.json"


class PolicyFileError(ValueError):
    """The policy file cannot be read or is invalid; a ValueError, so Settings reports it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryRule(_Strict):
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    action: Action = Action.FLAG


class DeniedTopic(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    definition: str = Field(min_length=1, max_length=200)  # Bedrock's limit for a topic definition
    examples: tuple[str, ...] = Field(min_length=1, max_length=5 * 4)


class PiiRules(_Strict):
    allowed_types: tuple[str, ...] = ()  # e.g. "PHONE" for a store that wants numbers kept
    allowed_values: tuple[str, ...] = ()  # exact public values, or "@domain" for a mail domain


class PolicyFile(_Strict):
    refusal: str = Field(min_length=1, max_length=500)
    scope: str = Field(min_length=1, max_length=300)
    scope_examples: tuple[str, ...] = ()
    allowed_link_hosts: tuple[str, ...] = ()
    categories: dict[str, CategoryRule]
    pii: PiiRules = PiiRules()
    denied_topics: tuple[DeniedTopic, ...] = ()

    def rule(self, category: str) -> CategoryRule:
        return self.categories.get(category, CategoryRule())

    @property
    def refusal_text(self) -> str:
        """The polite refusal, saying what the assistant can help with."""
        return self.refusal.replace("{scope}", self.scope)


@cache
def load_policy(path: Path = DEFAULT_POLICY_PATH) -> PolicyFile:
    """The policy in `path`, validated; a PolicyFileError says what is wrong with it."""
    try:
        policy = PolicyFile.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyFileError(f"guardrail policy {path}: {error.strerror}") from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PolicyFileError(f"guardrail policy {path}: {where}: {first['msg']}") from error
    unknown = sorted(set(policy.categories) - set(GUARDRAIL_CATEGORIES))
    if unknown:
        raise PolicyFileError(
            f"guardrail policy {path}: unknown categories {unknown}; known: {list(GUARDRAIL_CATEGORIES)}"
        )
    return policy
