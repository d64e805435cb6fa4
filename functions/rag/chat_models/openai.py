"""Any OpenAI-compatible chat model (a vLLM, TGI or llama.cpp server, or a hosted API) through
langchain-openai's `ChatOpenAI`, with the base URL, model name and API key from the settings.

`ChatOpenAI` does the protocol (chat completions, server-sent-event streaming with the usage in
the last chunk); this subclass only turns the client's failures (unreachable, timed out,
throttled, 5xx, a refused key) into the project's DependencyUnavailableError, which the API
answers with a 503 and counts, as it does for the AWS models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from functions.errors import DependencyUnavailableError

#: What a server that checks no key is sent: the client insists on one.
NO_API_KEY = "no-key"


class OpenAICompatibleChatModel(ChatOpenAI):
    """`ChatOpenAI` whose failures are DependencyUnavailableError (see the module docstring)."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        try:
            return super()._generate(messages, stop, run_manager, **kwargs)
        except openai.OpenAIError as error:
            raise _unavailable(error) from error

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        try:
            yield from super()._stream(messages, stop, run_manager, **kwargs)
        except openai.OpenAIError as error:
            raise _unavailable(error) from error


def openai_chat_model(
    base_url: str, model: str, api_key: str | None, *, max_tokens: int, timeout: float
) -> OpenAICompatibleChatModel:
    """The chat model at `base_url` (…/v1): greedy, one retry, usage reported while streaming."""
    return OpenAICompatibleChatModel(
        base_url=base_url,
        model=model,
        api_key=SecretStr(api_key or NO_API_KEY),
        max_completion_tokens=max_tokens,
        temperature=0.0,
        timeout=timeout,
        max_retries=1,
        stream_usage=True,
    )


def _unavailable(error: openai.OpenAIError) -> DependencyUnavailableError:
    status = getattr(error, "status_code", None)
    detail = f" (HTTP {status})" if status else ""
    return DependencyUnavailableError(f"the OpenAI-compatible chat model failed{detail}; please retry")
