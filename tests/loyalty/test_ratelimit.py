"""The failure limiter that slows down coupon guessing."""

from loyalty.ratelimit import FailureLimiter


def test_blocks_after_the_limit_and_recovers_after_the_window():
    now = [0.0]
    limiter = FailureLimiter(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("shop")
        limiter.fail("shop")

    assert limiter.blocked("shop") and not limiter.blocked("other")
    now[0] = 61.0
    assert not limiter.blocked("shop")
