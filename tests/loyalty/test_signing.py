"""Signing bodies: one rule for the webhooks coming in and the events going out."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from loyalty.events.signing import sign, verify

BODY = b'{"id":"o-1"}'
KEY = "a-key-of-thirty-two-bytes-or-more!"


def test_sign_is_base64_of_hmac_sha256_of_the_raw_body():
    expected = base64.b64encode(hmac.new(KEY.encode(), BODY, hashlib.sha256).digest()).decode()

    assert sign(BODY, KEY) == expected
    assert verify(BODY, secret=KEY, signature=expected)
    assert verify(BODY, secret=KEY, signature=f" {expected}\n")  # as a header may carry it


def test_verify_refuses_a_signature_with_characters_outside_ascii():
    assert not verify(BODY, secret=KEY, signature="é" + sign(BODY, KEY)[1:])


def test_verify_refuses_an_empty_key_even_with_its_signature():
    assert not verify(BODY, secret="", signature=sign(BODY, ""))


def test_verify_refuses_a_missing_or_wrong_signature():
    assert not verify(BODY, secret=KEY, signature=None)
    assert not verify(BODY, secret=KEY, signature="")
    assert not verify(BODY + b" ", secret=KEY, signature=sign(BODY, KEY))
    assert not verify(BODY, secret=KEY + "x", signature=sign(BODY, KEY))


def test_verify_takes_the_key_and_the_signature_by_name_only():
    # Two strings side by side: by position, a swap would check the key against the signature.
    with pytest.raises(TypeError):
        verify(BODY, KEY, sign(BODY, KEY))  # type: ignore[misc]
