"""What the next structural step would give: the projection writer in a process of its own.

    python -m bench.split_projection [--commands 4000] [--threads 1,8] [--out FILE.json]

The same load as ``bench.inprocess`` (``UpdateEnv`` through the use case, each command
followed by its read-your-writes wait, 1 thread then 8), but the projections are written
by the real :class:`~projections.worker.ProjectionWorker` running in a child process on
the same data dir: after each save the command wakes it through a pipe, and waits until
the child reports a position at or past its own. The commands' process then decides and
saves only. Compare its CPU per command and its rate with ``bench.inprocess``'s: the
difference is what moving the projection out of ``ledgerd``'s interpreter would free
(the hot cache, the live streams' fan-out and the failure reports that ``ledgerd`` hangs
on the worker are left out here: this measures the projection's share alone).
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from bench.inprocess import Result, cli, deployed, metas, run
from ledger.application import LedgerApplication
from ledger.domain.secrecy import Mask
from projections import ProjectionWorker, open_views
from server.bootstrap import bootstrap
from server.infra.cipher import audit_digest_key, cipher_key
from server.infra.persistence import ledger_env, views_env
from server.infra.settings import Settings

STOP = -1
WAIT_SECONDS = 30.0


def project(data_dir: Path, pipe: Connection) -> None:
    """The child: project the log whenever woken, and report the position reached."""
    settings = Settings(data_dir=data_dir, runtime="record", build_workers=0)
    ledger = LedgerApplication(env=ledger_env(settings))
    views = open_views(views_env(settings), mask=Mask(audit_digest_key(cipher_key(settings))))
    worker = ProjectionWorker(ledger, views)
    try:
        while True:
            woken = pipe.recv()
            while pipe.poll():  # one catch-up serves every wake sent meanwhile
                woken = min(woken, pipe.recv())
            if woken == STOP:
                return
            worker.catch_up()
            pipe.send(worker.position)
    finally:
        views.close()
        ledger.close()


class Projected:
    """The child's last reported position, waited for by the command threads."""

    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.position = 0
        self._changed = threading.Condition()
        self._sending = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="positions", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                position = self.pipe.recv()
            except EOFError:
                return
            with self._changed:
                self.position = max(self.position, position)
                self._changed.notify_all()

    def wake(self, position: int) -> None:
        with self._sending:
            self.pipe.send(position)

    def wait_for(self, position: int) -> None:
        self.wake(position)
        with self._changed:
            if not self._changed.wait_for(lambda: self.position >= position, WAIT_SECONDS):
                raise TimeoutError(f"position {position} was not projected")


def measure(data_dir: Path, commands: int, thread_counts: list[int]) -> list[Result]:
    container = bootstrap(Settings(data_dir=data_dir, runtime="record", build_workers=0))
    meta = metas("split")

    try:
        container.worker.start()
        groups = [[f"split-{count}-{n}" for n in range(count)] for count in thread_counts]
        deployed(container, [app for group in groups for app in group], meta)
        container.worker.stop()  # from here on, the child projects
        container.ledger.recorded.remove(container.worker.feed)
        spawn = multiprocessing.get_context("spawn")  # the child imports this module afresh
        ours, theirs = spawn.Pipe()
        child = spawn.Process(target=project, args=(data_dir, theirs), name="projection")
        child.start()
        projected = Projected(ours)
        try:
            return [run(container, apps, commands, meta, projected.wait_for) for apps in groups]
        finally:
            projected.wake(STOP)
            child.join(WAIT_SECONDS)
    finally:
        container.close()


def main(argv: list[str] | None = None) -> None:
    cli(__doc__ or "", measure, argv)


if __name__ == "__main__":
    main()
