"""Conversions attributed to offers without the app's help.

An offer converts when, within the attribution window after its first impression, the member
buys the offered product (an order line) or redeems the offered reward (a coupon). Each offer
converts at most once, on the first such purchase; its revenue is that line's total (0 for a
reward). The rule is a pure function, so the live report and the simulation share it.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Impression:
    offer_id: str
    member_id: int
    item_kind: str  # "P" product, "R" reward
    item_id: int
    at: datetime


@dataclass(frozen=True)
class Purchase:
    member_id: int
    item_kind: str
    item_id: int
    at: datetime
    cents: int


@dataclass(frozen=True)
class Conversion:
    offer_id: str
    member_id: int
    at: datetime
    cents: int


def first_impressions(impressions: Iterable[Impression]) -> dict[str, Impression]:
    """Each offer's earliest impression."""
    first: dict[str, Impression] = {}
    for impression in impressions:
        seen = first.get(impression.offer_id)
        if seen is None or impression.at < seen.at:
            first[impression.offer_id] = impression
    return first


def attribute(
    impressions: Iterable[Impression], purchases: Iterable[Purchase], window: timedelta
) -> dict[str, Conversion]:
    """The conversion of each offer that has one: once per offer, the first purchase of its
    item by its member in ``[first impression, first impression + window]``."""
    bought: dict[tuple[int, str, int], list[Purchase]] = defaultdict(list)
    for purchase in purchases:
        bought[(purchase.member_id, purchase.item_kind, purchase.item_id)].append(purchase)
    times: dict[tuple[int, str, int], list[datetime]] = {}
    for key, found in bought.items():
        found.sort(key=lambda p: p.at)
        times[key] = [p.at for p in found]
    conversions: dict[str, Conversion] = {}
    for offer_id, shown in first_impressions(impressions).items():
        key = (shown.member_id, shown.item_kind, shown.item_id)
        if key not in times:
            continue
        index = bisect.bisect_left(times[key], shown.at)
        if index < len(times[key]) and times[key][index] <= shown.at + window:
            hit = bought[key][index]
            conversions[offer_id] = Conversion(offer_id, shown.member_id, hit.at, hit.cents)
    return conversions
