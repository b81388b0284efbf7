"""End-to-end: the real `ledgerctl` console script against a real `ledgerd` process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.ledgerd import LedgerdProcess

LEDGERCTL = str(Path(sys.executable).with_name("ledgerctl"))
LEDGERD = str(Path(sys.executable).with_name("ledgerd"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Deployment:
    """A ledgerd process that can be stopped, crashed and restarted on the same data."""

    env: dict[str, str]
    cwd: Path
    process: LedgerdProcess | None = None
    started: list[LedgerdProcess] = field(default_factory=list)

    def start(self) -> None:
        self.process = LedgerdProcess(self.env, cwd=self.cwd).start()
        self.started.append(self.process)

    def stop(self) -> None:
        assert self.process is not None
        assert self.process.stop() == 0, "".join(self.process.output)

    def crash(self) -> None:
        assert self.process is not None
        self.process.kill()

    def ctl(self, *args: str, ok: bool = True) -> Result:
        assert self.process is not None
        done = subprocess.run(
            [LEDGERCTL, "--host", self.process.address, *args],
            env={**self.process_env(), "LEDGER_TOKEN": self.process.token},
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        if ok:
            assert result.code == 0, f"ledgerctl {' '.join(args)}: {result.err}"
        return result

    def js(self, *args: str) -> Any:
        return self.ctl("--json", *args).json

    def ledgerd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LEDGERD, *args],
            env={**self.process_env(), **self.env},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    @staticmethod
    def process_env() -> dict[str, str]:
        import os

        return dict(os.environ)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    env = {"LEDGER_DATA": str(tmp_path / "data")}
    if request.param == "postgres":
        env["LEDGER_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    deployment = Deployment(env=env, cwd=tmp_path)
    deployment.start()
    yield deployment
    for process in deployment.started:
        process.stop()


Ctl = Callable[..., Result]
