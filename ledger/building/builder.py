"""Runs builds from source through the runtime and records how each one ends.

A build from source is recorded as started by a command (see
:class:`~ledger.building.BuildService`), then run here in a worker thread, because a real
``docker build`` can take minutes: other commands, on other apps and on the same app,
must not wait behind it. Only the short transactions that record the build's log and its
end take the app's command lock, never the build itself.

In the worker: the tarball is unpacked safely into a directory of its own, ``ledger.yml``
is read, the runtime builds, and the build's end is recorded (succeeded together with its
release in ONE transaction, or failed with the reason). The source and the directory are
then deleted. A build still running when ``ledgerd`` stopped cannot be resumed (its
``docker build`` died with the process): :meth:`Builder.resume` records it failed. When
several ``ledgerd`` share one ledger, the process running a build holds its claim (see
:class:`~ledger.promoter.Claims`), so a process starting meanwhile leaves it alone.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate

from ledger import releasing
from ledger.application import Decision, LedgerApplication
from ledger.building.log import FLUSH_SECONDS, BatchedLog, clean
from ledger.building.source import read_manifest, remove_stale_uploads, unpack
from ledger.commands import Outcome
from ledger.domain import Build, Meta
from ledger.domain.build import BuildStatus
from ledger.errors import FailedPrecondition, LedgerError
from ledger.manifest import Manifest
from ledger.promoter import Claims, LocalClaims
from ledger.runtime import BuildFailed, BuildRequest, BuiltImages, Runtime

log = logging.getLogger(__name__)
SYSTEM = Meta(actor="ledgerd")
INTERRUPTED = "interrupted: ledgerd restarted"
MAX_UNPACKED_BYTES = 4 * 1024 * 1024 * 1024


class Builder:
    """Runs builds from source in the background, at most ``max_workers`` at once."""

    def __init__(
        self,
        app: LedgerApplication,
        runtime: Runtime,
        sources: Path,
        max_workers: int = 4,
        max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
        log_options: dict[str, Any] | None = None,
        claims: Claims | None = None,
    ) -> None:
        """``max_workers=0`` runs each build to its end inside ``submit`` (for tests).

        ``log_options`` are passed to each build's :class:`BatchedLog` (limit, flush_…).
        """
        self.ledger = app
        self.runtime = runtime
        self.sources = sources
        self.max_unpacked_bytes = max_unpacked_bytes
        self._log_options = dict(log_options or {})
        self.claims: Claims = claims or LocalClaims()
        self._executor = (
            ThreadPoolExecutor(max_workers, thread_name_prefix="build") if max_workers else None
        )
        self._running: set[str] = set()
        self._logs: set[BatchedLog] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None

    def source_path(self, build_id: str) -> Path:
        """Where the source tarball of a build waits until the build has run."""
        return self.sources / f"{build_id}.tar.gz"

    def submit(self, build_id: str) -> Future[None]:
        with self._lock:
            if build_id in self._running:  # already running here (a retried request)
                done: Future[None] = Future()
                done.set_result(None)
                return done
            self._running.add(build_id)
            self._start_flusher()
        if self._executor is None:
            self._run_safely(build_id)
            finished: Future[None] = Future()
            finished.set_result(None)
            return finished
        return self._executor.submit(self._run_safely, build_id)

    def resume(self, build_ids: list[str]) -> None:
        """Record as failed the builds a previous process left running, and clean up."""
        remove_stale_uploads(self.sources)
        for build_id in build_ids:
            with self._lock:
                if build_id in self._running:
                    continue
            with self.claims.claim(build_id) as ours:
                if not ours:
                    continue  # a live ledgerd runs it
                try:
                    self._fail(build_id, INTERRUPTED, SYSTEM)
                except FailedPrecondition:
                    pass  # it ended meanwhile
                except Exception:
                    log.exception("could not record build %s as interrupted", build_id)
                    continue
            self._clean_up(build_id)

    def close(self) -> None:
        """Wait for the builds that are running; builds not started yet stay for
        :meth:`resume` to record as interrupted."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._closed.set()
        if self._flusher is not None:
            self._flusher.join(5)

    # -- one build ----------------------------------------------------------------------

    def _run_safely(self, build_id: str) -> None:
        try:
            with self.claims.claim(build_id) as ours:
                if not ours:  # only this process has the source: nobody else can run it
                    raise RuntimeError("the build could not be claimed")
                self._run(build_id)
        except Exception as error:
            log.exception("build %s stopped on an unexpected error", build_id)
            with contextlib.suppress(Exception):  # the build must not stay running
                self._fail(build_id, f"internal error: {type(error).__name__}", SYSTEM)
        finally:
            with self._lock:
                self._running.discard(build_id)
            self._clean_up(build_id)

    def _run(self, build_id: str) -> None:
        build = self.ledger.build("", build_id)
        if build.status != BuildStatus.RUNNING:
            return
        stamp = Meta(actor=build.actor, request_id=build.request_id)
        output = self._open_log(build, stamp)
        try:
            result = self._build(build, output)
        finally:
            with self._lock:
                self._logs.discard(output)
        if isinstance(result, str):
            output.write(f"build failed: {result}\n")
            output.close()
            self._fail(build_id, clean(result), stamp)
            return
        manifest, built = result
        for service in manifest.services:
            tag, image_id = built.tags.get(service.name, ""), built.ids.get(service.name, "")
            output.write(f"service {service.name}: {tag or '-'} {image_id}\n")
        output.close()
        self._succeed(build, manifest, built, stamp)

    def _build(self, build: Build, output: BatchedLog) -> str | tuple[Manifest, BuiltImages]:
        """Unpack, read the manifest, build: (manifest, images), or why it failed."""
        source = self.source_path(build.build_id)
        output.write(f"building {build.build_id} of {build.app} from {build.source}\n")
        with tempfile.TemporaryDirectory(prefix=f"{build.build_id}-", dir=self.sources) as work:
            root = Path(work)
            try:
                unpack(source, root, self.max_unpacked_bytes)
                source.unlink(missing_ok=True)  # unpacked: the tarball is no longer needed
                manifest = read_manifest(root)
            except LedgerError as error:
                return str(error)
            names = ", ".join(service.name for service in manifest.services)
            output.write(f"services: {names}\n")
            request = BuildRequest(
                app=build.app, build_id=build.build_id, source=root, manifest=manifest
            )
            try:
                built = self.runtime.build(request, output)
            except BuildFailed as error:
                return str(error) or "the build failed"
            except Exception as error:  # the runtime's failure is the build's failure
                log.exception("runtime %s failed to build %s", self.runtime.name, build.build_id)
                return f"runtime error: {type(error).__name__}: {error}"
        return manifest, built

    def _open_log(self, build: Build, stamp: Meta) -> BatchedLog:
        build_id = build.build_id

        def store(seq: int, text: str) -> None:
            def append(build: Build) -> tuple[Aggregate, ...]:
                build.append_log(stamp, seq, text)
                return (build,)

            # A chunk touches the build only: it need not queue behind the app's commands.
            self._transition(build_id, append, stamp, scope="")

        output = BatchedLog(store, last_seq=build.log_seq, **self._log_options)
        with self._lock:
            self._logs.add(output)
        return output

    # -- recorded transitions ------------------------------------------------------------

    def _succeed(self, build: Build, manifest: Manifest, built: BuiltImages, stamp: Meta) -> None:
        primary = _primary(manifest)

        def change(current: Build) -> tuple[Aggregate, ...]:
            released = releasing.release_build(
                self.ledger.app(current.app),
                current,
                stamp,
                image=built.tags.get(primary, "") or manifest.service(primary).image,
                image_id=built.ids.get(primary, ""),
                images=dict(built.ids),
                manifest=manifest.to_dict(),
            )
            return released.changed

        # The release takes the app's env head and version: this one waits for the app's lock.
        self._transition(build.build_id, change, stamp, scope=build.app)

    def _fail(self, build_id: str, error: str, stamp: Meta) -> None:
        def change(build: Build) -> tuple[Aggregate, ...]:
            if error == INTERRUPTED:  # nobody else will say so in the build's log
                build.append_log(stamp, build.log_seq + 1, f"build failed: {error}\n")
            build.fail(stamp, error)
            return (build,)

        self._transition(build_id, change, stamp, scope="")  # the build's stream only

    def _transition(
        self,
        build_id: str,
        change: Callable[[Build], tuple[Aggregate, ...]],
        stamp: Meta,
        scope: str,
    ) -> None:
        """Apply ``change`` to the build and save what it changed (the build first), in one
        transaction (``scope``: the app, when the change touches the app's stream)."""

        def handle() -> Decision:
            build = self.ledger.build("", build_id)
            changed = change(build)
            return Decision(Outcome(app=build.app, build_id=build_id), (build, *changed))

        # Executed without the request id: the request that created the build recorded it.
        meta = Meta(actor=stamp.actor)
        self.ledger.execute("BuildStep", build_id, meta, handle, scope)

    # -- housekeeping ---------------------------------------------------------------------

    def _clean_up(self, build_id: str) -> None:
        self.source_path(build_id).unlink(missing_ok=True)
        for leftover in self.sources.glob(f"{build_id}-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def _start_flusher(self) -> None:
        """One thread flushes every build's log on time, even when its output pauses."""
        if self._flusher is None or not self._flusher.is_alive():
            self._flusher = threading.Thread(
                target=self._flush_logs, name="build-log-flusher", daemon=True
            )
            self._flusher.start()

    def _flush_logs(self) -> None:
        while not self._closed.wait(FLUSH_SECONDS / 2):
            with self._lock:
                logs = list(self._logs)
            for output in logs:
                output.flush_if_due()


def _primary(manifest: Manifest) -> str:
    """The service whose image a release names: ``web`` when there is one, else the first."""
    names = [service.name for service in manifest.services]
    return "web" if "web" in names else names[0]
