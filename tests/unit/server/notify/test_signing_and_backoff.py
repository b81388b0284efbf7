"""Deliveries are signed as GitHub signs webhooks, and retried after growing waits."""

from __future__ import annotations

import random

from server.notify import backoff
from server.notify.payloads import delivery_id
from server.notify.signing import signature, verify

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_the_signature_is_github_s_for_its_published_test_vector() -> None:
    assert signature(GITHUB_SECRET, GITHUB_BODY) == GITHUB_SIGNATURE


def test_a_receiver_verifies_the_signature_and_refuses_another_body_or_secret() -> None:
    assert verify(GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE)
    assert not verify(GITHUB_SECRET, GITHUB_BODY + b" ", GITHUB_SIGNATURE)
    assert not verify("another secret", GITHUB_BODY, GITHUB_SIGNATURE)


def test_the_wait_doubles_from_one_second_up_to_five_minutes() -> None:
    ceilings = [backoff.ceiling(attempt) for attempt in range(1, 12)]
    assert ceilings == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff.ceiling(10_000) == backoff.CAP_SECONDS


def test_each_wait_is_drawn_in_the_upper_half_of_its_ceiling() -> None:
    rng = random.Random(7)
    for attempt in range(1, 15):
        waits = [backoff.delay(attempt, rng) for _ in range(200)]
        top = backoff.ceiling(attempt)
        assert all(top / 2 <= wait <= top for wait in waits)
        assert len(set(waits)) > 100  # jittered, not one value


def test_a_delivery_id_is_the_same_for_every_attempt_and_differs_by_target_and_event() -> None:
    assert delivery_id("NAAAAAAAAAA", 12) == delivery_id("NAAAAAAAAAA", 12)
    assert delivery_id("NAAAAAAAAAA", 12) != delivery_id("NAAAAAAAAAA", 13)
    assert delivery_id("NAAAAAAAAAA", 12) != delivery_id("NBBBBBBBBBB", 12)
