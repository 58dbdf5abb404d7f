"""Reward offers against coupon popularity on a tiny coupon history whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from recommend.baselines import PersonalPopularity
from recommend.data import CouponHistory, coupon_history
from recommend.reward_evaluation import (
    OURS,
    POPULARITY,
    auc,
    evaluate_rewards,
    expected_recall,
    format_reward_table,
)

CUTOFF = pd.Timestamp("2024-03-01")
END = pd.Timestamp("2024-04-01")


def history() -> tuple[pd.DataFrame, CouponHistory]:
    """Members 0-9 each buy their own product ``p<member>``; 12 coupons, coupon ``c<i>`` on
    ``p<i>``. Every member receives all 12 in a March campaign and redeems the coupon on its
    own product; before March everyone redeemed ``c11`` (popular, but no one's own)."""
    days = pd.date_range("2024-01-01", periods=8, freq="7D")
    train = pd.DataFrame(
        [(m, f"p{m}", day, 1) for m in range(10) for day in days],
        columns=["member_id", "product_id", "timestamp", "quantity"],
    )
    campaigns = pd.DataFrame({"campaign_id": 1, "household_id": range(10)})
    descriptions = pd.DataFrame(
        {
            "campaign_id": [1],
            "campaign_type": ["Type A"],
            "start_date": [pd.Timestamp("2024-02-20")],
            "end_date": [pd.Timestamp("2024-03-31")],
        }
    )
    coupons = pd.DataFrame(
        {"coupon_upc": range(12), "product_id": [f"p{i}" for i in range(12)], "campaign_id": 1}
    )
    redemptions = pd.DataFrame(
        {
            "household_id": list(range(10)) + list(range(10)),
            "coupon_upc": list(range(10)) + [11] * 10,
            "campaign_id": 1,
            "redemption_date": [pd.Timestamp("2024-03-10")] * 10
            + [pd.Timestamp("2024-02-25")] * 10,
        }
    )
    return train, coupon_history(campaigns, descriptions, coupons, redemptions)


def test_own_purchases_rank_the_redeemed_coupon_first() -> None:
    train, coupons = history()
    model = PersonalPopularity.fit(train)

    rows = {row.model: row for row in evaluate_rewards(model, train, coupons, CUTOFF, END)}

    assert rows[OURS].members == 10
    assert rows[OURS].recall == (1.0, 1.0)
    assert rows[OURS].auc == 1.0
    # random: 5 and 10 of 12 coupons expected to hold the one redeemed
    assert rows["random"].recall == pytest.approx((5 / 12, 10 / 12))
    assert rows["random"].auc == 0.5
    # popularity puts c11 first, then ties the other 11 (one of them redeemed)
    assert rows[POPULARITY].recall == pytest.approx((4 / 11, 9 / 11))
    # below c11, tied with the 10 other unredeemed: (0 + 10 * 0.5) / 11
    assert rows[POPULARITY].auc == pytest.approx(5 / 11)
    assert "ours / coupon popularity" in format_reward_table(list(rows.values()))


def test_redemptions_outside_the_window_are_not_relevant() -> None:
    train, coupons = history()
    model = PersonalPopularity.fit(train)

    rows = evaluate_rewards(model, train, coupons, END, END + pd.Timedelta(days=30))

    assert {row.members for row in rows} == {0}
    assert "no member redeemed" in format_reward_table(rows)


def test_ties_count_as_random_order() -> None:
    scores = np.array([3.0, 2.0, 2.0, 2.0, 1.0])
    redeemed = np.array([False, True, False, False, False])

    # one place left among the first 2 for three tied coupons
    assert expected_recall(scores, redeemed, 2) == pytest.approx(1 / 3)
    assert expected_recall(scores, redeemed, 4) == 1.0
    # above 1 of 4 unredeemed, tied with 2, below 1: (1 + 2 * 0.5) / 4
    assert auc(scores, redeemed) == pytest.approx(0.5)


@pytest.mark.slow
def test_reward_offers_beat_coupon_popularity_on_the_complete_journey() -> None:
    """The real coupons; personal popularity stands in for the trained model's offers (the
    rule's main signal, the share of own lines, does not depend on the model)."""
    from recommend.data import load_completejourney, load_completejourney_coupons
    from recommend.evaluation import holdout_window, temporal_split

    interactions, _ = load_completejourney()
    train, _ = temporal_split(interactions, 8)
    cutoff, end = holdout_window(interactions, 8)

    rows = evaluate_rewards(
        PersonalPopularity.fit(train),
        train,
        load_completejourney_coupons(),
        pd.Timestamp(cutoff),
        pd.Timestamp(end),
    )

    by_name = {row.model: row for row in rows}
    assert by_name[OURS].members > 150
    assert by_name[OURS].recall[1] > 1.5 * by_name[POPULARITY].recall[1]
    assert by_name[OURS].auc > by_name[POPULARITY].auc + 0.05
    assert by_name[POPULARITY].auc > by_name["random"].auc
