"""Daily rollups of the programme report, kept by loyalty.reports.rollups."""

from tortoise import fields
from tortoise.models import Model


class ReportRollup(Model):
    """One figure of one day: ``value`` summed over the rows it stands for.

    ``day`` counts days since 1970-01-01 (UTC); ``other`` is a second day where the figure has
    one (an order's previous order day, a referee's conversion day...); ``ref`` and ``label``
    name what the figure is split by (a reward, a cause); unused dimensions hold 0 and ''.
    """

    id = fields.BigIntField(primary_key=True)
    metric = fields.CharField(max_length=16)
    day = fields.IntField()
    other = fields.IntField(default=0)
    ref = fields.BigIntField(default=0)
    label = fields.CharField(max_length=255, default="")
    value = fields.BigIntField()

    class Meta:
        table = "report_rollups"
        unique_together = (("metric", "day", "other", "ref", "label"),)


class RollupMark(Model):
    """How far a source table is rolled up: its rows with ``id <= last_id`` are in the rollups."""

    id = fields.IntField(primary_key=True)
    source = fields.CharField(max_length=64, unique=True)
    last_id = fields.BigIntField(default=0)
    rolled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "report_rollup_marks"


class MemberOrderTotals(Model):
    """A member's orders in the rollups: how many, spend (subtotal less discounts and
    refunds) and the latest one; the segments' RFM scores read these instead of the orders."""

    member_id = fields.IntField(primary_key=True, generated=False)
    orders = fields.IntField()
    spend_cents = fields.BigIntField()
    last_order_at = fields.DatetimeField()

    class Meta:
        table = "report_member_totals"
