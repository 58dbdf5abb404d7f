"""Experiment, model version and experiment report types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.offers.inputs import ArmSourceType
from api.relay import encode_id
from loyalty.money import from_cents
from loyalty.offers.report import ArmResult, ExperimentReport
from loyalty.offers.stats import Difference
from models import Experiment, ExperimentArm, ModelVersion


@strawberry.type(name="ModelVersion")
class ModelVersionType:
    id: strawberry.ID
    version: str
    active: bool
    members: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: ModelVersion) -> ModelVersionType:
        return cls(
            id=strawberry.ID(encode_id("ModelVersion", row.id)),
            version=row.version,
            active=row.active,
            members=row.members,
            created_at=row.created_at,
        )


@strawberry.type(name="ExperimentArm")
class ExperimentArmType:
    name: str
    weight: int
    source: ArmSourceType  # type: ignore[valid-type]
    model_version_id: strawberry.ID | None

    @classmethod
    def of(cls, name: str, weight: int, source: str, version_id: int | None) -> ExperimentArmType:
        return cls(
            name=name,
            weight=weight,
            source=source,
            model_version_id=(
                strawberry.ID(encode_id("ModelVersion", version_id)) if version_id else None
            ),
        )


@strawberry.type(name="Experiment")
class ExperimentType:
    id: strawberry.ID
    name: str
    starts_at: datetime
    ends_at: datetime
    arms: list[ExperimentArmType] = strawberry.field(description="The first arm is the control.")

    @classmethod
    def from_row(cls, row: Experiment, arms: list[ExperimentArm]) -> ExperimentType:
        return cls(
            id=strawberry.ID(encode_id("Experiment", row.id)),
            name=row.name,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            arms=[
                ExperimentArmType.of(a.name, a.weight, a.source, a.model_version_id) for a in arms
            ],
        )


@strawberry.type
class MeanDifference:
    """Treatment minus control in revenue per member, with a 95% confidence interval."""

    control_mean: float
    treatment_mean: float
    difference: float
    low: float
    high: float
    method: str = strawberry.field(
        description="welch (Welch's t) or bootstrap (percentile, where an arm is too skewed "
        "for its size: fewer members than 355 x skewness^2)."
    )

    @classmethod
    def of(cls, d: Difference | None) -> MeanDifference | None:
        if d is None:
            return None
        return cls(
            control_mean=d.control_mean,
            treatment_mean=d.treatment_mean,
            difference=d.difference,
            low=d.low,
            high=d.high,
            method=d.method,
        )


@strawberry.type
class ArmReport:
    name: str
    source: ArmSourceType  # type: ignore[valid-type]
    members: int = strawberry.field(description="Members enrolled before the end, by the hash.")
    impressions: int = strawberry.field(description="Offers the app reported shown.")
    clicks: int
    click_rate: float | None = strawberry.field(description="Clicked offers per shown offer.")
    conversions: int = strawberry.field(description="Shown offers bought or redeemed in time.")
    conversion_rate: float | None = strawberry.field(description="Conversions per shown offer.")
    revenue: Decimal
    orders: int
    revenue_per_member: float
    orders_per_member: float
    revenue_difference: MeanDifference | None = strawberry.field(
        description="Versus the control arm (none for the control)."
    )

    @classmethod
    def of(cls, r: ArmResult) -> ArmReport:
        return cls(
            name=r.arm.name,
            source=r.arm.source,
            members=r.members,
            impressions=r.impressions,
            clicks=r.clicks,
            click_rate=r.click_rate,
            conversions=r.conversions,
            conversion_rate=r.conversion_rate,
            revenue=from_cents(r.revenue_cents),
            orders=r.orders,
            revenue_per_member=r.revenue_per_member,
            orders_per_member=r.orders_per_member,
            revenue_difference=MeanDifference.of(r.revenue_difference),
        )


@strawberry.type(name="ExperimentReport")
class ExperimentReportType:
    experiment_id: strawberry.ID
    name: str
    attribution_days: int
    arms: list[ArmReport]
    sample_ratio_p_value: float = strawberry.field(
        description="Pearson chi-square of arm sizes against the weights."
    )
    sample_ratio_mismatch: bool = strawberry.field(description="p below 0.001.")
    warning: str | None

    @classmethod
    def of(cls, report: ExperimentReport) -> ExperimentReportType:
        return cls(
            experiment_id=strawberry.ID(encode_id("Experiment", report.experiment.id)),
            name=report.experiment.name,
            attribution_days=report.attribution_days,
            arms=[ArmReport.of(a) for a in report.report.arms],
            sample_ratio_p_value=report.report.sample_ratio.p_value,
            sample_ratio_mismatch=report.report.sample_ratio.mismatch,
            warning=report.report.warning,
        )
