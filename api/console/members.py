"""Members: search, a member's page (balance, tier, ledger, coupons, referrals, offers), and
adjusting a member's points through the ``adjustPoints`` mutation."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from api.console import graph
from api.console.forms import Field, parse
from api.console.web import change, page, redirect, render
from api.relay import encode_id
from loyalty import members
from loyalty.errors import LoyaltyError

LEDGER_PAGE = 20

LIST = """
query Members($first: Int!) {
  members(first: $first) {
    edges { node { id externalId email name pointsBalance tier { name } } }
  }
}
"""

LEDGER = """
transactions(first: $ledger, after: $after) {
  edges { node { kind points balanceAfter createdAt expiresAt source } }
  pageInfo { hasNextPage endCursor }
}
"""

MEMBER = f"""
query Member($id: ID!, $ledger: Int!, $after: String) {{
  member(id: $id) {{
    id externalId email name createdAt lastOrderAt referralCode
    pointsBalance pendingPoints lifetimePoints lifetimeSpend expiringPoints(withinDays: 30)
    tier {{ name multiplier perks }}
    tierProgress {{ nextTier {{ name threshold }} value missing basis periodEndsAt }}
    {LEDGER}
    coupons(first: 10) {{
      edges {{ node {{ code status expiresAt createdAt points reward {{ name kind }} }} }}
    }}
    referrals {{ invited converted pointsEarned }}
    offers(first: 8) {{
      kind score reason product {{ sku name category price }} reward {{ name pointsCost }}
    }}
  }}
}}
"""

LEDGER_ONLY = f"""
query Ledger($id: ID!, $ledger: Int!, $after: String) {{
  member(id: $id) {{ id {LEDGER} }}
}}
"""

ADJUST = """
mutation Adjust($input: AdjustPointsInput!) {
  adjustPoints(input: $input) { userErrors { field message code } }
}
"""

ADJUST_FIELDS = (
    Field("points", "Points (negative to take away)", "int", required=True),
    Field("reason", "Reason", required=True, hint="Shown in the ledger; required."),
)


@page
async def member_list(request: Request) -> Response:
    """Members in enrolment order, or those matching the search (a fragment for htmx)."""
    query = request.query_params.get("q", "").strip()
    error = ""
    rows: list[dict[str, Any]] = []
    if query:
        try:
            found = await members.search(query)
        except LoyaltyError as exc:
            error = exc.message
        else:
            rows = [
                {
                    "id": encode_id("Member", m.id),
                    "externalId": m.external_id,
                    "email": m.email,
                    "name": m.name,
                    "pointsBalance": m.balance,
                }
                for m in found
            ]
    else:
        data = await graph.run(request, LIST, {"first": 20})
        rows = [edge["node"] for edge in data["members"]["edges"]]
    template = "members_results.html" if request.headers.get("hx-request") else "members.html"
    return render(request, template, section="members", rows=rows, q=query, error=error)


def _member_vars(request: Request) -> dict[str, Any]:
    return {
        "id": request.path_params["member_id"],
        "ledger": LEDGER_PAGE,
        "after": request.query_params.get("after") or None,
    }


async def _member_page(request: Request, status_code: int = 200, **form: Any) -> Response:
    data = await graph.run(request, MEMBER, _member_vars(request))
    member = data["member"]
    if member is None:
        return render(request, "refused.html", status_code=404, message="No such member.")
    return render(
        request,
        "member.html",
        status_code=status_code,
        section="members",
        m=member,
        fields=ADJUST_FIELDS,
        values=form.get("values", {}),
        errors=form.get("errors", {}),
        adjust_key=form.get("adjust_key") or secrets.token_urlsafe(12),
        adjusted=request.query_params.get("adjusted", ""),
    )


@page
async def member_page(request: Request) -> Response:
    """One member (one query); with ``after`` from htmx, only the next page of the ledger."""
    if request.headers.get("hx-request") and request.query_params.get("after"):
        data = await graph.run(request, LEDGER_ONLY, _member_vars(request))
        if data["member"] is None:
            return render(request, "refused.html", status_code=404, message="No such member.")
        return render(request, "ledger_rows.html", m=data["member"])
    return await _member_page(request)


@change
async def adjust(request: Request, form: FormData) -> Response:
    """Add or take away points with a reason; refused changes show their error by the field."""
    parsed = parse(ADJUST_FIELDS, form)
    key = str(form.get("idempotencyKey", ""))[:200]
    if not parsed.errors:
        variables = {
            "input": {
                "memberId": request.path_params["member_id"],
                "idempotencyKey": f"console-{key}" if key else None,
                **parsed.values,
            }
        }
        data = await graph.run(request, ADJUST, variables)
        user_errors = data["adjustPoints"]["userErrors"]
        if not user_errors:
            return redirect(
                f"/console/members/{request.path_params['member_id']}?adjusted={parsed.values['points']}"
            )
        parsed.errors = graph.field_errors(user_errors, {f.name for f in ADJUST_FIELDS})
    return await _member_page(
        request, status_code=422, values=parsed.raw, errors=parsed.errors, adjust_key=key
    )
