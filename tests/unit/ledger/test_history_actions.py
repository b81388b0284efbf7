"""The audit timeline as user actions (ledger/queries/actions.py), on a scripted log.

The script is what the ledger records for eight actions of alice's (the events, actors,
request ids and data fields as ``ledgerd`` writes them): create an app, build and deploy,
change the env (which releases and promotes), deploy a second build, roll back, create
a key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.queries.actions import Action, actions
from ledger.queries.history import page_of
from ledger.views import EventView

ALICE = "alice (KALICE00001)"
START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


class Log:
    """A scripted log: events appended with increasing positions and times."""

    def __init__(self) -> None:
        self.events: list[EventView] = []

    def add(
        self, type_: str, actor: str = ALICE, app: str = "shop", request: str = "", **data: Any
    ) -> None:
        position = len(self.events) + 1
        time = START + timedelta(seconds=position)
        self.events.append(EventView(position, type_, app, actor, time, request, data))

    def promotion_by_ledgerd(
        self, promotion: str, release: str, status: str = "succeeded", follow: int = 0
    ) -> None:
        """Its steps by ledgerd; ``follow``: the env version the head follows to."""
        self.add("PromotionStarted", "ledgerd", promotion_id=promotion)
        self.add("PromotionStepRecorded", "ledgerd", promotion_id=promotion, kind="recorded")
        if status == "succeeded":
            self.add("PromotionSucceeded", "ledgerd", promotion_id=promotion)
            self.add("ReleaseActivated", "ledgerd", promotion_id=promotion, release_id=release)
            if follow:
                self.add("EnvChanged", "ledgerd", reason="promote", env_version=follow)
        else:
            cause = {"kind": "health", "message": "web did not answer"}
            self.add("PromotionFailed", "ledgerd", promotion_id=promotion, cause=cause)
            self.add("PromotionRollbackStarted", "ledgerd", promotion_id=promotion)
            self.add("PromotionRolledBack", "ledgerd", promotion_id=promotion)
        self.add("PromotionSettled", "ledgerd", promotion_id=promotion, status=status)

    def build(self, build: str, release: str, version: int, request: str = "") -> None:
        self.add("BuildCreated", request=request, build_id=build, image=f"shop:{version}")
        self.add("BuildStarted", request=request, build_id=build)
        self.add("BuildSucceeded", request=request, build_id=build, release_id=release)
        self.add("ReleaseCreated", request=request, build_id=build, release_id=release,
                 reason="build", env_version=1)  # fmt: skip
        self.add("ReleaseRegistered", request=request, release_id=release,
                 release_version=version)  # fmt: skip

    def deploy(self, promotion: str, release: str, request: str = "") -> None:
        self.add("PromotionRequested", request=request, promotion_id=promotion, release_id=release)
        self.add("PromotionBegun", request=request, promotion_id=promotion, release_id=release)
        self.promotion_by_ledgerd(promotion, release)

    def derived_release(
        self,
        promotion: str,
        release: str,
        version: int,
        reason: str,
        env_version: int,
        follow: int = 0,
    ) -> None:
        """A release made to be promoted at once (env change, rollback), as recorded."""
        self.add("ReleaseRegistered", release_id=release, release_version=version)
        self.add("PromotionBegun", promotion_id=promotion, release_id=release)
        self.add("ReleaseCreated", release_id=release, build_id="B1", reason=reason,
                 env_version=env_version)  # fmt: skip
        self.add("PromotionRequested", promotion_id=promotion, release_id=release)
        self.promotion_by_ledgerd(promotion, release, follow=follow)


def eight_actions() -> Log:
    log = Log()
    log.add("AppCreated")
    log.build("B1", "R1", 1)
    log.deploy("P1", "R1")
    log.add("EnvChanged", reason="set", env_version=1, added=["A"])
    log.derived_release("P2", "R2", 2, "env", env_version=1)
    log.build("B2", "R3", 3)
    log.deploy("P3", "R3")
    log.derived_release("P4", "R4", 4, "rollback", env_version=0, follow=2)
    log.add("KeyCreated", app="", key_id="KCI", name="ci", role="deployer")
    return log


def labels(found: list[Action]) -> list[str]:
    return [action.label for action in found]


def test_each_action_is_one_line_newest_first_a_build_apart_from_its_deploy() -> None:
    found = actions(eight_actions().events)

    assert labels(found) == [
        "Key created",
        "Rollback",
        "Deploy",
        "Build",
        "Env change",
        "Deploy",
        "Build",
        "App created",
    ]


def test_every_event_is_in_exactly_one_action() -> None:
    log = eight_actions()

    found = actions(log.events)

    positions = sorted(event.position for action in found for event in action.events)
    assert positions == [event.position for event in log.events]


def test_ledgerds_promotion_steps_fold_into_the_deploy_that_asked_for_them() -> None:
    log = Log()
    log.build("B1", "R1", 1)
    log.deploy("P1", "R1")

    deploy = actions(log.events)[0]

    assert [event.type for event in deploy.events] == [
        "PromotionRequested",
        "PromotionBegun",
        "PromotionStarted",
        "PromotionStepRecorded",
        "PromotionSucceeded",
        "ReleaseActivated",
        "PromotionSettled",
    ]
    assert (deploy.actor, deploy.outcome, deploy.release_id) == (ALICE, "succeeded", "R1")
    assert deploy.by_ledgerd == 5


def test_an_env_change_holds_the_release_it_made_and_its_promotion() -> None:
    log = Log()
    log.add("EnvChanged", reason="set", env_version=3, changed=["A"])
    log.derived_release("P2", "R2", 2, "env", env_version=3)

    (change,) = actions(log.events)

    assert (change.kind, change.env_version, change.promotion_id) == ("env", 3, "P2")
    assert (change.release_id, change.outcome) == ("R2", "succeeded")
    assert "ReleaseCreated" in {event.type for event in change.events}


def test_the_env_head_following_a_rollback_belongs_to_the_rollback() -> None:
    rollback = actions(eight_actions().events)[1]

    follow = [event for event in rollback.events if event.type == "EnvChanged"]
    assert [event.actor for event in follow] == ["ledgerd"]
    assert rollback.kind == "rollback"
    assert rollback.env_version == 0  # no env change of a person's


def test_events_sharing_a_request_id_are_one_action_even_a_build_and_its_deploy() -> None:
    log = Log()
    log.build("B1", "R1", 1, request="ci-42")
    log.deploy("P1", "R1", request="ci-42")

    (action,) = actions(log.events)

    assert action.label == "Deploy"
    assert action.request_ids == ("ci-42",)


def test_a_failed_promotion_says_it_was_rolled_back_and_why() -> None:
    log = Log()
    log.add("PromotionRequested", promotion_id="P1", release_id="R1")
    log.promotion_by_ledgerd("P1", "R1", status="rolled_back")

    (deploy,) = actions(log.events)

    assert (deploy.outcome, deploy.cause) == ("rolled back", "health: web did not answer")


def test_a_promotion_not_settled_yet_is_running() -> None:
    log = Log()
    log.add("PromotionRequested", promotion_id="P1", release_id="R1")
    log.add("PromotionStarted", "ledgerd", promotion_id="P1")

    assert actions(log.events)[0].outcome == "running"


def test_a_failed_build_says_why() -> None:
    log = Log()
    log.add("BuildCreated", build_id="B1")
    log.add("BuildFailed", "ledgerd", build_id="B1", error="no Dockerfile")

    (build,) = actions(log.events)

    assert (build.label, build.outcome, build.cause) == ("Build", "failed", "no Dockerfile")


def test_a_workflow_job_holds_the_build_and_promotion_its_steps_name() -> None:
    log = Log()
    log.add("JobQueued", "ledgerd", job_id="J1")
    log.add("JobStepStarted", "ledgerd", job_id="J1", build_id="B1")
    log.build("B1", "R1", 1)
    log.add("JobStepEnded", "ledgerd", job_id="J1", promotion_id="P1", release_id="R1")
    log.deploy("P1", "R1")
    log.add("JobEnded", "ledgerd", job_id="J1", status="succeeded")

    (job,) = actions(log.events)

    assert (job.label, job.outcome) == ("Workflow job", "succeeded")


def test_an_event_linked_to_nothing_is_an_action_of_its_own() -> None:
    log = Log()
    log.add("AppDeadlineChanged", deadline_seconds=60)
    log.add("AppDeadlineChanged", deadline_seconds=90)

    assert labels(actions(log.events)) == ["App deadline changed", "App deadline changed"]


def newest_first(log: Log) -> list[EventView]:
    return sorted(log.events, key=lambda event: event.position, reverse=True)


def test_a_page_of_actions_ends_before_the_oldest_event_of_its_last_action() -> None:
    log = eight_actions()

    page = page_of(newest_first(log), 2, 0)

    assert labels(page.actions) == ["Key created", "Rollback"]
    rollback = page.actions[1]
    assert page.older == rollback.first
    older = page_of([e for e in newest_first(log) if e.position < page.older], 10, 0)
    assert labels(older.actions) == ["Deploy", "Build", "Env change", "Deploy", "Build",
                                     "App created"]  # fmt: skip
    assert older.older == 0


def test_a_page_takes_an_action_interleaved_with_its_last_one_rather_than_skip_it() -> None:
    log = Log()
    log.add("PromotionRequested", promotion_id="P1", release_id="R1")
    log.add("BuildCreated", build_id="B9")  # recorded while the promotion runs
    log.add("PromotionSettled", "ledgerd", promotion_id="P1", status="succeeded")
    log.add("BuildSucceeded", "ledgerd", build_id="B9", release_id="R9")

    page = page_of(newest_first(log), 1, 0)

    assert labels(page.actions) == ["Build", "Deploy"]
    assert page.older == 0


def test_the_last_page_read_short_of_the_log_start_points_on() -> None:
    log = eight_actions()

    page = page_of(newest_first(log), 100, 7)

    assert len(page.actions) == 8
    assert page.older == 7
