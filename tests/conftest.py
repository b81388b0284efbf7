"""Shared fixtures. Each group of fixtures sits under its own `# --- Name ---` header."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import (
    MISSING_BINARIES_MESSAGE,
    PostgresServer,
    find_pg_bin,
    unique_database_name,
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --- PostgreSQL ---


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole test run (skipped if not installed; in CI,
    a missing server is a failure)."""
    if find_pg_bin() is None:
        if _in_ci():
            pytest.fail(MISSING_BINARIES_MESSAGE, pytrace=False)
        pytest.skip(MISSING_BINARIES_MESSAGE)
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """URL of a fresh, empty database of its own for this test."""
    return postgres_server.create_database(unique_database_name(request.node.name))
