"""Offer queries (admin): model versions, experiments and their reports, offerability."""

from __future__ import annotations

import strawberry

from api.context import Info, Role, require
from api.offers.experiment_types import ExperimentReportType, ExperimentType, ModelVersionType
from api.relay import decode_id
from loyalty.errors import NotFound
from loyalty.offers import experiments, offerable, publish, report


@strawberry.type
class OfferQuery:
    @strawberry.field(description="Trained model versions, newest first (admin).")
    async def model_versions(self, info: Info) -> list[ModelVersionType]:
        require(info, Role.ADMIN)
        return [ModelVersionType.from_row(row) for row in await publish.versions()]

    @strawberry.field(description="Offer experiments, newest first (admin).")
    async def experiments(self, info: Info) -> list[ExperimentType]:
        require(info, Role.ADMIN)
        return [ExperimentType.from_row(e, arms) for e, arms in await experiments.listing()]

    @strawberry.field(
        description="Per arm: members, impressions, click and conversion rates, revenue and "
        "orders per member, the difference to the control with its 95% interval (admin)."
    )
    async def experiment_report(self, info: Info, id: strawberry.ID) -> ExperimentReportType | None:
        context = require(info, Role.ADMIN)
        days = context.settings.offer_attribution_days
        try:
            found = await report.experiment_report(decode_id("Experiment", id), days)
        except NotFound:
            return None
        return ExperimentReportType.of(found)

    @strawberry.field(description="Categories whose products are never offered (admin).")
    async def non_offerable_categories(self, info: Info) -> list[str]:
        require(info, Role.ADMIN)
        return await offerable.non_offerable_categories()
