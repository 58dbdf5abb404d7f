"""Experiment statistics, assignment and attribution: pure functions, known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from loyalty.assignment import pick
from loyalty.offers import stats
from loyalty.offers.attribution import Impression, Purchase, attribute
from loyalty.offers.experiments import arm_index
from loyalty.offers.simulation import Arm, replay, split
from models import ArmSource
from recommend.baselines import GlobalPopularity, PersonalPopularity

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_welch_interval_matches_scipy():
    # given two samples of different sizes and spreads
    rng = np.random.default_rng(7)
    control, treatment = rng.normal(10, 2, 50), rng.normal(11, 3.5, 35)

    # when
    ours = stats.welch(control, treatment)

    # then: scipy's Welch test (equal_var=False) gives the same interval
    expected = scipy_stats.ttest_ind(treatment, control, equal_var=False).confidence_interval()
    assert ours.method == stats.WELCH
    assert ours.low == pytest.approx(expected.low, rel=1e-10)
    assert ours.high == pytest.approx(expected.high, rel=1e-10)
    assert ours.difference == pytest.approx(treatment.mean() - control.mean())


def test_welch_textbook_case():
    # a case worked by hand: means 20.0 / 22.0
    control = [19.0, 20.0, 21.0, 20.0, 20.0]  # mean 20, sample var 0.5
    treatment = [20.0, 24.0, 22.0, 21.0, 23.0]  # mean 22, sample var 2.5
    # se = sqrt(0.5/5 + 2.5/5) = sqrt(0.6); df = 0.36 / (0.01/4 + 0.25/4) = 5.538...
    se = np.sqrt(0.6)
    dof = 0.36 / (0.01 / 4 + 0.25 / 4)
    half = scipy_stats.t.ppf(0.975, dof) * se

    result = stats.welch(control, treatment)

    assert dof == pytest.approx(5.5385, abs=1e-4)
    assert (result.low, result.high) == pytest.approx((2.0 - half, 2.0 + half))
    assert not result.covers_zero


def test_skewed_small_arms_get_the_bootstrap_and_normal_ones_welch():
    rng = np.random.default_rng(3)
    # revenue-like: most members spend nothing, a few a lot (skewness far above 1)
    skewed_a = np.where(rng.random(200) < 0.05, rng.exponential(300, 200), 0.0)
    skewed_b = np.where(rng.random(200) < 0.05, rng.exponential(300, 200), 0.0)
    normal_a, normal_b = rng.normal(50, 5, 200), rng.normal(50, 5, 200)

    assert stats.far_from_normal(skewed_a)
    skewed = stats.compare(skewed_a, skewed_b)
    assert skewed is not None and skewed.method == stats.BOOTSTRAP
    assert skewed.low < skewed.difference < skewed.high
    normal = stats.compare(normal_a, normal_b)
    assert normal is not None and normal.method == stats.WELCH


def test_bootstrap_agrees_with_welch_on_normal_data():
    rng = np.random.default_rng(11)
    a, b = rng.normal(0, 1, 400), rng.normal(0.3, 1, 400)

    boot, welch = stats.bootstrap(a, b), stats.welch(a, b)

    assert boot.low == pytest.approx(welch.low, abs=0.03)
    assert boot.high == pytest.approx(welch.high, abs=0.03)


def test_sample_ratio_mismatch_is_flagged():
    assert not stats.sample_ratio([5_020, 4_980], [1, 1]).mismatch
    flagged = stats.sample_ratio([5_300, 4_700], [1, 1])
    assert flagged.mismatch and flagged.p_value < 0.001
    assert not stats.sample_ratio([2_010, 7_990], [1, 4]).mismatch


def test_assignment_is_sticky_and_uniform_over_10k_members():
    weights = [1, 1, 2]
    members = range(1, 10_001)

    first = [arm_index(5, m, weights) for m in members]
    again = [arm_index(5, m, weights) for m in members]

    assert first == again
    counts = np.bincount(first, minlength=3)
    expected = 10_000 * np.array(weights) / sum(weights)
    assert scipy_stats.chisquare(counts, expected).pvalue > 0.001, counts


def test_assignment_is_independent_across_experiments():
    members = range(1, 10_001)
    one = [arm_index(1, m, [1, 1]) for m in members]
    two = [arm_index(2, m, [1, 1]) for m in members]

    table = np.zeros((2, 2))
    for a, b in zip(one, two, strict=True):
        table[a, b] += 1

    # a member's arm in one experiment says nothing about its arm in the other
    assert scipy_stats.chi2_contingency(table).pvalue > 0.001, table


def test_pick_follows_the_weights():
    assert [pick([1, 3], p) for p in (0.0, 0.24, 0.25, 0.99)] == [0, 0, 1, 1]


def test_an_offer_converts_once_however_often_its_product_is_bought():
    shown = [
        Impression("o1", 1, "P", 10, T0),
        Impression("o1", 1, "P", 10, T0 + timedelta(days=1)),  # shown again: same offer
        Impression("o2", 1, "P", 11, T0),
        Impression("o3", 2, "P", 10, T0),
    ]
    bought = [
        Purchase(1, "P", 10, T0 + timedelta(days=2), 300),
        Purchase(1, "P", 10, T0 + timedelta(days=3), 300),  # a second order of it
        Purchase(1, "P", 11, T0 - timedelta(days=1), 500),  # before the impression
        Purchase(2, "P", 10, T0 + timedelta(days=9), 300),  # after the window
        Purchase(2, "P", 12, T0 + timedelta(days=1), 300),  # not the offered product
    ]

    conversions = attribute(shown, bought, timedelta(days=7))

    assert set(conversions) == {"o1"}
    assert conversions["o1"].cents == 300
    assert conversions["o1"].at == T0 + timedelta(days=2)


def test_a_reward_offer_converts_on_its_redemption_only():
    shown = [Impression("r1", 1, "R", 4, T0), Impression("p4", 1, "P", 4, T0)]
    bought = [Purchase(1, "R", 4, T0 + timedelta(hours=2), 0)]

    assert set(attribute(shown, bought, timedelta(days=7))) == {"r1"}


def _shop(members: int = 400, weeks: int = 10) -> pd.DataFrame:
    """Members who buy from a few popular products at random, every week."""
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2026-01-05")
    rows = []
    for member in range(members):
        for week in range(weeks):
            at = start + pd.Timedelta(weeks=week)
            for product in rng.choice(30, size=3, replace=False, p=_zipf(30)):
                rows.append((member, int(product), at, 1, 2.5))
            if week % 2 == member % 2:  # every other week, the member's own product
                rows.append((member, 100 + member, at, 1, 4.0))
    return pd.DataFrame(rows, columns=["member_id", "product_id", "timestamp", "quantity", "value"])


def _zipf(n: int) -> np.ndarray:
    weights = 1 / np.arange(1, n + 1)
    return weights / weights.sum()


def test_a_a_finds_no_difference():
    train, test = split(_shop(), holdout_weeks=2)
    popular = GlobalPopularity.fit(train)

    result = replay(
        "A/A",
        train,
        test,
        [Arm("a", ArmSource.POPULAR, popular), Arm("b", ArmSource.POPULAR, popular)],
    )

    assert result.converted is not None and result.converted.covers_zero
    revenue = result.report.arms[1].revenue_difference
    assert revenue is not None and revenue.covers_zero
    assert result.predicted == 0.0
    assert not result.report.sample_ratio.mismatch
    assert sum(a.members for a in result.report.arms) == 400


def test_a_b_finds_the_difference_the_offline_evaluation_predicts():
    # given members who come back for their own product, which popularity never offers
    train, test = split(_shop(), holdout_weeks=2)

    result = replay(
        "A/B",
        train,
        test,
        [
            Arm("popular", ArmSource.POPULAR, GlobalPopularity.fit(train)),
            Arm("personal", ArmSource.MODEL_VERSION, PersonalPopularity.fit(train)),
        ],
    )

    # then the personal arm converts more offers, and by about what offline scoring says
    converted = result.converted
    assert converted is not None and converted.low > 0
    assert converted.low <= result.predicted <= converted.high
    assert result.report.arms[1].conversion_rate > result.report.arms[0].conversion_rate


@pytest.mark.slow
def test_the_simulation_on_the_complete_journey_finds_the_predicted_difference_and_no_a_a_one():
    from loyalty.offers import simulation

    ab, aa = simulation.results(holdout_weeks=8, households=400)

    assert simulation.verdict(ab, aa)
    assert ab.converted is not None and ab.converted.low > 0
    assert aa.converted is not None and aa.converted.covers_zero
    text = simulation.format_results([ab, aa], 8)
    assert "offline prediction" in text and "A/A" in text
