"""The test cluster's own machinery (``tests.support.cluster``): what the multi-node tests
rely on to stay off the machine's networks, and to start clean after a crashed run."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from tests.support.cluster import ROOT, Cluster, exclusive, missing_prerequisites
from tests.support.docker import skip_or_fail
from tests.support.netns import CANDIDATES, PREFIX, links_left, namespaces_left, pick_subnet
from tests.support.sweep import cgroup_dirs, mounts_under, processes_under, sweep

pytestmark = pytest.mark.xdist_group("swarm-cluster")  # with the cluster tests' worker


def test_the_cluster_subnet_is_the_first_candidate_the_machine_does_not_use() -> None:
    taken = [IPv4Network("10.213.40.0/21"), IPv4Network("10.213.48.0/24")]  # 40 to 48

    assert pick_subnet(taken) == IPv4Network("10.213.49.0/24") == CANDIDATES[2]


def test_a_cluster_left_running_by_a_crashed_run_is_swept_whole() -> None:
    reason = missing_prerequisites()
    if reason:
        skip_or_fail(reason)
    with exclusive():
        assert sweep(ROOT) == []
        crashed = Cluster(2).start()  # never closed, as if its test run had been killed
        assert processes_under(ROOT) and mounts_under(ROOT)

        assert sweep(ROOT) == []

        assert (processes_under(ROOT), mounts_under(ROOT), ROOT.exists()) == ([], [], False)
        assert (namespaces_left(), links_left(), cgroup_dirs(f"{PREFIX}*")) == ([], [], [])
        assert not any(node.engine.running() for node in crashed.nodes)
