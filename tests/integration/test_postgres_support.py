"""The test helper starts a real, private PostgreSQL server and hands out fresh databases."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.postgres import PostgresServer, unique_database_name

pytestmark = pytest.mark.postgres


def test_the_server_accepts_a_connection_and_runs_select_1_on_a_fresh_database(
    postgres_url: str,
) -> None:
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_two_fresh_databases_are_independent(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    other_url = postgres_server.create_database(unique_database_name("other"))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("create table marker (id int)")
        assert conn.execute("select to_regclass('marker')").fetchone() == ("marker",)
    with psycopg.connect(other_url) as conn:
        assert conn.execute("select to_regclass('marker')").fetchone() == (None,)
