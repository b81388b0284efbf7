"""The console in a real browser: a ledgerd serving it, Chromium, and signed-in pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from ledger.settings import Settings
from ledger_api.v1 import ledger_pb2_grpc
from tests.support.browser import chromium, chromium_or_skip, key_token, new_page, sign_in
from tests.support.ledgerd import InProcessLedgerd


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run (each test gets its own context)."""
    with chromium(chromium_or_skip()) as launched:
        yield launched


@pytest.fixture
def console_ledgerd(tmp_path: Path, browser: Browser) -> Iterator[InProcessLedgerd]:
    """A fresh ledger (SQLite, record runtime) serving gRPC and the console on free ports."""
    settings = Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )
    with InProcessLedgerd(settings) as server:
        yield server


@pytest.fixture
def admin_channel(console_ledgerd: InProcessLedgerd) -> Iterator[grpc.Channel]:
    """The gRPC API as the admin, to arrange what a test then looks at in the browser."""
    with console_ledgerd.channel() as channel:
        yield channel


@pytest.fixture
def api(admin_channel: grpc.Channel) -> ledger_pb2_grpc.LedgerStub:
    return ledger_pb2_grpc.LedgerStub(admin_channel)


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
