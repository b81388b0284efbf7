"""``ledgerctl watch``: the backlog, then live events, until Ctrl-C; it rides out a restart.

Run as the installed ``ledgerctl`` in a subprocess so that Ctrl-C is a real SIGINT.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.integration.cli.runner import SQLITE_ONLY, USER, Ledgerctl
from tests.support.ledgerd import InProcessLedgerd

pytestmark = SQLITE_ONLY

LEDGERCTL = Path(sys.executable).with_name("ledgerctl")
LINE_TIMEOUT = 10.0


class Watch:
    """``ledgerctl --json watch --from 0 [ARGS]`` in a subprocess, its stdout read line by
    line. No LEDGER_APP: it follows the whole log unless ``-a`` is given."""

    def __init__(self, address: str, token: str, *argv: str) -> None:
        environ = {**os.environ, "LEDGER_HOST": address, "LEDGER_TOKEN": token, "USER": USER}
        environ["PYTHONFAULTHANDLER"] = "1"  # SIGABRT then prints where every thread is
        environ.pop("LEDGER_APP", None)
        self.process = subprocess.Popen(
            [str(LEDGERCTL), "--json", "watch", "--from", "0", *argv],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_interruptible,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._notes: queue.Queue[str] = queue.Queue()
        self._readers = [
            threading.Thread(target=_pump, args=(self.process.stdout, self._lines), daemon=True),
            threading.Thread(target=_pump, args=(self.process.stderr, self._notes), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def events_until(
        self, event_type: str, timeout: float = LINE_TIMEOUT
    ) -> list[dict[str, object]]:
        """The events printed up to and including the first one of ``event_type``."""
        events: list[dict[str, object]] = []
        while not events or events[-1]["type"] != event_type:
            events.append(json.loads(self._lines.get(timeout=timeout)))
        return events

    def next_note(self, timeout: float = LINE_TIMEOUT) -> str:
        """The next line it writes on stderr."""
        return self._notes.get(timeout=timeout).rstrip("\n")

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: the exit code and what else it wrote on stderr."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=LINE_TIMEOUT)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
            masks = [line for line in status.splitlines() if line.startswith("Sig")]
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=LINE_TIMEOUT)
            for reader in self._readers:
                reader.join(timeout=LINE_TIMEOUT)
            stacks = "".join(_drain(self._notes))
            message = f"ledgerctl did not end on Ctrl-C ({masks}); its threads:\n{stacks}"
            raise AssertionError(message) from None
        for reader in self._readers:
            reader.join(timeout=LINE_TIMEOUT)
        return code, "".join(_drain(self._notes))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def _interruptible() -> None:
    """Ctrl-C reaches the child as it would from a terminal. The test process may ignore
    or block SIGINT (test runners and libraries in it do), and an ignored or blocked
    signal is inherited across exec: ledgerctl would then never see the Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _pump(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
    assert stream is not None
    for line in stream:
        lines.put(line)


def _drain(lines: queue.Queue[str]) -> list[str]:
    drained: list[str] = []
    while not lines.empty():
        drained.append(lines.get_nowait())
    return drained


@pytest.fixture
def watching(ledgerd: InProcessLedgerd) -> Iterator[Callable[..., Watch]]:
    """Start ``watch`` subprocesses; all are killed at the end."""
    started: list[Watch] = []

    def start(*argv: str) -> Watch:
        started.append(Watch(ledgerd.address, ledgerd.token, *argv))
        return started[-1]

    yield start
    for running in started:
        running.kill()


def test_watch_prints_the_backlog_then_live_events_and_ctrl_c_ends_it_with_0(
    web: Ledgerctl, watching: Callable[..., Watch]
) -> None:
    watch = watching()
    backlog = watch.events_until("AppCreated")
    web.ok("env", "set", "A=1")

    live = watch.events_until("EnvChanged")
    code, stderr = watch.interrupt()

    assert (code, stderr) == (0, "")
    assert [event["app"] for event in backlog if event["type"] == "AppCreated"] == ["web"]
    assert [(event["type"], event["app"]) for event in live] == [("EnvChanged", "web")]
    positions = [event["position"] for event in backlog + live]
    assert positions == sorted(set(positions))  # type: ignore[type-var]


def test_watch_of_one_app_prints_its_live_events_only(
    web: Ledgerctl, watching: Callable[..., Watch]
) -> None:
    watch = watching("-a", "web")
    watch.events_until("AppCreated")
    web.ok("apps", "create", "api")
    web.ok("env", "set", "A=1")

    live = watch.events_until("EnvChanged", timeout=3)
    code, _ = watch.interrupt()

    assert code == 0
    assert [(event["type"], event["app"]) for event in live] == [("EnvChanged", "web")]


def test_watch_resumes_after_a_graceful_restart_of_ledgerd_without_repeating_events(
    ledgerd: InProcessLedgerd, web: Ledgerctl, watching: Callable[..., Watch]
) -> None:
    watch = watching()
    web.ok("env", "set", "A=1")
    before = watch.events_until("EnvChanged")

    ledgerd.stop()
    restarted = dataclasses.replace(ledgerd.settings, listen=ledgerd.address)
    with InProcessLedgerd(restarted):
        web.ok("env", "set", "A=2")
        after = watch.events_until("EnvChanged")
        code, _ = watch.interrupt()

    assert code == 0
    assert [event["type"] for event in after] == ["EnvChanged"]
    positions = [event["position"] for event in before + after]
    assert positions == sorted(set(positions))  # type: ignore[type-var]


def test_watch_waits_out_a_ledgerd_that_is_down_and_says_so_on_stderr(
    ledgerd: InProcessLedgerd, web: Ledgerctl, watching: Callable[..., Watch]
) -> None:
    watch = watching()
    before = watch.events_until("AppCreated")

    ledgerd.stop()
    lost = watch.next_note()
    restarted = dataclasses.replace(ledgerd.settings, listen=ledgerd.address)
    with InProcessLedgerd(restarted):
        regained = watch.next_note()
        web.ok("env", "set", "A=2")
        after = watch.events_until("EnvChanged")
        code, rest = watch.interrupt()

    position = before[-1]["position"]
    assert lost == (
        f"ledgerctl watch: lost {ledgerd.address}; reconnecting to resume after position {position}"
    )
    assert (regained, code, rest) == ("ledgerctl watch: reconnected", 0, "")
    assert [event["type"] for event in after] == ["EnvChanged"]
