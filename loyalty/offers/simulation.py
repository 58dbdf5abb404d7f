"""``loyalty simulate-experiment``: an offer experiment replayed on The Complete Journey.

The last ``holdout_weeks`` of the data become the experiment's window. Every household with
history before the window is assigned to one of two arms by the experiments' hash; at the start
of the window each is shown its arm's top ``n`` offers (the trained model, or global popularity,
both fitted on the weeks before), and then buys exactly what it bought. The window's lines are
its orders; an offer converts when its product is bought within the window
(``loyalty.offers.attribution``) and the arms are summarised by the live report's code
(``loyalty.offers.report.summarize``).

Since members buy what they actually bought, revenue per member differs between the arms only by
chance, and the offers' effect shows in the converted offers per member, which is what the offline
evaluation predicts: the mean number of the model's top ``n`` a member buys in the window minus
popularity's, over all members. An A/A run (the model in both arms) must find no difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from loyalty.assignment import pick, unit_hash
from loyalty.offers.attribution import Conversion, Impression, Purchase, attribute
from loyalty.offers.report import ArmSpec, ArmsReport, summarize
from loyalty.offers.stats import Difference, compare
from models import ArmSource
from recommend.base import Recommender

KEY = "simulated-experiment"
OFFERS = 10


@dataclass(frozen=True)
class Arm:
    name: str
    source: ArmSource
    model: Recommender


@dataclass(frozen=True)
class Simulation:
    """One replayed experiment: the arms' report and the converted-offers comparison."""

    title: str
    members: int
    report: ArmsReport
    converted: Difference | None  # converted offers per member, second arm minus first
    predicted: float  # the offline difference in offers bought per member (all members)


def split(interactions: pd.DataFrame, holdout_weeks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines before the window (what the models learn from) and in it (the orders)."""
    from recommend.evaluation import temporal_split

    return temporal_split(interactions, holdout_weeks)


def replay(
    title: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    arms: Sequence[Arm],
    n: int = OFFERS,
    key: str = KEY,
) -> Simulation:
    """Assign, serve, buy as in the data, attribute and summarise."""
    members = sorted(train["member_id"].unique().tolist())
    weights = [1] * len(arms)
    member_arm = {int(m): pick(weights, unit_hash(key, int(m))) for m in members}
    start = _moment(test["timestamp"].min()) if len(test) else datetime(1970, 1, 1)
    window = timedelta(days=_days(test))
    served = {i: arm.model.recommend(members, n=n) for i, arm in enumerate(arms)}
    impressions = [
        Impression(f"{m}:{rank}:{product}", m, "P", int(product), start)
        for m, i in member_arm.items()
        for rank, product in enumerate(served[i].get(m, []))
    ]
    window_lines = test[test["member_id"].isin(set(member_arm))]
    purchases = [
        Purchase(int(m), "P", int(p), _moment(t), round(float(v) * 100))
        for m, p, t, v in zip(
            window_lines["member_id"],
            window_lines["product_id"],
            window_lines["timestamp"],
            _values(window_lines),
            strict=True,
        )
    ]
    conversions = attribute(impressions, purchases, window)
    revenue = {int(m): round(float(v) * 100) for m, v in _per_member(window_lines).items()}
    orders = {
        int(m): int(c) for m, c in window_lines.groupby("member_id")["timestamp"].nunique().items()
    }
    specs = [ArmSpec(a.name, 1, a.source) for a in arms]
    report = summarize(specs, member_arm, revenue, orders, impressions, [], conversions)
    converted = _converted_difference(member_arm, conversions, len(arms))
    predicted = _predicted(served, window_lines, members)
    return Simulation(title, len(members), report, converted, predicted)


def _converted_difference(
    member_arm: dict[int, int], conversions: dict[str, Conversion], arms: int
) -> Difference | None:
    count: dict[int, int] = {}
    for conversion in conversions.values():
        count[conversion.member_id] = count.get(conversion.member_id, 0) + 1
    per_arm = [
        np.array([count.get(m, 0) for m, i in member_arm.items() if i == arm], dtype=float)
        for arm in range(arms)
    ]
    return compare(per_arm[0], per_arm[-1])


def _predicted(
    served: dict[int, dict[Any, list[Any]]], window: pd.DataFrame, members: list[Any]
) -> float:
    """Offline: offers bought per member if everyone got the last arm, minus the first."""
    bought = window.groupby("member_id")["product_id"].agg(set).to_dict()

    def mean_hits(offers: dict[Any, list[Any]]) -> float:
        hits = [len(set(offers.get(m, [])) & bought.get(m, set())) for m in members]
        return float(np.mean(hits)) if hits else 0.0

    return mean_hits(served[len(served) - 1]) - mean_hits(served[0])


def _values(lines: pd.DataFrame) -> pd.Series:
    return lines["value"] if "value" in lines else lines["quantity"].astype(float)


def _per_member(lines: pd.DataFrame) -> pd.Series:
    return _values(lines).groupby(lines["member_id"]).sum()


def _moment(stamp: Any) -> datetime:
    return pd.Timestamp(stamp).to_pydatetime()


def _days(test: pd.DataFrame) -> float:
    if not len(test):
        return 0.0
    span = pd.Timestamp(test["timestamp"].max()) - pd.Timestamp(test["timestamp"].min())
    return span.total_seconds() / 86400 + 1


Fitter = Callable[[pd.DataFrame], Recommender]


def run(
    interactions: pd.DataFrame, holdout_weeks: int, fitter: Fitter | None = None
) -> list[Simulation]:
    """Model vs popularity, then A/A (the model in both arms), on the same window."""
    import recommend
    from recommend.baselines import GlobalPopularity

    train, test = split(interactions, holdout_weeks)
    model = (fitter or recommend.fit)(train)
    popular = GlobalPopularity.fit(train)
    ab = replay(
        "A/B: popularity (control) vs trained model",
        train,
        test,
        [
            Arm("popularity", ArmSource.POPULAR, popular),
            Arm("model", ArmSource.MODEL_VERSION, model),
        ],
    )
    aa = replay(
        "A/A: trained model in both arms",
        train,
        test,
        [
            Arm("model-a", ArmSource.MODEL_VERSION, model),
            Arm("model-b", ArmSource.MODEL_VERSION, model),
        ],
    )
    return [ab, aa]


def format_simulation(result: Simulation, holdout_weeks: int) -> str:
    """One experiment's table and its verdict lines."""
    header = (
        f"{'arm':<12} {'members':>8} {'offers':>8} {'converted':>10} {'conv. rate':>10} "
        f"{'revenue/member':>15} {'orders/member':>14}"
    )
    lines = [f"{result.title} ({result.members} members, last {holdout_weeks} weeks)", header]
    lines.append("-" * len(header))
    for arm in result.report.arms:
        rate = f"{arm.conversion_rate:.4f}" if arm.conversion_rate is not None else "-"
        lines.append(
            f"{arm.arm.name:<12} {arm.members:>8} {arm.impressions:>8} {arm.conversions:>10} "
            f"{rate:>10} {arm.revenue_per_member:>15.2f} {arm.orders_per_member:>14.2f}"
        )
    second = result.report.arms[-1]
    names = f"{second.arm.name} - {result.report.arms[0].arm.name}"
    if result.converted is not None:
        c = result.converted
        covers = "covers 0" if c.covers_zero else "excludes 0"
        lines.append(
            f"converted offers per member, {names}: {c.difference:+.4f} "
            f"[95% CI {c.low:+.4f}, {c.high:+.4f}] ({c.method}; {covers}); "
            f"offline prediction {result.predicted:+.4f} "
            f"({'inside' if c.low <= result.predicted <= c.high else 'outside'} the interval)"
        )
    revenue = second.revenue_difference
    if revenue is not None:
        lines.append(
            f"revenue per member, {names}: {revenue.difference:+.2f} "
            f"[95% CI {revenue.low:+.2f}, {revenue.high:+.2f}] ({revenue.method}; "
            f"{'covers 0' if revenue.covers_zero else 'excludes 0'}: members buy what they bought)"
        )
    if result.report.warning:
        lines.append(result.report.warning)
    else:
        lines.append(f"sample ratio: p = {result.report.sample_ratio.p_value:.3f} (no mismatch)")
    return "\n".join(lines)


def results(holdout_weeks: int = 8, households: int | None = None) -> list[Simulation]:
    """A/B and A/A on The Complete Journey (the first ``households`` when given)."""
    from recommend.data import load_completejourney

    interactions, _ = load_completejourney()
    if households is not None:
        keep = sorted(interactions["member_id"].unique())[:households]
        interactions = interactions[interactions["member_id"].isin(keep)]
    return run(interactions, holdout_weeks)


def format_results(found: Sequence[Simulation], holdout_weeks: int) -> str:
    return "\n\n".join(format_simulation(r, holdout_weeks) for r in found)


def table(holdout_weeks: int = 8, households: int | None = None) -> str:
    """The simulation as printed text (``loyalty evaluate`` ends with it)."""
    return format_results(results(holdout_weeks, households), holdout_weeks)


def main(holdout_weeks: int = 8, households: int | None = None) -> int:
    """Print the simulation; 0 when A/B finds the predicted difference and A/A none, else 1."""
    found = results(holdout_weeks, households)
    print(f"Simulated offer experiment on The Complete Journey, {holdout_weeks}-week window")
    print(format_results(found, holdout_weeks))
    return 0 if verdict(found[0], found[1]) else 1


def verdict(ab: Simulation, aa: Simulation) -> bool:
    """A/B's interval excludes 0 and holds the offline prediction; A/A's covers 0."""
    if ab.converted is None or aa.converted is None:
        return False
    found = not ab.converted.covers_zero and ab.converted.low <= ab.predicted <= ab.converted.high
    return found and aa.converted.covers_zero
