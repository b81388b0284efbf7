"""The delivery worker: one thread per notification target, sending its events in log
order, each until delivered or given up, then the next.

A target's thread reads the audit timeline (the ``events`` view, secrets already
digested) after the target's position, picks the events its patterns and app select,
and POSTs each, signed, retrying with :mod:`server.notify.backoff` until a 2xx answer or
until ``give_up_seconds`` since its first recorded attempt have passed (then it is recorded
failed and the target moves on). Every attempt is recorded, and the position advanced
after each event, in the views' database: a ``ledgerd`` killed at any moment resumes
from the first event not yet delivered (sent again at worst, with the same delivery id).

A slow or dead receiver holds up only its own target's thread: writers never wait for
a delivery, and other targets have threads of their own. With several ``ledgerd`` on one
PostgreSQL ledger, a target's thread first takes the target's claim (an advisory lock,
:mod:`server.infra.claims`), so only one process delivers to it at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from ledger.notifications.names import dotted, matches
from ledger.notifications.ports import DeliveryLog
from ledger.notifications.views import DeliveryStatus, TargetView
from ledger.promoter import Claims
from ledger.views import EventView
from server.notify import backoff, payloads
from server.notify.http import TIMEOUT_SECONDS, Answer, post
from server.notify.signing import SIGNATURE_HEADER, signature

log = logging.getLogger(__name__)

BATCH = 200  # events read at a time after a target's position
IDLE_SECONDS = 1.0  # an idle target looks again at least this often (events projected
# by another ledgerd wake no one here); a batch this process projects wakes it at once
SCAN_SECONDS = 0.5  # how often the targets are listed (created and deleted ones)
CLAIM_RETRY_SECONDS = 5.0  # another ledgerd delivers to the target: try again after this
ERROR_PAUSE_SECONDS = 2.0  # the database failed: pause, then resume from the stored position
Post = Callable[[str, bytes, dict[str, str], float], Answer]


class EventSource(Protocol):
    """The audit timeline, oldest first (the read model's ``list_events``)."""

    def list_events(self, *, after_position: int = 0, limit: int = 100) -> list[EventView]: ...


class Secrets(Protocol):
    """Where a target's signing secret is read (its aggregate, never a view)."""

    def secret(self, target_id: str) -> str: ...


class Wakeup:
    """The newest position the projections reached, for idle senders to wait on."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._position = 0

    @property
    def position(self) -> int:
        return self._position

    def saw(self, position: int) -> None:
        """The projection worker's position listener: a batch up to ``position``."""
        with self._changed:
            self._position = max(self._position, position)
            self._changed.notify_all()

    def kick(self) -> None:
        """Wake every waiter (one of them is being stopped)."""
        with self._changed:
            self._changed.notify_all()

    def wait_past(self, position: int, timeout: float, stopped: threading.Event) -> None:
        """Until the projections pass ``position``, ``stopped`` is set, or ``timeout``."""
        with self._changed:
            self._changed.wait_for(lambda: self._position > position or stopped.is_set(), timeout)


class Notifier:
    """Starts, and stops, one :class:`TargetSender` per live target."""

    def __init__(
        self,
        records: DeliveryLog,
        events: EventSource,
        lookup: payloads.Lookup,
        secrets: Secrets,
        claims: Claims,
        *,
        give_up_seconds: float,
        user_agent: str,
        send: Post = post,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.records = records
        self.events = events
        self.lookup = lookup
        self.secrets = secrets
        self.claims = claims
        self.give_up_seconds = give_up_seconds
        self.user_agent = user_agent
        self.send = send
        self.timeout = timeout
        self.wakeup = Wakeup()
        self._senders: dict[str, TargetSender] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        for sender in self._senders.values():
            sender.stop()
        self.wakeup.kick()
        for sender in self._senders.values():
            sender.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        failing = False  # one line when the database fails, one when it is back
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception as error:  # the views' database is down: try at the next scan
                if not failing:
                    log.warning("notifications: cannot list the targets: %s", error)
                failing = True
            else:
                if failing:
                    log.info("notifications: the targets can be listed again")
                failing = False
            self._stop.wait(SCAN_SECONDS)

    def scan(self) -> None:
        """Start a sender for each live target without one; stop those of deleted ones."""
        live = {target.id: target for target in self.records.notification_targets()}
        for target_id, sender in list(self._senders.items()):
            if target_id not in live or not sender.is_alive():
                sender.stop()
                self.wakeup.kick()
                del self._senders[target_id]
        for target_id, target in live.items():
            if target_id not in self._senders:
                sender = TargetSender(self, target, self.secrets.secret(target_id))
                self._senders[target_id] = sender
                sender.start()


class TargetSender(threading.Thread):
    """Delivers one target's events, in log order (see the module docstring)."""

    def __init__(self, notifier: Notifier, target: TargetView, secret: str) -> None:
        super().__init__(name=f"notify-{target.id}", daemon=True)
        self.notifier = notifier
        self.target = target
        self.secret = secret
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        paused = False  # said once per failure, not at every try
        while not self._stopped.is_set():
            try:
                with self.notifier.claims.claim(f"notification:{self.target.id}") as mine:
                    if mine:
                        self._deliver_all()
                        return
                self._stopped.wait(CLAIM_RETRY_SECONDS)
            except Exception as error:  # the database: resume from the stored position
                if not paused:
                    log.warning("notifications: target %s paused: %s", self.target.id, error)
                paused = True
                self._stopped.wait(ERROR_PAUSE_SECONDS)

    def _deliver_all(self) -> None:
        records = self.notifier.records
        current = records.notification_target(self.target.id)
        position = current.position if current is not None else self.target.position
        wakeup = self.notifier.wakeup
        while not self._stopped.is_set():
            projected = wakeup.position  # the query below sees at least this far
            batch = self.notifier.events.list_events(after_position=position, limit=BATCH)
            if not batch:
                wakeup.wait_past(projected, IDLE_SECONDS, self._stopped)
                continue
            for entry in batch:
                name = dotted(entry.type)
                if self._wanted(entry, name) and not self._deliver(entry, name):
                    return  # stopped before it was delivered or given up
                position = entry.position
            records.advance(self.target.id, position)

    def _wanted(self, entry: EventView, name: str) -> bool:
        if self.target.app and entry.app != self.target.app:
            return False
        return matches(self.target.events, name)

    def _deliver(self, entry: EventView, name: str) -> bool:
        """Send until delivered or given up (True, and the position is advanced), or
        until stopped (False)."""
        notifier, target = self.notifier, self.target
        delivery = payloads.delivery_id(target.id, entry.position)
        body = payloads.body(entry, name, delivery, target.format, notifier.lookup)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": notifier.user_agent,
            "X-Ledger-Delivery": delivery,
            "X-Ledger-Event": name,
            SIGNATURE_HEADER: signature(self.secret, body),
        }
        # A delivery begun before a restart goes on where it was: its window and backoff
        # count from its first recorded attempt.
        earlier = notifier.records.notification_delivery(target.id, entry.position)
        started = earlier.first_attempt_at if earlier is not None else datetime.now(UTC)
        attempt = earlier.attempts if earlier is not None else 0
        while not self._stopped.is_set():
            attempt += 1
            answer = notifier.send(target.url, body, headers, notifier.timeout)
            wait = backoff.delay(attempt)
            elapsed = (datetime.now(UTC) - started).total_seconds()
            if answer.delivered:
                status = DeliveryStatus.DELIVERED
            elif elapsed + wait > notifier.give_up_seconds:
                status = DeliveryStatus.FAILED
            else:
                status = DeliveryStatus.RETRYING
            self._record(entry, delivery, name, status, answer)
            if status is not DeliveryStatus.RETRYING:
                if status is DeliveryStatus.FAILED:
                    log.warning(
                        "notifications: gave up delivering %s (log position %d) to target %s "
                        "after %d attempts: %s",
                        name,
                        entry.position,
                        target.id,
                        attempt,
                        answer.error or answer.status,
                    )
                notifier.records.advance(target.id, entry.position)
                return True
            self._stopped.wait(wait)
        return False

    def _record(
        self, entry: EventView, delivery: str, name: str, status: str, answer: Answer
    ) -> None:
        self.notifier.records.record_attempt(
            self.target.id,
            entry.position,
            delivery,
            name,
            status,
            answer.status,
            answer.error,
            datetime.now(UTC),
        )
