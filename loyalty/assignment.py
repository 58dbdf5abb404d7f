"""Stable random assignment of members: experiment arms and campaign holdouts.

SHA-256 of a key (the experiment's or the campaign's) and the member's id, read as a number in
[0, 1): the same member always gets the same number for the same key (sticky), numbers spread
uniformly over members, and numbers for two keys are independent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def unit_hash(key: str, member_id: int) -> float:
    """A number in [0, 1) fixed by ``key`` and the member, uniform over members."""
    digest = hashlib.sha256(f"{key}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(weights: Sequence[int], point: float) -> int:
    """The index of the weight whose share of the total ``point`` falls in."""
    total = sum(weights)
    edge = 0
    for index, weight in enumerate(weights):
        edge += weight
        if point * total < edge:
            return index
    return len(weights) - 1


def held_out(campaign_id: int, member_id: int | None, percent: int) -> bool:
    """Whether a campaign holding out ``percent`` of members holds this one out (an anonymous
    cart never is)."""
    if member_id is None or percent <= 0:
        return False
    return unit_hash(f"campaign-{campaign_id}", member_id) * 100 < percent
