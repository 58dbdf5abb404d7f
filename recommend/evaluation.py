"""Offline evaluation on a temporal holdout, against the baselines.

Protocol
--------
- Split: the test window is the last ``holdout_weeks * 7`` calendar days of the data (counted
  back from the day after the last purchase); every model is fitted on the lines before it only.
- Members evaluated: those with training history and at least one purchase in the window.
- *All purchases*: the relevant set is every distinct product the member bought in the window;
  the model is asked ``recommend(n=k)`` (repeat purchases allowed).
- *New to the member*: the relevant set is the window's products the member never bought in
  training (members with none are skipped); the model is asked ``exclude_purchased=True``.
- recall@k = hits / |relevant|, precision@k = hits / k, NDCG@k with binary gains
  (ideal DCG over min(k, |relevant|) hits); each averaged over members.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import pandas as pd

from recommend.baselines import GlobalPopularity, PersonalPopularity, PlainALS
from recommend.blend import fit
from recommend.matrix import timestamps

if TYPE_CHECKING:
    from recommend.base import Recommender

OURS = "blended (ours)"
RECALL_ALL_TARGET = 1.12
RECALL_NEW_TARGET = 1.5


class Ranks(Protocol):
    """What evaluation asks of a fitted model (a :class:`Recommender` or the Spark engine's)."""

    def recommend(
        self, member_ids: Any, n: int = 10, exclude_purchased: bool = False
    ) -> dict[Any, list[Any]]:
        """``{member_id: [product_id, ...]}``, best first."""
        ...


Fitter = Callable[[pd.DataFrame], Ranks]
DEFAULT_MODELS: dict[str, Fitter] = {
    "global popularity": GlobalPopularity.fit,
    "personal popularity": PersonalPopularity.fit,
    "plain ALS": PlainALS.fit,
    OURS: fit,
}


@dataclass(frozen=True)
class Metrics:
    """Mean ranking metrics over ``members``."""

    recall: float
    precision: float
    ndcg: float
    members: int


@dataclass(frozen=True)
class EvaluationRow:
    """One model's results on all purchases and on products new to the member."""

    model: str
    all: Metrics
    new: Metrics
    seconds: float


def holdout_cutoff(last: np.datetime64, holdout_weeks: int) -> np.datetime64:
    """Start of the test window: ``holdout_weeks`` weeks of days before the day after ``last``."""
    end = last.astype("datetime64[D]") + np.timedelta64(1, "D")
    return end - np.timedelta64(7 * holdout_weeks, "D")


def holdout_window(
    interactions: pd.DataFrame, holdout_weeks: int
) -> tuple[np.datetime64, np.datetime64]:
    """``(cutoff, end)``: the last ``holdout_weeks`` weeks of days, ``end`` exclusive."""
    last = timestamps(interactions).max()
    end = last.astype("datetime64[D]") + np.timedelta64(1, "D")
    return holdout_cutoff(last, holdout_weeks), end


def temporal_split(
    interactions: pd.DataFrame, holdout_weeks: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)``: test is the last ``holdout_weeks`` weeks of days, train before."""
    cutoff, _ = holdout_window(interactions, holdout_weeks)
    in_test = timestamps(interactions) >= cutoff
    return interactions[~in_test], interactions[in_test]


def relevant_products(
    train: pd.DataFrame, test: pd.DataFrame
) -> tuple[dict[Any, set[Any]], dict[Any, set[Any]]]:
    """``(all, new)``: per evaluated member, its test products, and those new to it."""
    known = set(train["member_id"].unique().tolist())
    window = test[test["member_id"].isin(known)]
    bought: dict[Any, set[Any]] = {}
    for member, product in zip(
        window["member_id"].tolist(), window["product_id"].tolist(), strict=True
    ):
        bought.setdefault(member, set()).add(product)
    history = train[train["member_id"].isin(bought)].groupby("member_id")["product_id"].agg(set)
    new = {m: products - history[m] for m, products in bought.items() if products - history[m]}
    return bought, new


def ranking_metrics(
    recommended: Mapping[Any, Sequence[Any]], relevant: Mapping[Any, set[Any]], k: int
) -> Metrics:
    """Mean recall@k, precision@k and NDCG@k over the members of ``relevant``."""
    if not relevant:
        return Metrics(0.0, 0.0, 0.0, 0)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recall = precision = ndcg = 0.0
    for member, products in relevant.items():
        hits = np.array([p in products for p in list(recommended.get(member, []))[:k]], dtype=float)
        recall += hits.sum() / len(products)
        precision += hits.sum() / k
        ideal = discounts[: min(k, len(products))].sum()
        ndcg += float(hits @ discounts[: len(hits)]) / ideal
    n = len(relevant)
    # plain floats: the metrics are stored as JSON (numpy scalars are not serialisable)
    return Metrics(float(recall / n), float(precision / n), float(ndcg / n), n)


def evaluate_model(
    model: Ranks,
    relevant_all: Mapping[Any, set[Any]],
    relevant_new: Mapping[Any, set[Any]],
    k: int,
) -> tuple[Metrics, Metrics]:
    """Metrics of a fitted model on all purchases and on new products."""
    on_all = ranking_metrics(model.recommend(relevant_all, n=k), relevant_all, k)
    on_new = ranking_metrics(
        model.recommend(relevant_new, n=k, exclude_purchased=True), relevant_new, k
    )
    return on_all, on_new


def evaluate(
    interactions: pd.DataFrame,
    holdout_weeks: int = 8,
    k: int = 10,
    models: Mapping[str, Fitter] | None = None,
    fitted: dict[str, Ranks] | None = None,
) -> list[EvaluationRow]:
    """Fit every model on the weeks before the holdout and score it on the holdout; the
    fitted models are put in ``fitted`` when given."""
    train, test = temporal_split(interactions, holdout_weeks)
    relevant_all, relevant_new = relevant_products(train, test)
    rows = []
    for name, fitter in (models or DEFAULT_MODELS).items():
        started = time.perf_counter()
        model = fitter(train)
        if fitted is not None:
            fitted[name] = model
        on_all, on_new = evaluate_model(model, relevant_all, relevant_new, k)
        rows.append(EvaluationRow(name, on_all, on_new, time.perf_counter() - started))
    return rows


def ratios(rows: Sequence[EvaluationRow]) -> tuple[float, float]:
    """(our recall(all) / personal popularity's, our recall(new) / global popularity's)."""
    by_name = {row.model: row for row in rows}
    ours = by_name[OURS]
    personal = by_name["personal popularity"].all.recall
    popular = by_name["global popularity"].new.recall
    return (
        ours.all.recall / personal if personal else float("inf"),
        ours.new.recall / popular if popular else float("inf"),
    )


def format_table(rows: Sequence[EvaluationRow], k: int = 10) -> str:
    """One table of all rows, then the two target ratios."""
    header = (
        f"{'model':<22} {f'R@{k} all':>9} {f'P@{k} all':>9} {f'NDCG@{k} all':>12} "
        f"{f'R@{k} new':>9} {f'P@{k} new':>9} {f'NDCG@{k} new':>12} {'fit+eval s':>10}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.model:<22} {row.all.recall:>9.4f} {row.all.precision:>9.4f} "
            f"{row.all.ndcg:>12.4f} {row.new.recall:>9.4f} {row.new.precision:>9.4f} "
            f"{row.new.ndcg:>12.4f} {row.seconds:>10.1f}"
        )
    members_all, members_new = rows[0].all.members, rows[0].new.members
    lines.append(f"members evaluated: {members_all} (all purchases), {members_new} (new products)")
    if {OURS, "personal popularity", "global popularity"} <= {row.model for row in rows}:
        all_ratio, new_ratio = ratios(rows)
        lines.append(
            f"ours / personal popularity, recall@{k} all: {all_ratio:.3f} "
            f"(target >= {RECALL_ALL_TARGET}: {_verdict(all_ratio, RECALL_ALL_TARGET)})"
        )
        lines.append(
            f"ours / global popularity,   recall@{k} new: {new_ratio:.3f} "
            f"(target >= {RECALL_NEW_TARGET}: {_verdict(new_ratio, RECALL_NEW_TARGET)})"
        )
    return "\n".join(lines)


def _verdict(ratio: float, target: float) -> str:
    return "met" if ratio >= target else "NOT met"


def main(holdout_weeks: int = 8) -> int:
    """Evaluate on The Complete Journey, print the product and reward-offer tables; 0 if both
    product targets are met, else 1."""
    from recommend.data import load_completejourney, load_completejourney_coupons
    from recommend.reward_evaluation import evaluate_rewards, format_reward_table

    interactions, _ = load_completejourney()
    fitted: dict[str, Ranks] = {}
    rows = evaluate(interactions, holdout_weeks=holdout_weeks, fitted=fitted)
    print(f"The Complete Journey, {holdout_weeks}-week temporal holdout")
    print(format_table(rows))
    cutoff, end = holdout_window(interactions, holdout_weeks)
    train, _ = temporal_split(interactions, holdout_weeks)
    reward_rows = evaluate_rewards(
        cast("Recommender", fitted[OURS]),
        train,
        load_completejourney_coupons(),
        pd.Timestamp(cutoff),
        pd.Timestamp(end),
    )
    print(f"\nReward offers on coupon redemptions in the same {holdout_weeks} weeks")
    print(format_reward_table(reward_rows))
    all_ratio, new_ratio = ratios(rows)
    return 0 if all_ratio >= RECALL_ALL_TARGET and new_ratio >= RECALL_NEW_TARGET else 1
