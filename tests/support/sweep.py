"""Sweeping away what test engines leave behind: processes, mounts and cgroups.

A ``dockerd`` killed, or one whose test run was killed, leaves its ``containerd``, the
shims, the containers' processes, its mounts (its data root bound on itself, overlay
file systems, network namespaces bound under its exec root) and its containers' cgroups.
These helpers find them by what only the test engines have: a directory every engine
path is under, network namespaces and a cgroup parent named ``dlt-…``; ``sweep`` uses
them all, with the network's own sweep, to remove a test cluster whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from tests.support.netns import namespaces_left, remove_all

CGROUP_ROOT = Path("/sys/fs/cgroup")
MOUNTINFO = Path("/proc/self/mountinfo")


def _mentions(pid: str, root: str) -> bool:
    """Whether process ``pid`` names ``root`` on its command line, or runs in a file
    system under it (a container's root, merged under the engine's data root)."""
    proc = Path("/proc") / pid
    try:
        if root in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
            return True
        return os.readlink(proc / "root").startswith(root)
    except OSError:  # gone meanwhile, or a kernel thread
        return False


def processes_under(root: Path) -> list[int]:
    """The processes that name ``root`` or run inside it (never this process)."""
    text = str(root)
    own = str(os.getpid())
    return [
        int(pid)
        for pid in os.listdir("/proc")
        if pid.isdigit() and pid != own and _mentions(pid, text)
    ]


def cgroup_dirs(pattern: str) -> list[Path]:
    """The top-level cgroups matching ``pattern`` (a glob) in every hierarchy: the v1
    controllers' and v2's."""
    candidates = [*CGROUP_ROOT.glob(pattern), *CGROUP_ROOT.glob(f"*/{pattern}")]
    return [path for path in candidates if path.is_dir()]


def processes_in_cgroups(dirs: Iterable[Path]) -> set[int]:
    """Every process in the cgroups ``dirs`` and the cgroups below them."""
    found: set[int] = set()
    for top in dirs:
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                found.update(int(pid) for pid in procs.read_text().split())
    return found


def kill(pids: Iterable[int]) -> None:
    """SIGKILL each process that still exists."""
    for pid in set(pids):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def wait_gone(pids: Iterable[int], within: float) -> list[int]:
    """Wait until none of ``pids`` exists (zombies of ours are reaped); those left."""
    left = set(pids)
    deadline = time.monotonic() + within
    while left and time.monotonic() < deadline:
        for pid in list(left):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not Path(f"/proc/{pid}").exists():
                left.discard(pid)
        time.sleep(0.05)
    return sorted(left)


def mounts_under(root: Path) -> list[str]:
    """The mount points under ``root`` (or ``root`` itself), deepest first."""
    prefix = str(root)
    points = []
    for line in MOUNTINFO.read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_under(root: Path) -> list[str]:
    """Lazily unmount everything under ``root``; the mount points still there after."""
    for point in mounts_under(root):
        subprocess.run(["umount", "--lazy", point], capture_output=True, timeout=30)
    return mounts_under(root)


def remove_cgroups(pattern: str) -> list[str]:
    """Remove the (empty) top-level cgroups matching ``pattern`` and those below them in
    every hierarchy; those that could not be removed (a process is still in them)."""
    left = []
    for top in cgroup_dirs(pattern):
        for directory, _, _ in sorted(os.walk(top), key=lambda w: len(w[0]), reverse=True):
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                continue
            except OSError as error:
                left.append(f"{directory}: {error.strerror}")
    return left


def sweep(root: Path) -> list[str]:
    """Remove every test cluster's leftovers, running or not: processes in ``dlt-``
    namespaces and cgroups or under ``root``, mounts, cgroups, links, namespaces and
    ``root`` itself. What could not be removed."""
    pids = processes_in_cgroups(cgroup_dirs("dlt-*")) | set(processes_under(root))
    for namespace in namespaces_left():
        pids.update(namespace.pids())
    kill(pids)
    problems = [f"process {pid} survived SIGKILL" for pid in wait_gone(pids, 10.0)]
    problems += [f"{point} is still mounted" for point in unmount_under(root)]
    problems += remove_cgroups("dlt-*")
    problems += remove_all()
    if not problems:
        shutil.rmtree(root, ignore_errors=True)
    return problems
