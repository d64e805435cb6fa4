"""Streaming an answer: the answer read out of the chat model's structured reply as it is written
(`functions.rag.replies.answer_pieces`), cut into sentences, each sentence checked by the output
guardrails before it leaves the server, and the pipeline's run turned into an iterator of events
for `POST /v1/query/stream`.

Why sentences: a guardrail needs a whole unit of text to judge (a phone number split over two
token chunks is not a phone number), and a sentence is the smallest unit the reader sees as
complete. Redacted PII is replaced inside the sentence before it is sent; a sentence the policy
blocks withdraws the answer: nothing after it is sent, and the final event says so.
"""

from __future__ import annotations

import functools
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import add_usage

from functions.guardrails.base import Stage
from functions.guardrails.policy import Guardrails
from functions.rag.documents import ScoredChunk
from functions.rag.replies import answer_pieces, drop_unknown_citations

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage, BaseMessageChunk

    from functions.rag.pipeline import Answer, AnswerPipeline

# A sentence ends at . ! or ? with its citations ("... 30 days. [1]"), when the next sentence
# visibly starts. A citation belongs to the sentence before it, so "[" does not start a sentence.
_SENTENCE_BOUNDARY = re.compile(r"[.!?](?:\s*\[\d+\])*\s+(?=[A-Z0-9\"'(¿¡])")


@dataclass(frozen=True)
class SourcesEvent:
    """The passages the answer is drawn from, sent before its first sentence."""

    hits: list[ScoredChunk]


@dataclass(frozen=True)
class TextEvent:
    """One sentence of the answer, as the guardrails let it out (PII redacted)."""

    text: str


@dataclass(frozen=True)
class WithdrawnEvent:
    """The output guardrails blocked a sentence: the answer so far is withdrawn."""

    blocked_by: tuple[str, ...]


StreamEvent = SourcesEvent | TextEvent | WithdrawnEvent
EventListener = Callable[[StreamEvent], None]


def split_complete_sentences(buffer: str) -> tuple[list[str], str]:
    """The complete sentences at the start of `buffer`, and the rest (an unfinished sentence)."""
    sentences: list[str] = []
    start = 0
    for boundary in _SENTENCE_BOUNDARY.finditer(buffer):
        sentences.append(buffer[start : boundary.end()])
        start = boundary.end()
    return sentences, buffer[start:]


def sentences_of(pieces: Iterable[str]) -> Iterator[str]:
    """Sentences, each with its trailing space, from text that arrives in arbitrary pieces."""
    buffer = ""
    for piece in pieces:
        buffer += piece
        complete, buffer = split_complete_sentences(buffer)
        yield from complete
    if buffer:
        yield buffer


def generate_guarded(
    chat_model: BaseChatModel,
    messages: Sequence[BaseMessage],
    guardrails: Guardrails,
    hits: list[ScoredChunk],
    emit: EventListener,
) -> AIMessage:
    """Stream the model's reply, emitting each sentence of its answer once the output guardrails
    allow it (citations of sources that were not retrieved left out); the whole reply (usage
    included) is returned for the parsing and checks the pipeline runs on the full text."""
    emit(SourcesEvent(hits))
    source_texts = [hit.chunk.text for hit in hits]
    chunks: list[BaseMessageChunk] = []

    def texts() -> Iterator[str]:
        for chunk in chat_model.stream(list(messages)):
            chunks.append(chunk)
            yield chunk.text

    withdrawn = False
    for written in sentences_of(answer_pieces(texts())):
        if withdrawn:
            continue  # the rest is read (usage, the full text) but never sent
        sentence = drop_unknown_citations(written, len(hits))
        checked = guardrails.check(sentence, Stage.OUTPUT, sources=source_texts)
        if checked.allowed:
            emit(TextEvent(checked.redacted_text))
        else:
            withdrawn = True
            emit(WithdrawnEvent(checked.blocked_by))
    usages = [c.usage_metadata for c in chunks if isinstance(c, AIMessageChunk) and c.usage_metadata]
    return AIMessage(
        content="".join(chunk.text for chunk in chunks),
        usage_metadata=functools.reduce(add_usage, usages) if usages else None,
    )


def stream_answer(
    pipeline: AnswerPipeline, question: str, conversation_id: str | None, user_id: str | None
) -> Iterator[StreamEvent | Answer]:
    """The pipeline's events as they happen, then its stored Answer. An error is raised from the
    iterator where it happened (before the first event: nothing was streamed yet).

    The pipeline runs in a worker thread that hands events over a queue: its steps stay one
    function (`AnswerPipeline.answer`) whether or not the caller streams."""
    events: queue.Queue[StreamEvent | Answer | BaseException | None] = queue.Queue()  # None: done

    def run() -> None:
        try:
            events.put(pipeline.answer(question, conversation_id, user_id, on_event=events.put))
        except BaseException as error:  # handed to the reading thread, which raises it
            events.put(error)
        events.put(None)

    threading.Thread(target=run, name="answer-stream", daemon=True).start()
    while (item := events.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item
