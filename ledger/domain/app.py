"""The App aggregate: env head, release numbering, active release, promotion in flight."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.automation import Automation
from ledger.domain.base import LedgerEvent, Meta
from ledger.domain.secrecy import SecretValues
from ledger.errors import Conflict, FailedPrecondition, NotFound
from ledger.ids import aggregate_id, check_app_name


def env_diff(
    old: Mapping[str, str], new: Mapping[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """The keys added, changed and removed from ``old`` to ``new``, each sorted."""
    added = sorted(key for key in new if key not in old)
    changed = sorted(k for k, v in new.items() if k in old and old[k] != v)
    removed = sorted(key for key in old if key not in new)
    return added, changed, removed


class EnvReason(StrEnum):
    """Why the env head changed: a person's edit, or a release made active."""

    SET = "set"  # set, unset or replace by a person
    PROMOTE = "promote"  # the head follows the env of the release a promotion made active


class App(Automation, Aggregate):
    """A named deployable.

    Holds only what its invariants need: the current environment and its version,
    the release counter (versions are never reused), the active release and the one
    promotion allowed in flight. Releases, builds and promotions are aggregates of
    their own so that an app with 10,000 releases stays small to load.
    """

    TOPIC = "ledger:App"

    # Class-level defaults: snapshots taken before these existed still load.
    deadline_seconds = 0
    queued: Sequence[str] = ()  # a list once set: snapshots store JSON arrays

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:AppCreated"

    class EnvChanged(LedgerEvent):
        """A new env version. ``values`` holds the new values of added and changed keys;
        ``reason`` says whether a person edited it or a promotion made it follow a release."""

        TOPIC = "ledger:EnvChanged"
        class_version = 2
        env_version: int
        values: SecretValues
        added: list[str]
        changed: list[str]
        removed: list[str]
        description: str
        reason: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Before v2 only people changed the env.
            state["reason"] = EnvReason.SET.value

        def apply(self, aggregate: Any) -> None:
            env = dict(aggregate.env)
            for key in self.removed:
                env.pop(key, None)
            env.update(self.values)
            aggregate.env = env
            aggregate.env_version = self.env_version

    class ReleaseRegistered(LedgerEvent):
        TOPIC = "ledger:ReleaseRegistered"
        release_id: str
        release_version: int

        def apply(self, aggregate: Any) -> None:
            aggregate.release_count = self.release_version
            aggregate.latest_release_id = self.release_id

    class DeadlineChanged(LedgerEvent):
        """The app's promotion deadline (0: the server's default)."""

        TOPIC = "ledger:AppDeadlineChanged"
        deadline_seconds: int

        def apply(self, aggregate: Any) -> None:
            aggregate.deadline_seconds = self.deadline_seconds

    class PromotionQueued(LedgerEvent):
        """A promotion waits behind the one in flight; it begins when that one settles."""

        TOPIC = "ledger:PromotionQueued"
        promotion_id: str
        release_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.queued = [*aggregate.queued, self.promotion_id]

    class PromotionBegun(LedgerEvent):
        TOPIC = "ledger:PromotionBegun"
        promotion_id: str
        release_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.promotion_id = self.promotion_id
            aggregate.queued = [p for p in aggregate.queued if p != self.promotion_id]

    class ReleaseActivated(LedgerEvent):
        TOPIC = "ledger:ReleaseActivated"
        release_id: str
        previous_release_id: str
        promotion_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.active_release_id = self.release_id

    class PromotionSettled(LedgerEvent):
        TOPIC = "ledger:PromotionSettled"
        promotion_id: str
        status: str

        def apply(self, aggregate: Any) -> None:
            if aggregate.promotion_id == self.promotion_id:
                aggregate.promotion_id = ""
            aggregate.queued = [p for p in aggregate.queued if p != self.promotion_id]

    @event(Created)
    def __init__(self, app: str, actor: str, request_id: str) -> None:
        self.name = app
        self.env: dict[str, str] = {}
        self.env_version = 0
        self.release_count = 0
        self.latest_release_id = ""
        self.active_release_id = ""
        self.promotion_id = ""

    @staticmethod
    def create_id(app: str, actor: str = "", request_id: str = "") -> Any:
        return aggregate_id("app", app)

    @classmethod
    def create(cls, name: str, meta: Meta) -> App:
        check_app_name(name)
        return cls(app=name, actor=meta.actor, request_id=meta.request_id)

    # -- environment ------------------------------------------------------------

    def change_env(
        self,
        meta: Meta,
        *,
        set_values: dict[str, str],
        unset: list[str],
        replace: bool,
        expected_version: int | None,
        description: str,
    ) -> App.EnvChanged | None:
        """A person's edit of the env head; None (nothing recorded) when nothing changes."""
        if expected_version is not None and expected_version != self.env_version:
            raise Conflict(
                f"env of {self.name} is at version {self.env_version}, "
                f"not {expected_version}: re-read it and try again"
            )
        env = self.env_after(set_values=set_values, unset=unset, replace=replace)
        return self._record_env(meta, env, EnvReason.SET, description)

    def env_after(
        self, *, set_values: Mapping[str, str], unset: Sequence[str], replace: bool
    ) -> dict[str, str]:
        """The env head an edit would make (nothing recorded): what a preview shows is
        what applying records. NOT_FOUND for a key to unset that is not set."""
        missing = sorted(key for key in unset if key not in self.env)
        if missing:
            raise NotFound(f"{', '.join(missing)} not set in the env of {self.name}")
        env = {} if replace else {k: v for k, v in self.env.items() if k not in unset}
        env.update(set_values)
        return env

    def follow_env(
        self, meta: Meta, env: Mapping[str, str], description: str
    ) -> App.EnvChanged | None:
        """Make ``env`` (the env of the release made active) the head; None when it is."""
        return self._record_env(meta, dict(env), EnvReason.PROMOTE, description)

    def _record_env(
        self, meta: Meta, env: dict[str, str], reason: EnvReason, description: str
    ) -> App.EnvChanged | None:
        """Record the head becoming ``env``: the keys added, changed and removed, and the
        values of the added and changed ones."""
        added, changed, removed = env_diff(self.env, env)
        if not (added or changed or removed):
            return None
        self.trigger_event(
            self.EnvChanged,
            app=self.name,
            actor=meta.actor,
            request_id=meta.request_id,
            env_version=self.env_version + 1,
            values={key: env[key] for key in added + changed},
            added=added,
            changed=changed,
            removed=removed,
            description=description,
            reason=reason.value,
        )
        changed_event: App.EnvChanged = self.pending_events[-1]  # type: ignore[assignment]
        return changed_event

    # -- releases ---------------------------------------------------------------

    def next_release_version(self) -> int:
        return self.release_count + 1

    def register_release(self, meta: Meta, release_id: str, release_version: int) -> None:
        if release_version != self.release_count + 1:
            raise Conflict(f"release v{release_version} of {self.name} is taken")
        self.trigger_event(
            self.ReleaseRegistered,
            app=self.name,
            actor=meta.actor,
            request_id=meta.request_id,
            release_id=release_id,
            release_version=release_version,
        )

    # -- settings ---------------------------------------------------------------

    def change_deadline(self, meta: Meta, seconds: int) -> bool:
        """Set the promotion deadline; False (nothing recorded) when it is unchanged."""
        if seconds < 0:
            raise FailedPrecondition("a deadline is a number of seconds, 0 for the default")
        if seconds == self.deadline_seconds:
            return False
        self.trigger_event(
            self.DeadlineChanged,
            app=self.name,
            actor=meta.actor,
            request_id=meta.request_id,
            deadline_seconds=seconds,
        )
        return True

    # -- promotions -------------------------------------------------------------

    def queue_promotion(self, meta: Meta, promotion_id: str, release_id: str) -> None:
        """Queue behind the promotion in flight (there must be one)."""
        if not self.promotion_id:
            raise FailedPrecondition(f"{self.name} has no promotion in flight to queue behind")
        self.trigger_event(
            self.PromotionQueued,
            app=self.name,
            actor=meta.actor,
            request_id=meta.request_id,
            promotion_id=promotion_id,
            release_id=release_id,
        )

    @property
    def next_queued(self) -> str:
        """The promotion to begin once none is in flight ('' when the queue is empty)."""
        return self.queued[0] if self.queued and not self.promotion_id else ""

    def check_no_promotion(self) -> None:
        """The invariant: one promotion in flight at a time (others are refused or queued)."""
        if self.promotion_id:
            raise FailedPrecondition(
                f"promotion {self.promotion_id} of {self.name} is in flight: "
                "wait for it to end or cancel it"
            )

    def begin_promotion(self, meta: Meta, promotion_id: str, release_id: str) -> None:
        self.check_no_promotion()
        self.trigger_event(
            self.PromotionBegun,
            app=self.name,
            actor=meta.actor,
            request_id=meta.request_id,
            promotion_id=promotion_id,
            release_id=release_id,
        )

    def activate(self, meta: Meta, promotion_id: str, release_id: str) -> None:
        self._check_in_flight(promotion_id)
        self.trigger_event(
            self.ReleaseActivated,
            app=self.name,
            actor=meta.actor,
            request_id=meta.request_id,
            release_id=release_id,
            previous_release_id=self.active_release_id,
            promotion_id=promotion_id,
        )

    def settle_promotion(self, meta: Meta, promotion_id: str, status: str) -> None:
        """The promotion in flight (or a queued one, when cancelled) ended."""
        if promotion_id not in self.queued:
            self._check_in_flight(promotion_id)
        self.trigger_event(
            self.PromotionSettled,
            app=self.name,
            actor=meta.actor,
            request_id=meta.request_id,
            promotion_id=promotion_id,
            status=status,
        )

    def _check_in_flight(self, promotion_id: str) -> None:
        if self.promotion_id != promotion_id:
            raise FailedPrecondition(f"promotion {promotion_id} is not in flight")
