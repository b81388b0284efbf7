"""Helpers every page module uses: the console of a request, forms, the app header."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from ledger.errors import InvalidArgument
from ledger.ids import check_app_name
from ledger.policy import Action, Principal
from ledger.queries import AppSummary
from server.console.context import Console

TABS = (
    ("releases", "Releases"),
    ("tasks", "Tasks"),
    ("builds", "Builds"),
    ("env", "Environment"),
    ("promotions", "Promotions"),
    ("history", "History"),
    ("metrics", "Metrics"),
)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def signed_in(request: Request) -> tuple[Console, Principal]:
    """The console and the signed-in key (SignInRequired without a live session)."""
    console = console_of(request)
    return console, await console.user(request)


async def app_header(console: Console, principal: Principal, name: str) -> AppSummary:
    """The top of every app page: the app named in the URL (after checking the key may read
    it), the promotion in flight, those queued behind it and the active release."""
    check_app_name(name)
    console.allow(principal, Action.READ, name)
    header: AppSummary = await console.run(console.queries.app_summary, name, with_active=True)
    return header


def app_context(header: AppSummary, tab: str, **extra: Any) -> dict[str, Any]:
    """The template context of an app page on ``tab``."""
    return {"header": header, "app": header.app, "tab": tab, "tabs": TABS, **extra}


async def form(request: Request) -> dict[str, str]:
    """The posted form as text fields (files are not accepted here)."""
    data = await request.form()
    values: dict[str, str] = {}
    for key, value in data.multi_items():
        if not isinstance(value, str):
            raise InvalidArgument(f"unexpected file in field {key}")
        values[key] = value
    return values


def query_number(params: Mapping[str, str], name: str) -> int:
    """A non-negative whole number from the query string, e.g. a pager's cursor (0 when
    absent; InvalidArgument when it is not one)."""
    value = int_field(dict(params), name, 0) or 0
    if value < 0:
        raise InvalidArgument(f"{name} must not be negative")
    return value


def int_field(values: dict[str, str], name: str, default: int | None = None) -> int | None:
    """An optional integer form field (InvalidArgument when it is not one)."""
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a whole number, not {raw[:20]!r}") from None
