"""Property tests: any sequence of commands keeps the invariants, and replaying the
log reproduces the same state."""

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, CreateBuild, PromoteRelease, RollbackRelease, UpdateEnv
from ledger.domain import Meta
from ledger.errors import LedgerError
from ledger.promoter import Promoter
from ledger.service import LedgerService
from runtime.record import RecordRuntime
from tests.support.builds import image_build

APPS = st.sampled_from(["shop", "blog"])
KEYS = st.sampled_from(["A", "B", "DB_URL"])
# NUL and lone surrogates are refused (tested on their own)
VALUES = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5)
META = Meta("prop")


def sqlite_env(path: Path, snapshots: bool) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "IS_SNAPSHOTTING_ENABLED": "y" if snapshots else "n",
    }


class LedgerMachine(RuleBasedStateMachine):
    """A model of the apps next to the real ledger on a SQLite file."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.ledger = LedgerApplication(sqlite_env(self.dir / "events.db", True), 3)
        runtime = RecordRuntime()
        self.service = LedgerService(self.ledger, runtime, Promoter(self.ledger, runtime, 0))
        self.releases: dict[str, list[str]] = {}
        self.active: dict[str, str] = {}
        self.env: dict[str, dict[str, str]] = {}

    @rule(app=APPS)
    def create_app(self, app: str) -> None:
        try:
            self.service.create_app(CreateApp(app), META)
        except LedgerError:
            assert app in self.releases
            return
        self.releases[app], self.env[app] = [], {}

    @precondition(lambda self: self.releases)
    @rule(data=st.data())
    def build(self, data: st.DataObject) -> None:
        app = data.draw(st.sampled_from(sorted(self.releases)))
        outcome = image_build(self.service, CreateBuild(app, f"{app}:x"), META)
        self.releases[app].append(outcome.release_id)

    @precondition(lambda self: self.releases)
    @rule(data=st.data(), key=KEYS, value=VALUES, promote=st.booleans(), unset=st.booleans())
    def change_env(
        self, data: st.DataObject, key: str, value: str, promote: bool, unset: bool
    ) -> None:
        app = data.draw(st.sampled_from(sorted(self.releases)))
        command = (
            UpdateEnv(app, unset=(key,), promote=promote)
            if unset
            else UpdateEnv(app, {key: value}, promote=promote)
        )
        try:
            outcome = self.service.update_env(command, META)
        except LedgerError:
            assert (unset and key not in self.env[app]) or (promote and not self.active.get(app))
            return
        if unset:
            del self.env[app][key]
        else:
            self.env[app][key] = value
        if outcome.release_id:
            release = self.ledger.release(app, outcome.release_id)
            assert release.parent_id == self.active[app]
            self.releases[app].append(outcome.release_id)
            if promote:
                self.active[app] = outcome.release_id

    @precondition(lambda self: any(self.releases.values()))
    @rule(data=st.data(), rollback=st.booleans())
    def promote_or_roll_back(self, data: st.DataObject, rollback: bool) -> None:
        app = data.draw(st.sampled_from(sorted(a for a, r in self.releases.items() if r)))
        target = data.draw(st.sampled_from(self.releases[app]))
        if rollback:
            outcome = self.service.rollback(RollbackRelease(app, target), META)
            self.releases[app].append(outcome.release_id)
        else:
            outcome = self.service.promote(PromoteRelease(app, target), META)
        self.active[app] = outcome.release_id
        # The env head follows the release made active (the record runtime never fails).
        self.env[app] = dict(self.ledger.release(app, target).env)

    @invariant()
    def apps_match_the_model(self) -> None:
        for name, releases in self.releases.items():
            app = self.ledger.app(name)
            assert app.release_count == len(releases)
            assert app.active_release_id == self.active.get(name, "")
            assert app.promotion_id == ""
            assert app.env == self.env[name]

    @invariant()
    def releases_are_numbered_one_by_one_from_succeeded_builds(self) -> None:
        for name, releases in self.releases.items():
            for version, release_id in enumerate(releases, start=1):
                release = self.ledger.release(name, release_id)
                assert release.release_version == version
                assert self.ledger.build(name, release.build_id).status == "succeeded"

    def teardown(self) -> None:
        replayed = LedgerApplication(sqlite_env(self.dir / "events.db", False))
        try:
            for name in self.releases:
                live, again = self.ledger.app(name), replayed.app(name)
                assert vars(again) == vars(live)
        finally:
            replayed.close()
            self.ledger.close()
            shutil.rmtree(self.dir, ignore_errors=True)


LedgerMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAnySequenceOfCommandsKeepsTheInvariants = LedgerMachine.TestCase
