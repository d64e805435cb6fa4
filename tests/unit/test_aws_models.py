"""Bedrock and SageMaker adapters against botocore's Stubber: exact requests, parsed responses,
and throttling turned into a clear 503-class error."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.response import StreamingBody
from botocore.stub import Stubber
from botocore.validate import validate_parameters
from langchain_core.messages import HumanMessage, SystemMessage

from functions.errors import DependencyUnavailableError
from functions.rag.chat_models.aws import BedrockConverseChatModel, SageMakerChatModel
from functions.rag.embeddings.aws import BedrockEmbedder, SageMakerEmbedder

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def client(service: str) -> Any:
    return boto3.client(
        service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x", config=NO_RETRIES
    )


def body(payload: Any) -> StreamingBody:
    raw = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_titan_embedding_request_and_response() -> None:
    runtime = client("bedrock-runtime")
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_model",
            {
                "body": body({"embedding": [0.6, 0.8] + [0.0] * 254, "inputTextTokenCount": 3}),
                "contentType": "application/json",
            },
            {
                "modelId": "amazon.titan-embed-text-v2:0",
                "body": json.dumps({"inputText": "hello there", "dimensions": 256, "normalize": True}),
                "contentType": "application/json",
                "accept": "application/json",
            },
        )
        vector = BedrockEmbedder("amazon.titan-embed-text-v2:0", 256, client=runtime).embed_query(
            "hello there"
        )
    assert vector[:2] == [0.6, 0.8] and len(vector) == 256


def test_titan_throttling_is_a_dependency_error() -> None:
    runtime = client("bedrock-runtime")
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_model", "ThrottlingException", "Too many requests", 429)
        with pytest.raises(DependencyUnavailableError, match="Bedrock embedding model is unavailable"):
            BedrockEmbedder("m", 256, client=runtime).embed_query("x")


def test_titan_dimensions_are_checked() -> None:
    with pytest.raises(ValueError, match="256, 512, 1024"):
        BedrockEmbedder("m", 384)


def test_sagemaker_embedder_batches_requests() -> None:
    runtime = client("sagemaker-runtime")
    with Stubber(runtime) as stub:
        for texts in (["a", "b"], ["c"]):
            stub.add_response(
                "invoke_endpoint",
                {"Body": body([[1.0, 0.0]] * len(texts)), "ContentType": "application/json"},
                {
                    "EndpointName": "embed",
                    "ContentType": "application/json",
                    "Accept": "application/json",
                    "Body": json.dumps({"inputs": texts, "normalize": True, "truncate": True}),
                },
            )
        vectors = SageMakerEmbedder("embed", 2, client=runtime, batch_size=2).embed_documents(["a", "b", "c"])
    assert vectors == [[1.0, 0.0]] * 3


def test_sagemaker_embedder_rejects_wrong_dimensions() -> None:
    runtime = client("sagemaker-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", {"Body": body([[1.0, 0.0, 0.0]])})
        with pytest.raises(DependencyUnavailableError, match="2-dimensional"):
            SageMakerEmbedder("embed", 2, client=runtime).embed_query("a")


def test_converse_separates_system_prompt_and_reports_tokens() -> None:
    runtime = client("bedrock-runtime")
    with Stubber(runtime) as stub:
        stub.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": " 45 days [1]. "}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 120, "outputTokens": 6, "totalTokens": 126},
                "metrics": {"latencyMs": 300},
            },
            {
                "modelId": "amazon.nova-lite-v1:0",
                "system": [{"text": "Answer from sources."}],
                "messages": [{"role": "user", "content": [{"text": "How long?"}]}],
                "inferenceConfig": {"maxTokens": 64, "temperature": 0.0},
            },
        )
        model = BedrockConverseChatModel(client=runtime, model_id="amazon.nova-lite-v1:0", max_tokens=64)
        reply = model.invoke(
            [SystemMessage(content="Answer from sources."), HumanMessage(content="How long?")]
        )
    assert reply.text == "45 days [1]."
    assert reply.usage_metadata == {"input_tokens": 120, "output_tokens": 6, "total_tokens": 126}


def test_converse_timeout_or_throttle_is_a_dependency_error() -> None:
    runtime = client("bedrock-runtime")
    with Stubber(runtime) as stub:
        stub.add_client_error("converse", "ThrottlingException", "slow down", 429)
        with pytest.raises(DependencyUnavailableError, match="Bedrock chat model is unavailable"):
            BedrockConverseChatModel(client=runtime, model_id="m").invoke("hi")


def test_sagemaker_chat_speaks_the_messages_api() -> None:
    runtime = client("sagemaker-runtime")
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            {
                "Body": body(
                    {
                        "choices": [{"message": {"role": "assistant", "content": "Yes [1]."}}],
                        "usage": {"prompt_tokens": 50, "completion_tokens": 3, "total_tokens": 53},
                    }
                )
            },
            {
                "EndpointName": "chat",
                "ContentType": "application/json",
                "Accept": "application/json",
                "Body": json.dumps(
                    {
                        "messages": [{"role": "user", "content": "Can I?"}],
                        "max_tokens": 32,
                        "temperature": 0.0,
                    }
                ),
            },
        )
        reply = SageMakerChatModel(client=runtime, endpoint_name="chat", max_tokens=32).invoke(
            [HumanMessage(content="Can I?")]
        )
    assert reply.text == "Yes [1]." and reply.usage_metadata["output_tokens"] == 3  # type: ignore[index]


def test_sagemaker_chat_with_an_unexpected_body() -> None:
    runtime = client("sagemaker-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", {"Body": body({"generated_text": "old TGI format"})})
        with pytest.raises(DependencyUnavailableError, match="unexpected body"):
            SageMakerChatModel(client=runtime, endpoint_name="chat").invoke("hi")


class EventStreamStubber(Stubber):
    """A Stubber for ConverseStream: the stubbed `stream` is a list of events, each validated
    against the event stream's shape (Stubber's own check wants the stream as one structure)."""

    def _validate_operation_response(self, operation_name: str, service_response: dict[str, Any]) -> None:
        output = self.client.meta.service_model.operation_model(operation_name).output_shape
        for event in service_response["stream"]:
            validate_parameters(event, output.members["stream"])


def test_converse_stream_yields_each_text_delta_then_the_usage() -> None:
    runtime = client("bedrock-runtime")
    with EventStreamStubber(runtime) as stub:
        stub.add_response(
            "converse_stream",
            {
                "stream": [
                    {"messageStart": {"role": "assistant"}},
                    {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "45 days "}}},
                    {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "[1]."}}},
                    {"contentBlockStop": {"contentBlockIndex": 0}},
                    {"messageStop": {"stopReason": "end_turn"}},
                    {
                        "metadata": {
                            "usage": {"inputTokens": 120, "outputTokens": 4, "totalTokens": 124},
                            "metrics": {"latencyMs": 200},
                        }
                    },
                ]
            },
            {
                "modelId": "amazon.nova-lite-v1:0",
                "system": [{"text": "Answer from sources."}],
                "messages": [{"role": "user", "content": [{"text": "How long?"}]}],
                "inferenceConfig": {"maxTokens": 64, "temperature": 0.0},
            },
        )
        model = BedrockConverseChatModel(client=runtime, model_id="amazon.nova-lite-v1:0", max_tokens=64)
        chunks = list(
            model.stream([SystemMessage(content="Answer from sources."), HumanMessage(content="How long?")])
        )
    assert [chunk.text for chunk in chunks if chunk.text] == ["45 days ", "[1]."]
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert whole.text == "45 days [1]."
    assert whole.usage_metadata == {"input_tokens": 120, "output_tokens": 4, "total_tokens": 124}


def test_converse_stream_throttle_is_a_dependency_error() -> None:
    runtime = client("bedrock-runtime")
    with Stubber(runtime) as stub:
        stub.add_client_error("converse_stream", "ThrottlingException", "slow down", 429)
        with pytest.raises(DependencyUnavailableError, match="Bedrock chat model is unavailable"):
            list(BedrockConverseChatModel(client=runtime, model_id="m").stream("hi"))
