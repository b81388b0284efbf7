"""``ledgerctl run``: one-off commands against a real ledgerd.

On the ``record`` runtime (the default) nothing runs, and ledgerd says so; the commands
themselves run on the Docker runtime (tests marked ``docker``), in a new container of a
release made from a tiny busybox image.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from cli.main import main
from server.infra.settings import Settings
from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl, Result
from tests.support.docker import TestImages, docker_app, docker_client, test_images
from tests.support.ledgerd import InProcessLedgerd

__all__ = ["docker_app", "docker_client", "test_images"]


def binary(ledgerctl: Ledgerctl, *argv: str) -> tuple[int, bytes, str]:
    """Run ``ledgerctl`` with a stdout that has a binary buffer, as a terminal or a pipe
    has: (exit code, the bytes written to stdout, stderr)."""
    raw = io.BytesIO()
    stdout, stderr = io.TextIOWrapper(raw, encoding="utf-8"), io.StringIO()
    code = main(list(argv), stdout=stdout, stderr=stderr, environ=ledgerctl.environ)
    stdout.flush()
    return code, raw.getvalue(), stderr.getvalue()


@SQLITE_ONLY
def test_on_the_record_runtime_a_command_is_refused_with_exit_1_saying_why(
    web: Ledgerctl,
) -> None:
    web.deploy("web:1")

    result: Result = web("run", "web", "--", "echo", "hi")

    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("ledgerctl: error: ") and result.stderr.count("\n") == 1
    assert "docker runtime" in result.stderr


@SQLITE_ONLY
def test_a_command_in_an_app_with_no_active_release_is_refused_with_exit_1(
    web: Ledgerctl,
) -> None:
    result = web("run", "web", "--", "true")

    assert result.code == 1
    assert "no active release" in result.stderr


# ----------------------------------------------------------------- the Docker runtime


@pytest.fixture
def docker_ledgerctl(
    docker_client: docker.DockerClient, docker_app: str, tmp_path: Path
) -> Iterator[Ledgerctl]:
    """``ledgerctl`` with ``LEDGER_APP`` = a new app, on a ledgerd of the Docker runtime."""
    settings = Settings(
        data_dir=tmp_path / "ledger",
        listen="127.0.0.1:0",
        console_listen="",
        runtime="docker",
    )
    with InProcessLedgerd(settings) as server:
        ledgerctl = Ledgerctl(server.address, server.token)
        ledgerctl.environ["LEDGER_APP"] = docker_app
        ledgerctl.ok("apps", "create", docker_app)
        yield ledgerctl


@pytest.fixture
def release(docker_ledgerctl: Ledgerctl, test_images: TestImages) -> str:
    """A release (not promoted) of a worker image with busybox in it."""
    return docker_ledgerctl.build(test_images.get("worker"))


@pytest.mark.docker
def test_a_commands_output_reaches_stdout_and_its_exit_code_is_ledgerctls(
    docker_ledgerctl: Ledgerctl, release: str
) -> None:
    script = "echo out; echo err >&2; exit 7"

    code, out, err = binary(
        docker_ledgerctl, "run", "web", "--release", release, "--", "sh", "-c", script
    )

    assert code == 7
    assert sorted(out.splitlines()) == [b"err", b"out"]
    assert err == ""


@pytest.mark.docker
def test_a_commands_binary_output_reaches_stdout_byte_for_byte(
    docker_ledgerctl: Ledgerctl, release: str
) -> None:
    script = r"printf '\377\000bin\n'; printf 'no newline at the end'"

    code, out, _ = binary(
        docker_ledgerctl, "run", "web", "--release", release, "--", "sh", "-c", script
    )

    assert code == 0
    assert out == b"\xff\x00bin\nno newline at the end"


@pytest.mark.docker
def test_a_command_that_succeeds_exits_0(docker_ledgerctl: Ledgerctl, release: str) -> None:
    code, out, _ = binary(docker_ledgerctl, "run", "web", "--release", release, "--", "echo", "ok")

    assert (code, out) == (0, b"ok\n")


@pytest.mark.docker
def test_a_command_past_its_timeout_is_stopped_and_does_not_exit_0(
    docker_ledgerctl: Ledgerctl, release: str
) -> None:
    argv = ["run", "web", "--release", release, "--timeout", "1s", "--", "sleep", "60"]

    code, _, _ = binary(docker_ledgerctl, *argv)

    assert code != 0


@pytest.mark.docker
def test_a_command_of_a_service_the_release_does_not_have_is_refused_with_exit_1(
    docker_ledgerctl: Ledgerctl, release: str
) -> None:
    code, out, err = binary(docker_ledgerctl, "run", "db", "--release", release, "--", "true")

    assert (code, out) == (1, b"")
    assert err.startswith("ledgerctl: error: ") and "db" in err
