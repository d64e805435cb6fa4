"""An LLM judge for answer evaluation: the configured chat model grades an answer against the
reference answer on a 1-5 scale, read back as a score in [0, 1].

Models do not always reply in the format asked for ("Score: 4", "4/5", "**4**", "I'd give it a 4
out of 5"), so the reply is searched for the grade in order of how explicit it is; a reply with
no grade in it is counted (`unparsed`) and scores None rather than a made-up value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

JUDGE_SYSTEM_PROMPT = """You grade the answers of an online store's customer-support assistant.
Compare the assistant's answer with the reference answer written by the store.
Grade from 1 to 5: 5 says what the reference says (other words are fine), 3 is partly right or
incomplete, 1 is wrong, off the point or a refusal to answer.
Reply with one line and nothing else: Score: N"""

JUDGE_HUMAN_PROMPT = """Question: {question}

Reference answer: {reference}

Assistant's answer: {answer}"""

LOWEST, HIGHEST = 1, 5
_GRADE = r"([1-5](?:\.\d+)?)"
#: Most explicit first: "Score: 4", then "4/5" or "4 out of 5", then a reply that is only a number.
_PATTERNS = (
    re.compile(rf"score\W{{0,4}}{_GRADE}(?![\d.])", re.IGNORECASE),
    re.compile(rf"(?<![\d.]){_GRADE}\s*(?:/|out of)\s*5\b", re.IGNORECASE),
    re.compile(rf"^\W*{_GRADE}\W*$"),
)


def parse_grade(reply: str) -> float | None:
    """The 1-5 grade in a judge's reply, or None when it holds none."""
    for pattern in _PATTERNS:
        match = pattern.search(reply.strip())
        if match:
            return min(float(HIGHEST), max(float(LOWEST), float(match.group(1))))
    return None


@dataclass
class AnswerJudge:
    """Grades answers with `chat_model`; `unparsed` counts replies without a grade."""

    chat_model: BaseChatModel
    unparsed: int = 0

    def score(self, question: str, reference: str, answer: str) -> float | None:
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [("system", JUDGE_SYSTEM_PROMPT), ("human", JUDGE_HUMAN_PROMPT)]
        )
        reply = self.chat_model.invoke(
            prompt.format_messages(question=question, reference=reference, answer=answer)
        )
        grade = parse_grade(reply.text)
        if grade is None:
            self.unparsed += 1
            return None
        return round((grade - LOWEST) / (HIGHEST - LOWEST), 4)
