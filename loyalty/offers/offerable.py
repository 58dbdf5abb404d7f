"""Which products may be offered: one rule for training, popularity fallbacks and serving.

A product is offerable when it is active, not itself marked not offerable, and its category is
not marked not offerable. ``OFFERABLE`` is that rule as SQL over a product aliased ``p``; every
query that picks products to offer or to train on includes it. The Complete Journey import marks
its non-product departments (``recommend.data.offerable``).
"""

from __future__ import annotations

from loyalty import db
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from models import NonOfferableCategory, Product

OFFERABLE = (
    "p.active AND p.offerable AND NOT EXISTS "
    "(SELECT 1 FROM non_offerable_categories nc WHERE nc.category = p.category)"
)


async def set_product_offerable(sku: str, offerable: bool) -> Product:
    """Mark one product (by sku) offerable or not."""
    product = await Product.get_or_none(sku=sku)
    if product is None:
        raise NotFound(f"no product with sku {sku!r}", field="sku", code=ErrorCode.NOT_FOUND)
    if product.offerable != offerable:
        product.offerable = offerable
        await product.save(update_fields=["offerable"])
    return product


async def set_category_offerable(category: str, offerable: bool) -> list[str]:
    """Mark every product of a category offerable or not; the categories not offerable now."""
    category = category.strip()
    if not category or len(category) > 128:
        raise InvalidInput("category must be 1 to 128 characters", field="category")
    async with db.transaction():
        if offerable:
            await NonOfferableCategory.filter(category=category).delete()
        else:
            await NonOfferableCategory.get_or_create(category=category)
    return await non_offerable_categories()


async def non_offerable_categories() -> list[str]:
    """The categories marked not offerable, by name."""
    return [row.category for row in await NonOfferableCategory.all().order_by("category")]
