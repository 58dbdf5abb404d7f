"""What requests leave in the log: a refusal is one short escaped debug line without a
traceback; an unexpected failure keeps its traceback at error level."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.logs import escaped
from loyalty import db
from loyalty.settings import Settings
from tests.support import ADMIN_KEY

JSON = {"Content-Type": "application/json"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}", **JSON}
# Staff-only lookups asked without a key: each alias is refused on its own.
FORBIDDEN = "{" + "".join(f'm{i}:member(externalId:"x"){{id}}' for i in range(10)) + "}"
RAW_CONTROLS = "\x1b[2J\x1b]0;owned\x07\r\nFAKE LOG LINE\x85\u2028\u202e"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202e]")


@pytest.fixture
async def client(database: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def app_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("api", "strawberry", "graphql"))]


async def test_an_unauthenticated_request_leaves_a_short_log_without_traceback(client, caplog):
    caplog.set_level(logging.DEBUG)
    body = json.dumps({"query": FORBIDDEN})
    assert len(body) <= 333

    response = await client.post("/graphql", content=body, headers=JSON)

    errors = response.json()["errors"]
    assert len(errors) == 10
    assert {e["message"] for e in errors} == {"not authorised for this operation"}
    records = app_records(caplog)
    assert len(records) == 10
    assert all(r.levelno == logging.DEBUG and r.exc_info is None for r in records)
    logged = "\n".join(r.getMessage() for r in records)
    assert "Traceback" not in caplog.text
    assert len(logged) < 1000  # one line per refused field, nothing more


async def test_a_wrong_key_is_logged_as_one_debug_line(client, caplog):
    caplog.set_level(logging.DEBUG)

    response = await client.post(
        "/graphql", json={"query": "{ program { name } }"}, headers={"Authorization": "Bearer no"}
    )

    assert response.status_code == 401
    records = app_records(caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.DEBUG, "401 /graphql: invalid or expired token")
    ]


async def test_control_characters_in_a_request_reach_the_log_escaped(client, caplog):
    caplog.set_level(logging.DEBUG)
    query = "query($s: EventDeliveryStatus) { eventDeliveries(status: $s) { edges { cursor } } }"

    response = await client.post(
        "/graphql", json={"query": query, "variables": {"s": RAW_CONTROLS}}, headers=ADMIN
    )
    syntax = await client.post("/graphql", json={"query": "{ program" + RAW_CONTROLS + "}"})

    assert RAW_CONTROLS in response.json()["errors"][0]["message"]  # a refusal, not masked
    assert syntax.json()["errors"]
    records = app_records(caplog)
    assert len(records) == 2
    assert all(r.levelno == logging.DEBUG and r.exc_info is None for r in records)
    assert "\\x1b[2J\\x1b]0;owned\\x07\\r\\nFAKE LOG LINE" in records[0].getMessage()
    assert not [r.getMessage() for r in records if CONTROL.search(r.getMessage())]


async def test_an_unexpected_failure_keeps_its_traceback_at_error_level(client, caplog):
    caplog.set_level(logging.DEBUG)
    await db.close()  # the database goes away under a running service

    response = await client.post(
        "/graphql", json={"query": '{ member(externalId: "x") { id } }'}, headers=ADMIN
    )

    assert response.json()["errors"][0]["message"] == "Unexpected error."
    errors = [r for r in app_records(caplog) if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "Traceback" in caplog.text


def test_escaping_keeps_a_log_entry_on_one_line_and_cuts_it_short():
    assert escaped("a\nb\x1b[31m\u202ec\x00") == "a\\nb\\x1b[31m\\u202ec\\x00"
    assert escaped("é ü 中") == "é ü 中"
    assert escaped("x" * 500, limit=10) == "x" * 10 + "..."
