"""Reward offers evaluated on real coupon redemptions, against coupon popularity and random.

Protocol
--------
- The window is the product evaluation's test window ``[cutoff, end)``; the model is the one
  fitted on the lines before ``cutoff``.
- A member *received* every coupon of each campaign sent to them that runs at some point in
  the window; it *redeemed* those it redeemed in the window.
- Members evaluated: those with purchase history before ``cutoff`` who redeemed at least one
  received coupon in the window and left at least one unredeemed.
- Each ranker orders a member's received coupons. recall@k = redeemed among the first k /
  redeemed; AUC = the chance that a redeemed coupon is ranked above an unredeemed one. Equal
  scores count as a random order: recall@k takes the expected hits of a tie cut at k, AUC
  counts a tie as half. Both are averaged over members.

Rankers
-------
- *random*: every coupon ties (recall@k = k / received, AUC 0.5 exactly);
- *coupon popularity*: how often the coupon was redeemed before ``cutoff``, by anyone;
- *reward offers (ours)*: :func:`recommend.rewards.reward_score` with the coupon as a reward on
  its products: the member's first ``REWARD_CONTEXT`` offers from the model and the member's
  share of their lines before ``cutoff`` on the coupon's products (coupons cost no points).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from recommend.base import Recommender
from recommend.data import CouponHistory
from recommend.rewards import REWARD_CONTEXT, RewardSignals, reward_score

KS = (5, 10)
OURS = "reward offers (ours)"
POPULARITY = "coupon popularity"

#: Scores of the ``received`` pairs (member_id, coupon_id), one per row.
CouponRanker = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class RewardMetrics:
    """Mean recall@k (per ``KS``) and AUC over ``members``."""

    model: str
    recall: tuple[float, ...]
    auc: float
    members: int
    coupons: float


def received_in_window(
    coupons: CouponHistory, cutoff: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """``member_id, coupon_id, redeemed``: coupons of campaigns running in ``[cutoff, end)``."""
    received = coupons.received
    running = received[(received["ends"] >= cutoff) & (received["starts"] < end)]
    pairs = running[["member_id", "coupon_id"]].drop_duplicates()
    redemptions = coupons.redemptions
    in_window = redemptions[(redemptions["date"] >= cutoff) & (redemptions["date"] < end)]
    redeemed = in_window[["member_id", "coupon_id"]].drop_duplicates().assign(redeemed=True)
    pairs = pairs.merge(redeemed, on=["member_id", "coupon_id"], how="left")
    pairs["redeemed"] = pairs["redeemed"].astype("boolean").fillna(False).astype(bool)
    return pairs.sort_values(["member_id", "coupon_id"]).reset_index(drop=True)


def evaluated_pairs(received: pd.DataFrame, members: set[object]) -> pd.DataFrame:
    """The pairs of members in ``members`` with both a redeemed and an unredeemed coupon."""
    known = received[received["member_id"].isin(members)]
    share = known.groupby("member_id")["redeemed"].mean()
    keep = share[(share > 0) & (share < 1)].index
    return known[known["member_id"].isin(keep)].reset_index(drop=True)


def popularity_ranker(coupons: CouponHistory, cutoff: pd.Timestamp) -> CouponRanker:
    """Scores by redemptions before ``cutoff`` (everyone's)."""
    before = coupons.redemptions[coupons.redemptions["date"] < cutoff]
    counts = before.groupby("coupon_id").size()

    def score(pairs: pd.DataFrame) -> np.ndarray:
        return pairs["coupon_id"].map(counts).fillna(0).to_numpy(dtype=np.float64)

    return score


def reward_offer_ranker(
    model: Recommender, train: pd.DataFrame, coupons: CouponHistory
) -> CouponRanker:
    """Scores by :func:`recommend.rewards.reward_score`, each coupon a reward on its products."""
    products = coupons.coupon_products

    def score(pairs: pd.DataFrame) -> np.ndarray:
        members = pairs["member_id"].unique().tolist()
        offers = model.recommend_with_reasons(members, n=REWARD_CONTEXT)
        offered = pd.DataFrame(
            [
                (member, product, rank)
                for member, ranked in offers.items()
                for rank, (product, _, _) in enumerate(ranked)
            ],
            columns=["member_id", "product_id", "rank"],
        )
        best_rank = (
            offered.merge(products, on="product_id")
            .groupby(["member_id", "coupon_id"])["rank"]
            .min()
        )
        own = train[train["member_id"].isin(members)]
        lines = own.groupby(["member_id", "product_id"]).size().rename("lines").reset_index()
        total = lines.groupby("member_id")["lines"].sum()
        on_coupon = (
            lines.merge(products, on="product_id")
            .groupby(["member_id", "coupon_id"])["lines"]
            .sum()
        )
        keys = pd.MultiIndex.from_frame(pairs[["member_id", "coupon_id"]])
        shares = (
            on_coupon.reindex(keys).fillna(0).to_numpy()
            / pairs["member_id"].map(total).fillna(1).to_numpy()
        )
        ranks = best_rank.reindex(keys).to_numpy()
        return np.array(
            [
                reward_score(
                    RewardSignals(True, float(share), None if np.isnan(rank) else int(rank))
                )[0]
                for share, rank in zip(shares, ranks, strict=True)
            ]
        )

    return score


def expected_recall(scores: np.ndarray, redeemed: np.ndarray, k: int) -> float:
    """Expected recall@k when equal scores are in random order."""
    highest = rankdata(scores, method="max")
    lowest = rankdata(scores, method="min")
    above = len(scores) - highest
    tied = highest - lowest + 1
    # chance that each coupon lands among the first k
    chance = np.clip((k - above) / tied, 0.0, 1.0)
    return float(chance[redeemed].sum() / redeemed.sum())


def auc(scores: np.ndarray, redeemed: np.ndarray) -> float:
    """Mann-Whitney AUC of ``scores`` for ``redeemed`` (ties count half)."""
    ranks = rankdata(scores)
    positives = int(redeemed.sum())
    negatives = len(redeemed) - positives
    return float(
        (ranks[redeemed].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def score_ranker(name: str, pairs: pd.DataFrame, ranker: CouponRanker) -> RewardMetrics:
    """Metrics of one ranker over the evaluated ``pairs``."""
    if pairs.empty:
        return RewardMetrics(name, tuple(0.0 for _ in KS), 0.0, 0, 0.0)
    scores = ranker(pairs)
    recalls: list[list[float]] = [[] for _ in KS]
    aucs, sizes = [], []
    starts = np.flatnonzero(
        np.r_[True, pairs["member_id"].to_numpy()[1:] != pairs["member_id"].to_numpy()[:-1]]
    )
    redeemed_all = pairs["redeemed"].to_numpy()
    for start, stop in zip(starts, np.r_[starts[1:], len(pairs)], strict=True):
        member_scores, redeemed = scores[start:stop], redeemed_all[start:stop]
        for i, k in enumerate(KS):
            recalls[i].append(expected_recall(member_scores, redeemed, k))
        aucs.append(auc(member_scores, redeemed))
        sizes.append(stop - start)
    return RewardMetrics(
        name,
        tuple(float(np.mean(r)) for r in recalls),
        float(np.mean(aucs)),
        len(aucs),
        float(np.mean(sizes)),
    )


def evaluate_rewards(
    model: Recommender,
    train: pd.DataFrame,
    coupons: CouponHistory,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
) -> list[RewardMetrics]:
    """Random, coupon popularity and our reward ranking on the window's redemptions."""
    received = received_in_window(coupons, cutoff, end)
    pairs = evaluated_pairs(received, set(train["member_id"].unique().tolist()))
    rankers: dict[str, CouponRanker] = {
        "random": lambda frame: np.zeros(len(frame)),
        POPULARITY: popularity_ranker(coupons, cutoff),
        OURS: reward_offer_ranker(model, train, coupons),
    }
    return [score_ranker(name, pairs, ranker) for name, ranker in rankers.items()]


def format_reward_table(rows: Sequence[RewardMetrics]) -> str:
    """One table of all rankers, then ours against coupon popularity."""
    recall_heads = " ".join(f"{f'R@{k}':>7}" for k in KS)
    header = f"{'ranker':<22} {recall_heads} {'AUC':>7}"
    lines = [header, "-" * len(header)]
    for row in rows:
        recalls = " ".join(f"{r:>7.4f}" for r in row.recall)
        lines.append(f"{row.model:<22} {recalls} {row.auc:>7.4f}")
    if not rows or rows[0].members == 0:
        lines.append("no member redeemed a received coupon in the window")
        return "\n".join(lines)
    lines.append(
        f"members evaluated: {rows[0].members}, coupons received per member: {rows[0].coupons:.1f}"
    )
    by_name = {row.model: row for row in rows}
    if {OURS, POPULARITY} <= set(by_name):
        ours, popular = by_name[OURS], by_name[POPULARITY]
        ratios = ", ".join(
            f"R@{k} {_ratio(o, p)}" for k, o, p in zip(KS, ours.recall, popular.recall, strict=True)
        )
        lines.append(
            f"ours / coupon popularity: {ratios}, AUC {ours.auc:.4f} vs {popular.auc:.4f} "
            f"({ours.auc - popular.auc:+.4f})"
        )
    return "\n".join(lines)


def _ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}x" if baseline else "inf"
