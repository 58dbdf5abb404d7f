"""The limiters that slow down coupon guessing and callers without a key."""

import pytest

from loyalty.errors import InvalidInput
from loyalty.ops import guessing
from loyalty.ops.ratelimit import FailureLimiter, RequestLimiter


def test_blocks_after_the_limit_and_recovers_after_the_window():
    now = [0.0]
    limiter = FailureLimiter(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("shop")
        limiter.fail("shop")

    assert limiter.blocked("shop") and not limiter.blocked("other")
    now[0] = 61.0
    assert not limiter.blocked("shop")


def test_failure_limiter_forgets_callers_whose_failures_left_the_window():
    now = [0.0]
    limiter = FailureLimiter(limit=3, window=60, clock=lambda: now[0])
    for i in range(1000):
        limiter.fail(f"gone-{i}")
    now[0] = 61.0
    for i in range(1100):
        limiter.fail(f"new-{i}")

    assert not any(key.startswith("gone-") for key in limiter._failures)
    assert len(limiter._failures) == 1100


def test_request_limiter_allows_a_burst_then_one_request_per_refill():
    now = [0.0]
    limiter = RequestLimiter(per_minute=6, clock=lambda: now[0])  # one token every 10 s

    burst = [limiter.take("a") for _ in range(6)]
    over = limiter.take("a")
    other = limiter.take("b")
    now[0] = 4.0
    still_over = limiter.take("a")
    now[0] = 10.0
    again = limiter.take("a")

    assert burst == [0.0] * 6
    assert over == pytest.approx(10.0) and still_over == pytest.approx(6.0)
    assert other == 0.0 and again == 0.0
    assert limiter.take("a") == pytest.approx(10.0)


def test_request_limiter_forgets_callers_whose_bucket_filled_up_again():
    now = [0.0]
    limiter = RequestLimiter(per_minute=60, clock=lambda: now[0])
    for i in range(1000):
        limiter.take(f"gone-{i}")
    now[0] = 2.0
    for i in range(1100):
        limiter.take(f"new-{i}")

    assert not any(key.startswith("gone-") for key in limiter._buckets)
    assert limiter.take("gone-1") == 0.0


def test_a_request_limit_below_one_a_minute_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        RequestLimiter(per_minute=0)


def test_failures_count_for_the_member_else_the_shopper_else_the_address():
    member = guessing.shopper("storefront", 7, "session-1", "203.0.113.7")
    shopper = guessing.shopper("storefront", None, "session-1", "203.0.113.7")
    address = guessing.shopper("storefront", None, None, "203.0.113.7")
    admin = guessing.shopper("admin", None, "session-1", "203.0.113.7")

    assert member == "storefront/member:7"
    assert shopper == "storefront/shopper:session-1"
    assert address == "storefront/address:203.0.113.7"
    assert len({member, shopper, address, admin}) == 4
    with pytest.raises(InvalidInput, match="shopperId"):
        guessing.shopper("storefront", None, "", "203.0.113.7")
