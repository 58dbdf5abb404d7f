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
    # Where the page after ``page`` starts: a page number, or the URL the platform's Link
    # header named (Shopify's cursor paging); None once the last page is applied.
    next = fields.CharField(max_length=2048, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sync_cursors"
        unique_together = (("platform", "resource", "since"),)
