"""Programme rules: earning rules, campaigns, caps, action rules, tiers, paid plans."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Period(StrEnum):
    ORDER = "order"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    LIFETIME = "lifetime"


class TierBasis(StrEnum):
    SPEND = "spend"
    POINTS = "points"


class TierWindow(StrEnum):
    LIFETIME = "lifetime"
    CALENDAR_YEAR = "calendar_year"
    ROLLING_12_MONTHS = "rolling_12_months"


class Action(StrEnum):
    SIGNUP = "signup"
    BIRTHDAY = "birthday"
    REVIEW = "review"
    SOCIAL_FOLLOW = "social_follow"
    SOCIAL_SHARE = "social_share"
    NEWSLETTER = "newsletter"


class EarningRule(Model):
    """A bonus on matching lines: a multiplier and/or points per item, by category or sku."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255)
    category = fields.CharField(max_length=128, null=True)
    sku = fields.CharField(max_length=64, null=True)
    multiplier = fields.DecimalField(max_digits=8, decimal_places=3, default=1)
    points_per_item = fields.IntField(default=0)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "earning_rules"


class Campaign(Model):
    """A time-boxed bonus, optionally limited to skus, categories or tiers (JSON lists)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=255)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    multiplier = fields.DecimalField(max_digits=8, decimal_places=3, default=1)
    fixed_points = fields.IntField(default=0)
    skus: fields.JSONField[list[str]] = fields.JSONField(default=list)
    categories: fields.JSONField[list[str]] = fields.JSONField(default=list)
    tiers: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # This percentage of eligible members (by a stable hash) does not get the bonus.
    holdout_percent = fields.IntField(default=0, db_default=0)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaigns"


class EarningCap(Model):
    """At most ``max_points`` from orders per order or per member and period."""

    id = fields.IntField(primary_key=True)
    period = fields.CharEnumField(Period, max_length=10, unique=True)
    max_points = fields.IntField()

    class Meta:
        table = "earning_caps"


class ActionRule(Model):
    """Points for an action, at most ``limit_count`` times per ``period``."""

    id = fields.IntField(primary_key=True)
    action = fields.CharEnumField(Action, max_length=16, unique=True)
    points = fields.IntField()
    limit_count = fields.IntField(default=1)
    period = fields.CharEnumField(Period, max_length=10, default=Period.LIFETIME)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "action_rules"


class Tier(Model):
    """A status level. All active tiers share one basis and window, as the rules check."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    threshold = fields.BigIntField()
    basis = fields.CharEnumField(TierBasis, max_length=8, default=TierBasis.POINTS)
    window = fields.CharEnumField(TierWindow, max_length=20, default=TierWindow.LIFETIME)
    multiplier = fields.DecimalField(max_digits=8, decimal_places=3, default=1)
    perks: fields.JSONField[list[str]] = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "tiers"


class MemberTier(Model):
    """A member's current tier and when its qualification period ends."""

    member_id = fields.IntField(primary_key=True, generated=False)
    tier: fields.ForeignKeyNullableRelation[Tier] = fields.ForeignKeyField(
        "models.Tier", related_name="holders", null=True, on_delete=fields.SET_NULL
    )
    tier_id: int | None
    since = fields.DatetimeField()
    period_ends_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "member_tiers"


class Plan(Model):
    """A paid membership plan."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128, unique=True)
    fee_cents = fields.BigIntField()
    period_days = fields.IntField()
    multiplier = fields.DecimalField(max_digits=8, decimal_places=3, default=1)
    perks: fields.JSONField[list[str]] = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "plans"


class Subscription(Model):
    """A member's paid membership for a stretch of time."""

    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(db_index=True)
    plan: fields.ForeignKeyRelation[Plan] = fields.ForeignKeyField(
        "models.Plan", related_name="subscriptions", on_delete=fields.RESTRICT
    )
    plan_id: int
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "subscriptions"


class ProgramVersion(Model):
    """One row whose token changes with every change of the programme configuration.

    Processes keep a copy of the rules, campaigns, caps and tiers and reuse it while the token
    is the one they loaded it under.
    """

    id = fields.IntField(primary_key=True)
    token = fields.BigIntField()

    class Meta:
        table = "program_versions"
