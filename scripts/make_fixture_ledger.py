"""Write the fixture ledger: a small log holding every event type, written by this version.

    PYTHONPATH=. .venv/bin/python scripts/make_fixture_ledger.py

writes ``tests/fixtures/ledger-<version>/`` (``--out DIR`` for another place):

- ``data/``: the SQLite data dir as ``ledgerd`` leaves it (``events.sqlite`` with its
  snapshots, and the TEST-ONLY ``cipher.key``, ``signing.key`` and ``admin.token``),
  without the views, which every later version rebuilds from the log;
- ``postgres.sql``: the same events and snapshots, position for position, in a
  PostgreSQL database (``pg_dump`` plain SQL; load it with ``psql -f``);
- ``answers.json``: what this version's read side answers about it
  (``tests/integration/schema/answers.py``).

``tests/integration/schema/`` holds every later version to these answers. Regenerate the
fixture (same command) when an event type or class version is added, so that it holds
every event type again; keep the old directory of a released version as it is.

The story is driven through the real composition root (``server.bootstrap``), the use
cases and a real git repository; the one stand-in is the runtime, the record runtime with
failures scripted by image name (``:bad`` fails its health check, ``:worse`` also fails
the restore, ``:slow`` rolls out until cancelled) and builds that read a ``VERSION`` file,
so that no Docker is needed. PostgreSQL's binaries must be installed (as for the tests).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

from ledger.application import LedgerApplication
from ledger.commands import (
    CancelPromotion,
    CreateApp,
    CreateBuild,
    CreateKey,
    PromoteRelease,
    RevokeKey,
    RollbackRelease,
    UpdateApp,
    UpdateEnv,
)
from ledger.domain import Cause, CauseKind, Hook, Meta, StepKind, WorkflowSettings
from ledger.notifications.service import CreateNotificationTarget
from ledger.oneoff import RunCommand
from ledger.promoter import Promoter
from ledger.runtime import (
    BuildFailed,
    BuildLog,
    BuildRequest,
    BuiltImages,
    CommandOutput,
    CommandRequest,
    Progress,
    RolloutPlan,
)
from ledger.service import LedgerService
from ledger.workflows.commands import CreateWorkflow, ResumeWorkflow, UpdateWorkflow
from ledger.workflows.settings import SettingsChange
from ledger.workflows.triggers import CheckState, Delivery, Provider, PullAction, TriggerKind
from runtime.record import RecordRuntime
from server.bootstrap import Container, bootstrap, package_version
from server.infra.persistence import ledger_env
from server.infra.settings import Settings
from tests.integration.schema.answers import answers
from tests.support.git import Repository
from tests.support.postgres import PostgresServer, unique_database_name

ROOT = Path(__file__).resolve().parent.parent
HOOK = Meta(actor="workflow site")
WAIT_SECONDS = 30.0


class FixtureRuntime(RecordRuntime):
    """The record runtime, with failures scripted by image name, builds that read the
    source's ``VERSION`` file, and one-off commands that only say they ran."""

    name = "fixture"
    runs_commands = True

    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        path = request.source / "VERSION"
        version = path.read_text().strip() if path.exists() else "0"
        log.write(f"Step 1/2 : FROM busybox\nStep 2/2 : COPY VERSION {version}\n")
        if version == "broken":
            raise BuildFailed("step 2/2: COPY failed: no space left on the builder")
        tags = {s.name: f"{request.app}:{version}" for s in request.manifest.services}
        ids = {s.name: f"sha256:{version}" for s in request.manifest.services}
        return BuiltImages(tags=tags, ids=ids)

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        image = plan.target.image
        if image.endswith(":slow"):
            progress.step(StepKind.CONTAINER_STARTED, f"web.1 starting {image}")
            while not progress.cancelled():
                time.sleep(0.01)
            return Cause(CauseKind.CANCELLED, "stopped by request", service="web")
        if image.endswith((":bad", ":worse")):
            progress.step(StepKind.CONTAINER_STARTED, f"web.1 starting {image}")
            progress.step(StepKind.CONTAINER_FAILED, "web.1 never answered /health")
            return Cause(
                CauseKind.HEALTH_CHECK_FAILED,
                "web.1 never answered /health",
                service="web",
                container="web.1",
                last_response="HTTP 503",
            )
        return super().roll_out(plan, progress)

    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        if plan.target.image.endswith(":worse"):
            return Cause(CauseKind.RUNTIME_ERROR, "the previous containers are gone")
        return super().restore(plan, progress)

    def run_command(
        self, request: CommandRequest, output: CommandOutput, cancelled: Callable[[], bool]
    ) -> int:
        output.write(f"ran {' '.join(request.command)}\n".encode())
        return 0


class Story:
    """Drives one ledger through everything it records."""

    def __init__(self, container: Container, workdir: Path) -> None:
        self.c = container
        admin = container.queries.keys(limit=1)[0]
        self.admin = Meta(actor=f"{admin.name} ({admin.id})")
        self.repo = Repository(workdir / "git")

    def tell(self) -> None:
        self.apps_and_releases()
        self.keys()
        self.promotions_that_fail()
        self.cancel_and_queue()
        self.workflows()
        self.notifications()

    # -- notifications ----------------------------------------------------------------

    def notifications(self) -> None:
        """A target made and deleted (nothing listens at its URL: no delivery matters)."""
        made = self.c.notifications.create(
            CreateNotificationTarget(
                url="http://127.0.0.1:9/hooks/ledger",
                events=("promotion.*", "build.failed"),
                app="shop",
                format="slack",
            ),
            self.admin,
        )
        self.c.notifications.delete(made.outcome.target_id, self.admin)

    # -- keys, apps, builds, env, promotions ------------------------------------------

    def keys(self) -> None:
        keys = self.c.keys
        keys.create_key(CreateKey(name="ci", role="deployer", apps=("shop",)), self.admin)
        keys.create_key(CreateKey(name="audit", role="auditor"), self.admin)
        old = keys.create_key(CreateKey(name="laptop", role="reader", apps=("api",)), self.admin)
        keys.revoke_key(RevokeKey(key_id=old.outcome.key_id), self.admin)

    def apps_and_releases(self) -> None:
        s, admin = self.c.service, self.admin
        s.create_app(CreateApp("shop", deadline_seconds=300), admin)
        s.update_app(UpdateApp("shop", deadline_seconds=120), admin)
        s.create_app(CreateApp("api"), admin)
        s.update_env(
            UpdateEnv("shop", set_values={"DATABASE_URL": "postgres://db/shop", "SECRET": "s3"}),
            admin,
        )
        first = self.build("shop", "shop:1")
        self.promote(PromoteRelease("shop", first, description="first deploy"))
        second = self.build("shop", "shop:2")
        ci = Meta(actor=self.admin.actor, request_id="fixture-promote-shop-2")
        self.wait(s.promote(PromoteRelease("shop", second), ci).promotion_id, "shop")
        changed = s.update_env(
            UpdateEnv("shop", set_values={"LOG_LEVEL": "debug"}, promote=True), admin
        )
        self.wait(changed.promotion_id, "shop")
        api = self.build("api", "api:1")
        self.promote(PromoteRelease("api", api))
        self.first_shop_release = first

    def promotions_that_fail(self) -> None:
        self.promote(PromoteRelease("shop", self.build("shop", "shop:bad")))
        self.promote(PromoteRelease("shop", self.build("shop", "shop:worse")))
        rollback = self.c.service.rollback(
            RollbackRelease("shop", self.first_shop_release, description="back to v1"), self.admin
        )
        self.wait(rollback.promotion_id, "shop")

    def cancel_and_queue(self) -> None:
        s = self.c.service
        slow = s.promote(PromoteRelease("shop", self.build("shop", "shop:slow")), self.admin)
        self.until(lambda: self.c.ledger.promotion("shop", slow.promotion_id).status == "running")
        queued = s.promote(
            PromoteRelease("shop", self.build("shop", "shop:3"), queue=True), self.admin
        )
        s.cancel(CancelPromotion("shop", slow.promotion_id), self.admin)
        self.wait(slow.promotion_id, "shop")
        self.wait(queued.promotion_id, "shop")
        s.update_env(UpdateEnv("shop", unset=("SECRET",)), self.admin)

    # -- workflows --------------------------------------------------------------------

    def workflows(self) -> None:
        w, admin = self.c.workflows, self.admin
        settings = WorkflowSettings(
            repository=self.repo.url,
            apps=("shop",),
            before_promote=(Hook("web", "bin/migrate"),),
            review_apps=True,
            review_env={"DATABASE_URL": "postgres://review"},
            wait_for_ci=True,
        )
        w.create(CreateWorkflow("site", settings), admin)
        job = self.push("4")
        self.until(lambda: self.c.ledger.job(job).status == "waiting")
        self.deliver(
            kind=TriggerKind.CHECKS,
            event="status",
            sha=self.c.ledger.job(job).sha,
            check_state=CheckState.SUCCESS,
        )
        self.job_ended(job)
        change = SettingsChange(wait_for_ci=False)
        w.update(UpdateWorkflow("site", change, credentials="fixture:not-a-token"), admin)
        w.update(UpdateWorkflow("site", SettingsChange(), credentials=""), admin)
        w.rotate_secret("site", admin)
        self.job_ended(self.push("broken"))
        for action, version in (
            (PullAction.OPENED, "a"),
            (PullAction.CLOSED, "a"),
            (PullAction.REOPENED, "b"),
        ):
            self.job_ended(self.pull_request(7, action, version))
        rollback = self.c.service.rollback(
            RollbackRelease("shop", self.first_shop_release), self.admin
        )
        self.wait(rollback.promotion_id, "shop")
        w.resume(ResumeWorkflow("site"), admin)
        self.c.commands.run(RunCommand("shop", "web", ("bin/report", "--daily")), admin, _Sink())
        w.create(
            CreateWorkflow("docs", WorkflowSettings(repository=self.repo.url, apps=("api",))), admin
        )
        w.delete("docs", admin)

    def push(self, version: str) -> str:
        sha = self.repo.commit({"VERSION": version}, f"release {version}")
        return self.deliver(kind=TriggerKind.PUSH, event="push", ref="refs/heads/main", sha=sha)

    def pull_request(self, number: int, action: PullAction, version: str) -> str:
        sha = self.repo.commit({"VERSION": version}, f"pr {number} {version}", f"pr-{number}")
        self.repo.checkout("main")
        return self.deliver(
            kind=TriggerKind.PULL_REQUEST,
            event="pull_request",
            ref=f"pr-{number}",
            sha=sha,
            pull_number=number,
            pull_action=action,
            base_ref="main",
        )

    def deliver(self, **fields: Any) -> str:
        delivery = Delivery(
            provider=Provider.GITHUB,
            delivery_id=str(uuid.uuid4()),
            pusher="alice",
            repository=self.repo.url,
            **fields,
        )
        return self.c.workflows.accept("site", delivery, HOOK).job_id

    def job_ended(self, job_id: str) -> None:
        self.until(lambda: self.c.ledger.job(job_id).status.ended)

    # -- helpers ----------------------------------------------------------------------

    def build(self, app: str, image: str) -> str:
        return self.c.builds.create_from_image(CreateBuild(app, image), self.admin).release_id

    def promote(self, command: PromoteRelease) -> None:
        self.wait(self.c.service.promote(command, self.admin).promotion_id, command.app)

    def wait(self, promotion_id: str, app: str) -> None:
        if promotion_id:
            self.until(lambda: self.c.ledger.promotion(app, promotion_id).status.terminal)

    def until(self, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit("make_fixture_ledger: the story stalled (see the log above)")
            time.sleep(0.02)


class _Sink:
    def write(self, data: bytes) -> None:
        pass


def write_sqlite(data: Path, workdir: Path) -> dict[str, Any]:
    """Tell the story into the data dir ``data``; the read side's answers."""
    settings = Settings(data_dir=data, console_listen="", snapshot_interval=10)
    format_1_era(settings)
    container = bootstrap(settings, runtime=FixtureRuntime())
    try:
        container.start(package_version())
        Story(container, workdir).tell()
        head = container.ledger.head()
        if not container.worker.wait_for(head, WAIT_SECONDS):
            raise SystemExit("make_fixture_ledger: the projections did not catch up")
        return answers(container.queries, head)
    finally:
        container.close()


def format_1_era(settings: Settings) -> None:
    """The start of the log as a ledgerd of tree leaf format 1 left it, so that this
    version's start links it (``LogUpgraded``) as it does on every upgraded ledger. (A
    ledger records either that or ``LeafFormatAdopted``, which every new ledger in the
    tests records.)"""
    ledger = LedgerApplication(env=ledger_env(settings))
    runtime = RecordRuntime()
    service = LedgerService(ledger, runtime, Promoter(ledger, runtime))
    try:
        service.record_rack_version("0.0.9", Meta(actor="ledgerd"))
        service.create_app(CreateApp("legacy"), Meta(actor="ops"))
    finally:
        service.promoter.close()
        ledger.close()


def keep_log_only(data: Path) -> None:
    """Leave the log (one file, no WAL), its snapshots and the keys: the views are rebuilt
    by every reader."""
    log = sqlite3.connect(data / "events.sqlite", isolation_level=None)
    try:
        log.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log.execute("PRAGMA journal_mode=DELETE")
        log.execute("VACUUM")
    finally:
        log.close()
    for path in list(data.iterdir()):
        if path.name not in ("events.sqlite", "cipher.key", "signing.key", "admin.token"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def copy_to_postgres(data: Path, url: str) -> None:
    """The same stored events and snapshots, in the same order (so the same positions)."""
    source = LedgerApplication(env=ledger_env(Settings(data_dir=data)))
    target = LedgerApplication(env=ledger_env(Settings(data_dir=data, database_url=url)))
    try:
        events = [
            StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
            for n in source.recorder.select_notifications(start=1, limit=1_000_000)
        ]
        target.recorder.insert_events(events)
        if target.recorder.max_notification_id() != source.recorder.max_notification_id():
            raise SystemExit("make_fixture_ledger: PostgreSQL numbered the events differently")
        assert source.snapshots is not None and target.snapshots is not None
        ids = {event.originator_id for event in events}
        snapshots = [s for i in ids for s in source.snapshots.recorder.select_events(i)]
        target.snapshots.recorder.insert_events(snapshots)
    finally:
        source.close()
        target.close()


def dump_postgres(server: PostgresServer, url: str, out: Path) -> None:
    assert server.bin_dir is not None
    dumped = subprocess.run(
        [str(server.bin_dir / "pg_dump"), "--no-owner", "--no-privileges", "-d", url],
        capture_output=True,
        text=True,
        check=True,
    )
    out.write_text(dumped.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = ROOT / "tests" / "fixtures" / f"ledger-{package_version()}"
    parser.add_argument("--out", type=Path, default=default)
    out: Path = parser.parse_args().out
    with tempfile.TemporaryDirectory(prefix="fixture-ledger-") as temporary:
        work = Path(temporary)
        built = work / "fixture"
        data = built / "data"
        expected = write_sqlite(data, work)
        with PostgresServer() as server:
            url = server.create_database(unique_database_name("fixture"))
            copy_to_postgres(data, url)
            dump_postgres(server, url, built / "postgres.sql")
        keep_log_only(data)  # last: opening the log with the library turns WAL on again
        text = json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False)
        (built / "answers.json").write_text(text + "\n")
        (data / "README").write_text(
            "TEST KEYS ONLY: cipher.key, signing.key and admin.token were made for this\n"
            "fixture by scripts/make_fixture_ledger.py; they protect nothing.\n"
        )
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(built, out)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}", file=sys.stderr)


if __name__ == "__main__":
    main()
