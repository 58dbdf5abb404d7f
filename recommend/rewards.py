"""Reward offers ranked from what a member buys and is offered.

One rule, used by serving (catalogue rewards) and by the evaluation on coupon redemptions
(a coupon is a reward on its products):

- a reward *on products* (a free product, a category, a coupon's products) scores by the
  stronger of two signals: the best rank among the member's first ``REWARD_CONTEXT`` product
  offers of a product it applies to (``1 - rank / (2 * REWARD_CONTEXT)``), and the member's
  share of their own order lines on those products;
- any other reward has a fixed prior by kind;
- a reward the balance covers keeps that affinity (``AFFORDABLE_NOW``); one it does not is
  scaled by half the share of its cost the balance covers.

Why both signals: on The Complete Journey's coupons the share of own lines alone ranks
redeemed coupons far better than the offers alone (the first 20 offers touch few of a
household's coupons), while the offers still speak for products a member has not bought yet
(README, "Personalised offers").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Rewards are ranked against this many of the member's product offers.
REWARD_CONTEXT = 20


class RewardReason(StrEnum):
    """Why a reward is offered."""

    AFFORDABLE_NOW = "AFFORDABLE_NOW"
    BOUGHT_OFTEN = "BOUGHT_OFTEN"
    POPULAR = "POPULAR"


@dataclass(frozen=True)
class RewardSignals:
    """What the rule knows about one reward for one member.

    Attributes
    ----------
    on_products : bool
        The reward applies to specific products (free product, category, coupon).
    bought_share : float
        The member's share of their order lines on those products, 0 to 1.
    offer_rank : int or None
        Best rank (0 = first) among the member's first ``REWARD_CONTEXT`` product offers of a
        product the reward applies to; None when none is offered.
    prior : float
        Affinity of a reward not tied to products (by its kind).
    covered : float
        Share of the reward's cost the member's balance covers (1.0 when it is free).
    """

    on_products: bool
    bought_share: float = 0.0
    offer_rank: int | None = None
    prior: float = 0.0
    covered: float = 1.0


def reward_score(signals: RewardSignals) -> tuple[float, RewardReason]:
    """The reward's score (higher first; ties are the caller's) and the reason shown."""
    if signals.on_products:
        offered = 0.0
        if signals.offer_rank is not None and signals.offer_rank < REWARD_CONTEXT:
            offered = 1.0 - signals.offer_rank / (2 * REWARD_CONTEXT)
        affinity = max(offered, signals.bought_share)
        liked = affinity > 0
    else:
        affinity, liked = signals.prior, False
    covered = min(1.0, signals.covered)
    score = affinity * (1.0 if covered >= 1.0 else 0.5 * covered)
    if covered >= 1.0:
        reason = RewardReason.AFFORDABLE_NOW
    else:
        reason = RewardReason.BOUGHT_OFTEN if liked else RewardReason.POPULAR
    return round(score, 6), reason
