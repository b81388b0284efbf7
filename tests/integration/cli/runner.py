"""Running ``ledgerctl`` in-process (``cli.main.main``) with captured output."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from cli.main import main

USER = "ann"

# CLI behaviour does not depend on the storage backend: one is enough.
SQLITE_ONLY = pytest.mark.parametrize("ledgerd_settings", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class Result:
    """What one ``ledgerctl`` run left: exit code, stdout, stderr."""

    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


class Ledgerctl:
    """Runs ``ledgerctl`` as user ``ann`` with ``LEDGER_APP=web`` against one ledgerd,
    signed in with ``token`` (``LEDGER_TOKEN``)."""

    def __init__(self, address: str, token: str = "") -> None:
        self.address = address
        self.environ = {
            "LEDGER_HOST": address,
            "LEDGER_APP": "web",
            "USER": USER,
            "LEDGER_TOKEN": token,
        }

    def __call__(self, *argv: str, environ: Mapping[str, str] | None = None) -> Result:
        stdout, stderr = io.StringIO(), io.StringIO()
        code = main(
            list(argv), stdout=stdout, stderr=stderr, environ={**self.environ, **(environ or {})}
        )
        return Result(code, stdout.getvalue(), stderr.getvalue())

    def ok(self, *argv: str, environ: Mapping[str, str] | None = None) -> Result:
        """Run and require exit 0."""
        result = self(*argv, environ=environ)
        assert result.code == 0, result.stderr
        return result

    # Steps the scenarios share.

    def build(self, image: str) -> str:
        """Build ``image`` for web; the id of the release it created."""
        return self.ok("build", "--image", image, "--id").stdout.strip()

    def deploy(self, image: str) -> str:
        """Build and promote ``image`` for web; the id of the release now active."""
        return str(
            self.ok("--json", "deploy", "--image", image, "--wait").json["build"]["release_id"]
        )

    def history(self, *argv: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.ok("--json", "history", "--limit", "1000", *argv).json
        return events
