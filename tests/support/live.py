"""Watching a console page's live regions in the browser: the requests they make in the
background (htmx's, which carry ``HX-Request``), what its stream said first, and how the
page shows times."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Request

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub

EXACT_UTC = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
RELATIVE = re.compile(r"^(\d+ (s|min|h)( \d+ s)? ago|on \d{1,2} [A-Z][a-z]{2}( \d{4})?)$")
LOG_LIVE = """(() => {
  window.liveLog = [];
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(url, options) {
      super(url, options);
      this.addEventListener("open", () => window.liveLog.push({kind: "open"}));
      this.addEventListener("ledger", (event) => window.liveLog.push(
        {kind: "message", position: JSON.parse(event.data).position}));
    }
  };
  document.addEventListener("htmx:beforeRequest", (event) => window.liveLog.push(
    {kind: "request", path: event.detail.requestConfig.path}), true);
})()"""


def open_live(page: Page, path: str) -> list[Request]:
    """Open ``path`` and wait until its stream is open; returns the background requests the
    page makes from then on (filled as they happen), not those of a page signing in left
    behind."""
    asked: list[Request] = []

    def from_this_page(request: Request) -> None:
        current = request.headers.get("hx-current-url", "")
        if request.headers.get("hx-request") == "true" and current.endswith(path):
            asked.append(request)

    page.on("request", from_this_page)
    page.add_init_script(LOG_LIVE)
    page.goto(path)
    # A function, not an expression: polling an expression evals it, which the page's CSP
    # forbids (an error whenever the stream is not open at the first look).
    page.wait_for_function("() => window.liveLog.some((entry) => entry.kind === 'open')")
    return asked


def newest_position(api: LedgerStub) -> int:
    """The log's newest position (0 on an empty log)."""
    events = api.ListEvents(pb.ListEventsRequest(newest_first=True, page_size=1)).events
    return events[0].position if events else 0


def assert_nothing_fetched_before_the_next_event(page: Page, head: int) -> None:
    """The stream's first message is an event after ``head`` (the page was up to date: no
    catch-up) and no region asked for anything before it."""
    log = page.evaluate("window.liveLog")
    first = next(i for i, entry in enumerate(log) if entry["kind"] == "message")
    assert log[first]["position"] > head, log
    assert [entry for entry in log[:first] if entry["kind"] == "request"] == [], log


def assert_fragments_only(asked: list[Request], regions: set[str]) -> None:
    """Each background request named one of ``regions`` and was answered with that
    region alone, never a whole page."""
    assert asked, "no live region asked for anything"
    assert {request.headers.get("hx-target") for request in asked} <= regions
    for request in asked:
        response = request.response()
        assert response is not None and response.status == 200
        assert "<html" not in response.text(), request.url  # a fragment, not the page


def assert_times_relative(page: Page, selector: str = "main time") -> int:
    """Every ``<time>`` under ``selector`` reads how long ago, with the exact UTC time in
    its title and machine-readable; returns how many there are."""
    times = page.locator(selector)
    for index in range(times.count()):
        shown = times.nth(index)
        text = (shown.text_content() or "").strip()
        assert RELATIVE.match(text), text
        assert EXACT_UTC.match(shown.get_attribute("title") or ""), shown.get_attribute("title")
        assert (shown.get_attribute("datetime") or "").endswith("+00:00")
    return times.count()
