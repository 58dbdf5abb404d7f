"""``loyalty serve --demo``: real shopping data, a sample programme around it and a trained
recommender, so every screen (reports, member pages, offers) has something real to show.

Idempotent: the programme is saved only when it is missing (by name), redemptions carry fixed
idempotency keys, and a model is trained only while none is active.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from loyalty import db
from loyalty.errors import LoyaltyError
from loyalty.offers import publish
from loyalty.ops import importer
from loyalty.programme import admin, tiers
from loyalty.rewards import RewardInput, create_reward, redeem
from loyalty.settings import Settings
from models import (
    Action,
    Campaign,
    EarningRule,
    Member,
    ModelVersion,
    Period,
    Reward,
    RewardKind,
    Tier,
    TierBasis,
    TierWindow,
)

log = logging.getLogger(__name__)

TIERS = (("Silver", 1_000, "1.1"), ("Gold", 3_000, "1.25"), ("Platinum", 6_000, "1.5"))
# Members redeeming in the demo: every REDEEMING_EVERY-th member, a reward chosen by its id.
REDEEMING_EVERY = 3


async def _popular(column: str) -> str | None:
    """The product category or sku most order lines are about."""
    conn = db.connection()
    rows = await db.fetch(
        conn,
        f"SELECT p.{column} AS value, COUNT(*) AS n FROM order_lines l "
        f"JOIN products p ON p.id = l.product_id WHERE p.{column} IS NOT NULL "
        f"GROUP BY p.{column} ORDER BY n DESC, p.{column} LIMIT 1",
    )
    return str(rows[0]["value"]) if rows else None


def _rewards(sku: str | None, category: str | None) -> list[RewardInput]:
    """A few rewards of each kind."""

    def r(name: str, kind: str, cost: int, **extra: object) -> RewardInput:
        return RewardInput(name=name, kind=RewardKind(kind), points_cost=cost, **extra)  # type: ignore[arg-type]

    out = [
        r("$5 off your order", "fixed_discount", 500, value=Decimal(5)),
        r(
            "$15 off orders over $60",
            "fixed_discount",
            1_400,
            value=Decimal(15),
            min_order=Decimal(60),
        ),
        r("10% off", "percent_discount", 800, percent=10),
        r("20% off for Gold members", "percent_discount", 1_500, percent=20, min_tier="Gold"),
        r("Free shipping", "free_shipping", 300),
        r("$10 gift card", "gift_card", 1_000, value=Decimal(10)),
        r("Donate $5 to the food bank", "donation", 500, value=Decimal(5), cause="Food bank"),
    ]
    if sku is not None:
        out.append(r("A free favourite", "free_product", 400, sku=sku))
    if category is not None:
        out.append(
            r(f"15% off {category.lower()}", "percent_discount", 600, percent=15, category=category)
        )
    return out


async def sample_programme(now: datetime) -> None:
    """Tiers, action rules, a cap, a campaign, an earning rule, a plan and rewards, once."""
    if not await Tier.exists():
        for name, threshold, multiplier in TIERS:
            await admin.save_tier(
                name=name,
                threshold=threshold,
                basis=TierBasis.POINTS,
                window=TierWindow.LIFETIME,
                multiplier=Decimal(multiplier),
                perks=[f"{name} member prices"],
            )
    for action, points, period in (
        (Action.SIGNUP, 50, Period.LIFETIME),
        (Action.REVIEW, 20, Period.WEEK),
        (Action.NEWSLETTER, 30, Period.LIFETIME),
        (Action.BIRTHDAY, 100, Period.YEAR),
    ):
        await admin.save_action_rule(action=action, points=points, period=period)
    await admin.set_cap(Period.ORDER, 5_000)
    category = await _popular("category")
    if category is not None:
        if not await Campaign.exists(name="Double points weekend"):
            await admin.save_campaign(
                name="Double points weekend",
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=30),
                multiplier=Decimal(2),
            )
        if not await EarningRule.exists(name=f"Bonus on {category.lower()}"):
            await admin.save_earning_rule(
                name=f"Bonus on {category.lower()}", category=category, multiplier=Decimal("1.5")
            )
    await admin.save_plan(name="Plus", fee_cents=4_900, period_days=365, multiplier=Decimal(2))
    if not await Reward.exists():
        for data in _rewards(await _popular("sku"), category):
            await create_reward(data)


async def _place_members(now: datetime) -> None:
    """Put members in the tier their points qualify for (the import posts credits in bulk)."""
    conn = db.connection()
    for member in await Member.all().order_by("id").only("id"):
        await tiers.upgrade(conn, member.id, now)


async def _redemptions(now: datetime) -> int:
    """Some members spend points, so redemption figures and coupons are not empty. The same
    members every run (by id) with fixed keys: a second run replays, it does not spend again."""
    rewards = await Reward.filter(active=True, min_tier_id__isnull=True).order_by("points_cost")
    if not rewards:
        return 0
    done = 0
    for member in (await Member.all().order_by("id").only("id"))[::REDEEMING_EVERY]:
        reward = rewards[member.id % len(rewards)]
        try:
            await redeem(member.id, reward.id, key=f"demo-{member.id}", now=now)
            done += 1
        except LoyaltyError:
            continue  # not enough points, out of stock: the demo skips that member
    return done


async def load(settings: Settings, households: int, *, train: bool = True) -> str:
    """Import ``households``, add the sample programme, train offers; a one-line summary."""
    now = datetime.now(UTC)
    stats = await importer.import_completejourney(households, settings=settings)
    await sample_programme(now)
    await _place_members(now)
    redeemed = await _redemptions(now)
    trained = "a model was already active"
    if train and not await ModelVersion.exists(active=True):
        result = await publish.retrain(settings.model_dir, now=now)
        trained = result.message
    return f"{stats}; sample programme ready; {redeemed} demo redemptions; offers: {trained}"


async def main(settings: Settings, households: int) -> int:
    """Open the database, load the demo, print what was done."""
    await db.init(settings)
    try:
        print(await load(settings, households))
    finally:
        await db.close()
    return 0
