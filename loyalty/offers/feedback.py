"""Offer ids and what the app reports about served offers.

An offer id names the member it was served to, the model version whose rows served it (0: none),
its rank and its item (``P`` product or ``R`` reward, and the row id), signed with the service's
secret: the app cannot make one up, and one member's token cannot report another member's offers.
The same offer served again has the same id, so its impressions, clicks and conversion add up on
one offer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from loyalty import db
from loyalty.errors import ErrorCode, InvalidInput, NotFound
from loyalty.offers.serving import ProductOffer, RewardOffer
from models import OfferEvent, OfferEventKind

PREFIX = "of1"
MAX_EVENTS = 100
# An event may be stamped a little ahead of the server's clock (the phone's clock), not more.
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class OfferRef:
    """What an offer id names."""

    member_id: int
    version_id: int
    rank: int
    item_kind: str  # "P" product, "R" reward
    item_id: int


def _signature(payload: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode(ref: OfferRef, secret: str) -> str:
    """The offer id of ``ref``: stable for the same member, version, rank and item."""
    payload = f"{ref.member_id}.{ref.version_id}.{ref.rank}.{ref.item_kind}{ref.item_id}"
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{PREFIX}.{body}.{_signature(payload, secret)}"


def product_offer_id(member_id: int, offer: ProductOffer, secret: str) -> str:
    """The id of a product offer served to this member."""
    ref = OfferRef(member_id, offer.version_id, offer.rank, "P", offer.product.id)
    return encode(ref, secret)


def reward_offer_id(member_id: int, offer: RewardOffer, secret: str) -> str:
    """The id of a reward offer served to this member (rewards come from no model version)."""
    return encode(OfferRef(member_id, 0, offer.rank, "R", offer.reward.id), secret)


def decode(offer_id: str, secret: str, field: str = "offerId") -> OfferRef:
    """The parts of a genuine offer id; INVALID_ID for anything this service did not sign."""
    invalid = InvalidInput("not an offer id", field=field, code=ErrorCode.INVALID_ID)
    parts = offer_id.split(".")
    if len(parts) != 3 or parts[0] != PREFIX or len(offer_id) > 128:
        raise invalid
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid from exc
    if not hmac.compare_digest(_signature(payload, secret), parts[2]):
        raise invalid
    member, version, rank, item = payload.split(".")
    return OfferRef(int(member), int(version), int(rank), item[0], int(item[1:]))


@dataclass(frozen=True)
class EventInput:
    offer_id: str
    kind: OfferEventKind
    at: datetime


@dataclass(frozen=True)
class Recorded:
    recorded: int
    duplicates: int


async def record_events(
    member_id: int, events: Sequence[EventInput], secret: str, now: datetime | None = None
) -> Recorded:
    """Store a batch of one member's offer events, all or none; a retried event counts once.

    An id of another member's offer is NOT_FOUND (as if it did not exist), a forged one
    INVALID_ID, a moment in the future INVALID_DATE; then nothing of the batch is stored.
    """
    now = now or datetime.now(UTC)
    if not events:
        raise InvalidInput("give at least one event", field="events")
    if len(events) > MAX_EVENTS:
        raise InvalidInput(f"at most {MAX_EVENTS} events at once", field="events")
    rows: dict[tuple[str, OfferEventKind, datetime], OfferEvent] = {}
    for i, event in enumerate(events):
        ref = decode(event.offer_id, secret, field=f"events.{i}.offerId")
        if ref.member_id != member_id:
            raise NotFound("offer not found", field=f"events.{i}.offerId")
        at = _moment(event.at)
        if at > now + CLOCK_SKEW:
            raise InvalidInput(
                "the event is in the future", field=f"events.{i}.at", code=ErrorCode.INVALID_DATE
            )
        rows[(event.offer_id, event.kind, at)] = OfferEvent(
            offer_id=event.offer_id,
            member_id=member_id,
            kind=event.kind,
            at=at,
            version_id=ref.version_id,
            rank=ref.rank,
            item_kind=ref.item_kind,
            item_id=ref.item_id,
        )
    async with db.transaction():
        stored = await OfferEvent.filter(offer_id__in={key[0] for key in rows}).values_list(
            "offer_id", "kind", "at"
        )
        seen = {(offer, OfferEventKind(kind), _moment(at)) for offer, kind, at in stored}
        new = [row for key, row in rows.items() if key not in seen]
        if new:
            await OfferEvent.bulk_create(new, ignore_conflicts=True)
    return Recorded(recorded=len(new), duplicates=len(events) - len(new))


def _moment(at: datetime) -> datetime:
    """UTC, to the second: a retried event matches the stored one on either backend."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).replace(microsecond=0)
