"""A real browser for the console's tests: Debian's Chromium driven by Playwright.

Playwright's own browser downloads cannot work here, so the machine's ``chromium``
(installed by ``scripts/install-system-deps.sh``) is launched by path, headless, with the
flags that keep it from reaching for the network at start. Tests that need it skip with
the reason when it is missing, except in CI, where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.support.auth import create_key
from tests.support.docker import in_ci

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    "no Chromium: run scripts/install-system-deps.sh (installs Debian's chromium), "
    "or set LEDGER_TEST_CHROMIUM to a Chromium binary"
)
TIMEOUT_MS = 15_000


def chromium_path() -> str | None:
    """The Chromium to drive: $LEDGER_TEST_CHROMIUM, else Debian's."""
    configured = os.environ.get("LEDGER_TEST_CHROMIUM", "")
    for candidate in (configured, "/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def chromium_or_skip() -> str:
    path = chromium_path()
    if path is None:
        if in_ci():
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    return path


@contextmanager
def chromium(path: str) -> Iterator[Browser]:
    """A headless Chromium for a test session."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, base_url: str) -> tuple[BrowserContext, Page]:
    """A fresh browser context (no cookies) on the console at ``base_url``."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return context, context.new_page()


def sign_in(page: Page, token: str) -> None:
    """Sign in on the console's own form, as a person would."""
    page.goto("/sign-in")
    page.get_by_label("Deploy key token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/sign-in"))


def key_token(admin: grpc.Channel, name: str, role: str, *apps: str) -> str:
    """The token of a new key (created with the admin channel)."""
    _, token = create_key(admin, name, role, *apps)
    return token
