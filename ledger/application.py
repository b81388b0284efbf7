"""The ledger application: handles commands on the event store, exactly once.

Built on ``eventsourcing.Application``: every command loads aggregates, lets them
check invariants and record events, and saves them in ONE transaction together with
a :class:`RequestRecord` when the caller gave a request id. A concurrent write makes
the save fail on the recorder's optimistic-concurrency check; the command is then
re-run on fresh state, so nothing is ever silently merged or lost.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.utils import Environment

from ledger import budget, idempotency
from ledger.commands import Outcome
from ledger.commit import GroupCommit
from ledger.domain import (
    App,
    Build,
    Job,
    Meta,
    Promotion,
    Rack,
    Release,
    Workflow,
)
from ledger.errors import Conflict, LedgerError, NotFound, Unavailable
from ledger.ids import BUILD, JOB, PROMOTION, RELEASE, check_app_name, check_id
from ledger.ownership import owned

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
SCOPE_LOCKS = 64
A = TypeVar("A", bound=Aggregate)
Owned = TypeVar("Owned", Build, Release, Promotion)


@dataclass(frozen=True)
class Decision:
    """What a command handler decided: its outcome, and the aggregates it changed.

    ``changed`` is saved in ONE transaction (possibly shared with other commands': see
    :mod:`ledger.commit`), in its order (an aggregate named twice is
    saved where it is first named); an aggregate with no new event is left out.
    """

    outcome: Outcome
    changed: tuple[Aggregate, ...] = ()


Handler = Callable[[], Decision]
Recorded = Callable[[Sequence[Recording[UUID]]], None]
"""Told what each save recorded (events with their log positions), in commit order."""


class LedgerApplication(Application[UUID]):
    """The event-sourced core: one totally ordered log for every app.

    Persistence (SQLite file, PostgreSQL, or in-memory for unit tests) is chosen by
    the ``env`` given by the composition root; this class knows no database.
    ``command_timeout`` (seconds, None: unbounded) is each command's time budget
    (:mod:`ledger.budget`): waiting for its turn on its app and for the store included.
    """

    name = "Ledger"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        snapshot_interval: int = 100,
        command_timeout: float | None = None,
    ):
        self.snapshotting_intervals = {  # type: ignore[misc]
            App: snapshot_interval,
            Promotion: snapshot_interval,
        }
        super().__init__(env=env)
        self._commits = GroupCommit(self._save_processing)
        self._scope_locks = [threading.Lock() for _ in range(SCOPE_LOCKS)]
        self.recorded: list[Recorded] = []
        self.command_timeout = command_timeout
        # Asked before every command; one that raises refuses it (e.g. while the stored
        # log no longer matches its Merkle tree: see server.infra.integrity).
        self.write_guards: list[Callable[[], None]] = []

    def _save_processing(self, processing: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Record collected events in one transaction: ``save`` without the collecting."""
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """Hand what was just committed to those who follow the log in this process (the
        projections), so that they need not read it back and decode it again.

        Called as each group commits, one group at a time, so in commit order. The events
        are committed already: a failing follower is logged and must read the log itself.
        """
        for follower in self.recorded:
            try:
                follower(recordings)
            except Exception:
                log.exception("a follower of the log failed; it will read the log instead")

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot the aggregates just saved from the copies in hand.

        The library would rebuild each from the store (the last snapshot plus up to an
        interval of events, decoded again) though the saved object is exactly that state.
        """
        if self.snapshots is None:
            return
        due: dict[UUID, Aggregate] = {}
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate else None
            if interval and event.originator_version % interval == 0:
                due[event.originator_id] = cast(Aggregate, aggregate)
        for aggregate in due.values():
            snapshot_class: Any = getattr(type(aggregate), "Snapshot", self.snapshot_class)
            try:
                self.snapshots.put([snapshot_class.take(aggregate)])
            except Exception as error:
                # The events are committed: the command succeeded. A snapshot only saves
                # replay work, and the next one is taken an interval later.
                log.warning("snapshot of %s not saved: %s", aggregate.id, type(error).__name__)

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Only the env given by the composition root: ``os.environ`` never leaks in.

        (The library would otherwise merge the whole process environment, where a
        stray ``POSTGRES_*`` or ``LEDGER_*`` variable could silently redirect the store.)
        """
        merged = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            merged["IS_SNAPSHOTTING_ENABLED"] = "y"
        merged.update(env or {})
        return Environment(name, merged)

    # -- executing commands ---------------------------------------------------

    def execute(
        self, operation: str, request: Any, meta: Meta, handler: Handler, scope: str = ""
    ) -> Outcome:
        """Run ``handler`` and save what it changed, exactly once per request id.

        ``handler`` loads what it needs and returns its :class:`Decision`: the outcome
        and the aggregates it changed. A retried request (same request id, same request)
        returns the original outcome, whole, and appends nothing: its request record is
        saved with the changes, so the duplicate's save fails and the original is found.
        The record is looked up only when the retry can show: the save failed, the
        handler refused (the original's change is in its way) or found nothing left to
        change (the original made it). The common path stays free of reads.
        The same request id for a different request is refused (FailedPrecondition).

        Commands with the same ``scope`` (an app name) run one at a time in this
        process: they would only conflict on the app's stream and retry each other
        into starvation. Conflicts with other processes are still retried.

        The whole command, waiting for its turn included, runs within ``command_timeout``.
        Each of ``write_guards`` may refuse the command first (by raising a LedgerError).
        """
        for guard in self.write_guards:
            guard()
        with budget.within(self.command_timeout):
            if not scope:
                return self._execute(operation, request, meta, handler)
            lock = self._scope_locks[hash(scope) % len(self._scope_locks)]
            if not budget.acquire(lock):
                raise Unavailable(
                    f"{operation}: the commands before this one on {scope[:40]} are still "
                    "waiting for the database: try again"
                )
            try:
                return self._execute(operation, request, meta, handler)
            finally:
                lock.release()

    def _execute(self, operation: str, request: Any, meta: Meta, handler: Handler) -> Outcome:
        # Only a request id needs one (it is what a retry is compared with).
        fingerprint = idempotency.fingerprint(operation, request) if meta.request_id else ""
        for attempt in range(MAX_ATTEMPTS):
            try:
                decision = handler()
            except LedgerError:
                # A retry may be refused by what the original did (the app exists now).
                previous = self._previous_outcome(meta.request_id, fingerprint)
                if previous is None:
                    raise
                return previous
            outcome, changed = decision.outcome, _with_events(decision.changed)
            if not changed:
                # A retry of an applied request usually finds nothing left to change: its
                # answer is the original's, not this no-op's (which lacks what was done).
                previous = self._previous_outcome(meta.request_id, fingerprint)
                if previous is not None:
                    return previous
                return replace(outcome, position=self.head())
            if meta.request_id:
                changed.append(idempotency.record(meta, outcome, operation, fingerprint))
            try:
                recordings = self._commits.commit(changed)
            except IntegrityError:
                previous = self._previous_outcome(meta.request_id, fingerprint)
                if previous is not None:
                    return previous
                self._forget(changed)
                time.sleep(0.002 * (attempt + 1))
                continue
            return replace(outcome, position=recordings[-1].notification.id)
        raise Conflict(f"{operation}: too many concurrent changes, try again")

    def _forget(self, aggregates: list[Aggregate]) -> None:
        """Drop cached copies that lost a race: the retry reads them from the store."""
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate in aggregates:
            with contextlib.suppress(KeyError):
                cache.get(aggregate.id, evict=True)

    def answered(self, operation: str, request: Any, meta: Meta) -> Outcome | None:
        """The original outcome of a request already applied (``meta.request_id``), or
        None; a request id used for a different request is refused (FailedPrecondition).

        For use cases that do work before :meth:`execute` whose result may differ on a
        retry (asking a runtime or a repository): a retry is answered before it.
        ``operation`` and ``request`` are what that use case gives :meth:`execute`.
        """
        if not meta.request_id:
            return None
        return self._previous_outcome(meta.request_id, idempotency.fingerprint(operation, request))

    def _previous_outcome(self, request_id: str, fingerprint: str) -> Outcome | None:
        previous = idempotency.original(self.repository, request_id, fingerprint)
        return None if previous is None else replace(previous, position=self.head())

    def head(self) -> int:
        """The position of the newest event in the log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    # -- loading aggregates ---------------------------------------------------

    def app(self, name: str) -> App:
        check_app_name(name)
        return cast(App, self._get(App, App.create_id(name), f"app {name} not found"))

    def release(self, app: str, release_id: str) -> Release:
        # Releases never change after creation: the cached object can be shared.
        return self._owned(Release, RELEASE, release_id, app, copy=False)

    def build(self, app: str, build_id: str) -> Build:
        return self._owned(Build, BUILD, build_id, app)

    def promotion(self, app: str, promotion_id: str) -> Promotion:
        return self._owned(Promotion, PROMOTION, promotion_id, app)

    def _owned(
        self, kind: type[Owned], prefix: str, public_id: str, app: str, copy: bool = True
    ) -> Owned:
        """The aggregate behind a public id, which must belong to ``app`` when given."""
        check_id(prefix, public_id)
        found = cast(Owned | None, self._get(kind, kind.create_id(public_id), "", copy))
        owner = found.app if found is not None else ""
        return owned(found, owner, kind.__name__.lower(), public_id, app)

    def workflow(self, name: str) -> Workflow:
        """A workflow, deleted ones included (callers check ``check_live`` when it matters)."""
        missing = f"workflow {name[:40]} not found"
        return cast(Workflow, self._get(Workflow, Workflow.create_id(name), missing))

    def job(self, job_id: str) -> Job:
        check_id(JOB, job_id)
        return cast(Job, self._get(Job, Job.create_id(job_id), f"job {job_id} not found"))

    def rack(self) -> Rack | None:
        return cast(Rack | None, self._get(Rack, Rack.create_id(), ""))

    def _get(self, kind: type[A], aggregate_id: Any, missing: str, copy: bool = True) -> Any:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            if missing:
                raise NotFound(missing) from None
            return None
        if not isinstance(aggregate, kind):
            raise NotFound(missing or "not found")
        return aggregate

    def exists(self, aggregate_id: Any) -> bool:
        return aggregate_id in self.repository


def _with_events(aggregates: tuple[Aggregate, ...]) -> list[Aggregate]:
    """Each aggregate once, in the order first named, if it has events to save."""
    unique = {id(aggregate): aggregate for aggregate in aggregates}
    return [aggregate for aggregate in unique.values() if aggregate.pending_events]
