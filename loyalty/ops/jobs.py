"""The batch jobs runner (``loyalty jobs run``). Idempotent: a second run for the same moment
changes nothing, because every effect carries an idempotency key (``expire:lot:<id>``) or, for
reminders, a conditional claim of the member's last reminder date."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from tortoise.expressions import Q

from loyalty import db, ledger, rewards
from loyalty.events import dispatch
from loyalty.members import reminders
from loyalty.orders import guests, pending
from loyalty.privacy import retention
from loyalty.programme import actions, tiers
from loyalty.reports import rollups
from loyalty.settings import Settings
from models import Lot, Member

log = logging.getLogger(__name__)


@dataclass
class JobReport:
    expired_lots: int = 0
    expired_points: int = 0
    expired_coupons: int = 0
    birthdays: int = 0
    released_pending: int = 0
    released_points: int = 0
    tier_changes: int = 0
    reminders: int = 0
    purged_guest_orders: int = 0
    events: dispatch.DispatchReport = field(default_factory=dispatch.DispatchReport)
    pruned: retention.Pruned = field(default_factory=retention.Pruned)
    rollups: rollups.RollReport = field(default_factory=rollups.RollReport)

    def __str__(self) -> str:
        return (
            f"released {self.released_points} pending points ({self.released_pending} orders); "
            f"expired {self.expired_points} points from {self.expired_lots} lots, "
            f"{self.expired_coupons} coupons; {self.birthdays} birthday bonuses; "
            f"{self.tier_changes} tier changes; {self.reminders} reminders; "
            f"{self.purged_guest_orders} guest orders past their claim window dropped; "
            f"{self.events}; {self.rollups}; {self.pruned}"
        )


async def expire_points(now: datetime, inactivity_days: int = 0) -> JobReport:
    """Expire what is left of every lot whose expiry has passed, one transaction per lot; with
    an inactivity policy, also every lot of members with no order for ``inactivity_days``.

    Both paths use the lot's own key (``expire:lot:<id>``), so a lot expires once either way.
    """
    report = JobReport()
    due: list[int] = list(
        await Lot.filter(remaining__gt=0, expires_at__lte=now)  # type: ignore[arg-type]
        .order_by("id")
        .values_list("id", flat=True)
    )
    if inactivity_days > 0:
        cutoff = now - timedelta(days=inactivity_days)
        idle = Member.filter(balance__gt=0).filter(
            Q(last_order_at__lt=cutoff) | Q(last_order_at__isnull=True, created_at__lt=cutoff)
        )
        idle_ids = await idle.values_list("id", flat=True)
        if idle_ids:
            due += await (  # type: ignore[arg-type]
                Lot.filter(remaining__gt=0, member_id__in=idle_ids)
                .order_by("id")
                .values_list("id", flat=True)
            )
    for lot_id in sorted(set(due)):
        posted = await db.atomic(partial(ledger.expire_lot, lot_id=lot_id))
        if posted is not None and posted.created:
            report.expired_lots += 1
            report.expired_points -= posted.entry.points
    return report


async def run(
    now: datetime | None,
    settings: Settings,
    *,
    webhook_urls: Sequence[str] = (),
    send: dispatch.Sender | None = None,
) -> JobReport:
    """Every job due at ``now`` (the clock is injectable so tests can move it).

    Reminders follow ``settings.reminder_days``; events go out when ``webhook_urls`` are given;
    retention (``settings.retention_days``) prunes old deliveries and sent events last.
    """
    if webhook_urls:
        dispatch.signing_key(settings)  # refuse before any job runs, not after them all
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    released, released_points = await pending.release_due(now, settings)
    report = await expire_points(now, settings.inactivity_days)
    report.released_pending, report.released_points = released, released_points
    report.expired_coupons = await rewards.expire_coupons(now)
    report.birthdays = await actions.birthdays(settings, now)
    report.tier_changes = await tiers.recalculate(now)
    report.reminders = await reminders.write_reminders(settings, now.astimezone(UTC))
    report.purged_guest_orders = await guests.purge(now, settings)
    if webhook_urls:
        report.events = await dispatch.dispatch_once(
            settings, now.astimezone(UTC), urls=webhook_urls, send=send
        )
    # After the jobs above, so the rollups hold what they wrote (expiries, bonuses).
    report.rollups = await rollups.roll(now.astimezone(UTC))
    # Last: events delivered just now are not old enough to go, whatever the setting.
    report.pruned = await retention.prune(settings, now.astimezone(UTC))
    log.info("jobs at %s: %s", now.isoformat(), report)
    return report
