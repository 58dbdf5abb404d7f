"""The admin configuration mutations (saveEarningRule, saveCampaign, saveTier, saveActionRule,
setEarningCap, savePlan) share one path (``api.program.mutations.admin_save``): admin only, the
saved row as the payload, a domain error as userErrors with nothing saved."""

from __future__ import annotations

from typing import Any

import pytest

from api.context import Role
from api.relay import encode_id
from models import ActionRule, Campaign, EarningCap, EarningRule, Plan, Tier
from tests.support import gql, gql_errors

pytestmark = pytest.mark.usefixtures("database")

WHEN = {"startsAt": "2026-01-01T00:00:00+00:00", "endsAt": "2026-02-01T00:00:00+00:00"}

# mutation, its arguments, the payload's object and fields, the table it writes,
# a good input with what comes back, and bad inputs with their userError.
CASES: dict[str, dict[str, Any]] = {
    "saveEarningRule": {
        "signature": "$input: EarningRuleInput!",
        "arguments": "input: $input",
        "object": "rule { name sku pointsPerItem }",
        "model": EarningRule,
        "good": {"input": {"name": "Mugs", "sku": "MUG", "pointsPerItem": 2}},
        "saved": {"rule": {"name": "Mugs", "sku": "MUG", "pointsPerItem": 2}},
        "bad": [
            ({"input": {"name": "Mugs", "sku": "MUG"}}, ["multiplier"], "INVALID"),
            (
                {"input": {"name": "M", "sku": "MUG", "pointsPerItem": 1, "id": "nope"}},
                ["id"],
                "INVALID_ID",
            ),
            (
                {
                    "input": {
                        "name": "M",
                        "sku": "MUG",
                        "pointsPerItem": 1,
                        "id": encode_id("EarningRule", 999),
                    }
                },
                ["id"],
                "NOT_FOUND",
            ),
        ],
    },
    "saveCampaign": {
        "signature": "$input: CampaignInput!",
        "arguments": "input: $input",
        "object": "campaign { name fixedPoints }",
        "model": Campaign,
        "good": {"input": {"name": "Spring", "fixedPoints": 5, **WHEN}},
        "saved": {"campaign": {"name": "Spring", "fixedPoints": 5}},
        "bad": [
            (
                {"input": {"name": "Spring", "fixedPoints": 5, **WHEN, "tiers": ["Nope"]}},
                ["tiers"],
                "INVALID",
            ),
            (
                {"input": {"name": "Spring", "fixedPoints": 5, **WHEN, "id": "nope"}},
                ["id"],
                "INVALID_ID",
            ),
        ],
    },
    "saveTier": {
        "signature": "$input: TierInput!",
        "arguments": "input: $input",
        "object": "tier { name threshold }",
        "model": Tier,
        "good": {"input": {"name": "Gold", "threshold": 100}},
        "saved": {"tier": {"name": "Gold", "threshold": 100}},
        "bad": [
            ({"input": {"name": "Gold", "threshold": -1}}, ["threshold"], "INVALID"),
            ({"input": {"name": "Gold", "threshold": 1, "id": "nope"}}, ["id"], "INVALID_ID"),
        ],
    },
    "saveActionRule": {
        "signature": "$input: ActionRuleInput!",
        "arguments": "input: $input",
        "object": "rule { action points limit }",
        "model": ActionRule,
        "good": {"input": {"action": "REVIEW", "points": 20, "limit": 3}},
        "saved": {"rule": {"action": "REVIEW", "points": 20, "limit": 3}},
        "bad": [
            ({"input": {"action": "REVIEW", "points": 20, "limit": 0}}, ["limit"], "INVALID"),
            ({"input": {"action": "REVIEW", "points": 0}}, ["points"], "INVALID"),
        ],
    },
    "setEarningCap": {
        "signature": "$period: Period!, $maxPoints: Int",
        "arguments": "period: $period, maxPoints: $maxPoints",
        "object": "cap { period maxPoints }",
        "model": EarningCap,
        "good": {"period": "ORDER", "maxPoints": 500},
        "saved": {"cap": {"period": "ORDER", "maxPoints": 500}},
        "bad": [({"period": "DAY", "maxPoints": 0}, ["maxPoints"], "INVALID")],
    },
    "savePlan": {
        "signature": "$input: PlanInput!",
        "arguments": "input: $input",
        "object": "plan { name fee periodDays }",
        "model": Plan,
        "good": {"input": {"name": "Plus", "fee": "9.90", "periodDays": 30}},
        "saved": {"plan": {"name": "Plus", "fee": "9.90", "periodDays": 30}},
        "bad": [
            (
                {"input": {"name": "Plus", "fee": "9.999", "periodDays": 30}},
                ["fee"],
                "INVALID_AMOUNT",
            ),
            (
                {"input": {"name": "Plus", "fee": "9.90", "periodDays": 0}},
                ["periodDays"],
                "INVALID",
            ),
        ],
    },
}


def mutation(name: str) -> str:
    case = CASES[name]
    return (
        f"mutation ({case['signature']}) {{ {name}({case['arguments']}) {{ {case['object']} "
        "userErrors { field code } } }"
    )


@pytest.mark.parametrize("name", list(CASES))
async def test_admin_save_returns_the_saved_row(database, name):
    case = CASES[name]

    data = await gql(database, mutation(name), case["good"])

    assert data[name] == {**case["saved"], "userErrors": []}
    assert await case["model"].all().count() == 1


@pytest.mark.parametrize(
    ("name", "variables", "field", "code"),
    [(name, *bad) for name, case in CASES.items() for bad in case["bad"]],
)
async def test_admin_save_turns_domain_errors_into_user_errors_and_saves_nothing(
    database, name, variables, field, code
):
    data = await gql(database, mutation(name), variables)

    payload = data[name]
    assert len(payload["userErrors"]) == 1
    assert payload["userErrors"][0] == {"field": field, "code": code}
    assert all(value is None for key, value in payload.items() if key != "userErrors")
    assert await CASES[name]["model"].all().count() == 0


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("role", [Role.STOREFRONT, Role.MEMBER, Role.PUBLIC])
async def test_admin_save_refuses_other_callers_before_reading_the_input(database, name, role):
    bad_id = {"input": {**CASES[name]["good"].get("input", {}), "id": "nope"}}
    variables = bad_id if name in ("saveEarningRule", "saveCampaign", "saveTier") else None

    messages = await gql_errors(
        database, mutation(name), variables or CASES[name]["good"], role=role, member_id=1
    )

    assert messages == ["not authorised for this operation"]
    assert await CASES[name]["model"].all().count() == 0
