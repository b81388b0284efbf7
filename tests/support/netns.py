"""The test cluster's private network: a bridge and one network namespace per node.

Everything is named with the prefix ``dlt-`` so that what a crashed run left behind is
found by name: the bridge ``dlt-br0`` in the root namespace holds the subnet's first
address; node ``i`` is the namespace ``dlt-n<i>``, joined to the bridge by the veth
pair ``dlt-v<i>`` (root side, on the bridge) / ``eth0`` (inside, the subnet's address
``i + 1``), with ``lo`` up. The nodes get no default route: they reach each other, the
bridge's address (the test's registry) and nothing else, so no test traffic can leave
the machine even though the root namespace forwards packets. The subnet is the first
of ``CANDIDATES`` that overlaps no route or address of the machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import subprocess
from dataclasses import dataclass
from typing import Any

PREFIX = "dlt-"
BRIDGE = f"{PREFIX}br0"
CANDIDATES = tuple(ipaddress.IPv4Network(f"10.213.{third}.0/24") for third in range(47, 63))
NETNS_DIR = "/var/run/netns"


class NetworkError(Exception):
    """An ``ip`` command failed (its stderr is the message)."""


def ip(*args: str) -> str:
    """Run ``ip ARGS``; its stdout, or ``NetworkError`` with its stderr."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _rows(*args: str) -> list[dict[str, Any]]:
    text = ip("-j", *args).strip()
    rows: list[dict[str, Any]] = json.loads(text) if text else []
    return rows


def taken_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network the machine routes or has an address in (not the default)."""
    found: list[ipaddress.IPv4Network] = []
    for row in _rows("-4", "route", "show", "table", "all"):
        if row.get("dst", "default") != "default":
            found.append(ipaddress.IPv4Network(row["dst"], strict=False))
    for link in _rows("-4", "addr"):
        for entry in link.get("addr_info") or []:
            found.append(ipaddress.IPv4Network(f"{entry['local']}/{entry['prefixlen']}", False))
    return found


def pick_subnet(taken: list[ipaddress.IPv4Network] | None = None) -> ipaddress.IPv4Network:
    """The first candidate subnet that overlaps none of ``taken`` (default: what the
    machine routes or has addresses in)."""
    taken = taken_networks() if taken is None else taken
    for subnet in CANDIDATES:
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise NetworkError(f"every candidate subnet ({CANDIDATES[0]} ...) is in use here")


@dataclass(frozen=True)
class Namespace:
    """One node's network namespace and its address on the bridge."""

    name: str
    address: str

    @property
    def path(self) -> str:
        """What ``nsenter --net=`` takes."""
        return f"{NETNS_DIR}/{self.name}"

    def pids(self) -> list[int]:
        """The processes in the namespace (none if it is gone)."""
        try:
            return [int(pid) for pid in ip("netns", "pids", self.name).split()]
        except NetworkError:
            return []


class Network:
    """The bridge and ``count`` namespaces on ``subnet`` (see the module's docstring)."""

    def __init__(self, subnet: ipaddress.IPv4Network, count: int) -> None:
        hosts = list(subnet.hosts())
        self.subnet = subnet
        self.gateway = str(hosts[0])
        self.namespaces = [Namespace(f"{PREFIX}n{i}", str(hosts[i])) for i in range(1, count + 1)]

    def create(self) -> None:
        """Make the bridge and the namespaces (``NetworkError`` if a step fails: call
        ``remove`` after it all the same)."""
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")
        for index, namespace in enumerate(self.namespaces, start=1):
            veth = f"{PREFIX}v{index}"
            ip("netns", "add", namespace.name)
            ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace.name)
            ip("link", "set", veth, "master", BRIDGE, "up")
            inside = ("-n", namespace.name)
            ip(
                *inside,
                "addr",
                "add",
                f"{namespace.address}/{self.subnet.prefixlen}",
                "dev",
                "eth0",
            )
            ip(*inside, "link", "set", "eth0", "up")
            ip(*inside, "link", "set", "lo", "up")


def remove_all() -> list[str]:
    """Delete every ``dlt-`` link and namespace (of this run or a crashed one); run it
    once nothing runs in the namespaces. Returns what could not be deleted."""
    problems: list[str] = []
    # A veth deleted from its root side takes its peer with it at once; a namespace's
    # own deletion frees its links only later.
    for name in sorted(links_left(), key=lambda n: n == BRIDGE):  # the bridge last
        with contextlib.suppress(NetworkError):
            ip("link", "del", name)
    for row in _rows("netns"):
        name = str(row.get("name", ""))
        if name.startswith(PREFIX):
            try:
                ip("netns", "delete", name)
            except NetworkError as error:
                problems.append(str(error))
    problems.extend(f"link {name} is still there" for name in links_left())
    return problems


def links_left() -> list[str]:
    """The ``dlt-`` links of the root namespace (the bridge, the veths' root ends)."""
    return [str(row["ifname"]) for row in _rows("link") if str(row["ifname"]).startswith(PREFIX)]


def namespaces_left() -> list[Namespace]:
    """The ``dlt-`` namespaces that exist now (addresses unknown: "")."""
    return [
        Namespace(str(row["name"]), "")
        for row in _rows("netns")
        if str(row.get("name", "")).startswith(PREFIX)
    ]
