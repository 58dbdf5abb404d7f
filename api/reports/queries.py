"""Report queries: the programme report (admin)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from api.context import Info, Role, require
from api.relay import decode_id
from api.reports.types import CampaignReportType, ProgramReportType
from loyalty.errors import NotFound
from loyalty.reports import campaigns
from loyalty.reports import summary as reports


@strawberry.type
class ReportQuery:
    @strawberry.field(description="Programme figures for the days from..to, both included (admin).")
    async def program_report(
        self,
        info: Info,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> ProgramReportType:
        context = require(info, Role.ADMIN)
        report = await reports.program_report(context.settings, from_, to)
        return ProgramReportType.from_report(report)

    @strawberry.field(
        description="What a campaign added over the members it held out: incremental revenue "
        "and points with 95% intervals (admin)."
    )
    async def campaign_report(self, info: Info, id: strawberry.ID) -> CampaignReportType | None:
        require(info, Role.ADMIN)
        try:
            report = await campaigns.campaign_report(decode_id("Campaign", id))
        except NotFound:
            return None
        return CampaignReportType.of(report)
