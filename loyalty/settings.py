"""One settings object, read from ``LOYALTY_*`` environment variables.

With no settings at all the service runs on a SQLite file in the working directory and keeps
generated keys in a local file (``.loyalty-secrets.json``) so restarts keep them.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


class Secret:
    """A string that does not show itself in reprs or logs."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    @property
    def value(self) -> str:
        return self._value


SECRETS_FILE = ".loyalty-secrets.json"
DEFAULT_DATABASE_URL = "sqlite://loyalty.sqlite3"
_GENERATED = ("admin_key", "storefront_key", "secret", "webhook_secret")


@dataclass(frozen=True)
class Settings:
    """Everything the service and the jobs are configured with."""

    database_url: str = DEFAULT_DATABASE_URL
    admin_key: Secret = field(default_factory=lambda: Secret(""))
    storefront_key: Secret = field(default_factory=lambda: Secret(""))
    secret: Secret = field(default_factory=lambda: Secret(""))
    webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    program_name: str = "Loyalty"
    points_name: str = "points"
    currency: str = "USD"
    points_per_unit: Decimal = Decimal(1)
    point_value: Decimal = Decimal("0.01")
    lot_expiry_days: int = 365
    pending_days: int = 0
    token_ttl_seconds: int = 3600
    reminder_days: int = 28
    inactivity_days: int = 0
    referral_welcome_points: int = 100
    referral_referrer_points: int = 200
    referral_min_order: Decimal = Decimal(20)
    referral_yearly_cap: int = 10
    referral_clawback_days: int = 30
    production: bool = False
    model_dir: str = "models_store"
    db_pool_max: int = 10
    public_rate_limit: int = 120  # requests a minute per client address without a key; 0: off

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_secrets(self, **values: str) -> Settings:
        """A copy with the given secrets replaced."""
        secrets_by_name: dict[str, Any] = {k: Secret(v) for k, v in values.items()}
        return replace(self, **secrets_by_name)

    def missing_secrets(self) -> list[str]:
        return [name for name in _GENERATED if not getattr(self, name)]

    def require_secrets(self) -> None:
        """Fail loudly, naming each missing secret."""
        missing = self.missing_secrets()
        if missing:
            names = ", ".join("LOYALTY_" + name.upper() for name in missing)
            raise ConfigError(f"missing required settings: {names}")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _decimal(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0 or not value.is_finite():
        raise ConfigError(f"{name} must be a non-negative number, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (or the mapping given); secrets may stay empty."""
    env = os.environ if env is None else env
    url = env.get("LOYALTY_DATABASE_URL") or DEFAULT_DATABASE_URL
    if not url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
        raise ConfigError(
            f"LOYALTY_DATABASE_URL must start with sqlite:// or postgres://, got {url!r}"
        )
    currency = env.get("LOYALTY_CURRENCY", "USD").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError(f"LOYALTY_CURRENCY must be a 3-letter code, got {currency!r}")
    return Settings(
        database_url=url,
        admin_key=Secret(env.get("LOYALTY_ADMIN_KEY", "")),
        storefront_key=Secret(env.get("LOYALTY_STOREFRONT_KEY", "")),
        secret=Secret(env.get("LOYALTY_SECRET", "")),
        webhook_secret=Secret(env.get("LOYALTY_WEBHOOK_SECRET", "")),
        program_name=env.get("LOYALTY_PROGRAM_NAME", "Loyalty"),
        points_name=env.get("LOYALTY_POINTS_NAME", "points"),
        currency=currency,
        points_per_unit=_decimal(env, "LOYALTY_POINTS_PER_UNIT", Decimal(1)),
        point_value=_decimal(env, "LOYALTY_POINT_VALUE", Decimal("0.01")),
        lot_expiry_days=_int(env, "LOYALTY_LOT_EXPIRY_DAYS", 365),
        pending_days=_int(env, "LOYALTY_PENDING_DAYS", 0),
        token_ttl_seconds=_int(env, "LOYALTY_TOKEN_TTL_SECONDS", 3600, minimum=1),
        reminder_days=_int(env, "LOYALTY_REMINDER_DAYS", 28, minimum=1),
        inactivity_days=_int(env, "LOYALTY_INACTIVITY_DAYS", 0),
        referral_welcome_points=_int(env, "LOYALTY_REFERRAL_WELCOME_POINTS", 100),
        referral_referrer_points=_int(env, "LOYALTY_REFERRAL_REFERRER_POINTS", 200),
        referral_min_order=_decimal(env, "LOYALTY_REFERRAL_MIN_ORDER", Decimal(20)),
        referral_yearly_cap=_int(env, "LOYALTY_REFERRAL_YEARLY_CAP", 10),
        referral_clawback_days=_int(env, "LOYALTY_REFERRAL_CLAWBACK_DAYS", 30),
        production=_bool(env, "LOYALTY_PRODUCTION", False),
        model_dir=env.get("LOYALTY_MODEL_DIR", "models_store"),
        db_pool_max=_int(env, "LOYALTY_DB_POOL_MAX", 10, minimum=1),
        public_rate_limit=_int(env, "LOYALTY_PUBLIC_RATE_LIMIT", 120),
    )


def with_local_secrets(settings: Settings, path: Path | None = None) -> tuple[Settings, bool]:
    """Fill missing secrets from (or into) the local secrets file; True when generated now."""
    path = path or Path(SECRETS_FILE)
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    created = False
    for name in _GENERATED:
        if not stored.get(name):
            stored[name] = secrets.token_urlsafe(32)
            created = True
    if created:
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    fill = {name: stored[name] for name in settings.missing_secrets()}
    return settings.with_secrets(**fill), created
