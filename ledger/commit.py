"""Group commit: the changes of commands that arrive together are saved in ONE transaction.

Each command is decided on its own (its handler loads current state, checks invariants and
records events); only the save is shared. The first command to reach the save while none
is running becomes the *leader*: it takes every change queued so far (its own included)
and saves them together, so one commit (one fsync) serves the whole group, while the
commands that arrive meanwhile queue for the next group. Outcomes stay per command:

- A group that saves as a whole gives each command the positions of its own events.
- A group that conflicts (some command decided on state another process or command
  changed) is saved again one command at a time, so that each command gets its own
  result: saved, or its own conflict (then retried by the caller on fresh state, as
  without grouping). No command's events are lost or saved twice: the database's unique
  (aggregate, version) constraint decides.
- A group the database refuses for another reason (down, disk full) gives that error to
  every command of the group at once, rather than asking the database again per command.

Saves are serialised in the process (the databases serialise writers anyway), so the
aggregate cache and the followers of the log see groups in commit order. No lock is held
while a group is written; a group is written within the earliest time budget of its
commands (:mod:`ledger.budget`), so a database that does not answer makes no command of
the group wait past its own deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from ledger import budget

MAX_GROUP = 64
Save = Callable[[ProcessingEvent[UUID]], list[Recording[UUID]]]


@dataclass
class _Changes:
    """One command's aggregates and the events collected from them (collected once: a
    retried save of the group must not find them gone)."""

    aggregates: Sequence[Aggregate]
    events: list[Any] = field(default_factory=list)
    recordings: list[Recording[UUID]] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False
    deadline: float | None = field(default_factory=budget.deadline)

    def __post_init__(self) -> None:
        for aggregate in self.aggregates:
            self.events.extend(aggregate.collect_events())

    def add_to(self, processing: ProcessingEvent[UUID]) -> None:
        processing.events.extend(self.events)
        for aggregate in self.aggregates:
            processing.aggregates[aggregate.id] = aggregate


class GroupCommit:
    """Saves each command's changes, grouped with those of concurrent commands.

    ``save`` records one :class:`ProcessingEvent` in one transaction and returns its
    recordings (the application's own save, minus collecting the events).
    """

    def __init__(self, save: Save, max_group: int = MAX_GROUP) -> None:
        self._save = save
        self.max_group = max_group
        self._queued: list[_Changes] = []
        self._turn = threading.Condition()
        self._saving = False

    def commit(self, aggregates: Sequence[Aggregate]) -> list[Recording[UUID]]:
        """Save ``aggregates``' pending events atomically; their recordings, in order.

        Raises what saving them alone raised (``IntegrityError`` on a conflict).
        """
        changes = _Changes(aggregates)
        with self._turn:
            self._queued.append(changes)
            while self._saving and not changes.done:
                self._turn.wait()
            if not changes.done:
                self._saving = True
                group = self._queued[: self.max_group]
                del self._queued[: self.max_group]
        if not changes.done:
            try:
                with budget.until(_earliest(group)):
                    self._save_group(group)
            except BaseException as error:  # never leave a queued command waiting
                for unsaved in group:
                    if not unsaved.done:
                        unsaved.error, unsaved.done = error, True
            finally:
                with self._turn:
                    self._saving = False
                    self._turn.notify_all()
        if changes.error is not None:
            raise changes.error
        return changes.recordings

    def _save_group(self, group: list[_Changes]) -> None:
        if len(group) > 1:
            processing: ProcessingEvent[UUID] = ProcessingEvent()
            for changes in group:
                changes.add_to(processing)
            try:
                recordings = self._save(processing)
            except IntegrityError:
                pass  # some command conflicts: each gets its own result below
            except Exception as error:  # the database itself failed: so would each alone
                for changes in group:
                    changes.error, changes.done = error, True
                return
            else:
                _share(group, recordings)
                return
        for changes in group:
            self._save_alone(changes)

    def _save_alone(self, changes: _Changes) -> None:
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        changes.add_to(processing)
        try:
            changes.recordings = self._save(processing)
        except BaseException as error:
            changes.error = error
        changes.done = True


def _earliest(group: list[_Changes]) -> float | None:
    """The deadline of the group's most hurried command (None: no command has one)."""
    deadlines = [changes.deadline for changes in group if changes.deadline is not None]
    return min(deadlines) if deadlines else None


def _share(group: list[_Changes], recordings: list[Recording[UUID]]) -> None:
    """Give each command the recordings of its own events (events are distinct objects)."""
    owner = {id(event): changes for changes in group for event in changes.events}
    for recording in recordings:
        owner[id(recording.domain_event)].recordings.append(recording)
    for changes in group:
        changes.done = True
