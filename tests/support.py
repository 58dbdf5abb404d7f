"""Helpers shared by the tests: settings, GraphQL execution, small factories."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from tortoise import Tortoise

from api.context import Context, Role
from api.schema import build_schema
from loyalty import db, members, orders
from loyalty.programme.earning import LineInput
from loyalty.settings import DEFAULT_DATABASE_URL, Secret, Settings

SCHEMA = build_schema()
# Long enough for production mode, which refuses keys under 32 bytes.
ADMIN_KEY = "test-admin-key-of-thirty-two-bytes"
STOREFRONT_KEY = "test-storefront-key-of-thirty-two-bytes"
WEBHOOK_SECRET = "test-webhook-secret-of-thirty-two-bytes"
EVENTS_SECRET = "test-events-secret-of-thirty-two-bytes"


def model_tables() -> list[str]:
    """The table of every model of the open database, so a new one cannot be forgotten."""
    return sorted(model._meta.db_table for model in Tortoise.apps["models"].values())


async def empty_tables() -> None:
    """Empty every model table of the open PostgreSQL database and restart its ids."""
    tables = ", ".join(f'"{table}"' for table in model_tables())
    await db.connection().execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


SIGNING_SECRET = "test-signing-secret-of-enough-length"


def make_settings(url: str, **overrides: Any) -> Settings:
    settings = Settings(
        database_url=url,
        admin_key=Secret(ADMIN_KEY),
        storefront_key=Secret(STOREFRONT_KEY),
        secret=Secret(SIGNING_SECRET),
        webhook_secret=Secret(WEBHOOK_SECRET),
        events_secret=Secret(EVENTS_SECRET),
    )
    return replace(settings, **overrides)


async def gql(
    settings: Settings,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    role: Role = Role.ADMIN,
    member_id: int | None = None,
) -> dict[str, Any]:
    """Execute against the schema directly; fails on GraphQL errors, returns data."""
    result = await SCHEMA.execute(
        query, variable_values=variables, context_value=Context(settings, role, member_id)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def gql_errors(
    settings: Settings,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    role: Role = Role.ADMIN,
    member_id: int | None = None,
) -> list[str]:
    """Execute and return the GraphQL error messages (expected to be some)."""
    result = await SCHEMA.execute(
        query, variable_values=variables, context_value=Context(settings, role, member_id)
    )
    assert result.errors, "expected GraphQL errors"
    return [e.message for e in result.errors]


ENROL_SETTINGS = make_settings(DEFAULT_DATABASE_URL)
"""The programme's defaults, for tests whose members need no settings of their own."""


async def enroll(
    external_id: str = "cust-1", email: str | None = None, settings: Settings | None = None
) -> Any:
    return await members.enroll(
        members.EnrollInput(external_id=external_id, email=email or f"{external_id}@example.com"),
        settings or ENROL_SETTINGS,
    )


def lines(*items: tuple[str, int, str]) -> list[LineInput]:
    return [LineInput(sku, qty, Decimal(price)) for sku, qty, price in items]


async def order(
    settings: Settings,
    external_id: str,
    member_external_id: str = "cust-1",
    amount: str = "100.00",
    **kwargs: Any,
) -> orders.OrderResult:
    """Record a one-line order worth ``amount``."""
    return await orders.record_order(
        settings,
        orders.OrderInput(
            external_id=external_id,
            member_external_id=member_external_id,
            lines=lines(("SKU-1", 1, amount)),
            **kwargs,
        ),
    )
