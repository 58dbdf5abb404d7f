"""How a body is signed: base64(HMAC-SHA256(raw body, key)), for the webhooks that come in (the
shop's order webhooks, Shopify's and WooCommerce's deliveries) and for the events sent out,
each with its own key."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(body, secret))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(body: bytes, *, secret: str, signature: str | None) -> bool:
    """Whether ``signature`` is this body's signature under ``secret``, compared in constant
    time; never with an empty key or signature. Both are named at the call: two strings that
    trade places would check the key against the signature."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), signature.strip().encode())
