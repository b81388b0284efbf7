"""``kill -9`` of ``ledgerd`` in the middle of a burst of writes loses nothing acknowledged.

Clients keep sending env changes (each one key of its own) to a real ``ledgerd`` and
note which calls were acknowledged; the server is killed while they are at it, then
started again on the same ledger. Runs on SQLite files and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import grpc

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.infra.settings import Settings
from tests.integration.recovery.support import (
    connected,
    env_versions,
    ledgerd_env,
    projections_of,
    run_ledgerd,
)
from tests.integration.server.helpers import create_app, deploy
from tests.support.auth import channel_to
from tests.support.ledgerd import LedgerdProcess

WRITERS = 4
ACKNOWLEDGED_BEFORE_THE_KILL = 40
CALL_TIMEOUT = 10.0


class EnvBurst:
    """``WRITERS`` threads sending ``UpdateEnv`` calls, each setting a key of its own,
    until a call fails; ``acknowledged`` maps each acknowledged key to (value, env version)."""

    def __init__(self, address: str, token: str, app: str) -> None:
        self.address = address
        self.token = token
        self.app = app
        self.attempted: set[str] = set()
        self.acknowledged: dict[str, tuple[str, int]] = {}
        self.failures: list[grpc.StatusCode] = []
        self._lock = threading.Condition()
        self._threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(WRITERS)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_until_acknowledged(self, count: int, timeout: float = 30.0) -> None:
        with self._lock:
            assert self._lock.wait_for(
                lambda: len(self.acknowledged) >= count or len(self.failures) == WRITERS, timeout
            ), f"only {len(self.acknowledged)} changes acknowledged"
            assert not self.failures, f"writes failed before the kill: {self.failures}"

    def join(self) -> None:
        for thread in self._threads:
            thread.join(CALL_TIMEOUT * 2)

    def _write(self, writer: int) -> None:
        with channel_to(self.address, self.token, ready=False) as channel:
            client = LedgerStub(channel)
            for n in range(1_000_000):
                key, value = f"W{writer}_K{n}", f"value-{writer}-{n}"
                with self._lock:
                    self.attempted.add(key)
                try:
                    response = client.UpdateEnv(
                        pb.UpdateEnvRequest(app=self.app, set={key: value}),
                        timeout=CALL_TIMEOUT,
                    )
                except grpc.RpcError as error:
                    with self._lock:
                        self.failures.append(error.code())
                        self._lock.notify_all()
                    return
                with self._lock:
                    self.acknowledged[key] = (value, response.env_version)
                    self._lock.notify_all()


def test_a_kill_9_during_a_burst_of_env_changes_loses_nothing_acknowledged(
    ledgerd_settings: Settings, ledgerd_process: Callable[..., LedgerdProcess]
) -> None:
    env = ledgerd_env(ledgerd_settings)
    server = ledgerd_process(env)
    with connected(server) as client:
        create_app(client, "web")
        first = deploy(client, "web", "web:1")  # so that every env change makes a release
    burst = EnvBurst(server.address, server.token, "web")
    burst.start()
    burst.wait_until_acknowledged(ACKNOWLEDGED_BEFORE_THE_KILL)

    server.kill()
    burst.join()
    restarted = ledgerd_process(env)

    with connected(restarted) as client:
        current = client.GetEnv(pb.GetEnvRequest(app="web", reveal=True))
        history = env_versions(client, "web")
        resumed = projections_of(client, "web")
    # Every acknowledged change is there, with the env version it was acknowledged with;
    # the versions run 1..N without a gap; each one made its release.
    assert {key: current.values[key] for key in burst.acknowledged} == {
        key: value for key, (value, _) in burst.acknowledged.items()
    }
    assert set(current.values) <= burst.attempted
    assert list(history) == list(range(1, current.version + 1))
    assert all(history[version] == [key] for key, (_, version) in burst.acknowledged.items())
    app, listed, _ = resumed
    assert app.active_release_id == first.id
    assert sorted(release.env_version for release in listed) == list(range(current.version + 1))
    # The projections the restarted ledgerd resumed equal a rebuild from the log.
    restarted.stop()
    rebuild = run_ledgerd(env, "projections", "rebuild")
    assert rebuild.returncode == 0, rebuild.stderr
    with connected(ledgerd_process(env)) as client:
        assert projections_of(client, "web") == resumed
