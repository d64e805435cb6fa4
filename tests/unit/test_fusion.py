import pytest

from functions.rag.stores.fusion import distinct_passages, fuse_scores, min_max_normalise


def test_min_max_scales_to_unit_interval() -> None:
    assert min_max_normalise({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}


def test_equal_scores_all_become_one() -> None:
    assert min_max_normalise({"a": 0.3, "b": 0.3}) == {"a": 1.0, "b": 1.0}


def test_weight_decides_between_the_rankings() -> None:
    dense = {"d": 0.9, "x": 0.5, "l": 0.1}
    lexical = {"l": 12.0, "x": 6.0, "d": 0.0}
    assert fuse_scores(dense, lexical, dense_weight=1.0)[0][0] == "d"
    assert fuse_scores(dense, lexical, dense_weight=0.0)[0][0] == "l"
    # Evenly weighted, each one-sided winner and the middle candidate all score 0.5: ties keep
    # the dense order.
    assert [key for key, _ in fuse_scores(dense, lexical, dense_weight=0.5)] == ["d", "x", "l"]


def test_candidate_found_by_one_ranking_only_scores_zero_in_the_other() -> None:
    fused = dict(fuse_scores({"a": 0.8, "b": 0.4}, {"c": 3.0, "b": 1.0}, dense_weight=0.6))
    assert fused["a"] == pytest.approx(0.6)
    assert fused["c"] == pytest.approx(0.4)
    assert fused["b"] == pytest.approx(0.0)


def test_weight_outside_unit_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="dense_weight"):
        fuse_scores({}, {}, dense_weight=1.5)


def test_distinct_passages_keep_each_text_once_at_its_best_rank_up_to_k() -> None:
    fused = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.6)]
    passage = {"a": "x", "b": "x", "c": "y", "d": "z"}
    assert distinct_passages(fused, passage.__getitem__, k=2) == [("a", 0.9), ("c", 0.7)]
    assert distinct_passages(fused, passage.__getitem__, k=5) == [("a", 0.9), ("c", 0.7), ("d", 0.6)]
