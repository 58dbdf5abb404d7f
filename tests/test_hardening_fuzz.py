"""Fuzzing: queries and mutations generated from the schema (hypothesis-graphql) against the app.

No response may be a 5xx or carry a masked internal error ("Unexpected error."): every input
the schema accepts is either served or refused with a clear error.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

from api.app import create_app
from api.schema import SCHEMA_FILE
from tests.support import ADMIN_KEY, enroll, order

pytestmark = [
    pytest.mark.usefixtures("database"),
    # When a non-null field fails, graphql-core drops sibling resolvers it had created but not
    # started; their coroutines are collected unstarted (nothing ran, nothing is held) and
    # Python warns. Only graphql-core's and strawberry's own coroutines are let through.
    pytest.mark.filterwarnings(
        "ignore:coroutine '(Executor|GraphQLCoreConverter)[.].*' was never awaited:RuntimeWarning"
    ),
]

SCALARS = {
    "Decimal": st.decimals(min_value=-(10**6), max_value=10**7, places=2, allow_nan=False).map(
        lambda d: nodes.String(str(d))
    ),
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "DateTime": st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
        lambda d: nodes.String(d.isoformat())
    ),
}
OPERATIONS = from_schema(SCHEMA_FILE.read_text(), custom_scalars=SCALARS)


def fuzz_settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


async def _check(client: httpx.AsyncClient, document: str) -> None:
    response = await client.post(
        "/graphql",
        json={"query": document},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code < 500, (document, response.text)
    body = response.json()
    messages = [e.get("message") for e in body.get("errors") or []]
    assert "Unexpected error." not in messages, (document, json.dumps(body)[:2000])


@pytest.fixture
async def client(database):
    await enroll("fuzz-1")
    await order(database, "fuzz-order", "fuzz-1", amount="40.00")
    app = create_app(database, migrate=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


@fuzz_settings(150)
@given(document=OPERATIONS)
async def test_generated_operations_never_fail_internally(client, document):
    await _check(client, document)


@pytest.mark.slow
@fuzz_settings(1500)
@given(document=OPERATIONS)
async def test_generated_operations_never_fail_internally_at_scale(client, document):
    await _check(client, document)


async def test_nul_characters_are_refused_before_anything_runs(client):
    from models import Order

    document = 'mutation { recordOrder(input: {externalId: "x\\u0000", memberExternalId: "fuzz-1", lines: [{sku: "A", quantity: 1, unitPrice: "1.00"}]}) { replayed } }'
    response = await client.post(
        "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert response.status_code == 400
    assert await Order.filter(external_id__startswith="x").count() == 0


@pytest.mark.parametrize(
    "escaped",
    [
        "\\\\ud800",  # a GraphQL escape of a lone high half
        "\\\\udc00",  # a lone low half
        "\\\\udc00\\\\ud800",  # both halves, the wrong way round
        "\\\\u{D800}",  # braced
        "\\\\ud800x\\\\udc00",  # halves that are not next to each other
    ],
)
async def test_half_a_surrogate_pair_is_refused_before_anything_runs(client, escaped):
    from models import Order

    document = (
        'mutation { recordOrder(input: {externalId: "x' + escaped + '", memberExternalId: '
        '"fuzz-1", lines: [{sku: "A", quantity: 1, unitPrice: "1.00"}]}) { replayed } }'
    )
    content = ('{"query": "' + document.replace('"', '\\"') + '"}').encode()
    response = await client.post(
        "/graphql",
        content=content,
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    assert "surrogate" in response.json()["errors"][0]["message"]
    assert await Order.filter(external_id__startswith="x").count() == 0


async def test_a_json_escaped_lone_surrogate_in_variables_is_refused(client):
    content = (
        b'{"query": "query($id: String!) { member(externalId: $id) { externalId } }", '
        b'"variables": {"id": "a\\ud800"}}'
    )
    response = await client.post(
        "/graphql",
        content=content,
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"},
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    "text",
    [
        b'"\\ud83d\\ude00"',  # a pair, JSON-escaped: one emoji
        b'"\\\\ud83d\\\\ude00"',  # the same pair as a GraphQL escape inside JSON
        b'"\\\\\\\\ud800"',  # an escaped backslash, then the text ud800
        b'"\xf0\x9f\x98\x80"',  # the emoji as UTF-8
    ],
)
def test_whole_characters_pass_the_surrogate_check(text):
    from api.app import lone_surrogate

    assert not lone_surrogate(text)


async def test_an_emoji_in_a_name_is_stored(client):
    content = (
        b'{"query": "mutation($input: EnrollMemberInput!) { enrollMember(input: $input) '
        b'{ member { name } userErrors { code } } }", "variables": {"input": '
        b'{"externalId": "emoji-1", "email": "e@example.com", "name": "Ana \\ud83d\\ude00"}}}'
    )
    response = await client.post(
        "/graphql",
        content=content,
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"},
    )

    assert response.json()["data"]["enrollMember"]["member"]["name"] == "Ana \U0001f600"


async def test_a_failed_field_does_not_leave_its_siblings_holding_the_database(client):
    """A field that fails cancels its siblings (graphql-core); the report's snapshot
    transaction was opening then. Found by the fuzzer: every later request waited forever."""
    import asyncio

    failing = (
        "{ members(first: 2000) { pageInfo { endCursor } } "
        'programReport(from: "2000-01-01") { purchaseFrequency } }'
    )
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for _ in range(3):
        response = await client.post("/graphql", json={"query": failing}, headers=headers)
        assert "first must be between 1 and 100" in response.text
    after = client.post(
        "/graphql",
        json={"query": '{ member(externalId: "fuzz-1") { externalId } }'},
        headers=headers,
    )
    response = await asyncio.wait_for(after, 60)  # a hang guard, not a timing check

    assert response.json()["data"]["member"]["externalId"] == "fuzz-1"
