"""A command's time budget: every wait inside one command shares one deadline.

A command may wait several times: for its turn on its app, for the leader of its group
commit, and for each read and write the store makes (each of which the store may retry).
Bounding each wait on its own would let them add up; instead the command sets a deadline
when it starts (:func:`within`) and each wait asks what is left of it (:func:`remaining`).
An adapter that talks to a database (``server/infra``) bounds its waits the same way
without this layer knowing which database it is.

The deadline lives in a context variable, so it belongs to the thread (or task) running
the command; code running with no budget gets the default it asks with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("ledger_command_deadline", default=None)


def deadline() -> float | None:
    """The current deadline (``time.monotonic()`` clock), None outside any budget."""
    return _deadline.get()


def remaining(default: float) -> float:
    """Seconds left before the deadline, at most ``default`` (``default`` when there is no
    budget). Zero or less means the budget is spent: do not start another wait."""
    current = _deadline.get()
    if current is None:
        return default
    return min(default, current - time.monotonic())


def acquire(lock: threading.Lock) -> bool:
    """Take ``lock`` within what is left of the budget (blocking when there is none);
    False when the budget ran out first."""
    current = _deadline.get()
    if current is None:
        return lock.acquire()
    return lock.acquire(timeout=max(current - time.monotonic(), 0.0))


@contextmanager
def until(moment: float | None) -> Iterator[None]:
    """Run the block with the deadline ``moment`` (never later than one already set: a
    nested budget can only shorten the one around it). None leaves it as it is."""
    current = _deadline.get()
    if moment is None or (current is not None and current <= moment):
        yield
        return
    token = _deadline.set(moment)
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Run the block with ``seconds`` from now as its deadline (None: no budget)."""
    with until(None if seconds is None else time.monotonic() + seconds):
        yield
