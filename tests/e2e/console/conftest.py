"""The console in a real browser: a ledgerd serving it, Chromium, and signed-in pages;
and the same on the machine's Docker Engine (``docker_*``: skipped without an engine
outside CI, failed in CI, by ``docker_client`` of tests/support/docker.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import grpc
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from ledger_api.v1 import ledger_pb2_grpc
from server.infra.settings import Settings
from tests.support.browser import chromium, chromium_or_skip, key_token, new_page, sign_in
from tests.support.docker import docker_app, docker_client
from tests.support.ledgerd import InProcessLedgerd

__all__ = ["docker_app", "docker_client"]  # fixtures of tests/support/docker.py


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the console's tests (each test gets its own context).

    Package-scoped, not session-scoped: Playwright's sync API keeps an event loop running
    in the main thread while it is open, and tests elsewhere call ``asyncio.run``."""
    with chromium(chromium_or_skip()) as launched:
        yield launched


@pytest.fixture
def ledgerd_settings(tmp_path: Path) -> Settings:
    """A fresh ledger on SQLite only, serving the console on a free port (overrides the
    top-level fixture, which runs each test on PostgreSQL too)."""
    return Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )


@pytest.fixture
def console_ledgerd(browser: Browser, ledgerd: InProcessLedgerd) -> InProcessLedgerd:
    """The ``ledgerd`` fixture (record runtime), whose console the browser opens."""
    return ledgerd


@pytest.fixture
def admin_channel(ledgerd_channel: grpc.Channel) -> grpc.Channel:
    """The gRPC API as the admin, to arrange what a test then looks at in the browser."""
    return ledgerd_channel


@pytest.fixture
def api(ledgerd_client: ledger_pb2_grpc.LedgerStub) -> ledger_pb2_grpc.LedgerStub:
    """``admin_channel``'s Ledger stub."""
    return ledgerd_client


@pytest.fixture
def open_page(browser: Browser, console_ledgerd: InProcessLedgerd) -> Iterator[Callable[[], Page]]:
    """``open_page()``: a new, signed-out page on the console (contexts closed at the end)."""
    contexts: list[BrowserContext] = []

    def open_() -> Page:
        context, page = new_page(browser, console_ledgerd.console_url)
        contexts.append(context)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def admin_page(open_page: Callable[[], Page], console_ledgerd: InProcessLedgerd) -> Page:
    """A page signed in with the ledger's admin key."""
    page = open_page()
    sign_in(page, console_ledgerd.token)
    return page


@pytest.fixture
def page_as(open_page: Callable[[], Page], admin_channel: grpc.Channel) -> Callable[..., Page]:
    """``page_as("auditor")`` / ``page_as("deployer", "shop")``: a page signed in with a new
    key of that role (and apps)."""
    count = 0

    def signed_in(role: str, *apps: str) -> Page:
        nonlocal count
        count += 1
        page = open_page()
        sign_in(page, key_token(admin_channel, f"{role}-{count}", role, *apps))
        return page

    return signed_in


# --- on the Docker Engine ---


@pytest.fixture
def docker_ledgerd(
    ledgerd_settings: Settings, docker_client: docker.DockerClient
) -> Iterator[InProcessLedgerd]:
    """A fresh ledger serving the console, building and rolling out on the machine's Docker
    Engine."""
    with InProcessLedgerd(dataclasses.replace(ledgerd_settings, runtime="docker")) as server:
        yield server


@pytest.fixture
def docker_api(docker_ledgerd: InProcessLedgerd) -> Iterator[ledger_pb2_grpc.LedgerStub]:
    """The gRPC API of ``docker_ledgerd`` as its admin."""
    with docker_ledgerd.channel() as channel:
        yield ledger_pb2_grpc.LedgerStub(channel)


@pytest.fixture
def docker_page(browser: Browser, docker_ledgerd: InProcessLedgerd) -> Iterator[Page]:
    """The console of ``docker_ledgerd``, signed in as its admin."""
    context, page = new_page(browser, docker_ledgerd.console_url)
    sign_in(page, docker_ledgerd.token)
    yield page
    context.close()
