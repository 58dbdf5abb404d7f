"""Every ledger idempotency key, built in one place.

A key names the one effect a request may have: the same order, refund, action, redemption or
expiry posted twice finds its key taken and changes nothing. Refunds find an order's earn entry
by its key, so a key's spelling must never drift between writers.
"""

from __future__ import annotations

import uuid

ORDER = "order:"
REFERRAL_REWARD = "referral:"


def order(external_id: str) -> str:
    """The earn entry of a shop order."""
    return f"{ORDER}{external_id}"


def order_source(external_id: str) -> str:
    """The source of an order's earn entry (what the history shows)."""
    return f"order:{external_id}"


def refund(refund_id: str) -> str:
    """The reversal of one refund."""
    return f"refund:{refund_id}"


def action(member_id: int, action: str, reference: str) -> str:
    """An action (review, follow, birthday, ...) with its reference."""
    return f"action:{member_id}:{action}:{reference}"


def referral_welcome(member_id: int) -> str:
    """The referee's welcome bonus."""
    return f"referral-welcome:{member_id}"


def referral_reward(referee_id: int) -> str:
    """The referrer's reward for this referee's first qualifying order."""
    return f"{REFERRAL_REWARD}{referee_id}"


def referral_clawback(referee_id: int) -> str:
    """Taking that reward back."""
    return f"referral-clawback:{referee_id}"


def lot_expiry(lot_id: int) -> str:
    """What is left of one lot, expired."""
    return f"expire:lot:{lot_id}"


def adjustment(request_key: str | None) -> str:
    """An admin adjustment (a fresh key when the caller gives none)."""
    return f"adjust:{request_key or uuid.uuid4()}"


def redemption(member_id: int, request_key: str | None) -> str:
    """A reward redemption (a fresh key when the caller gives none)."""
    return f"redeem:{member_id}:{request_key or uuid.uuid4()}"


def coupon_cancel(coupon_id: int) -> str:
    """The points a cancelled coupon gives back (its entries add ``:0``, ``:1``, ...)."""
    return f"coupon-cancel:{coupon_id}"


def erasure(member_id: int) -> str:
    """The entry that closes an erased member's balance."""
    return f"erase:{member_id}"
