"""Follow-up questions resolved against the conversation before retrieval.

A customer's next question often leans on the one before: "and what about boots?" after "Can I
return a jacket I bought online?". Retrieval and the answerer read one question, so the pipeline
first turns a follow-up into a standalone question:

- with an LLM, LangChain's condense-question step (the history-aware retriever pattern): the last
  turns, trimmed to a token budget, and the new question go to the model, which rewrites it;
- with the embedded default, a deterministic rewrite: an elliptical follow-up ("what about X?")
  puts X in the place of the previous question's closest word, and a follow-up that points back
  ("how long does it take?") carries the previous question along. Retrieval then also weighs the
  previous question (`Resolution.previous`).

A question that stands on its own is passed through unchanged.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from functions.feedback.records import MessageRecord
from functions.rag.embeddings.ports import Embedder, cosine
from functions.text import STOPWORDS, content_terms, words

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.prompts import ChatPromptTemplate


@dataclass(frozen=True)
class Resolution:
    """The question to retrieve and answer with, and the earlier question it leans on (if any)."""

    question: str
    previous: str | None = None  # what retrieval should also weigh


class FollowUpResolver(Protocol):
    def resolve(self, question: str, history: Sequence[MessageRecord]) -> Resolution: ...


# "and what about boots?", "how about for Canada?", "what if it's opened?", "same for gift cards?"
_CONNECTIVE = re.compile(
    r"^\s*(?:(?:and|but|also|so|ok(?:ay)?|then)\b[\s,]*)*"
    r"(?:(?:what|how)\s+about|what\s+if|same\s+(?:for|with)|and|also|but|or|even)\b[\s,]*",
    re.I,
)
# Words that point back to something said before.
# Not "there" ("is there a fee?") nor "one" ("one promo code"): those rarely point back.
_ANAPHORA = frozenset(words("it its it's that this they them those these"))
_QUESTION_WORDS = frozenset(
    words("what how when where which who why can could do does is are will would should")
)
_QUESTION_FORM = re.compile(r"\bhow (much|many|long|soon|late|early|often|far)\b", re.I)
# A follow-up that points back with more content terms than this carries a subject of its own.
_MAX_ANAPHORIC_TERMS = 3
# The new subject replaces the previous question's word it is closest to, if at least this close;
# otherwise it is added to the previous question.
_MIN_SLOT_SIMILARITY = 0.25


class EllipsisRewriter:
    """The embedded default's deterministic follow-up rewrite (see the module docstring)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def resolve(self, question: str, history: Sequence[MessageRecord]) -> Resolution:
        if not history:
            return Resolution(question)
        # The previous question may itself have been a follow-up: resolve it first.
        previous = self.resolve(history[-1].question, history[:-1]).question
        connective = _CONNECTIVE.match(question)
        tail = question[connective.end() :] if connective else question
        tail_words = words(tail)
        terms = content_terms(_QUESTION_FORM.sub(" ", tail))
        if connective and tail_words and not _QUESTION_WORDS & set(tail_words[:1]):
            # "and what about boots?": the tail is a new subject for the previous question.
            return Resolution(self._substitute(previous, tail), previous)
        if connective or (_ANAPHORA & set(words(question)) and len(terms) <= _MAX_ANAPHORIC_TERMS):
            # "how long does it take?", "and can I do that in store?": carry the previous question.
            return Resolution(f"{question.rstrip()} ({previous.rstrip()})", previous)
        return Resolution(question)

    def _substitute(self, previous: str, subject: str) -> str:
        """`previous` with `subject` in the place of its closest word or pair of words."""
        # "to Canada", "for a SEPA transfer": the subject without its leading function words.
        subject = re.sub(
            r"^(?:(?:to|for|in|on|with|of|from|at|by|a|an|the|my)\s+)+", "", subject.strip(), flags=re.I
        )
        subject = subject.rstrip("?.!").strip()
        slots = _slots(previous)
        if not slots or not subject:
            return f"{previous.rstrip()} {subject}".strip()
        vectors = self.embedder.embed_documents([subject, *slots])
        similarity, slot = max(
            (cosine(vectors[0], vector), slot) for slot, vector in zip(slots, vectors[1:], strict=True)
        )
        if similarity < _MIN_SLOT_SIMILARITY:
            return f"{previous.rstrip().rstrip('?')} ({subject})?"
        # The slot goes with its article, so "a jacket" becomes "boots", not "a boots".
        pattern = re.compile(rf"\b(?:(?:a|an|the|my|this|that)\s+)?{re.escape(slot)}\b", re.I)
        return pattern.sub(subject, previous, count=1)


def _slots(question: str) -> list[str]:
    """The words and adjacent pairs of words of `question` that a new subject may replace."""
    tokens = re.findall(r"[A-Za-z][\w'-]*", _QUESTION_FORM.sub(" ", question))
    runs: list[list[str]] = [[]]
    for token in tokens:
        if token.lower() in STOPWORDS:
            runs.append([])
        else:
            runs[-1].append(token)
    slots = [word for run in runs for word in run]
    slots += [f"{a} {b}" for run in runs for a, b in itertools.pairwise(run)]
    return list(dict.fromkeys(slots))


CONDENSE_SYSTEM_PROMPT = """Given the conversation so far and the customer's latest question, which may \
refer to something said before, write a standalone question that can be understood without the \
conversation. Do not answer it; only rewrite it if needed, otherwise return it as is."""


class CondenseQuestionResolver:
    """LangChain's condense-question step for LLM chat models, over the last turns that fit in
    `token_budget` (counted approximately: the chat models here do not expose a tokenizer)."""

    def __init__(self, chat_model: BaseChatModel, token_budget: int) -> None:
        self.chat_model = chat_model
        self.token_budget = token_budget

    def resolve(self, question: str, history: Sequence[MessageRecord]) -> Resolution:
        if not history:  # as create_history_aware_retriever: no history, no rewrite
            return Resolution(question)
        from langchain_core.output_parsers import StrOutputParser

        chain = condense_prompt() | self.chat_model | StrOutputParser()
        rewritten = chain.invoke({"chat_history": self.history_messages(history), "input": question}).strip()
        return Resolution(rewritten or question)

    def history_messages(self, history: Sequence[MessageRecord]) -> list[BaseMessage]:
        """The turns as chat messages, oldest first, keeping the most recent within the budget."""
        from langchain_core.messages import AIMessage, HumanMessage
        from langchain_core.messages.utils import count_tokens_approximately, trim_messages

        messages: list[BaseMessage] = []
        for turn in history:
            messages += [HumanMessage(turn.question), AIMessage(turn.answer)]
        trimmed: list[BaseMessage] = trim_messages(
            messages,
            max_tokens=self.token_budget,
            strategy="last",
            token_counter=count_tokens_approximately,
            start_on="human",
        )
        return trimmed


def condense_prompt() -> ChatPromptTemplate:
    """LangChain's contextualize-question prompt: the system instruction, the history, the question."""
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

    return ChatPromptTemplate.from_messages(
        [("system", CONDENSE_SYSTEM_PROMPT), MessagesPlaceholder("chat_history"), ("human", "{input}")]
    )
