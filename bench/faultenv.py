"""The faults themselves: PostgreSQL taken down and brought back, a small disk mounted.

Both act on things the campaign started itself (the throwaway PostgreSQL server of
``bench.server.Postgres``, a tmpfs under its own temp dir), never on the machine's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.server import Postgres


def postgres_down(pg: Postgres) -> None:
    """Stop the server at once, as a crash would (``pg_ctl stop -m immediate``): every
    connection is cut, new ones are refused."""
    server = pg.server
    server._run("pg_ctl", ["stop", "-D", str(server.data_dir), "-m", "immediate", "-w"])


def postgres_up(pg: Postgres) -> None:
    """Start it again on the same port with the same settings (durable: the campaign's
    server loses no acknowledged commit in the crash); returns once it accepts
    connections (after its crash recovery)."""
    pg.server.resume()


def can_mount() -> str:
    """Why a tmpfs cannot be mounted here ("" when it can)."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if shutil.which("mount") is None:
        return "no mount command"
    return ""


@contextlib.contextmanager
def small_disk(size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. ``16m``) mounted on a new temp dir; unmounted and removed
    at the end."""
    base = Path(tempfile.mkdtemp(prefix="ledger-faults-disk-"))
    mount = base / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def fill_disk(directory: Path, leave: int) -> Path:
    """Write a filler file so that about ``leave`` bytes stay free; deleting it frees them."""
    stat = os.statvfs(directory)
    free = stat.f_bavail * stat.f_frsize
    filler = directory / "filler"
    with filler.open("wb") as out:
        chunk = b"\0" * (1 << 20)
        remaining = max(0, free - leave)
        while remaining > 0:
            remaining -= out.write(chunk[: min(len(chunk), remaining)])
    return filler
