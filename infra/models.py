"""Which models the functions call, as environment variables and as IAM grants on those models only."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from functions.contract import ChatModelKind, EmbedderKind, EnvVar
from infra.config import ModelsConfig
from infra.nag import acknowledge, principal_of


@dataclass(frozen=True)
class ModelAccess:
    """The embedding and chat models of the configuration; `chat_endpoint_name` is the promoted one."""

    config: ModelsConfig
    chat_endpoint_name: str

    @property
    def environment(self) -> dict[str, str]:
        env = {
            EnvVar.EMBEDDER: self.config.embedder.value,
            EnvVar.CHAT_MODEL: self.config.chat_model.value,
        }
        if self.config.embedder is EmbedderKind.BEDROCK:
            env[EnvVar.EMBEDDING_MODEL_ID] = self.config.embedding_model_id
        else:
            env[EnvVar.EMBEDDING_ENDPOINT_NAME] = str(self.config.embedding_endpoint_name)
        if self.config.chat_model is ChatModelKind.BEDROCK:
            env[EnvVar.CHAT_MODEL_ID] = self.config.chat_model_id
        elif self.config.chat_model is ChatModelKind.OPENAI:
            env[EnvVar.OPENAI_BASE_URL] = str(self.config.openai_base_url)
            env[EnvVar.OPENAI_MODEL] = str(self.config.openai_model)
            if self.config.openai_api_key_secret_arn:
                env[EnvVar.OPENAI_API_KEY_SECRET_ARN] = self.config.openai_api_key_secret_arn
        else:
            env[EnvVar.CHAT_ENDPOINT_NAME] = self.chat_endpoint_name
        if self.config.rerank_model_id is not None:
            env[EnvVar.RERANK_MODEL_ARN] = _model_arn(self.config.rerank_model_id)
        return {str(name): value for name, value in env.items()}

    def grant_embed(self, grantee: iam.IGrantable) -> None:
        if self.config.embedder is EmbedderKind.BEDROCK:
            _grant_bedrock(grantee, self.config.embedding_model_id, ["bedrock:InvokeModel"])
        else:
            _grant_endpoint(grantee, str(self.config.embedding_endpoint_name))

    def grant_chat(self, grantee: iam.IGrantable) -> None:
        if self.config.chat_model is ChatModelKind.BEDROCK:
            # Converse and ConverseStream are authorized as InvokeModel and InvokeModelWithResponseStream.
            actions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
            _grant_bedrock(grantee, self.config.chat_model_id, actions)
        elif self.config.chat_model is ChatModelKind.OPENAI:
            if self.config.openai_api_key_secret_arn:  # a server without a key needs no grant
                iam.Grant.add_to_principal(
                    grantee=grantee,
                    actions=["secretsmanager:GetSecretValue"],
                    resource_arns=[self.config.openai_api_key_secret_arn],
                )
        else:
            _grant_endpoint(grantee, self.chat_endpoint_name)
        if self.config.rerank_model_id is not None:
            self._grant_rerank(grantee, self.config.rerank_model_id)

    @staticmethod
    def _grant_rerank(grantee: iam.IGrantable, model_id: str) -> None:
        """Rerank through that model only. `bedrock:Rerank` has no resource type (IAM takes only
        `*` for it); what limits it to one model is InvokeModel, which Rerank also needs, on
        that model's ARN alone."""
        _grant_bedrock(grantee, model_id, ["bedrock:InvokeModel"])
        iam.Grant.add_to_principal(grantee=grantee, actions=["bedrock:Rerank"], resource_arns=["*"])
        acknowledge(principal_of(grantee), "IAM5[Resource::*]", reason=RERANK_ACTION)


#: Why `bedrock:Rerank` is granted on `*`.
RERANK_ACTION = (
    "bedrock:Rerank has no resource-level permissions; the model it may use is limited by "
    "bedrock:InvokeModel, granted on the configured rerank model's ARN only"
)


def _model_arn(model_id: str) -> str:
    return f"arn:{cdk.Aws.PARTITION}:bedrock:{cdk.Aws.REGION}::foundation-model/{model_id}"


def _grant_bedrock(grantee: iam.IGrantable, model_id: str, actions: list[str]) -> None:
    iam.Grant.add_to_principal(grantee=grantee, actions=actions, resource_arns=[_model_arn(model_id)])


def _grant_endpoint(grantee: iam.IGrantable, endpoint_name: str) -> None:
    region, account = cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID
    arn = f"arn:{cdk.Aws.PARTITION}:sagemaker:{region}:{account}:endpoint/{endpoint_name.lower()}"
    iam.Grant.add_to_principal(grantee=grantee, actions=["sagemaker:InvokeEndpoint"], resource_arns=[arn])
