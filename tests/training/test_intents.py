"""The intent classifier with the real MiniLM model: it meets the figures the project reports on
the held-out split it was never trained on, and retraining writes the same artefact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from functions.intents.classifier import load_model
from functions.rag.embeddings.minilm import MiniLMEmbedder
from training_jobs.intents.evaluation import evaluate, load_held_out
from training_jobs.intents.train import main

#: The held-out figures README.md and docs/BENCHMARKS.md report (`python -m bench.run --only intents`).
REPORTED_ACCURACY = 0.936
REPORTED_MACRO_F1 = 0.934


def test_the_classifier_meets_its_reported_figures_on_the_held_out_split() -> None:
    report = evaluate(load_model(), MiniLMEmbedder(), datasets=None)["held_out"]
    assert report["n"] == len(load_held_out()) >= 100
    assert report["accuracy"] == pytest.approx(REPORTED_ACCURACY, abs=0.01)
    assert report["macro_f1"] == pytest.approx(REPORTED_MACRO_F1, abs=0.01)


def test_retraining_writes_the_packaged_artefact_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "retrained.json"
    main(["--output", str(output)])
    printed = json.loads(capsys.readouterr().out)
    retrained, packaged = load_model(output), load_model()
    assert (retrained.labels, retrained.embedder, retrained.metadata) == (
        packaged.labels,
        packaged.embedder,
        packaged.metadata,
    )
    # the embeddings are deterministic on CPU up to float rounding; the coefficients are kept to 6 places
    np.testing.assert_allclose(retrained.weights, packaged.weights, atol=1e-4)
    np.testing.assert_allclose(retrained.bias, packaged.bias, atol=1e-4)
    assert printed["held_out"]["accuracy"] == pytest.approx(REPORTED_ACCURACY, abs=0.01)
