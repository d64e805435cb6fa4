"""Every detector that reads user text runs in time linear in its length (issue 11): adversarial
20,000-character inputs that make a backtracking pattern quadratic finish well inside a generous
bound. The per-message latency targets are measured by `python -m bench.run --only guardrails`."""

import time

import pytest

from functions.guardrails.base import CheckContext, Detector, Stage
from functions.guardrails.grounding import GroundingDetector
from functions.guardrails.injection import InjectionDetector
from functions.guardrails.output_checks import LinkDetector, SystemPromptLeakDetector
from functions.guardrails.pii import PiiDetector
from functions.guardrails.toxicity import ToxicityDetector
from functions.rag.prompts import SYSTEM_PROMPT

LENGTH = 20_000
# Each piece repeated to 20,000 characters: separators and near-misses for the e-mail, phone,
# card, IBAN, IP and address patterns, and for the gaps of the injection patterns.
ADVERSARIAL = [
    "a.", "a", "1 ", "1-", "a@", "a@b.", "de89", "1.1.", "1:", "a at ", "x dot ", "ignore ", "ignore the ",
    "you are ", "![", "[a](", "http://", "<|", "system: ", "12 ", "A ", "Aaaa ", "my name is ", "born on 1/",
    "i g n o r e ", "QUFB", "ab", "\u200b", "stop - ", "pretend ", "supervisor approved ", "fuck ",
]  # fmt: skip
BOUND_SECONDS = 1.0  # generous: linear scans take a few tens of milliseconds here


def detectors() -> list[Detector]:
    return [
        InjectionDetector.with_shipped_model(),
        ToxicityDetector.with_shipped_model(),
        PiiDetector(),
        LinkDetector(("example.com",)),
        SystemPromptLeakDetector((SYSTEM_PROMPT,)),
        GroundingDetector(),
    ]


@pytest.mark.parametrize("piece", ADVERSARIAL)
def test_each_detector_is_linear_on_adversarial_input(piece: str) -> None:
    text = (piece * (LENGTH // len(piece) + 1))[:LENGTH]
    context = CheckContext(Stage.OUTPUT, sources=("a source text",))
    for detector in detectors():
        started = time.perf_counter()
        detector.detect(text, context)
        elapsed = time.perf_counter() - started
        assert elapsed < BOUND_SECONDS, f"{type(detector).__name__} took {elapsed:.2f} s on {piece!r}"
