"""Every detector that reads user text runs in time linear in its length (issue 11): adversarial
20,000-character inputs that make a backtracking pattern quadratic finish well inside a generous
bound, and every regular expression of the guardrails, fed each adversarial input at n and 4n
characters, takes about 4 times as long, not 16. The per-message latency targets are measured by
`python -m bench.run --only guardrails`."""

import re
import time
from collections.abc import Iterator
from types import ModuleType

import pytest

from functions.guardrails import (
    classifier,
    grounding,
    injection_patterns,
    normalize,
    output_checks,
    pii,
    toxicity,
)
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


SCANNED: tuple[ModuleType, ...] = (
    classifier,
    grounding,
    injection_patterns,
    normalize,
    output_checks,
    pii,
    toxicity,
)
SHORT = 2_500
RATIO_BOUND = 10.0  # linear scans come out near 4; a quadratic one near 16
MEASURABLE_SECONDS = 0.005  # below this at 4n, timer noise outweighs any growth


def every_pattern() -> Iterator[tuple[str, re.Pattern[str]]]:
    """Module-level patterns, and those held in module-level tuples (`PATTERNS`)."""
    for module in SCANNED:
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                yield f"{module.__name__}.{name}", value
            elif isinstance(value, tuple):
                for i, item in enumerate(value):
                    regex = getattr(item, "regex", None)
                    if isinstance(regex, re.Pattern):
                        yield f"{module.__name__}.{name}[{i}]", regex


def scan_seconds(regex: re.Pattern[str], text: str) -> float:
    """CPU seconds of this process (not wall time, which other processes on a shared machine
    lengthen), the least of five scans."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _match in regex.finditer(text):
            pass
        best = min(best, time.process_time() - started)
    return best


def test_the_scan_finds_the_patterns_of_every_detector() -> None:
    names = {name.rsplit(".", 1)[-1] for name, _ in every_pattern()}
    assert {"PATTERNS[0]", "COMPACT_PHRASES", "THREAT", "INSULT", "_MARKDOWN_LINK", "_WORD"} <= names
    assert sum(1 for _ in every_pattern()) > 40


@pytest.mark.parametrize(
    ("name", "regex"), list(every_pattern()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_pattern_scales_linearly_on_adversarial_input(name: str, regex: re.Pattern[str]) -> None:
    for piece in ADVERSARIAL:
        short = (piece * (SHORT // len(piece) + 1))[:SHORT]
        long = short * 4
        long_seconds = scan_seconds(regex, long)
        if long_seconds < MEASURABLE_SECONDS:
            continue
        ratio = long_seconds / max(scan_seconds(regex, short), 1e-9)
        assert ratio < RATIO_BOUND, f"{name} grew {ratio:.1f}x from {SHORT} to {4 * SHORT} chars of {piece!r}"
