"""The product catalogue, as far as the programme knows it."""

from tortoise import fields
from tortoise.models import Model


class Product(Model):
    """A product sold by the shop, keyed by its sku."""

    id = fields.IntField(primary_key=True)
    sku = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=255)
    category = fields.CharField(max_length=128, null=True, db_index=True)
    department = fields.CharField(max_length=128, null=True)
    vendor = fields.CharField(max_length=255, null=True)  # the brand or maker, as the shop names it
    price_cents = fields.BigIntField(null=True)
    active = fields.BooleanField(default=True)
    # False: never shown as an offer (fuel, coupons, store services), still earns points.
    offerable = fields.BooleanField(default=True, db_default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "products"


class NonOfferableCategory(Model):
    """A category whose products are never shown as offers."""

    id = fields.IntField(primary_key=True)
    category = fields.CharField(max_length=128, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "non_offerable_categories"
