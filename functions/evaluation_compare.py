"""Two configurations' answer evaluations on the same questions, side by side, with a paired
significance test per figure and a verdict (`genai-stack eval answers --compare A B`).

Only the questions where both runs have a value are paired. A yes/no outcome (retrieval hit,
hand-off correct, ...) gets McNemar's exact test: under "no difference" the questions where the
two runs disagree split between them like fair coin flips, so the p-value is a two-sided binomial
tail. A score (key-fact share, groundedness, judge grade) gets a paired permutation test: the
sign of each question's difference is flipped at random. Both are a few lines of the standard
library; scipy is not a dependency of the runtime, and its `binomtest` would add 100 MB for one sum.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from functions.evaluation_answers import METRICS, AnswerReport, Metric

#: Sign-flip permutations are enumerated up to this many non-zero differences (2**16 = 65,536
#: arrangements), sampled with a fixed seed beyond it, so the same runs always give the same p-value.
EXACT_PERMUTATION_LIMIT = 16
PERMUTATION_SAMPLES = 20_000


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs: questions only A got right, and
    questions only B got right."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail: float = sum(math.comb(n, i) for i in range(min(a_only, b_only) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_permutation(differences: Sequence[float], *, seed: int = 0) -> float:
    """Two-sided p-value of a paired sign-flip permutation test on the mean difference."""
    nonzero = [d for d in differences if d != 0]
    if not nonzero:
        return 1.0
    observed = abs(sum(nonzero)) - 1e-12  # equal sums count as at least as extreme
    if len(nonzero) <= EXACT_PERMUTATION_LIMIT:
        signs = itertools.product((1, -1), repeat=len(nonzero))
        sums = [abs(sum(s * d for s, d in zip(flips, nonzero, strict=True))) for flips in signs]
        return sum(total >= observed for total in sums) / len(sums)
    generator = random.Random(seed)
    extreme = sum(
        abs(sum(d if generator.random() < 0.5 else -d for d in nonzero)) >= observed
        for _ in range(PERMUTATION_SAMPLES)
    )
    return (extreme + 1) / (PERMUTATION_SAMPLES + 1)


@dataclass(frozen=True)
class MetricComparison:
    metric: str
    a: float | None
    b: float | None
    pairs: int  # questions where both runs have a value
    test: str  # "mcnemar" or "permutation"
    p_value: float
    better: str | None  # "A", "B", or None when the difference is not significant


@dataclass(frozen=True)
class Comparison:
    names: tuple[str, str]
    alpha: float
    metrics: list[MetricComparison]

    @property
    def verdict(self) -> str:
        wins = {side: [m.metric for m in self.metrics if m.better == side] for side in ("A", "B")}
        a_name, b_name = self.names
        if wins["A"] and wins["B"]:
            return f"mixed: {a_name} is better on {', '.join(wins['A'])}; {b_name} on {', '.join(wins['B'])}"
        for side, name in (("A", a_name), ("B", b_name)):
            if wins[side]:
                return f"{name} is better (p < {self.alpha:g} on {', '.join(wins[side])}; worse on none)"
        return f"no significant difference at p < {self.alpha:g}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "configurations": {"A": self.names[0], "B": self.names[1]},
            "alpha": self.alpha,
            "metrics": [asdict(m) for m in self.metrics],
            "verdict": self.verdict,
        }


def compare(
    a: AnswerReport, b: AnswerReport, names: tuple[str, str] = ("A", "B"), *, alpha: float = 0.05
) -> Comparison:
    """Paired tests of every figure on the same questions, asked in the same order."""
    if [o.item for o in a.outcomes] != [o.item for o in b.outcomes]:
        raise ValueError("the two evaluations must cover the same questions in the same order")
    return Comparison(names, alpha, [_compare_metric(metric, a, b, alpha) for metric in METRICS])


def _compare_metric(metric: Metric, a: AnswerReport, b: AnswerReport, alpha: float) -> MetricComparison:
    pairs = [
        (float(x), float(y))
        for x, y in zip(a.values(metric), b.values(metric), strict=True)
        if x is not None and y is not None
    ]
    if metric.binary:
        test = "mcnemar"
        a_only = sum(x > y for x, y in pairs)
        b_only = sum(y > x for x, y in pairs)
        p_value = mcnemar_exact(a_only, b_only)
    else:
        test = "permutation"
        p_value = paired_permutation([x - y for x, y in pairs])
    gain = sum(x - y for x, y in pairs)
    better = None if p_value >= alpha or gain == 0 else ("A" if gain > 0 else "B")
    return MetricComparison(
        metric.name, a.figure(metric), b.figure(metric), len(pairs), test, round(p_value, 6), better
    )
