"""When a failed delivery is tried again: exponential backoff, capped, with jitter.

The n-th retry waits between half and all of ``min(CAP, BASE * 2**(n-1))`` seconds: 1 s,
2 s, 4 s … up to 5 minutes, each drawn at random in its upper half so that the targets a
receiver's outage failed together do not all come back at the same instant.
"""

from __future__ import annotations

import random

BASE_SECONDS = 1.0
CAP_SECONDS = 300.0


def ceiling(attempt: int) -> float:
    """The longest wait after the ``attempt``-th failed attempt (1 for the first)."""
    exponent = min(max(attempt, 1) - 1, 32)
    return float(min(CAP_SECONDS, BASE_SECONDS * 2.0**exponent))


def delay(attempt: int, rng: random.Random | None = None) -> float:
    """The wait after the ``attempt``-th failed attempt: in [ceiling/2, ceiling]."""
    top = ceiling(attempt)
    return top / 2 + (rng or random).uniform(0, top / 2)
