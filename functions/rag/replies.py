"""The chat model's structured reply: the answer, the source numbers it cites, whether the sources
answer the question, and a confidence; parsed and validated with pydantic.

Every model answers in this shape (the prompt asks for it, the extractive default writes it), so
one parsing path serves them all. A reply that does not parse gets one repair: the same model is
shown its reply and the error and asked again; a reply that still does not parse is the
fallback answer, never an error (`functions.rag.pipeline`).

While the model streams, the answer is read out of the partial JSON (`answer_pieces`), so the
customer sees sentences as they are written, and only once the reply has said the sources do
answer: the hand-off is never streamed as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

#: What the first prompts asked a model to reply when the sources do not answer; a model that
#: still says it (alone) means "answerable": false.
NOT_IN_SOURCES = "NOT_IN_SOURCES"

_CITATION = re.compile(r"\s?\[(\d+)\]")
_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.IGNORECASE)

REPAIR_REQUEST = (
    "Your reply could not be read: {error}. Reply again with only the JSON object the instructions "
    'describe: {{"answerable": ..., "answer": ..., "citations": [...], "confidence": ...}}.'
)


class StructuredReply(BaseModel):
    """A model's reply; the field order is the one the prompt asks for (`answerable` first, so a
    stream says whether it answers before it writes the answer)."""

    model_config = ConfigDict(extra="ignore")

    answerable: bool = Field(description="whether the sources answer the question")
    answer: str = Field(default="", description="the answer with [n] citations")
    citations: list[int] = Field(default_factory=list, description="numbers of the cited sources")
    confidence: float = Field(ge=0.0, le=1.0, description="how sure the model is, 0 to 1")

    def to_json(self) -> str:
        """The reply as a model writes it: fields in order, as `json.dumps` writes them."""
        return "".join(reply_pieces(self, [self.answer]))


class MalformedReplyError(ValueError):
    """The reply is not the structured reply the prompt asks for; the message says why."""


def parse_reply(text: str) -> StructuredReply:
    """The structured reply in `text` (a JSON object, optionally in a Markdown code fence)."""
    stripped = _FENCE.sub("", text.strip())
    if stripped == NOT_IN_SOURCES:
        return StructuredReply(answerable=False, confidence=1.0)
    try:
        return StructuredReply.model_validate_json(stripped)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'reply'}: {item['msg']}"
            for item in error.errors()
        )
        raise MalformedReplyError(problems) from None


def repair_messages(
    messages: Iterable[BaseMessage], reply: str, error: MalformedReplyError
) -> list[BaseMessage]:
    """The conversation to ask the same model again: its prompt, its reply, and what was wrong."""
    from langchain_core.messages import AIMessage, HumanMessage

    return [*messages, AIMessage(content=reply), HumanMessage(content=REPAIR_REQUEST.format(error=error))]


@dataclass(frozen=True)
class CheckedCitations:
    """The reply's answer and citations with every number that names no retrieved source removed."""

    answer: str
    citations: list[int]
    dropped: int  # distinct source numbers cited (in the list or the text) that do not exist


def check_citations(reply: StructuredReply, sources: int) -> CheckedCitations:
    """Drop citations of sources that were not retrieved (1..`sources` exist), from the list and
    from the answer's [n] markers alike."""
    named = set(reply.citations) | {int(number) for number in _CITATION.findall(reply.answer)}
    unknown = {number for number in named if not 1 <= number <= sources}
    return CheckedCitations(
        answer=drop_unknown_citations(reply.answer, sources),
        citations=list(dict.fromkeys(n for n in reply.citations if n not in unknown)),
        dropped=len(unknown),
    )


def drop_unknown_citations(text: str, sources: int) -> str:
    """`text` without [n] markers that name no retrieved source (1..`sources` exist)."""
    return _CITATION.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= sources else "", text)


def answer_pieces(pieces: Iterable[str]) -> Iterator[str]:
    """The answer's text as it grows, from a structured reply that arrives in pieces: nothing
    until the reply says `"answerable": true`, then each new stretch of the answer.

    The partial JSON is closed and parsed by LangChain's `parse_partial_json` after each piece;
    a stretch is given out only when the answer so far extends what was given (an escape cut in
    half parses shorter for a moment, and waits for its next piece)."""
    from langchain_core.utils.json import parse_partial_json

    buffer, sent = "", ""
    for piece in pieces:
        buffer += piece
        start = buffer.find("{")
        if start < 0:
            continue
        try:
            partial = parse_partial_json(buffer[start:])
        except json.JSONDecodeError:
            continue
        if not isinstance(partial, dict) or partial.get("answerable") is not True:
            continue
        answer = partial.get("answer")
        if isinstance(answer, str) and answer.startswith(sent) and len(answer) > len(sent):
            yield answer[len(sent) :]
            sent = answer


def reply_pieces(reply: StructuredReply, sentences: Iterable[str]) -> Iterator[str]:
    """The JSON of `reply` in pieces, one per sentence of its answer (the extractive model streams
    so); joined, they are `reply.to_json()` when the sentences make up its answer."""
    yield f'{{"answerable": {json.dumps(reply.answerable)}, "answer": "'
    for sentence in sentences:
        yield json.dumps(sentence, ensure_ascii=False)[1:-1]  # escaping is per character
    yield f'", "citations": {json.dumps(reply.citations)}, "confidence": {json.dumps(reply.confidence)}}}'
