"""Intent tagging: the packaged classifier on the held-out split the project wrote, and its
transfer to Banking77 (another domain; only categories that honestly map to ours, never tuned on)."""

from __future__ import annotations

from typing import Any

from bench.common import Options, markdown_table, progress


def run(options: Options) -> str:
    from functions.intents.classifier import load_model
    from functions.rag.embeddings.minilm import MiniLMEmbedder
    from training_jobs.intents.evaluation import BANKING77_TO_INTENT, evaluate

    model = load_model()
    progress("intents: embedding the held-out split and the mapped Banking77 questions")
    report = evaluate(model, MiniLMEmbedder(), options.datasets)
    sets: list[tuple[str, dict[str, Any]]] = [
        ("held-out split (`tests/fixtures/intents/`)", report["held_out"])
    ]
    if "banking77" in report:
        sets.append((f"Banking77, {len(BANKING77_TO_INTENT)} categories mapped", report["banking77"]))
    summary = markdown_table(
        ["set", "questions", "accuracy", "macro-F1"],
        [[name, scores["n"], scores["accuracy"], scores["macro_f1"]] for name, scores in sets],
    )
    intents = sorted({intent for _, scores in sets for intent in scores["f1"]})
    per_intent = markdown_table(
        ["intent", *(name.split(" (")[0].split(",")[0] for name, _ in sets)],
        [[intent, *(scores["f1"].get(intent, "") for _, scores in sets)] for intent in intents],
    )
    metadata = model.metadata
    return (
        f"The packaged classifier (`functions/intents/minilm_logistic.json`: logistic regression, "
        f"C={metadata['c']} chosen by five-fold cross-validation on the {metadata['examples']} training "
        f"examples, cross-validated accuracy {metadata['cv_accuracy']}) over MiniLM query vectors. "
        "Retrain with `python -m training_jobs.intents.train`. The held-out split was written apart "
        "from the training examples and never trained or tuned on; Banking77 is a bank's app, so "
        "only its categories that are one of the store's intents are mapped "
        "(`training_jobs/intents/evaluation.py`), and macro-F1 there is over the mapped intents.\n\n"
        f"{summary}\n\nF1 per intent:\n\n{per_intent}\n"
    )
