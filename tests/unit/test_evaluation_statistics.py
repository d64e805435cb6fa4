"""The paired tests of `eval answers --compare` and the judge's grade parser, on values worked out by hand."""

from __future__ import annotations

import pytest

from functions.evaluation_compare import EXACT_PERMUTATION_LIMIT, mcnemar_exact, paired_permutation
from functions.evaluation_judge import parse_grade


@pytest.mark.parametrize(
    ("a_only", "b_only", "expected"),
    [
        (0, 0, 1.0),  # no disagreement: no evidence either way
        (0, 5, 2 / 32),  # all five discordant pairs one way
        (1, 9, 2 * (1 + 10) / 1024),  # two-sided binomial tail, P(X <= 1 | n=10, p=1/2)
        (9, 1, 2 * (1 + 10) / 1024),  # symmetric
        (5, 5, 1.0),
    ],
)
def test_mcnemar_exact(a_only: int, b_only: int, expected: float) -> None:
    assert mcnemar_exact(a_only, b_only) == pytest.approx(expected)


def test_paired_permutation_enumerates_small_samples() -> None:
    # Five equal positive differences: only "all +" and "all -" are as extreme, 2 of 32.
    assert paired_permutation([0.2] * 5) == pytest.approx(2 / 32)
    assert paired_permutation([0.2, -0.2, 0.0]) == 1.0
    assert paired_permutation([0.0, 0.0]) == 1.0  # ties drop out


def test_paired_permutation_samples_large_ones_with_a_fixed_seed() -> None:
    differences = [0.1 * ((i % 3) - 0.5) for i in range(EXACT_PERMUTATION_LIMIT + 14)]
    p_value = paired_permutation(differences)

    assert p_value == paired_permutation(differences)  # the same on every run
    assert 0.0 < p_value <= 1.0
    assert paired_permutation([0.5] * 40) < 1e-3  # one-sided evidence in every pair


@pytest.mark.parametrize(
    ("reply", "grade"),
    [
        ("Score: 4", 4.0),
        ("score=3.5", 3.5),
        ("**Score:** 5\nThe answer matches.", 5.0),
        ("I'd give it a 2 out of 5.", 2.0),
        ("4/5", 4.0),
        (" 3 ", 3.0),
        ("Score: 9", None),  # outside the scale: not a grade
        ("The answer mentions 45 days and 2 stores.", None),
        ("", None),
    ],
)
def test_parse_grade(reply: str, grade: float | None) -> None:
    assert parse_grade(reply) == grade
