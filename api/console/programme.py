"""The programme: rewards catalogue, tiers, earning rules, campaigns, action rules, caps and
paid plans: list, create, edit, deactivate. Each change is the API's mutation, so the same rules
refuse the same values with the same messages (shown next to the field)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from api.console import graph
from api.console.forms import Field, choices, parse, shown
from api.console.web import change, page, redirect, render
from models import Action, Period, RewardKind, TierBasis, TierWindow

ERRORS = "userErrors { field message code }"
ACTIVE = Field("active", "Active", "flag")


@dataclass(frozen=True)
class Change:
    slug: str
    title: str
    fields: tuple[Field, ...]
    mutation: str
    input_type: str | None  # None: the fields are the mutation's own arguments
    key: str | None = "id"  # the input field naming the record to update
    list_key: str = ""  # where the records are in the programme query

    def document(self) -> str:
        if self.input_type is None:
            args = ", ".join(f"${f.name}: {_scalar(f)}" for f in self.fields)
            call = ", ".join(f"{f.name}: ${f.name}" for f in self.fields)
            return f"mutation Save({args}) {{ {self.mutation}({call}) {{ {ERRORS} }} }}"
        return (
            f"mutation Save($input: {self.input_type}!) "
            f"{{ {self.mutation}(input: $input) {{ {ERRORS} }} }}"
        )

    def variables(self, values: dict[str, Any], record_id: str | None) -> dict[str, Any]:
        if self.input_type is None:
            return values
        if record_id and self.key:
            values = {**values, self.key: record_id}
        return {"input": values}


def _scalar(f: Field) -> str:
    enum = {"period": "Period"}.get(f.name, "String")
    return {"int": "Int", "choice": enum}.get(f.kind, "String") + ("!" if f.required else "")


REWARD_FIELDS = (
    Field("name", "Name", required=True),
    Field("kind", "Kind", "choice", required=True, choices=choices(RewardKind)),
    Field("pointsCost", "Points cost", "int", required=True),
    Field("description", "Description", "textarea"),
    Field("value", "Value", "decimal", hint="Fixed discount, gift card or donation amount."),
    Field("percent", "Percent", "int", hint="Percent discounts: 1 to 100."),
    Field("sku", "Product sku", hint="Free product rewards."),
    Field("cause", "Cause", hint="Donations."),
    Field("category", "Only for category"),
    Field("minimumOrder", "Minimum order", "decimal"),
    Field("stock", "Stock", "int", hint="Empty: unlimited."),
    Field("perMemberLimit", "Per member limit", "int"),
    Field("couponDays", "Coupon valid for (days)", "int", hint="Default 30."),
    Field("startsAt", "Available from (UTC)", "datetime"),
    Field("endsAt", "Available until (UTC)", "datetime"),
    Field("minTier", "Only for tier and above"),
)

REWARD = Change("reward", "Reward", REWARD_FIELDS, "createReward", "CreateRewardInput", key=None)
# Editing keeps the kind (what a coupon of this reward is worth follows from it).
REWARD_EDIT = Change(
    "reward",
    "Reward",
    (*(f for f in REWARD_FIELDS if f.name != "kind"), ACTIVE),
    "updateReward",
    "UpdateRewardInput",
    key="rewardId",
)

CHANGES = {
    c.slug: c
    for c in (
        Change(
            "tier",
            "Tier",
            (
                Field("name", "Name", required=True),
                Field("threshold", "Threshold", "int", required=True),
                Field("basis", "Qualifies by", "choice", choices=choices(TierBasis)),
                Field("window", "Over", "choice", choices=choices(TierWindow)),
                Field("multiplier", "Earn multiplier", "decimal"),
                Field("perks", "Perks", "list", hint="Separated by commas."),
                ACTIVE,
            ),
            "saveTier",
            "TierInput",
            list_key="tiers",
        ),
        Change(
            "earning-rule",
            "Earning rule",
            (
                Field("name", "Name", required=True),
                Field("category", "Category"),
                Field("sku", "Product sku"),
                Field("multiplier", "Multiplier", "decimal"),
                Field("pointsPerItem", "Points per item", "int"),
                ACTIVE,
            ),
            "saveEarningRule",
            "EarningRuleInput",
            list_key="earningRules",
        ),
        Change(
            "campaign",
            "Campaign",
            (
                Field("name", "Name", required=True),
                Field("startsAt", "Starts (UTC)", "datetime", required=True),
                Field("endsAt", "Ends (UTC)", "datetime", required=True),
                Field("multiplier", "Multiplier", "decimal"),
                Field("fixedPoints", "Fixed points", "int"),
                Field("skus", "Only skus", "list", hint="Separated by commas."),
                Field("categories", "Only categories", "list", hint="Separated by commas."),
                Field("tiers", "Only tiers", "list", hint="Separated by commas."),
                ACTIVE,
            ),
            "saveCampaign",
            "CampaignInput",
            list_key="campaigns",
        ),
        Change(
            "action-rule",
            "Action rule",
            (
                Field("action", "Action", "choice", required=True, choices=choices(Action)),
                Field("points", "Points", "int", required=True),
                Field("limit", "Times per period", "int"),
                Field("period", "Period", "choice", choices=choices(Period)),
                ACTIVE,
            ),
            "saveActionRule",
            "ActionRuleInput",
            key=None,
            list_key="actionRules",
        ),
        Change(
            "cap",
            "Earning cap",
            (
                Field("period", "Per", "choice", required=True, choices=choices(Period)),
                Field("maxPoints", "Most points", "int", hint="Empty: remove the cap."),
            ),
            "setEarningCap",
            None,
            key=None,
            list_key="caps",
        ),
        Change(
            "plan",
            "Paid plan",
            (
                Field("name", "Name", required=True),
                Field("fee", "Fee", "decimal", required=True),
                Field("periodDays", "Period (days)", "int", required=True),
                Field("multiplier", "Earn multiplier", "decimal"),
                Field("perks", "Perks", "list", hint="Separated by commas."),
                ACTIVE,
            ),
            "savePlan",
            "PlanInput",
            key=None,
            list_key="plans",
        ),
    )
}

PROGRAMME = """
{
  program { name pointsName currency pointsPerCurrencyUnit pointValue caps { period maxPoints } }
  programRules {
    tiers { id name threshold basis window multiplier perks active }
    earningRules { id name description category sku multiplier pointsPerItem active }
    campaigns { id name startsAt endsAt multiplier fixedPoints skus categories tiers active }
    actionRules { action points limit period active }
    plans { id name fee periodDays multiplier perks active }
  }
}
"""

REWARDS = """
{ rewards(first: 100, every: true) { edges { node {
    id name description kind pointsCost value percent sku cause category minimumOrder stock
    perMemberLimit couponDays startsAt endsAt active minTier
} } } }
"""

DEACTIVATE = f"""
mutation Deactivate($id: ID!) {{
  updateReward(input: {{rewardId: $id, active: false}}) {{ {ERRORS} }}
}}
"""


async def _save(
    request: Request, spec: Change, form: FormData, record_id: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Run the change; its errors by field (empty when it was saved) and the values sent."""
    parsed = parse(spec.fields, form)
    if parsed.errors:
        return parsed.errors, parsed.raw
    data = await graph.run(request, spec.document(), spec.variables(parsed.values, record_id))
    user_errors = data[spec.mutation]["userErrors"]
    return graph.field_errors(user_errors, {f.name for f in spec.fields}), parsed.raw


def _form(
    request: Request,
    spec: Change,
    action: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    section: str = "programme",
) -> Response:
    return render(
        request,
        "change.html",
        status_code=status_code,
        section=section,
        spec=spec,
        action=action,
        values=values,
        errors=errors,
    )


# Rewards


@page
async def rewards(request: Request) -> Response:
    data = await graph.run(request, REWARDS)
    return render(
        request,
        "rewards.html",
        section="rewards",
        rewards=[edge["node"] for edge in data["rewards"]["edges"]],
        saved=request.query_params.get("saved", ""),
    )


@page
async def reward_new(request: Request) -> Response:
    values = shown(REWARD.fields, None) | {"kind": "FIXED_DISCOUNT"}
    return _form(request, REWARD, "/console/rewards/new", values, {}, section="rewards")


@change
async def reward_create(request: Request, form: FormData) -> Response:
    errors, raw = await _save(request, REWARD, form, None)
    if errors:
        return _form(request, REWARD, "/console/rewards/new", raw, errors, 422, "rewards")
    return redirect("/console/rewards?saved=" + raw["name"][:100])


async def _reward(request: Request, reward_id: str) -> dict[str, Any] | None:
    data = await graph.run(request, REWARDS)
    found = [e["node"] for e in data["rewards"]["edges"] if e["node"]["id"] == reward_id]
    return found[0] if found else None


@page
async def reward_edit(request: Request) -> Response:
    reward_id = request.path_params["reward_id"]
    record = await _reward(request, reward_id)
    if record is None:
        return render(request, "refused.html", status_code=404, message="No such reward.")
    action = f"/console/rewards/{reward_id}"
    return _form(
        request, REWARD_EDIT, action, shown(REWARD_EDIT.fields, record), {}, section="rewards"
    )


@change
async def reward_update(request: Request, form: FormData) -> Response:
    reward_id = request.path_params["reward_id"]
    errors, raw = await _save(request, REWARD_EDIT, form, reward_id)
    if errors:
        action = f"/console/rewards/{reward_id}"
        return _form(request, REWARD_EDIT, action, raw, errors, 422, "rewards")
    return redirect("/console/rewards?saved=" + raw["name"][:100])


@change
async def reward_deactivate(request: Request, form: FormData) -> Response:
    data = await graph.run(request, DEACTIVATE, {"id": request.path_params["reward_id"]})
    problems = data["updateReward"]["userErrors"]
    if problems:
        return render(request, "refused.html", status_code=422, message=problems[0]["message"])
    return redirect("/console/rewards")


# Programme rules


@page
async def programme(request: Request) -> Response:
    data = await graph.run(request, PROGRAMME)
    return render(
        request,
        "programme.html",
        section="programme",
        program=data["program"],
        rules=_rules(data),
        changes=CHANGES,
        saved=request.query_params.get("saved", ""),
    )


def _rules(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every saved rule by kind (and the caps in force, which have no inactive state)."""
    return {**data["programRules"], "caps": data["program"]["caps"]}


def _spec(request: Request) -> Change | None:
    return CHANGES.get(request.path_params["slug"])


@page
async def rule_form(request: Request) -> Response:
    """A new rule's form, or (with a record id) the form to edit one."""
    spec = _spec(request)
    if spec is None:
        return render(request, "refused.html", status_code=404, message="No such kind of rule.")
    record_id = request.query_params.get("id")
    record = None
    if record_id:
        data = await graph.run(request, PROGRAMME)
        records = _rules(data)[spec.list_key]
        found = [
            r
            for r in records
            if str(r.get("id") or r.get("action") or r.get("period")) == record_id
        ]
        if not found:
            return render(request, "refused.html", status_code=404, message="No such rule.")
        record = found[0]
    action = f"/console/programme/{spec.slug}" + (f"?id={record_id}" if record_id else "")
    return _form(request, spec, action, shown(spec.fields, record), {})


@change
async def rule_save(request: Request, form: FormData) -> Response:
    spec = _spec(request)
    if spec is None:
        return render(request, "refused.html", status_code=404, message="No such kind of rule.")
    record_id = request.query_params.get("id") if spec.key else None
    errors, raw = await _save(request, spec, form, record_id)
    if errors:
        action = f"/console/programme/{spec.slug}" + (f"?id={record_id}" if record_id else "")
        return _form(request, spec, action, raw, errors, 422)
    return redirect(f"/console/programme?saved={spec.title}")
