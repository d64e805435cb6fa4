"""GenAiStack: composes one construct per concern; the constructs hold the details."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from functions.contract import EnvVar, GuardrailEngine, StoreKind, VectorStoreKind
from infra.api import Api
from infra.config import StackConfig
from infra.data import DataStores
from infra.dependencies import RedundantDependsOn
from infra.edge import Edge
from infra.guardrails import BedrockGuardrail
from infra.ingestion import Ingestion
from infra.lambdas import FunctionFactory, log_retention, python_code
from infra.layers import RuntimeLayer
from infra.logs import encrypt_log_groups
from infra.models import ModelAccess
from infra.monitoring import Monitoring
from infra.network import Network
from infra.search import SearchDomain
from infra.training import TrainingPipeline
from infra.widget import WidgetEdge

#: Where the runtime's embedded fallbacks may write inside Lambda (the code folder is read-only).
LAMBDA_DATA_DIR = "/tmp/genai-stack"


class GenAiStack(cdk.Stack):
    """The whole system: API, search, ingestion, data stores, training pipeline and monitoring."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id, description="genai-stack: a grounded support assistant")
        self.node.add_validation(RedundantDependsOn(self))
        retention = log_retention(config.data.log_retention_days)
        data = DataStores(self, "Data", config=config.data)
        encrypt_log_groups(self, data.key)
        network = (
            Network(self, "Network", config=config.network, log_retention=retention)
            if config.network.vpc_enabled
            else None
        )
        models = ModelAccess(config=config.models, chat_endpoint_name=config.serving.endpoint_name)
        functions = FunctionFactory(
            code=python_code("functions"),
            layers=[RuntimeLayer(self, "RuntimeLayer", skip_bundling=config.skip_layer_bundling).layer],
            environment={},
            log_retention=retention,
            removal_policy=data.removal_policy,
            placement=network.placement if network else None,
        )
        search = SearchDomain(
            self,
            "Search",
            config=config.search,
            key=data.key,
            functions=functions,
            removal_policy=data.removal_policy,
        )
        # The runtime's settings, for every function built from here on (the index creator above
        # reads none); names and values are those `functions.settings.Settings` validates.
        functions.environment.update(
            {
                EnvVar.DATA_DIR: LAMBDA_DATA_DIR,
                EnvVar.VECTOR_STORE: VectorStoreKind.OPENSEARCH.value,
                EnvVar.OPENSEARCH_ENDPOINT: search.endpoint,
                EnvVar.OPENSEARCH_INDEX: search.index_name,
                EnvVar.OPENSEARCH_SPACE_TYPE: config.search.space_type.value,
                EnvVar.STORE: StoreKind.DYNAMODB.value,
                EnvVar.CONVERSATIONS_TABLE: data.conversations.table_name,
                EnvVar.FEEDBACK_TABLE: data.feedback.table_name,
                EnvVar.IDEMPOTENCY_TABLE: data.idempotency.table_name,
                EnvVar.QUOTA_TABLE: data.quotas.table_name,
                EnvVar.REVIEWS_TABLE: data.reviews.table_name,
                EnvVar.EMBEDDING_DIMENSION: str(config.search.dimension),
                EnvVar.ESCALATION_TOPIC_ARN: data.escalations.topic_arn,
                EnvVar.DOCUMENTS_BUCKET: data.documents.bucket_name,
                EnvVar.TRAINING_DATA_BUCKET: data.training_data.bucket_name,
                EnvVar.RETENTION_DAYS: str(config.data.retention_days),
                **models.environment,
            }
        )
        guardrail = None
        if config.guardrails.engine is GuardrailEngine.BEDROCK:
            guardrail = BedrockGuardrail(self, "Guardrail", policy_path=config.guardrails.policy_path)
            functions.environment.update(guardrail.environment)
        api = Api(
            self, "Api", config=config.api, functions=functions, data=data, search=search, models=models
        )
        if guardrail is not None:  # the functions that check text: the query path and the route
            guardrail.grant_apply(api.functions[name] for name in ("query", "guardrails"))
        ingestion = Ingestion(
            self,
            "Ingestion",
            config=config.ingestion,
            functions=functions,
            data=data,
            search=search,
            models=models,
        )
        training = TrainingPipeline(
            self, "Training", config=config.training, serving=config.serving, data=data, functions=functions
        )
        edge = (
            Edge(
                self,
                "Edge",
                config=config.edge,
                api_endpoint=api.url,
                log_retention=retention,
                removal_policy=data.removal_policy,
            )
            if config.edge.enabled
            else None
        )
        # The chat widget and streamed answers, through CloudFront behind the same web ACL (infra/widget.py).
        widget = WidgetEdge(
            self,
            "Widget",
            config=config.api,
            functions=functions,
            data=data,
            search=search,
            models=models,
            web_acl_arn=edge.web_acl_arn if edge else None,
            cognito_issuer=api.issuer,
            cognito_client_id=api.client.user_pool_client_id,
        )
        # The stores keep user ids as pseudonyms (functions.feedback.pseudonyms): the API functions
        # that store, compare or erase them read the key.
        for function in (
            *(api.functions[name] for name in ("query", "feedback", "privacy", "review")),
            widget.function,
        ):
            data.pseudonym_key.grant_read(function)
            function.add_environment(EnvVar.PSEUDONYM_SECRET_ARN, data.pseudonym_key.secret_arn)
        monitoring = Monitoring(
            self,
            "Monitoring",
            config=config.monitoring,
            http_api=api.http_api,
            functions=functions.functions,
            domain=search.domain,
            queue=ingestion.queue,
            dead_letters=ingestion.dead_letters,
            state_machines={"Retraining": training.retraining, "Pretraining": training.pretraining},
            endpoint_name=config.serving.endpoint_name,
        )
        cdk.CfnOutput(self, "WidgetUrl", value=f"{widget.url}/widget.js")
        cdk.CfnOutput(self, "WidgetBucket", value=widget.bucket.bucket_name)
        cdk.CfnOutput(self, "ApiUrl", value=edge.url if edge else api.url)
        cdk.CfnOutput(self, "UserPoolId", value=api.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=api.client.user_pool_client_id)
        cdk.CfnOutput(self, "DocumentsBucket", value=data.documents.bucket_name)
        cdk.CfnOutput(self, "ModelsBucket", value=data.models.bucket_name)
        cdk.CfnOutput(self, "RetrainingStateMachine", value=training.retraining.state_machine_arn)
        cdk.CfnOutput(self, "PretrainingStateMachine", value=training.pretraining.state_machine_arn)
        cdk.CfnOutput(self, "AlarmTopic", value=monitoring.topic.topic_arn)
