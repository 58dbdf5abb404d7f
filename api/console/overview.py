"""The overview: the programme report as charts for a chosen period, each with its number."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.console import graph
from api.console.web import page, render, settings_of
from loyalty.errors import LoyaltyError
from loyalty.reports import trends

REPORT = """
query Overview($from: Date, $to: Date) {
  programReport(from: $from, to: $to) {
    periodStart periodEnd membersEnrolled membersTotal activeMembers orders revenue
    repeatCustomers repeatPurchaseRate averageOrderValue purchaseFrequency
    pointsIssued pointsRedeemed pointsExpired redemptionRate breakage
    pointsOutstanding pointsLiability referees refereesConverted referralConversion
    retention { month members retained retention months { monthsLater members share } }
    topRewards { rewardId name couponsIssued }
    tierMix { tier members }
  }
}
"""


def _day(request: Request, name: str, errors: dict[str, str]) -> date | None:
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "enter a date as YYYY-MM-DD"
        return None


def _money(cents: int) -> float:
    return float(Decimal(cents) / 100)


def charts(months: list[trends.Month]) -> dict[str, Any]:
    """The series each time chart draws (JSON for the page's script), months as labels."""
    labels = [m.month for m in months]

    def series(label: str, values: list[Any], **extra: Any) -> dict[str, Any]:
        return {"label": label, "values": values, **extra}

    def rate(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 2) if whole else None

    return {
        "members": {
            "labels": labels,
            "series": [
                series("Enrolled", [m.enrolled for m in months], bars=True),
                series("Active (ordered)", [m.active_members for m in months]),
            ],
        },
        "orders": {
            "labels": labels,
            "series": [
                series("Orders", [m.orders for m in months], bars=True),
                series("Revenue", [_money(m.revenue_cents) for m in months], scale="money"),
            ],
        },
        "aov": {
            "labels": labels,
            "series": [
                series(
                    "Average order value",
                    [
                        round(_money(m.revenue_cents) / m.orders, 2) if m.orders else None
                        for m in months
                    ],
                    scale="money",
                )
            ],
        },
        "points": {
            "labels": labels,
            "series": [
                series("Issued", [m.points_issued for m in months]),
                series("Redeemed", [m.points_redeemed for m in months]),
                series("Expired", [m.points_expired for m in months]),
            ],
        },
        "liability": {
            "labels": labels,
            "series": [series("Liability", [float(m.liability) for m in months], scale="money")],
        },
        "rates": {
            "labels": labels,
            "series": [
                series(
                    "Redemption rate",
                    [rate(m.points_redeemed, m.points_issued) for m in months],
                    scale="%",
                ),
                series(
                    "Breakage", [rate(m.points_expired, m.points_issued) for m in months], scale="%"
                ),
            ],
        },
    }


def heat(share: float) -> str:
    """A cell's colours for a retention share: darker is more; the text turns white on the
    dark cells so it keeps a readable contrast."""
    lightness = 96 - round(min(max(share, 0.0), 1.0) * 64)
    if 45 < lightness < 54:  # neither ink reaches 4.5:1 on these shades: step over them
        lightness = 45 if lightness < 50 else 54
    ink = "#ffffff" if lightness <= 45 else "#1b1f24"
    return f"background: hsl(210 70% {lightness}%); color: {ink}"


@page
async def overview(request: Request) -> Response:
    """Programme figures for the period: one report query and one monthly-series call."""
    errors: dict[str, str] = {}
    start, end = _day(request, "from", errors), _day(request, "to", errors)
    report: dict[str, Any] | None = None
    months: list[trends.Month] = []
    if not errors:
        try:
            months = await trends.monthly(settings_of(request), start, end)
        except LoyaltyError as exc:
            errors[exc.field or "to"] = exc.message
    if not errors:
        variables = {"from": start and start.isoformat(), "to": end and end.isoformat()}
        report = (await graph.run(request, REPORT, variables))["programReport"]
    series = charts(months)
    cohorts = report["retention"] if report else []
    width = max(
        (max((m["monthsLater"] for m in c["months"]), default=0) for c in cohorts), default=0
    )
    return render(
        request,
        "overview.html",
        section="overview",
        report=report,
        errors=errors,
        chosen={
            "from": request.query_params.get("from", ""),
            "to": request.query_params.get("to", ""),
        },
        series=series,
        charts_json=json.dumps(series).replace("<", "\\u003c"),
        has_months=bool(months),
        cohort_width=min(width, 12),
        heat=heat,
    )
