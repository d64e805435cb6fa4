"""Train the intent classifier and write its artefact into the package.

    python -m training_jobs.intents.train                      # the packaged MiniLM artefact
    python -m training_jobs.intents.train --output model.json  # e.g. under GENAI_STACK_EMBEDDER=bedrock

Multinomial logistic regression (scikit-learn, lbfgs) over the embeddings of the examples in
`written_data`, made by the embedder the settings configure (the local MiniLM by default): the
classifier reads the same vectors retrieval makes at query time. The regularisation strength is
chosen by stratified five-fold cross-validation on those examples alone; the held-out split
(`tests/fixtures/intents/`) and Banking77 are measured afterwards, never trained or tuned on.
Everything is deterministic (fixed folds, a deterministic solver, no timestamp in the artefact),
so retraining on the same data and embedder writes the same coefficients.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from functions.intents.classifier import (
    PACKAGED_MODEL,
    IntentModel,
    build_model,
    embedder_identity,
    save_model,
)
from training_jobs.intents import written_data

#: Inverse regularisation strengths tried by cross-validation.
C_GRID = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


def fingerprint(examples: Sequence[tuple[str, str]]) -> str:
    """SHA-256 of the training examples: the artefact says what it was trained on."""
    return hashlib.sha256(json.dumps(list(examples), ensure_ascii=False).encode("utf-8")).hexdigest()


def train(examples: Sequence[tuple[str, str]], vectors: Any, embedder: str) -> IntentModel:
    """Fit on `vectors` (one row per example), with C picked by five-fold cross-validation."""
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    features = np.asarray(vectors, dtype=np.float64)
    labels = np.array([intent for _, intent in examples])
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    cv_accuracy = {
        c: float(cross_val_score(LogisticRegression(C=c, max_iter=5000), features, labels, cv=folds).mean())
        for c in C_GRID
    }
    best_c = max(C_GRID, key=lambda c: (round(cv_accuracy[c], 6), -c))  # the smaller C on a tie
    fitted = LogisticRegression(C=best_c, max_iter=5000).fit(features, labels)
    metadata = {
        "examples": len(examples),
        "per_intent": dict(sorted(Counter(labels.tolist()).items())),
        "examples_sha256": fingerprint(examples),
        "c": best_c,
        "cv_accuracy": round(cv_accuracy[best_c], 3),
        "scikit_learn": sklearn.__version__,
    }
    labels_seen = [str(label) for label in fitted.classes_]
    return build_model(labels_seen, fitted.coef_, fitted.intercept_, embedder=embedder, metadata=metadata)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PACKAGED_MODEL, help="where to write the artefact")
    parser.add_argument(
        "--datasets", type=Path, default=None, help="the shared data sets, to report Banking77 transfer"
    )
    args = parser.parse_args(argv)

    from functions.services import Services
    from functions.settings import Settings
    from training_jobs.intents.evaluation import evaluate

    settings = Settings()
    embedder = Services(settings).embedder
    examples = [(text, intent.value) for text, intent in written_data.examples()]
    vectors = embedder.embed_documents([text for text, _ in examples])
    model = train(examples, vectors, embedder_identity(settings))
    save_model(args.output, model)
    report = {"artefact": str(args.output), "bytes": args.output.stat().st_size, **model.metadata}
    report.update(evaluate(model, embedder, args.datasets))
    print(json.dumps(report, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
