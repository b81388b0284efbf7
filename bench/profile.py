"""Where ``ledgerd``'s CPU goes during a measurement: a sampling profile cut into layers.

    .venv/bin/python bench/run.py --cases write --profile DIR     # every measured window
    .venv/bin/python -m bench.profile FILE [--commands N --cpu-seconds S]   # one profile

`py-spy <https://github.com/benfred/py-spy>`_ samples the running ``ledgerd`` from outside
without pausing it (no code in the server; a stack read while it changes lands in "other":
a few samples in a hundred here), keeping only the samples in which a thread holds the
interpreter lock: on this server the lock is the resource every thread queues for, so
those samples are where its CPU goes. Each sample's stack is put in the first layer of
``LAYERS`` whose marker it contains, innermost work first (the Merkle tree is part of
projecting, a save is part of a command), so the layers add up to 100 %. Given the
commands run and the CPU the window used, each layer's share is also said in ms of CPU per
command.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

RATE = 200  # samples per second
# (layer, markers): a stack belongs to the first layer one of whose markers is a substring
# of one of its frames ("function (package/file.py)", as py-spy writes them).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("projecting: Merkle tree", ("(projections/merkle.py)", "(transparency/")),
    ("projecting: views and hot cache", ("ProjectionWorker.", "(projections/rebuild")),
    ("watch streams", ("(server/grpc/watch", "(server/infra/broadcast.py)")),
    ("command: save (eventsourcing, SQL, cipher)", ("GroupCommit._save", "Application._record")),
    ("reads (queries, console, metrics)", ("(ledger/queries/", "(projections/", "(server/console/",
                                           "(server/metrics/")),
    ("command: decide (ledger)", ("(ledger/",)),
    ("hand-offs between the loop and threads", ("(concurrent/futures/", "Backend._start",
                                                "ProjectedPositions.")),
    ("gRPC, asyncio and handlers", ("(grpc/", "(asyncio/", "(server/grpc/", "(grpc_", "(uvloop/")),
)  # fmt: skip
OTHER = "other"


@dataclass
class Profile:
    """Samples of one window, by layer and by innermost function."""

    samples: int = 0
    layers: collections.Counter[str] = field(default_factory=collections.Counter)
    functions: collections.Counter[str] = field(default_factory=collections.Counter)

    def share(self, layer: str) -> float:
        return self.layers[layer] / self.samples if self.samples else 0.0

    def table(self, commands: int = 0, cpu_seconds: float = 0.0, top: int = 8) -> str:
        """The layers as a Markdown table (with ms of CPU per command when both are known),
        then the functions that held the lock most."""
        per = ms_per_command(commands, cpu_seconds) or 0.0
        lines = ["| layer | share of CPU | ms per command |", "|---|---|---|"]
        for layer in [name for name, _ in LAYERS] + [OTHER]:
            ms = f"{self.share(layer) * per:.2f}" if per else "-"
            lines.append(f"| {layer} | {self.share(layer):.0%} | {ms} |")
        total = f"{per:.2f}" if per else "-"
        lines.append(f"| all ({self.samples} samples) | 100% | {total} |")
        lines += ["", "functions holding the lock most (own time):"]
        for function, count in self.functions.most_common(top):
            lines.append(f"  {count / self.samples:5.1%}  {function}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "layers": {k: round(self.share(k), 4) for k in self.layers},
            "top": dict(self.functions.most_common(15)),
        }


def ms_per_command(commands: int, cpu_seconds: float) -> float | None:
    """CPU per command in ms; None unless both are known."""
    return cpu_seconds * 1000 / commands if commands and cpu_seconds else None


def layer_of(frames: list[str]) -> str:
    for layer, markers in LAYERS:
        if any(marker in frame for frame in frames for marker in markers):
            return layer
    return OTHER


def parse(raw: str) -> Profile:
    """A profile from py-spy's raw output: one ``frame;frame;…;frame COUNT`` per line."""
    profile = Profile()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        profile.samples += int(count)
        profile.layers[layer_of(frames)] += int(count)
        profile.functions[frames[-1]] += int(count)
    return profile


def available() -> str | None:
    """The py-spy executable: beside this interpreter (the project's dev tools), else on
    PATH; None when neither has it."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def sampling(pid: int, out: Path) -> Iterator[Path]:
    """Sample process ``pid`` while the block runs; the raw profile is written to ``out``."""
    exe = available()
    if exe is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[dev]'")
    command = [exe, "record", "--pid", str(pid), "--gil", "--nolineno", "--nonblocking"]
    command += ["--rate", str(RATE), "--format", "raw", "--output", str(out)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)  # attached before the window opens
    try:
        yield out
    finally:
        spy.send_signal(signal.SIGINT)
        _, err = spy.communicate(timeout=60)
        if not out.exists():
            raise RuntimeError(f"py-spy wrote no profile: {err.decode()[-500:]}")


def summary(path: Path, commands: int = 0, cpu_seconds: float = 0.0) -> dict[str, object]:
    """Print the layers of the profile at ``path`` and return them for the results file."""
    sampled = parse(path.read_text())
    print(f"  profile {path}:", flush=True)
    print("    " + sampled.table(commands, cpu_seconds).replace("\n", "\n    "), flush=True)
    per = ms_per_command(commands, cpu_seconds)
    return {"file": str(path), "cpu_ms_per_command": per, **sampled.as_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cut a raw py-spy profile into layers.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--commands", type=int, default=0, help="commands run in the window")
    parser.add_argument("--cpu-seconds", type=float, default=0.0, help="CPU the window used")
    args = parser.parse_args(argv)
    print(parse(args.file.read_text()).table(args.commands, args.cpu_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
