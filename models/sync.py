"""How far a pull from a shop platform got, so that an interrupted one resumes there."""

from tortoise import fields
from tortoise.models import Model


class SyncCursor(Model):
    """The last page of one resource (customers, orders, refunds) a sync of a platform since
    a date has applied in full; removed when that sync completes."""

    id = fields.BigIntField(primary_key=True)
    platform = fields.CharField(max_length=32)
    resource = fields.CharField(max_length=32)
    since = fields.CharField(max_length=40)
    page = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sync_cursors"
        unique_together = (("platform", "resource", "since"),)
