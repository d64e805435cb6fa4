"""Train a guardrail classifier (prompt injection or toxicity) and write its artefact into the package.

    python -m training_jobs.guardrails.train_classifier --task injection [--datasets ../shared/datasets]
    python -m training_jobs.guardrails.train_classifier --task toxicity

Logistic regression over the hashed features of `functions.guardrails.classifier`, fitted with
full-batch Adam and L2 in numpy (the data is a few thousand rows; no scikit-learn needed). The
injection pool is the deepset/prompt-injections rows outside the evaluation split
(`functions.guardrails.evaluation.is_held_out`), 2,000 Banking77 customer questions outside
theirs (benign), and the examples in `written_data`; the toxicity pool is 8,000 of Davidson et
al.'s tweets outside their split (hate or offensive = 1), the same Banking77 questions, and the
written abuse and angry complaints. Five-fold
cross-validation on that pool is printed before the final fit; the held-out split and the
project's fixtures are measured by `genai-stack eval guardrails`, never trained on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from functions.guardrails.classifier import features, save_model
from functions.guardrails.evaluation import DEFAULT_DATASETS, load_banking77, load_davidson, load_deepset
from functions.guardrails.injection import INJECTION_MODEL
from functions.guardrails.normalize import normalize
from functions.guardrails.toxicity import TOXICITY_MODEL
from training_jobs.guardrails import written_data

DIMENSION = 2**18
Floats = npt.NDArray[np.float64]


class SparseRows:
    """Binary, L2-normalised feature rows in CSR form: what `HashedLogisticModel` scores."""

    def __init__(self, texts: Sequence[str], dimension: int) -> None:
        rows = [sorted(features(normalize(text), dimension)) for text in texts]
        self.indices = np.array([i for row in rows for i in row], dtype=np.int64)
        self.values = np.concatenate([np.full(len(r), 1.0 / np.sqrt(max(len(r), 1))) for r in rows])
        self.row_of = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
        self.n_rows = len(rows)
        self.dimension = dimension

    def dot(self, weights: Floats) -> Floats:
        products = weights[self.indices] * self.values
        return np.asarray(np.bincount(self.row_of, weights=products, minlength=self.n_rows), dtype=np.float64)

    def transpose_dot(self, residuals: Floats) -> Floats:
        products = residuals[self.row_of] * self.values
        return np.asarray(
            np.bincount(self.indices, weights=products, minlength=self.dimension), dtype=np.float64
        )


def fit(
    rows: SparseRows, labels: Floats, *, l2: float = 1e-5, steps: int = 400, rate: float = 0.05
) -> tuple[Floats, float]:
    """Class-balanced logistic regression; returns (weights, bias)."""
    positives = labels.sum()
    sample_weight = np.where(labels == 1, 0.5 / positives, 0.5 / (len(labels) - positives))
    weights = np.zeros(rows.dimension)
    bias = 0.0
    m_w, v_w = np.zeros_like(weights), np.zeros_like(weights)
    m_b = v_b = 0.0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        probabilities = 1.0 / (1.0 + np.exp(-(rows.dot(weights) + bias)))
        residuals = (probabilities - labels) * sample_weight
        grad_w = rows.transpose_dot(residuals) + l2 * weights
        grad_b = float(residuals.sum())
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w**2
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b**2
        correction1, correction2 = 1 - beta1**step, 1 - beta2**step
        weights -= rate * (m_w / correction1) / (np.sqrt(v_w / correction2) + eps)
        bias -= rate * (m_b / correction1) / (np.sqrt(v_b / correction2) + eps)
    return weights, bias


BANKING_ROWS = 2000  # ordinary customer questions, so support vocabulary ("card", "refund") reads benign


TOXICITY_ROWS = 8000  # of Davidson et al.'s tweets: enough for the vocabulary of abuse


def injection_pool(datasets: Path) -> list[tuple[str, int]]:
    deepset = [(text, label) for text, label, held_out in load_deepset(datasets) if not held_out]
    banking = [(text, 0) for text, held_out in load_banking77(datasets) if not held_out]
    return (
        deepset
        + random.Random(0).sample(banking, k=min(BANKING_ROWS, len(banking)))
        + written_data.examples()
    )


def toxicity_pool(datasets: Path) -> list[tuple[str, int]]:
    tweets = [(text, label) for text, label, held_out in load_davidson(datasets) if not held_out]
    banking = [(text, 0) for text, held_out in load_banking77(datasets) if not held_out]
    rng = random.Random(0)
    return (
        rng.sample(tweets, k=min(TOXICITY_ROWS, len(tweets)))
        + rng.sample(banking, k=min(BANKING_ROWS, len(banking)))
        + written_data.toxicity_examples()
    )


#: Per task: its training pool, its artefact, and the share of benign rows (out of fold) allowed
#: above the operating threshold. Injection is strict, 0.2%: at 0.5% the classifier kept more
#: attacks in cross-validation but blocked benign, answerable support questions of the labelled
#: test set ("Will my guide dog be allowed inside your shops?"); the patterns carry the known
#: families. Toxicity 0.5% (its patterns cover threats and insults only).
TASKS: dict[str, tuple[Callable[[Path], list[tuple[str, int]]], Path, float]] = {
    "injection": (injection_pool, INJECTION_MODEL, 0.002),
    "toxicity": (toxicity_pool, TOXICITY_MODEL, 0.005),
}


def cross_validate(pool: list[tuple[str, int]], target_fpr: float, folds: int = 5) -> dict[str, float]:
    """Out-of-fold probabilities over `folds` random folds; the operating threshold is the
    probability that `target_fpr` of the benign rows exceed (the detector maps it to 0.5)."""
    order = list(range(len(pool)))
    random.Random(0).shuffle(order)
    probabilities = np.zeros(len(pool))
    for fold in range(folds):
        test = order[fold::folds]
        held = set(test)
        train = [pool[i] for i in order if i not in held]
        weights, bias = fit(
            SparseRows([t for t, _ in train], DIMENSION), np.array([y for _, y in train], float)
        )
        logits = SparseRows([pool[i][0] for i in test], DIMENSION).dot(weights) + bias
        probabilities[test] = 1.0 / (1.0 + np.exp(-logits))
    truth = np.array([label for _, label in pool]) == 1
    threshold = float(np.quantile(probabilities[~truth], 1.0 - target_fpr))
    return {
        "threshold": round(threshold, 4),
        "cv_tpr": round(float((probabilities[truth] >= threshold).mean()), 3),
        "cv_fpr": round(float((probabilities[~truth] >= threshold).mean()), 3),
    }


def pool_fingerprint(pool: Sequence[tuple[str, int]]) -> str:
    """A digest of the training rows, kept in the artefact's metadata instead of a date: the
    same rows give the same artefact, byte for byte, so a retrain can be checked against it."""
    digest = hashlib.sha256()
    for text, label in pool:
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def train(pool: list[tuple[str, int]], task: str, target_fpr: float, output: Path) -> dict[str, object]:
    """Cross-validate, fit on the whole pool and write the artefact; returns its metadata."""
    metadata: dict[str, object] = {
        "pool_sha256": pool_fingerprint(pool),
        "rows": len(pool),
        "positives": sum(label for _, label in pool),
        "task": task,
    }
    metadata.update(cross_validate(pool, target_fpr))
    weights, bias = fit(SparseRows([t for t, _ in pool], DIMENSION), np.array([y for _, y in pool], float))
    save_model(output, weights.tolist(), float(bias), metadata)
    return metadata


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="injection")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--output", type=Path, help="where to write the artefact (default: the package's)")
    args = parser.parse_args(argv)
    build_pool, default_output, target_fpr = TASKS[args.task]
    output: Path = args.output or default_output
    metadata = train(build_pool(args.datasets), args.task, target_fpr, output)
    print(json.dumps({**metadata, "artefact": str(output), "bytes": output.stat().st_size}))  # noqa: T201


if __name__ == "__main__":
    main()
