"""The audit log: every mutation is recorded once with who, what, on what and the changed
fields; nothing in the API changes or removes an entry, and the database refuses to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import graphql
import pytest
from tortoise.exceptions import IntegrityError

from api.audit import EXEMPT, is_audited
from api.context import Role
from api.relay import encode_id
from api.schema import Mutation, Query, build_schema
from loyalty import db
from loyalty.privacy import audit
from models import AuditEntry
from tests.api.test_query_count import logged_queries
from tests.support import ADMIN_KEY, STOREFRONT_KEY, enroll, gql, gql_errors

pytestmark = pytest.mark.usefixtures("database")

AUDIT_LOG = """query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    edges { node { actor operation target input changes } }
    pageInfo { hasNextPage endCursor }
  } }"""


def test_every_mutation_is_audited_or_exempt_with_a_reason():
    schema = graphql.build_schema(build_schema().as_str())
    assert schema.mutation_type is not None
    names = list(schema.mutation_type.fields)
    unaudited = {name for name in names if not is_audited(Mutation, name)}

    assert unaudited == set(EXEMPT), "audit every new mutation, or exempt it with a reason"
    assert all(reason.strip() for reason in EXEMPT.values())
    assert is_audited(Query, "exportMember")  # reading a person's data is accounted for too


def test_no_operation_writes_the_audit_log_other_than_by_appending():
    schema = graphql.build_schema(build_schema().as_str())
    assert schema.mutation_type is not None
    assert not [name for name in schema.mutation_type.fields if "audit" in name.lower()]


async def entries() -> list[AuditEntry]:
    return await AuditEntry.all().order_by("id")


async def test_admin_changes_are_recorded_with_their_before_and_after(database):
    member = await enroll("cust-a")
    member_id = encode_id("Member", member.id)
    admin = f"admin {database.admin_key.fingerprint()}"

    tier = await gql(
        database,
        'mutation { saveTier(input: {name: "Gold", threshold: 100}) { tier { id } } }',
    )
    await gql(
        database,
        'mutation($id: ID!) { saveTier(input: {id: $id, name: "Gold", threshold: 250}) '
        "{ userErrors { code } } }",
        {"id": tier["saveTier"]["tier"]["id"]},
    )
    reward = await gql(
        database,
        'mutation { createReward(input: {name: "Mug", kind: FIXED_DISCOUNT, pointsCost: 50, '
        'value: "5.00"}) { reward { id } } }',
    )
    reward_id = reward["createReward"]["reward"]["id"]
    await gql(
        database,
        "mutation($id: ID!) { updateReward(input: {rewardId: $id, pointsCost: 80}) "
        "{ userErrors { code } } }",
        {"id": reward_id},
    )
    await gql(
        database,
        'mutation($id: ID!) { adjustPoints(input: {memberId: $id, points: 30, reason: "sorry"}) '
        "{ userErrors { code } } }",
        {"id": member_id},
    )
    await gql(
        database, "mutation { setEarningCap(period: ORDER, maxPoints: 500) { cap { maxPoints } } }"
    )
    await gql(
        database,
        "mutation($id: ID!) { revokeMemberTokens(memberId: $id) { tokenVersion } }",
        {"id": member_id},
    )
    await gql(
        database,
        'mutation($id: ID!) { eraseMember(id: $id, reason: "asked") { closedPoints } }',
        {"id": member_id},
    )

    found = await entries()
    assert [e.operation for e in found] == [
        "saveTier",
        "saveTier",
        "createReward",
        "updateReward",
        "adjustPoints",
        "setEarningCap",
        "revokeMemberTokens",
        "eraseMember",
    ]
    assert {e.actor for e in found} == {admin}
    tier_pk = int(found[0].target.split(":")[1]) if found[0].target else 0
    assert found[0].target == found[1].target == f"Tier:{tier_pk}"
    assert {"target": f"Tier:{tier_pk}", "field": "threshold", "before": 100, "after": 250} in (
        found[1].changes
    )
    reward_target = found[3].target
    assert reward_target == found[2].target and reward_target.startswith("Reward:")
    assert {"target": reward_target, "field": "points_cost", "before": 50, "after": 80} in (
        found[3].changes
    )
    member_target = f"Member:{member.id}"
    assert found[4].target == member_target
    assert found[4].changes == [
        {"target": member_target, "field": "balance", "before": 0, "after": 30}
    ]
    assert found[4].input == {
        "input": {"memberId": member_id, "points": 30, "reason": "sorry", "idempotencyKey": None}
    }
    assert found[6].changes == [
        {"target": member_target, "field": "token_version", "before": 0, "after": 1}
    ]
    assert found[7].target == member_target
    erased = {c["field"]: (c["before"], c["after"]) for c in found[7].changes}
    assert erased["balance"] == (30, 0) and erased["token_version"] == (1, 2)
    assert erased["erased_at"][0] is None
    # the log names keys by fingerprint, never the key
    text = str([(e.actor, e.input, e.changes) for e in found])
    assert ADMIN_KEY not in text and STOREFRONT_KEY not in text


async def test_storefront_and_member_calls_are_recorded_with_one_insert_each(database):
    member = await enroll("cust-b", email="b@example.com")
    lines = [{"sku": "TEA", "quantity": 1, "unitPrice": "80.00"}]

    with logged_queries() as queries:
        ordered = await gql(
            database,
            "mutation($input: RecordOrderInput!) { recordOrder(input: $input) "
            "{ pointsAwarded userErrors { code } } }",
            {"input": {"externalId": "o-1", "memberExternalId": "cust-b", "lines": lines}},
            role=Role.STOREFRONT,
        )
    assert ordered["recordOrder"]["userErrors"] == []
    touching_the_log = [q for q in queries if "audit_log" in q]
    assert len(touching_the_log) == 1 and touching_the_log[0].startswith("INSERT")

    reward = await gql(
        database,
        'mutation { createReward(input: {name: "Cap", kind: FREE_SHIPPING, pointsCost: 10}) '
        "{ reward { id } } }",
    )
    await gql(
        database,
        "mutation($id: ID!) { redeemReward(input: {rewardId: $id}) { coupon { code } } }",
        {"id": reward["createReward"]["reward"]["id"]},
        role=Role.MEMBER,
        member_id=member.id,
    )

    recorded, _, redeemed = await entries()
    assert recorded.actor == f"storefront {database.storefront_key.fingerprint()}"
    assert recorded.operation == "recordOrder"
    # personal values are kept as fingerprints: matchable, not readable
    kept = recorded.input["input"]["memberExternalId"]
    assert kept == audit.fingerprint("cust-b", database) and "cust-b" not in str(recorded.input)
    assert redeemed.actor == f"member Member:{member.id}"
    assert redeemed.operation == "redeemReward"


async def test_a_refused_call_writes_no_entry(database):
    member = await enroll("cust-c")
    member_id = encode_id("Member", member.id)

    refused = await gql(
        database,
        'mutation($id: ID!) { adjustPoints(input: {memberId: $id, points: 0, reason: "x"}) '
        "{ userErrors { code } } }",
        {"id": member_id},
    )
    forbidden = await gql_errors(
        database,
        'mutation($id: ID!) { eraseMember(id: $id, reason: "x") { userErrors { code } } }',
        {"id": member_id},
        role=Role.STOREFRONT,
    )

    assert refused["adjustPoints"]["userErrors"] == [{"code": "INVALID"}]
    assert forbidden == ["not authorised for this operation"]
    assert await entries() == []


async def test_the_log_pages_newest_first_and_filters(database):
    first, second = await enroll("cust-d"), await enroll("cust-e")
    for member in (first, second, first):
        await gql(
            database,
            "mutation($id: ID!) { revokeMemberTokens(memberId: $id) { tokenVersion } }",
            {"id": encode_id("Member", member.id)},
        )

    about_first = await gql(
        database, AUDIT_LOG, {"filter": {"target": encode_id("Member", first.id)}}
    )
    page = await gql(database, AUDIT_LOG, {"first": 2})
    rest = await gql(
        database, AUDIT_LOG, {"first": 2, "after": page["auditLog"]["pageInfo"]["endCursor"]}
    )
    later = await gql(
        database,
        AUDIT_LOG,
        {"filter": {"since": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}},
    )
    other = await gql(database, AUDIT_LOG, {"filter": {"operation": "eraseMember"}})

    nodes = [edge["node"] for edge in about_first["auditLog"]["edges"]]
    assert [n["target"] for n in nodes] == [encode_id("Member", first.id)] * 2
    assert [c["after"] for n in nodes for c in n["changes"]] == [2, 1]  # newest first
    assert page["auditLog"]["pageInfo"]["hasNextPage"]
    assert len(rest["auditLog"]["edges"]) == 1 and not rest["auditLog"]["pageInfo"]["hasNextPage"]
    assert later["auditLog"]["edges"] == [] and other["auditLog"]["edges"] == []


async def test_the_database_refuses_to_change_or_delete_an_entry(database):
    await audit.record(actor="admin x", operation="saveTier", target=None, input={}, changes=[])
    conn = db.connection()

    with pytest.raises(IntegrityError, match="append-only"):
        await db.execute(conn, "UPDATE audit_log SET operation = $1", "forged")
    with pytest.raises(IntegrityError, match="append-only"):
        await db.execute(conn, "DELETE FROM audit_log")

    assert [e.operation for e in await entries()] == ["saveTier"]
