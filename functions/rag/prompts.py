"""The prompt library: versioned templates kept as files (`prompt_templates/`), the variants that
render them (zero-, one- and few-shot), which variant answers a conversation (one setting, or an
A/B split stable per conversation), and the source-block format shared with the extractive
answerer (which reads the same rendered prompt any LLM would get)."""

from __future__ import annotations

import hashlib
import html
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from functions.rag.documents import ScoredChunk

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.prompts import ChatPromptTemplate

    from functions.rag.embeddings.ports import Embedder

TEMPLATES_DIR = Path(__file__).parent / "prompt_templates"
#: The variant that answers when no setting names one: the plain grounded prompt, no examples.
DEFAULT_VARIANT = "zero-shot"


@dataclass(frozen=True)
class Template:
    """One versioned template file: the system message (the store's tone, the rules, the reply's
    format) and the human message that carries the sources and the question."""

    name: str
    system: str
    human: str

    @property
    def system_text(self) -> str:
        """The system message as the model reads it (the file doubles literal braces)."""
        return self.system.replace("{{", "{").replace("}}", "}")


@dataclass(frozen=True)
class PromptVariant:
    """A template and how many curated examples go before the question."""

    name: str
    template: Template
    examples: int


@cache
def template(name: str) -> Template:
    data = tomllib.loads((TEMPLATES_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    return Template(name, data["system"], data["human"])


@cache
def variants() -> Mapping[str, PromptVariant]:
    """Every variant of `prompt_templates/variants.toml`, by name."""
    data = tomllib.loads((TEMPLATES_DIR / "variants.toml").read_text(encoding="utf-8"))
    return {
        name: PromptVariant(name, template(entry["template"]), int(entry["examples"]))
        for name, entry in data.items()
    }


def system_prompts() -> tuple[str, ...]:
    """The system message of every variant, as sent: what the prompt-leak guardrail looks for."""
    return tuple(dict.fromkeys(variant.template.system_text for variant in variants().values()))


#: The default template's system message, as the model reads it.
SYSTEM_PROMPT = variants()[DEFAULT_VARIANT].template.system_text


def check_variants(variant: str, split: Mapping[str, float]) -> None:
    """A ValueError naming what is wrong with the variant or the A/B split (name -> weight):
    an unknown variant, or weights that are negative or all 0."""
    unknown = sorted({variant, *split} - set(variants()))
    if unknown:
        raise ValueError(f"unknown prompt variants {unknown}; choose from {sorted(variants())}")
    if split and (any(weight < 0 for weight in split.values()) or sum(split.values()) <= 0):
        raise ValueError("prompt split weights must be at least 0 and add up to more than 0")


def split_variant(conversation_id: str, split: Mapping[str, float]) -> str:
    """The variant of `split` (name -> weight) that answers this conversation.

    A hash of the conversation id places it on [0, 1): every turn of a conversation gets the same
    variant, on every process, and conversations spread over the variants by their weights. The
    variants are taken in name order, so the order the setting lists them in does not matter."""
    digest = hashlib.sha256(conversation_id.encode("utf-8")).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(split.values())
    cumulative = 0.0
    for name in sorted(split):
        cumulative += split[name]
        if point < cumulative:
            return name
    return max(sorted(split), key=lambda name: split[name] > 0)  # rounding at the top end


class PromptLibrary:
    """The chat prompt of each variant, built on first use; a few-shot variant chooses its
    examples per question from the curated ones, by their similarity to it (`functions.rag.examples`).

    Building is lazy: LangChain's prompt stack costs about half a second to import, which the
    Lambda init phase does not need to pay, and the examples are embedded only if a variant uses them.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        variant: str = DEFAULT_VARIANT,
        split: Mapping[str, float] | None = None,
    ) -> None:
        self.embedder = embedder
        self.variant = variant
        self.split = dict(split or {})
        check_variants(variant, self.split)
        self._prompts: dict[str, ChatPromptTemplate] = {}

    def choose(self, conversation_id: str) -> str:
        """The variant that answers this conversation: the split's where one is set."""
        return split_variant(conversation_id, self.split) if self.split else self.variant

    def messages(self, variant: str, hits: Sequence[ScoredChunk], question: str) -> list[BaseMessage]:
        """The variant's prompt for this question and its numbered sources."""
        return self.prompt(variant).format_messages(sources=format_sources(hits), question=question)

    def prompt(self, variant: str) -> ChatPromptTemplate:
        if variant not in self._prompts:
            self._prompts[variant] = self._build(variants()[variant])
        return self._prompts[variant]

    def _build(self, variant: PromptVariant) -> ChatPromptTemplate:
        from langchain_core.prompts import ChatPromptTemplate, FewShotChatMessagePromptTemplate

        system, human = ("system", variant.template.system), ("human", variant.template.human)
        if variant.examples == 0:
            return ChatPromptTemplate.from_messages([system, human])
        if self.embedder is None:
            raise ValueError(f"the prompt variant {variant.name!r} chooses examples with an embedder")
        from functions.rag.examples import example_selector

        shots = FewShotChatMessagePromptTemplate(
            example_selector=example_selector(self.embedder, variant.examples),
            example_prompt=ChatPromptTemplate.from_messages([human, ("ai", "{reply}")]),
            input_variables=["question"],
        )
        return ChatPromptTemplate.from_messages([system, shots, human])


#: The answer when the assistant does not know: it offers a human instead of guessing.
FALLBACK_ANSWER = (
    "I'm sorry, I couldn't find that in our help centre, and I'd rather not guess. "
    "Would you like me to connect you with a member of our support team? "
    "Just ask for a person, or use the escalate option, and someone will follow up."
)

_SOURCE_BLOCK = re.compile(
    r'<source id="(?P<id>\d+)" title="(?P<title>[^"]*)">\n(?P<text>.*?)\n</source>', re.DOTALL
)
_SOURCE_TAG = re.compile(r"</?\s{0,3}source\b", re.IGNORECASE)
_QUESTION_LINE = re.compile(r"^Question:", re.MULTILINE)
_QUESTION = re.compile(r"^Question: (?P<question>.*)\Z", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class PromptSource:
    """A numbered source as it appears in the prompt."""

    number: int
    title: str
    text: str


def format_sources(hits: Sequence[ScoredChunk]) -> str:
    """Number the retrieved chunks for the prompt; citation [n] refers to the n-th one."""
    return render_sources([(hit.chunk.title, hit.chunk.text) for hit in hits])


def render_sources(sources: Sequence[tuple[str, str]]) -> str:
    """Number (title, text) pairs as source blocks: the retrieved chunks, or a curated example's."""
    return "\n\n".join(
        f'<source id="{n}" title="{html.escape(title, quote=True)}">\n{_as_data(text)}\n</source>'
        for n, (title, text) in enumerate(sources, start=1)
    )


def _as_data(text: str) -> str:
    """A chunk's text, unable to close its own `<source>` element or start a `Question:` line (and
    so to pose as the customer's question or the system's words)."""
    closed = _SOURCE_TAG.sub(lambda m: m.group(0).replace("<", "&lt;"), text)
    return _QUESTION_LINE.sub("Question -", closed)


def parse_prompt(text: str) -> tuple[list[PromptSource], str]:
    """Read the sources and the question back out of a rendered human message."""
    sources = [
        PromptSource(int(m["id"]), html.unescape(m["title"]), m["text"]) for m in _SOURCE_BLOCK.finditer(text)
    ]
    question = _QUESTION.search(text)
    return sources, (question["question"].strip() if question else text.strip())
