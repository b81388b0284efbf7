"""The request rate limiter (a token bucket per key) and the limits' settings."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidArgument
from server.grpc.limits import RateLimiter
from server.infra.settings import MIN_MESSAGE_BYTES, Settings


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_may_make_a_burst_of_requests_then_waits_for_its_bucket_to_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=3, clock=clock)

    assert [limiter.wait("K1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait("K1") == pytest.approx(0.5)
    clock.now += 0.25
    assert limiter.wait("K1") == pytest.approx(0.25)
    clock.now += 0.25
    assert limiter.wait("K1") == 0.0


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10, burst=2, clock=clock)
    limiter.wait("K1")
    clock.now += 3600

    assert [limiter.wait("K1") > 0 for _ in range(3)] == [False, False, True]


def test_each_key_has_a_bucket_of_its_own() -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=Clock())

    assert limiter.wait("K1") == 0.0
    assert limiter.wait("K1") > 0
    assert limiter.wait("K2") == 0.0


def test_a_rate_of_zero_is_unlimited() -> None:
    limiter = RateLimiter(rate=0, burst=1, clock=Clock())

    assert limiter.unlimited
    assert all(limiter.wait("K1") == 0.0 for _ in range(10_000))


def test_the_buckets_kept_are_bounded_by_dropping_the_least_recently_seen() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock, max_buckets=2)
    limiter.wait("K1")
    limiter.wait("K2")
    limiter.wait("K1")  # K1 seen last: K2 goes first

    limiter.wait("K3")

    assert limiter.wait("K1") > 0  # still tracked: its bucket is empty
    assert limiter.wait("K2") == 0.0  # forgotten, so full again


def test_a_refusal_is_one_line_saying_when_to_retry() -> None:
    limiter = RateLimiter(rate=5, burst=10)

    message = limiter.refusal("key ci (K1)", 0.123)

    assert message == (
        "rate limit exceeded: key ci (K1) may make 5 requests per second (bursts of 10); "
        "retry in 0.13 s"
    )


def test_the_limits_default_to_4_mib_messages_and_1000_requests_per_second() -> None:
    settings = Settings.from_env({})

    assert settings.max_message_bytes == 4 * 1024 * 1024
    assert (settings.rate_limit, settings.rate_burst) == (1000, 2000)


def test_the_burst_defaults_to_twice_the_rate_and_zero_turns_the_rate_limit_off() -> None:
    assert Settings.from_env({"LEDGER_RATE_LIMIT": "10"}).rate_burst == 20
    assert Settings.from_env({"LEDGER_RATE_LIMIT": "10", "LEDGER_RATE_BURST": "3"}).rate_burst == 3
    assert Settings.from_env({"LEDGER_RATE_LIMIT": "0"}).rate_limit == 0


@pytest.mark.parametrize(
    "env",
    [
        {"LEDGER_RATE_LIMIT": "-1"},
        {"LEDGER_RATE_LIMIT": "fast"},
        {"LEDGER_RATE_BURST": "0"},
        {"LEDGER_MAX_MESSAGE_BYTES": str(MIN_MESSAGE_BYTES - 1)},
        {"LEDGER_MAX_MESSAGE_BYTES": "0"},
    ],
)
def test_limits_that_make_no_sense_are_refused_at_start(env: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument):
        Settings.from_env(env)
