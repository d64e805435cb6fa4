"""Chat models served by AWS, as LangChain `BaseChatModel`s: Amazon Bedrock's Converse API, and a
SageMaker endpoint serving our fine-tuned model.

Written on boto3 rather than with langchain-aws on purpose: langchain-aws requires numpy and its
own boto3, about 64 MB for arm64, which would push the query function past its 100 MB budget,
while the two calls below need nothing beyond the boto3 the Lambda runtime already has.

SageMaker contract: the endpoint speaks the OpenAI-compatible Messages API that Hugging Face TGI
(>= 1.4), vLLM and the LMI containers serve:
    request  {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...],
              "max_tokens": int, "temperature": 0, "stop": [str, ...]}
    response {"choices": [{"message": {"role": "assistant", "content": str}}],
              "usage": {"prompt_tokens": int, "completion_tokens": int, "total_tokens": int}}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from functions import aws
from functions.errors import DependencyUnavailableError

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def _result(text: str, input_tokens: int, output_tokens: int) -> ChatResult:
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, usage_metadata=usage))])


class _BotoChatModel(BaseChatModel):
    """What both AWS chat models share: generation settings and an optional injected client."""

    max_tokens: int = 512
    temperature: float = 0.0
    read_timeout: float = 30.0
    _client: Any = PrivateAttr(default=None)

    def __init__(self, client: Any | None = None, **data: Any) -> None:
        super().__init__(**data)
        self._client = client

    def _boto_client(self, service: str) -> Any:
        return self._client or aws.client(service, read_timeout=self.read_timeout)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._call(messages, stop)

    def _call(self, messages: list[BaseMessage], stop: list[str] | None) -> ChatResult:
        raise NotImplementedError


class BedrockConverseChatModel(_BotoChatModel):
    """Any Bedrock model that supports the Converse API (Nova, Claude, Llama, Mistral ...)."""

    model_id: str

    @property
    def _llm_type(self) -> str:
        return "genai-stack-bedrock-converse"

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        """The Converse request; ConverseStream takes the same one."""
        system = [{"text": m.text} for m in messages if m.type == "system"]
        turns = [
            {"role": _ROLES.get(m.type, "user"), "content": [{"text": m.text}]}
            for m in messages
            if m.type != "system"
        ]
        request: dict[str, Any] = {
            "modelId": self.model_id,
            "messages": turns,
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": self.temperature},
        }
        if system:
            request["system"] = system
        if stop:
            request["inferenceConfig"]["stopSequences"] = stop
        return request

    def _call(self, messages: list[BaseMessage], stop: list[str] | None) -> ChatResult:
        try:
            response = self._boto_client("bedrock-runtime").converse(**self._request(messages, stop))
        except Exception as error:
            raise aws.translate(error, "the Bedrock chat model") from error
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block.get("text", "") for block in blocks)
        usage = response.get("usage", {})
        return _result(text.strip(), int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """ConverseStream: each text delta as it arrives, then the usage from the metadata event."""
        try:
            response = self._boto_client("bedrock-runtime").converse_stream(**self._request(messages, stop))
            for event in response["stream"]:
                if text := event.get("contentBlockDelta", {}).get("delta", {}).get("text"):
                    yield ChatGenerationChunk(message=AIMessageChunk(content=text))
                elif "metadata" in event:
                    usage = event["metadata"].get("usage", {})
                    inputs, outputs = int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))
                    totals = UsageMetadata(
                        input_tokens=inputs, output_tokens=outputs, total_tokens=inputs + outputs
                    )
                    yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=totals))
        except Exception as error:
            raise aws.translate(error, "the Bedrock chat model") from error


class SageMakerChatModel(_BotoChatModel):
    """Our fine-tuned model behind a SageMaker real-time endpoint (Messages API, see module doc)."""

    endpoint_name: str

    @property
    def _llm_type(self) -> str:
        return "genai-stack-sagemaker-endpoint"

    def _call(self, messages: list[BaseMessage], stop: list[str] | None) -> ChatResult:
        body: dict[str, Any] = {
            "messages": [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if stop:
            body["stop"] = stop
        try:
            response = self._boto_client("sagemaker-runtime").invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(body),
            )
        except Exception as error:
            raise aws.translate(error, "the SageMaker chat endpoint") from error
        try:
            payload = json.loads(response["Body"].read())
            text = payload["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise DependencyUnavailableError(
                "the SageMaker chat endpoint returned an unexpected body"
            ) from error
        usage = payload.get("usage", {})
        return _result(
            str(text).strip(), int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        )
