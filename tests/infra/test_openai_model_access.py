"""An OpenAI-compatible chat model in the stack: the functions get its URL, model and key secret
from the contract, may read that one secret and nothing else, and the runtime accepts what they get."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from functions.contract import ChatModelKind, EnvVar
from functions.settings import Settings
from infra.config import ConfigError, ModelsConfig, StackConfig
from infra.models import ModelAccess

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:genai-stack/openai-key-AbCdEf"
OPENAI = ModelsConfig(
    chat_model=ChatModelKind.OPENAI,
    openai_base_url="https://llm.internal.example.com/v1",
    openai_model="meta-llama/Llama-3.1-8B-Instruct",
    openai_api_key_secret_arn=SECRET_ARN,
)


def granted_statements(models: ModelAccess) -> list[dict[str, object]]:
    stack = cdk.Stack(cdk.App(), "Grants")
    role = iam.Role(stack, "Query", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    models.grant_chat(role)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    return [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_functions_may_read_the_key_secret_and_nothing_else() -> None:
    statements = granted_statements(ModelAccess(config=OPENAI, chat_endpoint_name="genai-stack-chat"))
    assert statements == [
        {"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": SECRET_ARN}
    ]


def test_a_server_without_a_key_gets_no_grant() -> None:
    keyless = OPENAI.model_copy(update={"openai_api_key_secret_arn": None})
    assert granted_statements(ModelAccess(config=keyless, chat_endpoint_name="genai-stack-chat")) == []


def test_the_runtime_accepts_the_environment_the_stack_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = ModelAccess(config=OPENAI, chat_endpoint_name="genai-stack-chat").environment
    assert environment[EnvVar.OPENAI_API_KEY_SECRET_ARN] == SECRET_ARN
    assert EnvVar.CHAT_ENDPOINT_NAME not in environment
    for name, value in {**environment, EnvVar.EMBEDDING_DIMENSION: "512"}.items():  # the Titan default
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.chat_model is ChatModelKind.OPENAI
    assert (settings.openai_base_url, settings.openai_model) == (OPENAI.openai_base_url, OPENAI.openai_model)
    assert settings.openai_api_key_secret_arn == SECRET_ARN


def test_the_configuration_names_what_an_openai_model_lacks() -> None:
    with pytest.raises(ConfigError, match="openai_base_url and openai_model are required"):
        StackConfig.from_context({"models": {"chat_model": "openai"}})
