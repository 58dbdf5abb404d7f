"""One settings object, read from ``LOYALTY_*`` environment variables.

With no settings at all the service runs on a SQLite file in the working directory and keeps
generated keys in a local file (``.loyalty-secrets.json``, readable by its owner only) so
restarts keep them. In production mode every key must be at least ``MIN_KEY_BYTES`` long and
no placeholder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
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

    def fingerprint(self) -> str:
        """A short digest that tells keys apart without showing them."""
        return "sha256:" + hashlib.sha256(self._value.encode()).hexdigest()[:12]


SECRETS_FILE = ".loyalty-secrets.json"
DEFAULT_DATABASE_URL = "sqlite://loyalty.sqlite3"
KEYS = ("admin_key", "storefront_key", "secret", "webhook_secret", "events_secret")
"""Every key; missing ones are generated into the secrets file."""
API_KEYS = ("admin_key", "storefront_key", "secret", "webhook_secret")
"""The keys the API itself needs (outgoing events are signed by the batch commands)."""
MIN_KEY_BYTES = 32
PLACEHOLDER = "change-me"


def variable(name: str) -> str:
    """The environment variable of a setting: ``admin_key`` is ``LOYALTY_ADMIN_KEY``."""
    return "LOYALTY_" + name.upper()


@dataclass(frozen=True)
class Settings:
    """Everything the service and the jobs are configured with."""

    database_url: str = DEFAULT_DATABASE_URL
    admin_key: Secret = field(default_factory=lambda: Secret(""))
    storefront_key: Secret = field(default_factory=lambda: Secret(""))
    secret: Secret = field(default_factory=lambda: Secret(""))
    webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    events_secret: Secret = field(default_factory=lambda: Secret(""))
    # Optional: the key Shopify signs its webhooks with; unset, /webhooks/shopify is a 404.
    shopify_secret: Secret = field(default_factory=lambda: Secret(""))
    # Optional: the value of the header BigCommerce's hooks are created with; unset,
    # /webhooks/bigcommerce is a 404. The store hash and API token fetch what a callback names.
    bigcommerce_secret: Secret = field(default_factory=lambda: Secret(""))
    bigcommerce_store_hash: str = ""
    bigcommerce_access_token: Secret = field(default_factory=lambda: Secret(""))
    # Optional: the secret of a shop's WooCommerce webhooks; unset, /webhooks/woocommerce is 404.
    woocommerce_secret: Secret = field(default_factory=lambda: Secret(""))
    # Optional, for ``loyalty sync shopify``: the shop's domain and an Admin API access token.
    shopify_shop: str = ""
    shopify_access_token: Secret = field(default_factory=lambda: Secret(""))
    shopify_api_version: str = "2026-07"
    # Optional, for ``loyalty sync woocommerce``: the site's URL and a REST API key pair.
    woocommerce_url: str = ""
    woocommerce_consumer_key: str = ""
    woocommerce_consumer_secret: Secret = field(default_factory=lambda: Secret(""))
    program_name: str = "Loyalty"
    points_name: str = "points"
    currency: str = "USD"
    points_per_unit: Decimal = Decimal(1)
    point_value: Decimal = Decimal("0.01")
    lot_expiry_days: int = 365
    pending_days: int = 0
    token_ttl_seconds: int = 3600
    # How stale a process's view of revoked member tokens may be (other processes' revocations;
    # the process that revokes sees its own at once).
    token_revocation_seconds: int = 5
    # Raw platform deliveries and delivered outgoing events older than this are deleted by
    # ``loyalty jobs run``; 0 keeps them.
    retention_days: int = 0
    reminder_days: int = 28
    inactivity_days: int = 0
    referral_welcome_points: int = 100
    referral_referrer_points: int = 200
    referral_min_order: Decimal = Decimal(20)
    referral_yearly_cap: int = 10
    referral_clawback_days: int = 30
    guest_claim_days: int = 30  # a guest order is claimable this long after it was placed; 0: off
    # An order line or redemption of an offered item this many days after the offer was first
    # shown counts as the offer's conversion.
    offer_attribution_days: int = 7
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

    def missing_secrets(self, names: Sequence[str] = KEYS) -> list[str]:
        return [name for name in names if not getattr(self, name)]

    def require_secrets(self, names: Sequence[str] = API_KEYS) -> None:
        """Fail loudly, naming each missing secret and, in production, each weak one."""
        missing = self.missing_secrets(names)
        if missing:
            listed = ", ".join(variable(name) for name in missing)
            raise ConfigError(f"missing required settings: {listed}")
        if self.production:
            weak = [
                problem
                for name in names
                if (problem := weak_key(variable(name), getattr(self, name).value))
            ]
            if weak:
                raise ConfigError("production mode refuses weak keys: " + "; ".join(weak))


def weak_key(variable_name: str, value: str) -> str | None:
    """Why a key is too weak for production, naming its variable; None when it will do."""
    if PLACEHOLDER in value.lower():
        return f"{variable_name} is a placeholder (contains {PLACEHOLDER!r})"
    size = len(value.encode())
    if size < MIN_KEY_BYTES:
        return f"{variable_name} is {size} bytes, at least {MIN_KEY_BYTES} are needed"
    return None


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
        events_secret=Secret(env.get("LOYALTY_EVENTS_SECRET", "")),
        shopify_secret=Secret(env.get("LOYALTY_SHOPIFY_SECRET", "")),
        **_bigcommerce(env),
        woocommerce_secret=Secret(env.get("LOYALTY_WOOCOMMERCE_SECRET", "")),
        **_shop_apis(env),
        program_name=env.get("LOYALTY_PROGRAM_NAME", "Loyalty"),
        points_name=env.get("LOYALTY_POINTS_NAME", "points"),
        currency=currency,
        points_per_unit=_decimal(env, "LOYALTY_POINTS_PER_UNIT", Decimal(1)),
        point_value=_decimal(env, "LOYALTY_POINT_VALUE", Decimal("0.01")),
        lot_expiry_days=_int(env, "LOYALTY_LOT_EXPIRY_DAYS", 365),
        pending_days=_int(env, "LOYALTY_PENDING_DAYS", 0),
        token_ttl_seconds=_int(env, "LOYALTY_TOKEN_TTL_SECONDS", 3600, minimum=1),
        token_revocation_seconds=_int(env, "LOYALTY_TOKEN_REVOCATION_SECONDS", 5),
        retention_days=_int(env, "LOYALTY_RETENTION_DAYS", 0),
        reminder_days=_int(env, "LOYALTY_REMINDER_DAYS", 28, minimum=1),
        inactivity_days=_int(env, "LOYALTY_INACTIVITY_DAYS", 0),
        referral_welcome_points=_int(env, "LOYALTY_REFERRAL_WELCOME_POINTS", 100),
        referral_referrer_points=_int(env, "LOYALTY_REFERRAL_REFERRER_POINTS", 200),
        referral_min_order=_decimal(env, "LOYALTY_REFERRAL_MIN_ORDER", Decimal(20)),
        referral_yearly_cap=_int(env, "LOYALTY_REFERRAL_YEARLY_CAP", 10),
        referral_clawback_days=_int(env, "LOYALTY_REFERRAL_CLAWBACK_DAYS", 30),
        guest_claim_days=_int(env, "LOYALTY_GUEST_CLAIM_DAYS", 30),
        offer_attribution_days=_int(env, "LOYALTY_OFFER_ATTRIBUTION_DAYS", 7, minimum=1),
        production=_bool(env, "LOYALTY_PRODUCTION", False),
        model_dir=env.get("LOYALTY_MODEL_DIR", "models_store"),
        db_pool_max=_int(env, "LOYALTY_DB_POOL_MAX", 10, minimum=1),
        public_rate_limit=_int(env, "LOYALTY_PUBLIC_RATE_LIMIT", 120),
    )


def _bigcommerce(env: Mapping[str, str]) -> dict[str, Any]:
    """BigCommerce's settings: the store hash and the token come together, and a webhook
    secret needs both (a callback names an order; the order is fetched with them)."""
    secret = env.get("LOYALTY_BIGCOMMERCE_SECRET", "")
    store_hash = env.get("LOYALTY_BIGCOMMERCE_STORE_HASH", "").strip()
    token = env.get("LOYALTY_BIGCOMMERCE_ACCESS_TOKEN", "")
    if store_hash and not (store_hash.isascii() and store_hash.isalnum()):
        raise ConfigError(
            f"LOYALTY_BIGCOMMERCE_STORE_HASH must be letters and digits, got {store_hash!r}"
        )
    given = {
        "LOYALTY_BIGCOMMERCE_STORE_HASH": store_hash,
        "LOYALTY_BIGCOMMERCE_ACCESS_TOKEN": token,
    }
    missing = [name for name, value in given.items() if not value]
    if missing and (secret or len(missing) == 1):
        raise ConfigError(
            f"missing required settings: {', '.join(missing)} (BigCommerce needs the store hash "
            "and the access token together, and LOYALTY_BIGCOMMERCE_SECRET needs both)"
        )
    return {
        "bigcommerce_secret": Secret(secret),
        "bigcommerce_store_hash": store_hash,
        "bigcommerce_access_token": Secret(token),
    }


def _shop_apis(env: Mapping[str, str]) -> dict[str, Any]:
    """The REST API credentials ``loyalty sync shopify|woocommerce`` reads with; each
    platform's come together or not at all."""
    shop = env.get("LOYALTY_SHOPIFY_SHOP", "").strip().lower()
    version = env.get("LOYALTY_SHOPIFY_API_VERSION", "2026-07").strip()
    site = env.get("LOYALTY_WOOCOMMERCE_URL", "").strip().rstrip("/")
    if shop and not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.myshopify\.com", shop):
        raise ConfigError(f"LOYALTY_SHOPIFY_SHOP must be <name>.myshopify.com, got {shop!r}")
    if not re.fullmatch(r"\d{4}-\d{2}|unstable", version):
        raise ConfigError(f"LOYALTY_SHOPIFY_API_VERSION must look like 2026-07, got {version!r}")
    if site and not re.fullmatch(r"https://[^\s/?#]+(/[^\s?#]*)?", site):
        raise ConfigError(
            "LOYALTY_WOOCOMMERCE_URL must be the site's https:// URL (the key pair goes in "
            f"a Basic auth header), got {site!r}"
        )
    groups = {
        "Shopify": ("LOYALTY_SHOPIFY_SHOP", "LOYALTY_SHOPIFY_ACCESS_TOKEN"),
        "WooCommerce": (
            "LOYALTY_WOOCOMMERCE_URL",
            "LOYALTY_WOOCOMMERCE_CONSUMER_KEY",
            "LOYALTY_WOOCOMMERCE_CONSUMER_SECRET",
        ),
    }
    for platform, names in groups.items():
        missing = [name for name in names if not env.get(name, "").strip()]
        if missing and len(missing) < len(names):
            raise ConfigError(
                f"missing required settings: {', '.join(missing)} ({platform}'s API "
                "credentials come together)"
            )
    return {
        "shopify_shop": shop,
        "shopify_access_token": Secret(env.get("LOYALTY_SHOPIFY_ACCESS_TOKEN", "")),
        "shopify_api_version": version,
        "woocommerce_url": site,
        "woocommerce_consumer_key": env.get("LOYALTY_WOOCOMMERCE_CONSUMER_KEY", "").strip(),
        "woocommerce_consumer_secret": Secret(env.get("LOYALTY_WOOCOMMERCE_CONSUMER_SECRET", "")),
    }


def with_local_secrets(settings: Settings, path: Path | None = None) -> tuple[Settings, list[str]]:
    """Fill missing secrets from (or into) the local secrets file; the names generated now.

    The file is created readable by its owner only; an existing one that other users may read
    or write is refused, because whoever reads it holds the admin key.
    """
    path = path or Path(SECRETS_FILE)
    stored = _read_private(path)
    generated = [name for name in KEYS if not stored.get(name)]
    for name in generated:
        stored[name] = secrets.token_urlsafe(32)
    if generated:
        _write_private(path, json.dumps(stored, indent=2) + "\n")
    fill = {name: stored[name] for name in settings.missing_secrets()}
    return settings.with_secrets(**fill), generated


def _read_private(path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & 0o077:
        raise ConfigError(
            f"{path} holds keys but other users may read or write it "
            f"(mode {mode & 0o777:o}); run: chmod 600 {path}"
        )
    try:
        stored = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{path} is not a JSON object of keys: {exc}") from exc
    if not isinstance(stored, dict):
        raise ConfigError(f"{path} is not a JSON object of keys")
    return {str(name): str(value) for name, value in stored.items()}


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only from the first byte, then swap it in."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(temporary, path)
