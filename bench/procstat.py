"""CPU and memory of processes, read from /proc (Linux only)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

HZ = os.sysconf("SC_CLK_TCK")


def machine_busy_ticks() -> int:
    """Busy jiffies of the whole machine: user nice system irq softirq steal."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]


def cpu_ticks(pid: int | str) -> int:
    """utime + stime of a process (all its threads); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def status_kb(pid: int, key: str = "VmRSS") -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM …); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pids_named(comm: str) -> list[int]:
    """Pids of the processes whose command name is ``comm`` (e.g. ``postgres``)."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == comm:
                        found.append(int(entry))
            except OSError:
                continue
    return found


@dataclass
class CpuMeter:
    """CPU used during a measurement: by the server(s), by us (client) and by others.

    ``pids`` are the server-side processes (ledgerd, PostgreSQL backends are counted as
    foreign unless listed); ``client_pids`` are extra client processes (watchers).
    """

    pids: list[int] = field(default_factory=list)
    client_pids: list[int] = field(default_factory=list)
    server_cores: float = 0.0
    client_cores: float = 0.0
    foreign_cores: float = 0.0
    server_seconds: float = 0.0  # CPU the server(s) used in all
    _t0: float = 0.0
    _start: tuple[int, int, int] = (0, 0, 0)

    def _sample(self) -> tuple[int, int, int]:
        server = sum(cpu_ticks(p) for p in self.pids)
        client = cpu_ticks("self") + sum(cpu_ticks(p) for p in self.client_pids)
        return machine_busy_ticks(), server, client

    def __enter__(self) -> CpuMeter:
        self._t0 = time.perf_counter()
        self._start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        busy, server, client = self._sample()
        wall = max(time.perf_counter() - self._t0, 1e-9)
        d_busy = busy - self._start[0]
        d_server = server - self._start[1]
        d_client = client - self._start[2]
        self.server_seconds = d_server / HZ
        self.server_cores = round(d_server / HZ / wall, 2)
        self.client_cores = round(d_client / HZ / wall, 2)
        self.foreign_cores = round(max(0, d_busy - d_server - d_client) / HZ / wall, 2)

    def as_dict(self) -> dict[str, float]:
        return {
            "server_cores": self.server_cores,
            "client_cores": self.client_cores,
            "foreign_cores": self.foreign_cores,
        }


def wait_quiet(
    threshold: float = 0.3, max_wait: float = 20.0, own: list[int] | None = None
) -> float:
    """Wait until other processes use < ``threshold`` cores for 1 s (at most ``max_wait`` s).

    ``own`` are pids to ignore (our idle server). Returns the seconds waited.
    """
    pids = own or []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        b0 = machine_busy_ticks()
        o0 = cpu_ticks("self") + sum(cpu_ticks(p) for p in pids)
        time.sleep(1.0)
        busy = machine_busy_ticks() - b0
        mine = cpu_ticks("self") + sum(cpu_ticks(p) for p in pids) - o0
        if (busy - mine) / HZ < threshold:
            break
    return round(time.perf_counter() - t0, 1)
