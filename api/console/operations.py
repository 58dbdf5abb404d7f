"""Operations: segments (with CSV download), event deliveries out and the webhook inbox in
(with retry), and the recommender's model versions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from api.console import graph
from api.console.forms import Field, parse
from api.console.web import SECURITY_HEADERS, change, page, redirect, render
from loyalty.offers import publish

ERRORS = "userErrors { field message code }"

SEGMENT_FIELDS = (
    Field("tier", "Tier"),
    Field("minPoints", "At least points", "int"),
    Field("maxPoints", "At most points", "int"),
    Field("minRfm", "RFM score at least (3-15)", "int"),
    Field("lastOrderBefore", "Last order before (UTC)", "datetime"),
    Field("lastOrderAfter", "Last order after (UTC)", "datetime"),
    Field("atRisk", "At risk only", "flag"),
)

SEGMENT = """
query Segment($filter: SegmentFilter, $first: Int!) {
  segment(filter: $filter, first: $first) {
    edges { node {
      member { id externalId email name pointsBalance tier { name } }
      orders spend lastOrderAt rfm atRisk
    } }
    pageInfo { hasNextPage }
  }
}
"""

SEGMENT_CSV = "query Csv($filter: SegmentFilter) { segmentCsv(filter: $filter) }"

DELIVERIES = """
{
  eventDeliveries(first: 50) { edges { node {
    id eventId kind url status attempts nextAttemptAt lastError deliveredAt createdAt
  } } }
  webhookInbox(first: 50) { edges { node {
    id platform topic deliveryId status reason attempts receivedAt appliedAt
  } } }
}
"""

RETRY_OUT = f"mutation Retry($id: ID!) {{ retryEventDelivery(id: $id) {{ {ERRORS} }} }}"
REPLAY_IN = f"mutation Replay($id: ID!) {{ replayWebhook(id: $id) {{ {ERRORS} }} }}"


def _filter(request: Request) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    parsed = parse(SEGMENT_FIELDS, request.query_params)
    values = {k: v for k, v in parsed.values.items() if not (k == "atRisk" and v is False)}
    return values, parsed.errors, parsed.raw


@page
async def segments(request: Request) -> Response:
    """Members matching a filter (the first 50) and a link to the whole segment as CSV."""
    values, errors, raw = _filter(request)
    rows: list[dict[str, Any]] = []
    more = False
    if not errors:
        data = await graph.run(request, SEGMENT, {"filter": values, "first": 50})
        rows = [edge["node"] for edge in data["segment"]["edges"]]
        more = data["segment"]["pageInfo"]["hasNextPage"]
    return render(
        request,
        "segments.html",
        section="segments",
        fields=SEGMENT_FIELDS,
        values=raw,
        errors=errors,
        rows=rows,
        more=more,
        query=request.url.query,
    )


@page
async def segment_csv(request: Request) -> Response:
    values, errors, _ = _filter(request)
    if errors:
        return render(request, "refused.html", status_code=400, message=next(iter(errors.values())))
    data = await graph.run(request, SEGMENT_CSV, {"filter": values})
    name = re.sub(r"[^a-z0-9-]", "", (values.get("tier") or "members").lower()) or "members"
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(
        data["segmentCsv"],
        media_type="text/csv; charset=utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="segment-{name}-{stamp}.csv"',
        },
    )


@page
async def deliveries(request: Request) -> Response:
    data = await graph.run(request, DELIVERIES)
    return render(
        request,
        "deliveries.html",
        section="deliveries",
        outgoing=[e["node"] for e in data["eventDeliveries"]["edges"]],
        inbox=[e["node"] for e in data["webhookInbox"]["edges"]],
        done=request.query_params.get("done", ""),
    )


async def _retry(request: Request, document: str, mutation: str, done: str) -> Response:
    data = await graph.run(request, document, {"id": request.path_params["delivery_id"]})
    problems = data[mutation]["userErrors"]
    if problems:
        return render(request, "refused.html", status_code=422, message=problems[0]["message"])
    return redirect(f"/console/deliveries?done={done}")


@change
async def retry_outgoing(request: Request, _: FormData) -> Response:
    return await _retry(request, RETRY_OUT, "retryEventDelivery", "retried")


@change
async def replay_incoming(request: Request, _: FormData) -> Response:
    return await _retry(request, REPLAY_IN, "replayWebhook", "replayed")


@page
async def models(request: Request) -> Response:
    """Trained versions with their holdout figures; the active one serves offers."""
    rows = await publish.versions()
    figures = sorted({name for row in rows for name in row.metrics})
    return render(request, "models.html", section="models", versions=rows, figures=figures)
