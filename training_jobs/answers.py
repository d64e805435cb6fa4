"""Answer evaluation inside the evaluation job: a model answers a golden question-and-answer set
through the whole answer pipeline, as it would once promoted.

The knowledge base is indexed in the job's scratch folder with the embedded store and the MiniLM
embedder (the laptop's defaults), and each model answers as the `local-checkpoint` chat model.
Production retrieves with OpenSearch, maybe another embedder; here the candidate and the model
serving now are measured on the same retrieval, so what differs between their figures is the
model. The figures are `functions.evaluation_answers`' (the same as `genai-stack eval answers`),
written flat into evaluation.json as `answers_<figure>` for the promotion gate.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from functions.contract import ANSWER_FIGURE_PREFIX
from training_jobs.common.jsonl import write_jsonl
from training_jobs.data.sample import TOPICS

if TYPE_CHECKING:
    from functions.rag.embeddings.ports import Embedder

UNANSWERABLE = ("Who painted the Mona Lisa?", "Do you sell concert tickets?")


def answer_figures(
    models: dict[str, Path], kb_dir: Path, golden_set: Path, *, limit: int, max_new_tokens: int
) -> dict[str, float | int | None]:
    """`{prefix}answers_<figure>` for every model (`{"": candidate, "current_": serving}`), each
    having answered the same first `limit` questions (all with 0) over the same index."""
    with tempfile.TemporaryDirectory(prefix="answer-evaluation-") as scratch:
        return _answer_figures(
            models, kb_dir, golden_set, Path(scratch), limit=limit, max_new_tokens=max_new_tokens
        )


def _answer_figures(
    models: dict[str, Path],
    kb_dir: Path,
    golden_set: Path,
    data_dir: Path,
    *,
    limit: int,
    max_new_tokens: int,
) -> dict[str, float | int | None]:
    from functions.contract import ChatModelKind
    from functions.evaluation_answers import evaluate_answers, load_qa
    from functions.feedback.sqlite_store import SQLiteStore
    from functions.services import Services
    from functions.settings import Settings

    items = load_qa(golden_set)[: limit or None]
    indexer = Services(Settings(data_dir=data_dir))
    report = indexer.ingestor.ingest_paths([kb_dir])
    if report.failed or indexer.vector_store.count() == 0:
        raise ValueError(
            f"the knowledge base in {kb_dir} could not be indexed: {report.failed or 'no documents'}"
        )
    embedder: Embedder = indexer.embedder  # loaded once, shared by every model's pipeline
    figures: dict[str, float | int | None] = {f"{ANSWER_FIGURE_PREFIX}questions": len(items)}
    for prefix, model in models.items():
        settings = Settings(
            data_dir=data_dir,
            chat_model=ChatModelKind.LOCAL_CHECKPOINT,
            checkpoint_dir=model,
            max_new_tokens=max_new_tokens,
        )
        services = Services(settings)
        services.embedder = embedder  # a cached property, set before its first use
        services.conversations = SQLiteStore(Path(":memory:"), services.pseudonymiser)
        result = evaluate_answers(services.pipeline, items)
        figures |= {
            f"{prefix}{ANSWER_FIGURE_PREFIX}{name}": value for name, value in result.figures().items()
        }
    return figures


def tiny_golden_set(root: Path) -> tuple[Path, Path]:
    """A knowledge base of the sample export's topics and a golden set over it, for `--tiny`:
    two questions it cannot answer first (so a `limit` keeps both kinds), then each topic's
    question and paraphrase, answered by its page (the topic's good answer)."""
    kb_dir, golden = root / "golden" / "kb", root / "golden" / "qa.jsonl"
    if not golden.is_file():
        kb_dir.mkdir(parents=True, exist_ok=True)
        rows: list[dict[str, str]] = [{"question": question} for question in UNANSWERABLE]
        for number, (question, paraphrase, good, _) in enumerate(TOPICS, start=1):
            page = f"topic-{number}.md"
            (kb_dir / page).write_text(f"# {question}\n\n{good}\n", encoding="utf-8")
            rows += [{"question": q, "answer": good, "doc": page} for q in (question, paraphrase)]
        write_jsonl(golden, rows)
    return kb_dir, golden
