"""Answer evaluation on a labelled question-and-answer set (`genai-stack eval answers QA.jsonl`,
and the retraining pipeline's promotion gate).

Each line of the set is a JSON object with `question` and, for a question the knowledge base
answers, a reference `answer`, optionally the `doc` that holds it and `key_facts` (short strings a
correct answer contains). A line without a reference answer is a question the knowledge base
cannot answer: the assistant should hand it to a person. Other keys (`id`, ...) are kept as labels.

Every question goes through the whole answer pipeline (guardrails, retrieval, confidence gate,
chat model, output guardrails), in a conversation of its own. Per question:
- retrieval hit: the labelled `doc` is among the retrieved sources (even when the gate withheld them);
- key-fact match: the share of `key_facts` in the answer (0 when the answer is a hand-off);
- groundedness: the project's lexical groundedness of an answer in its sources
  (`functions.guardrails.grounding.groundedness`), for questions that were answered;
- citations: whether the cited sources (the reply's citations and `[n]` markers) include the
  labelled `doc`, and whether every one names a retrieved source (the pipeline's dropped ones count);
- hand-off correctness: a hand-off (fallback or guardrail refusal) on an unanswerable question, none
  on an answerable one;
- with a judge (`functions.evaluation_judge`), the chat model's 0-1 grade of the answer against the
  reference.
Each figure is the mean over the questions it is defined for. Latency is left out on purpose:
the figures are the same on every run over the same index, settings and set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.errors import InvalidRequestError
from functions.evaluation import source_matches
from functions.guardrails.grounding import groundedness

if TYPE_CHECKING:
    from functions.evaluation_judge import AnswerJudge
    from functions.rag.pipeline import AnswerPipeline

_CITATION = re.compile(r"\[(\d+)\]")


class QASetError(InvalidRequestError):
    """A line of the labelled set is not a question-and-answer record; the message names the line."""


@dataclass(frozen=True)
class QAItem:
    line: int  # 1-based line of the set, to name it in reports
    question: str
    answer: str | None  # the reference answer; None: the knowledge base cannot answer
    doc: str | None = None
    key_facts: tuple[str, ...] = ()
    id: str | None = None

    @property
    def answerable(self) -> bool:
        return self.answer is not None


def load_qa(path: Path) -> list[QAItem]:
    """The labelled set, or a QASetError naming the first bad line and what is wrong with it."""
    if not path.is_file():
        raise QASetError(f"question set {path} not found")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            items.append(_item(line, number, path))
    if not items:
        raise QASetError(f"{path} holds no questions")
    return items


def _item(line: str, number: int, path: Path) -> QAItem:
    where = f"{path}, line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise QASetError(f"{where}: not JSON ({error.msg})") from error
    if not isinstance(record, dict):
        raise QASetError(f"{where}: expected a JSON object")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QASetError(f"{where}: 'question' must be a non-empty string")
    for key in ("answer", "doc", "id"):
        value = record.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise QASetError(f"{where}: '{key}' must be a non-empty string or absent")
    facts = record.get("key_facts") or []
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        raise QASetError(f"{where}: 'key_facts' must be a list of non-empty strings")
    if record.get("answer") is None and (facts or record.get("doc")):
        raise QASetError(f"{where}: 'doc' and 'key_facts' need a reference 'answer'")
    return QAItem(number, question, record.get("answer"), record.get("doc"), tuple(facts), record.get("id"))


@dataclass(frozen=True)
class AnswerOutcome:
    """What happened to one question; None where a figure does not apply to it."""

    item: QAItem
    answer: str
    handed_off: bool
    retrieval_hit: bool | None  # answerable with a doc
    key_fact_match: float | None  # answerable with key facts
    groundedness: float | None  # answered
    cites_labelled_doc: bool | None  # answered, with a doc
    citations_valid: bool | None  # answered: every [n] names a retrieved source
    invalid_citations: int = 0
    judge_score: float | None = None  # answerable, with a judge

    @property
    def handoff_correct(self) -> bool:
        return self.handed_off is not self.item.answerable


@dataclass(frozen=True)
class Metric:
    """A figure of the report: its per-question value (None where it does not apply), and whether
    that value is a yes/no outcome (McNemar in a comparison) or a score (a permutation test)."""

    name: str
    value: Callable[[AnswerOutcome], bool | float | None]
    binary: bool


METRICS: tuple[Metric, ...] = (
    Metric("retrieval_hit_rate", lambda o: o.retrieval_hit, binary=True),
    Metric("key_fact_match", lambda o: o.key_fact_match, binary=False),
    Metric("groundedness", lambda o: o.groundedness, binary=False),
    Metric("citation_correctness", lambda o: o.cites_labelled_doc, binary=True),
    Metric("valid_citation_rate", lambda o: o.citations_valid, binary=True),
    Metric("handoff_correctness", lambda o: o.handoff_correct, binary=True),
    Metric(
        "handoff_on_unanswerable",
        lambda o: None if o.item.answerable else o.handoff_correct,
        binary=True,
    ),
    Metric(
        "no_handoff_on_answerable",
        lambda o: o.handoff_correct if o.item.answerable else None,
        binary=True,
    ),
    Metric("judge_score", lambda o: o.judge_score, binary=False),
)
METRICS_BY_NAME = {metric.name: metric for metric in METRICS}


@dataclass
class AnswerReport:
    outcomes: list[AnswerOutcome] = field(default_factory=list)

    def values(self, metric: Metric) -> list[bool | float | None]:
        return [metric.value(outcome) for outcome in self.outcomes]

    def figure(self, metric: Metric) -> float | None:
        """The mean over the questions the metric applies to; None when it applies to none."""
        defined = [float(v) for v in self.values(metric) if v is not None]
        return round(sum(defined) / len(defined), 4) if defined else None

    def figures(self) -> dict[str, float | None]:
        return {metric.name: self.figure(metric) for metric in METRICS}

    def summary(self) -> dict[str, Any]:
        answerable = sum(o.item.answerable for o in self.outcomes)
        return {
            "questions": len(self.outcomes),
            "answerable": answerable,
            "unanswerable": len(self.outcomes) - answerable,
            "handed_off": sum(o.handed_off for o in self.outcomes),
            "invalid_citations": sum(o.invalid_citations for o in self.outcomes),
            **self.figures(),
        }

    def to_dict(self) -> dict[str, Any]:
        """The summary and every question's outcome (for `--json`)."""
        return {"summary": self.summary(), "questions": [_outcome_dict(o) for o in self.outcomes]}


def _outcome_dict(outcome: AnswerOutcome) -> dict[str, Any]:
    item = outcome.item
    row = asdict(outcome)
    row["item"] = {key: value for key, value in asdict(item).items() if value not in (None, ())}
    row["handoff_correct"] = outcome.handoff_correct
    return row


def evaluate_answers(
    pipeline: AnswerPipeline, items: Sequence[QAItem], judge: AnswerJudge | None = None
) -> AnswerReport:
    """Ask every question through the whole pipeline, each in a new conversation."""
    report = AnswerReport()
    for item in items:
        answer = pipeline.answer(item.question)
        asked = answer.resolved_question or item.question
        # What retrieval found, even when the confidence gate or a guardrail then withheld it.
        ranked = answer.sources or pipeline.retriever.retrieve(asked).hits
        handed_off = answer.fallback or answer.blocked  # a refusal offers a person too
        answered = not handed_off
        # The pipeline drops citations of sources it did not retrieve (and says how many); any
        # marker left in the text that names none is counted too.
        cited = (
            {int(n) for n in _CITATION.findall(answer.answer)} | set(answer.citations) if answered else set()
        )
        valid = {n for n in cited if 1 <= n <= len(answer.sources)}
        invalid = len(cited - valid) + (answer.dropped_citations if answered else 0)
        cited_sources = [answer.sources[n - 1].chunk.source for n in sorted(valid)]
        doc = item.doc if item.answerable else None
        report.outcomes.append(
            AnswerOutcome(
                item=item,
                answer=answer.answer,
                handed_off=handed_off,
                retrieval_hit=(any(source_matches(hit.chunk.source, doc) for hit in ranked) if doc else None),
                key_fact_match=(
                    (0.0 if handed_off else fact_share(answer.answer, item.key_facts))
                    if item.key_facts
                    else None
                ),
                groundedness=(
                    round(groundedness(answer.answer, [hit.chunk.text for hit in answer.sources]), 4)
                    if answered
                    else None
                ),
                cites_labelled_doc=(
                    any(source_matches(source, doc) for source in cited_sources) if answered and doc else None
                ),
                citations_valid=invalid == 0 if answered else None,
                invalid_citations=invalid,
                judge_score=(
                    judge.score(item.question, item.answer, answer.answer)
                    if judge is not None and item.answer is not None
                    else None
                ),
            )
        )
    return report


def fact_share(text: str, facts: Sequence[str]) -> float:
    """The share of `facts` the text holds (case-insensitive substrings)."""
    lowered = text.lower()
    return round(sum(fact.lower() in lowered for fact in facts) / len(facts), 4) if facts else 0.0


def format_table(figures: dict[str, dict[str, Any]]) -> str:
    """Columns of figures side by side (one column per configuration), a metric per row."""
    columns = list(figures)
    names = list(next(iter(figures.values())))
    width = max(len(name) for name in names)
    lines = [" " * width + "".join(f"  {column:>14}" for column in columns)]
    for name in names:
        cells = "".join(f"  {_cell(figures[column][name]):>14}" for column in columns)
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
