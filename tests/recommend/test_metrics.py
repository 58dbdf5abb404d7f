import math

import pandas as pd
import pytest

from recommend.evaluation import ranking_metrics, relevant_products, temporal_split


def test_metrics_match_hand_computation() -> None:
    # given: a hits at ranks 2 and 4 of 3 relevant, b hits nothing
    recommended = {"a": [1, 2, 3, 4], "b": [5, 6]}
    relevant = {"a": {2, 4, 9}, "b": {7}}

    # when
    metrics = ranking_metrics(recommended, relevant, k=4)

    # then
    ndcg_a = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    assert metrics.members == 2
    assert metrics.recall == pytest.approx((2 / 3 + 0) / 2)
    assert metrics.precision == pytest.approx((2 / 4 + 0) / 2)
    assert metrics.ndcg == pytest.approx(ndcg_a / 2)


def test_perfect_list_scores_one_and_only_top_k_counts() -> None:
    metrics = ranking_metrics({"a": [1, 2, 3]}, {"a": {1, 2}}, k=2)
    assert (metrics.recall, metrics.precision, metrics.ndcg) == (1.0, 1.0, 1.0)
    late = ranking_metrics({"a": [5, 6, 1]}, {"a": {1}}, k=2)
    assert (late.recall, late.precision, late.ndcg) == (0.0, 0.0, 0.0)


def test_members_without_recommendations_score_zero() -> None:
    metrics = ranking_metrics({}, {"a": {1}}, k=10)
    assert (metrics.recall, metrics.members) == (0.0, 1)


def test_temporal_split_and_relevant_sets() -> None:
    # given: the last day is 2024-03-10, so a 1-week holdout starts on 2024-03-04
    frame = pd.DataFrame(
        {
            "member_id": ["a", "a", "a", "b", "c"],
            "product_id": ["x", "x", "y", "x", "z"],
            "timestamp": pd.to_datetime(
                ["2024-03-01", "2024-03-05", "2024-03-10", "2024-03-02", "2024-03-06"]
            ),
            "quantity": [1] * 5,
        }
    )

    # when
    train, test = temporal_split(frame, holdout_weeks=1)
    relevant_all, relevant_new = relevant_products(train, test)

    # then: c has no training history, b bought nothing in the holdout
    assert list(test["timestamp"].dt.day) == [5, 10, 6]
    assert relevant_all == {"a": {"x", "y"}}
    assert relevant_new == {"a": {"y"}}
