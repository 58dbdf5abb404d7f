"""The console over HTTP (no browser): sign-in and its cookie, CSRF, the same rules and messages
as the API, and one round of queries per panel. Both backends."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.app import create_app
from api.console import session
from api.relay import encode_id
from loyalty import rewards
from loyalty.events import dispatch
from loyalty.settings import Settings
from models import DeliveryStatus, EventDelivery, LedgerEntry, Member, Reward
from tests.api.test_query_count import logged_queries
from tests.support import ADMIN_KEY, STOREFRONT_KEY, enroll, gql, order

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def client(database: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def sign_in(client: httpx.AsyncClient) -> str:
    """Sign in; the CSRF token of the session."""
    response = await client.post("/console/sign-in", data={"key": ADMIN_KEY})
    assert response.status_code == 303, response.text
    page = await client.get("/console/members")
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def balance_and_entries(member_id: int) -> tuple[int, int]:
    member = await Member.get(id=member_id)
    return member.balance, await LedgerEntry.filter(member_id=member_id).count()


async def test_sign_in_sets_a_strict_http_only_expiring_cookie(client):
    refused = await client.post("/console/sign-in", data={"key": STOREFRONT_KEY})
    assert refused.status_code == 401 and "not the admin key" in refused.text
    assert "set-cookie" not in refused.headers

    response = await client.post("/console/sign-in", data={"key": ADMIN_KEY})

    assert response.status_code == 303 and response.headers["location"] == "/console/overview"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert f"max-age={session.SESSION_SECONDS}" in cookie
    assert "secure" not in cookie  # plain HTTP here; over TLS it is Secure (next test)
    assert (await client.get("/console/overview")).status_code == 200


async def test_the_cookie_is_secure_over_tls(database):
    transport = httpx.ASGITransport(app=create_app(database, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        response = await c.post("/console/sign-in", data={"key": ADMIN_KEY})
    assert "secure" in response.headers["set-cookie"].lower()


async def test_pages_need_a_session_and_sessions_expire(client, database):
    response = await client.get("/console/members?q=ann")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?next=/console/members%3Fq%3Dann"

    await sign_in(client)
    request = httpx.Request("GET", "http://testserver/console/overview")
    request.headers["cookie"] = f"{session.COOKIE}={client.cookies[session.COOKIE]}"
    from starlette.requests import Request

    scope = {"type": "http", "headers": request.headers.raw, "path": "/console/overview"}
    later = datetime.now(UTC) + timedelta(seconds=session.SESSION_SECONDS + 1)
    assert session.current(database, Request(scope)) is not None
    assert session.current(database, Request(scope), now=later.timestamp()) is None
    tampered = client.cookies[session.COOKIE][:-2] + "xx"
    scope["headers"] = [(b"cookie", f"{session.COOKIE}={tampered}".encode())]
    assert session.current(database, Request(scope)) is None


async def test_sign_in_only_sends_back_into_the_console(client):
    response = await client.post(
        "/console/sign-in", data={"key": ADMIN_KEY, "next": "//evil.example/console/"}
    )
    assert response.headers["location"] == "/console/overview"


async def test_a_change_without_session_or_with_a_wrong_csrf_token_changes_nothing(client):
    member = await enroll("ann")
    url = f"/console/members/{encode_id('Member', member.id)}/adjust"
    form = {"points": "50", "reason": "goodwill"}

    anonymous = await client.post(url, data={**form, "csrf": "x"})
    csrf = await sign_in(client)
    wrong = await client.post(url, data={**form, "csrf": csrf[:-1] + "A"})
    missing = await client.post(url, data=form)
    other_site = await client.post(
        url, data={**form, "csrf": csrf}, headers={"origin": "https://evil.example"}
    )

    assert [r.status_code for r in (anonymous, wrong, missing, other_site)] == [401, 403, 403, 403]
    assert await balance_and_entries(member.id) == (0, 0)


async def test_adjust_points_goes_through_the_mutation_once(client):
    member = await enroll("ann")
    gid = encode_id("Member", member.id)
    csrf = await sign_in(client)
    form = {"points": "75", "reason": "late parcel", "idempotencyKey": "k1", "csrf": csrf}

    first = await client.post(f"/console/members/{gid}/adjust", data=form)
    again = await client.post(f"/console/members/{gid}/adjust", data=form)  # reload, same form

    assert first.status_code == again.status_code == 303
    assert await balance_and_entries(member.id) == (75, 1)
    page = await client.get(first.headers["location"])
    assert "late parcel" in page.text or "adjust" in page.text
    assert "Adjusted by 75" in page.text
    # The audit log names the console session that made the change.
    from models import AuditEntry

    entry = await AuditEntry.filter(operation="adjustPoints").first()
    assert entry is not None
    assert entry.actor.startswith("console session ") and len(entry.actor) == 32


async def test_a_refused_adjustment_shows_the_apis_message_by_its_field(client):
    member = await enroll("ann")
    gid = encode_id("Member", member.id)
    csrf = await sign_in(client)

    no_reason = await client.post(
        f"/console/members/{gid}/adjust", data={"points": "5", "reason": "", "csrf": csrf}
    )
    overdraw = await client.post(
        f"/console/members/{gid}/adjust", data={"points": "-5", "reason": "oops", "csrf": csrf}
    )
    api = await gql(
        client._transport.app.state.settings,  # type: ignore[attr-defined]
        "mutation($id: ID!) { adjustPoints(input: {memberId: $id, points: -5, reason: "
        '"oops"}) { userErrors { field message } } }',
        {"id": gid},
    )

    assert no_reason.status_code == overdraw.status_code == 422
    assert 'id="adjust-reason-error"' in no_reason.text
    message = api["adjustPoints"]["userErrors"][0]["message"]
    assert message in overdraw.text and 'aria-invalid="true"' in overdraw.text
    assert await balance_and_entries(member.id) == (0, 0)


REWARDS = "{ rewards(first: 50) { edges { node { name kind pointsCost percent } } } }"


async def test_create_reward_shows_in_the_rewards_query_and_refusals_change_nothing(
    client, database
):
    csrf = await sign_in(client)
    refused = await client.post(
        "/console/rewards/new",
        data={"name": "Half off", "kind": "PERCENT_DISCOUNT", "pointsCost": "900", "csrf": csrf},
    )
    not_a_number = await client.post(
        "/console/rewards/new",
        data={"name": "Half off", "kind": "PERCENT_DISCOUNT", "pointsCost": "lots", "csrf": csrf},
    )
    assert refused.status_code == not_a_number.status_code == 422
    assert (
        "percent must be between 1 and 100" in refused.text and 'id="percent-error"' in refused.text
    )
    assert 'id="pointsCost-error"' in not_a_number.text
    assert await Reward.all().count() == 0

    created = await client.post(
        "/console/rewards/new",
        data={
            "name": "Half off",
            "kind": "PERCENT_DISCOUNT",
            "pointsCost": "900",
            "percent": "50",
            "csrf": csrf,
        },
    )

    assert created.status_code == 303
    data = await gql(database, REWARDS)
    assert [e["node"] for e in data["rewards"]["edges"]] == [
        {"name": "Half off", "kind": "PERCENT_DISCOUNT", "pointsCost": 900, "percent": 50}
    ]


async def test_edit_and_deactivate_a_reward(client, database):
    reward = await rewards.create_reward(
        rewards.RewardInput(name="Ship", kind="free_shipping", points_cost=100)
    )
    gid = encode_id("Reward", reward.id)
    csrf = await sign_in(client)

    form = (await client.get(f"/console/rewards/{gid}")).text
    assert 'value="Ship"' in form
    edited = await client.post(
        f"/console/rewards/{gid}",
        data={"name": "Free shipping", "pointsCost": "120", "active": "on", "csrf": csrf},
    )
    deactivated = await client.post(f"/console/rewards/{gid}/deactivate", data={"csrf": csrf})

    assert edited.status_code == deactivated.status_code == 303
    await reward.refresh_from_db()
    assert (reward.name, reward.points_cost, reward.active) == ("Free shipping", 120, False)


async def test_programme_rules_are_saved_and_refused_like_the_api(client, database):
    csrf = await sign_in(client)
    tier = {"name": "Gold", "threshold": "1000", "active": "on", "csrf": csrf}
    saved = await client.post("/console/programme/tier", data=tier)
    clash = await client.post("/console/programme/tier", data={**tier, "name": "Gold 2"})
    cap = await client.post(
        "/console/programme/cap", data={"period": "DAY", "maxPoints": "500", "csrf": csrf}
    )
    page = await client.get("/console/programme")

    assert saved.status_code == cap.status_code == 303
    assert clash.status_code == 422 and "another tier has this threshold" in clash.text
    assert 'id="threshold-error"' in clash.text
    program = await gql(database, "{ program { tiers { name } caps { period maxPoints } } }")
    assert program["program"] == {
        "tiers": [{"name": "Gold"}],
        "caps": [{"period": "DAY", "maxPoints": 500}],
    }
    assert "Gold" in page.text and "500" in page.text


async def test_segment_csv_download(client, database):
    await enroll("ann")
    await order(database, "o-1", member_external_id="ann")
    await sign_in(client)

    response = await client.get("/console/segments.csv?minPoints=1")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.splitlines()[0].startswith("member_id") or "ann" in response.text
    assert "ann" in response.text


async def test_a_failed_delivery_can_be_retried_once_failed(client, database):
    import uuid

    from models import OutboxEvent

    member = await enroll("ann")
    event = await OutboxEvent.create(
        event_id=uuid.uuid4(), kind="points_earned", member_id=member.id, payload={}
    )
    delivery = await EventDelivery.create(
        event_id=event.id,
        url="https://hooks.example/in",
        status=DeliveryStatus.FAILED,
        attempts=dispatch.MAX_ATTEMPTS,
        next_attempt_at=datetime.now(UTC),
        last_error="HTTP 500",
    )
    csrf = await sign_in(client)
    url = f"/console/deliveries/out/{encode_id('EventDelivery', delivery.id)}/retry"

    first = await client.post(url, data={"csrf": csrf})
    second = await client.post(url, data={"csrf": csrf})

    assert first.status_code == 303 and second.status_code == 422
    assert "only a failed delivery can be retried" in second.text
    await delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


async def test_sign_out_ends_the_session(client):
    csrf = await sign_in(client)
    response = await client.post("/console/sign-out", data={"csrf": csrf})
    assert response.status_code == 303
    assert (
        "max-age=0" in response.headers["set-cookie"].lower()
        or "expires=" in response.headers["set-cookie"].lower()
    )
    assert (await client.get("/console/overview")).status_code == 303


async def test_every_page_renders(client, database):
    member = await enroll("ann")
    await order(database, "o-1", member_external_id="ann")
    await sign_in(client)
    pages = [
        "/console/overview",
        "/console/overview?from=2020-01-01&to=2030-12-31",
        "/console/members",
        "/console/members?q=ann",
        f"/console/members/{encode_id('Member', member.id)}",
        "/console/rewards",
        "/console/rewards/new",
        "/console/programme",
        "/console/programme/campaign",
        "/console/segments?atRisk=on",
        "/console/deliveries",
        "/console/models",
    ]
    for path in pages:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert "Content-Security-Policy" in response.headers
    bad = await client.get("/console/overview?from=2030-01-01&to=2020-01-01")
    assert bad.status_code == 200 and "to must not be before from" in bad.text


# One round of calls per panel: the statements a page runs do not grow with the data.


async def page_statements(client: httpx.AsyncClient, path: str) -> list[str]:
    with logged_queries() as queries:
        response = await client.get(path)
    assert response.status_code == 200, response.text[:500]
    return queries


async def test_member_page_statements_do_not_grow_with_history(client, database):
    short = await enroll("short")
    await order(database, "s-0", member_external_id="short")
    long = await enroll("long")
    for i in range(30):
        await order(database, f"l-{i}", member_external_id="long", amount=f"{i + 1}.00")
    reward = await rewards.create_reward(
        rewards.RewardInput(name="Ship", kind="free_shipping", points_cost=10)
    )
    await rewards.redeem(short.id, reward.id, key="r-0")
    for i in range(5):
        await rewards.redeem(long.id, reward.id, key=f"r-{i}")
    await sign_in(client)
    await page_statements(client, f"/console/members/{encode_id('Member', short.id)}")  # warm

    one = await page_statements(client, f"/console/members/{encode_id('Member', short.id)}")
    many = await page_statements(client, f"/console/members/{encode_id('Member', long.id)}")

    assert one, "no SQL statement was logged: the counter is not seeing the queries"
    assert len(many) == len(one), f"short: {one}\nlong: {many}"


async def test_overview_statements_do_not_grow_with_members_or_months(client, database):
    await enroll("first")
    await order(database, "f-0", member_external_id="first")
    await sign_in(client)
    await page_statements(client, "/console/overview")  # warm
    few = await page_statements(client, "/console/overview")

    start = datetime(2025, 1, 15, tzinfo=UTC)
    for i in range(12):
        await enroll(f"m-{i}")
        await order(
            database,
            f"o-{i}",
            member_external_id=f"m-{i}",
            placed_at=start + timedelta(days=31 * i),
        )
    many = await page_statements(client, "/console/overview")

    assert few, "no SQL statement was logged: the counter is not seeing the queries"
    assert len(many) == len(few), f"few: {few}\nmany: {many}"


def contrast(style: str) -> float:
    """The WCAG contrast ratio of a heatmap cell's text on its background."""
    import colorsys

    found = re.search(r"hsl\(210 70% (\d+)%\); color: #(\w{6})", style)
    assert found, style
    r, g, b = colorsys.hls_to_rgb(210 / 360, int(found.group(1)) / 100, 0.7)
    ink = [int(found.group(2)[i : i + 2], 16) / 255 for i in (0, 2, 4)]

    def luminance(c: list[float]) -> float:
        f = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * f[0] + 0.7152 * f[1] + 0.0722 * f[2]

    a, b2 = sorted((luminance([r, g, b]), luminance(ink)), reverse=True)
    return (a + 0.05) / (b2 + 0.05)


def test_heatmap_cells_keep_readable_contrast():
    from api.console.overview import heat

    assert min(contrast(heat(share / 100)) for share in range(101)) >= 4.5


EVERY = "{ rewards(first: 10, every: true) { edges { node { name active } } } }"


async def test_the_console_lists_every_reward_and_only_the_admin_may(client, database):
    from api.context import Role
    from tests.support import gql_errors

    live = await rewards.create_reward(
        rewards.RewardInput(name="Live", kind="free_shipping", points_cost=10)
    )
    await rewards.create_reward(
        rewards.RewardInput(name="Retired", kind="free_shipping", points_cost=10, active=False)
    )
    await sign_in(client)

    page = await client.get("/console/rewards")
    every = await gql(database, EVERY)
    public = await gql(database, REWARDS, role=Role.PUBLIC)
    refused = await gql_errors(database, EVERY, role=Role.STOREFRONT)

    assert "Live" in page.text and "Retired" in page.text and "inactive" in page.text
    assert [e["node"] for e in every["rewards"]["edges"]] == [
        {"name": "Retired", "active": False},
        {"name": "Live", "active": True},
    ]
    assert [e["node"]["name"] for e in public["rewards"]["edges"]] == [live.name]
    assert refused


async def test_editing_a_tier_and_paging_the_ledger(client, database):
    member = await enroll("ann")
    for i in range(25):
        await order(database, f"o-{i}", member_external_id="ann", amount="1.00")
    csrf = await sign_in(client)
    await client.post(
        "/console/programme/tier",
        data={"name": "Gold", "threshold": "100", "active": "on", "csrf": csrf},
    )
    tier_id = (await gql(database, "{ program { tiers { id } } }"))["program"]["tiers"][0]["id"]

    form = await client.get(f"/console/programme/tier?id={tier_id}")
    edited = await client.post(
        f"/console/programme/tier?id={tier_id}",
        data={"name": "Gold", "threshold": "150", "csrf": csrf},  # "active" unticked
    )
    gid = encode_id("Member", member.id)
    first = await client.get(f"/console/members/{gid}")
    cursor = re.search(r"after=([^\"#&]+)", first.text)
    assert cursor, first.text
    older = await client.get(
        f"/console/members/{gid}?after={cursor.group(1)}", headers={"HX-Request": "true"}
    )

    assert 'value="100"' in form.text and edited.status_code == 303
    from models import Tier

    assert [(t.name, t.threshold, t.active) for t in await Tier.all()] == [("Gold", 150, False)]
    rules = await gql(database, "{ programRules { tiers { name active } } }")
    assert rules["programRules"]["tiers"] == [{"name": "Gold", "active": False}]
    listed = await client.get("/console/programme")
    assert "Gold" in listed.text and "150" in listed.text  # still there, to turn back on
    assert first.text.count("earn order") == 20
    assert older.text.count("earn order") == 5 and "<html" not in older.text
