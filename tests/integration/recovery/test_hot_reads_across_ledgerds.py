"""What one ``ledgerd`` keeps in memory follows the changes another makes (PostgreSQL).

Two real processes on one database: the second reads an app (so keeps it in memory), the
first changes it; the second's answers come to show the change (its projection worker
sees the events, projected by either process, and drops what they touched).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.recovery.support import connected, eventually
from tests.integration.server.helpers import build, create_app
from tests.support.ledgerd import LedgerdProcess

pytestmark = pytest.mark.postgres

SHARED_CIPHER_KEY = "c2hhcmVkLWtleS1vZi10aGUtdGVzdC1sZWRnZXIhISE="  # processes of one ledger
StartLedgerd = Callable[..., LedgerdProcess]


def two_ledgerds(
    ledgerd_process: StartLedgerd, database_url: str, tmp_path: Path
) -> tuple[LedgerdProcess, LedgerdProcess]:
    first, second = (
        ledgerd_process(
            {
                "LEDGER_DATABASE_URL": database_url,
                "LEDGER_DATA": str(tmp_path / f"ledgerd{n}"),
                "LEDGER_CIPHER_KEY": SHARED_CIPHER_KEY,
            }
        )
        for n in range(2)
    )
    return first, second


def showing(app: pb.App, env_version: int) -> pb.App | None:
    return app if app.env_version == env_version else None


def test_changes_made_through_one_ledgerd_show_in_what_the_other_keeps_in_memory(
    ledgerd_process: StartLedgerd, postgres_url: str, tmp_path: Path
) -> None:
    first, second = two_ledgerds(ledgerd_process, postgres_url, tmp_path)
    with connected(first) as writer, connected(second) as reader:
        create_app(writer, "web")
        request = pb.GetAppRequest(name="web")
        eventually(lambda: reader.GetApp(request), "the app readable through the second")

        for n in range(1, 6):
            reader.GetApp(request)  # kept in memory by the second
            reader.ListReleases(pb.ListReleasesRequest(app="web"))
            build(writer, "web", f"web:{n}")
            writer.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"N": str(n)}))

            app = eventually(
                lambda n=n: showing(reader.GetApp(request), n),
                f"env version {n} shown by the second ledgerd",
            )
            assert app.release_count == n
            releases = reader.ListReleases(pb.ListReleasesRequest(app="web")).releases
            assert [r.version for r in releases] == list(range(n, 0, -1))
