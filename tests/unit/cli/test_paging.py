"""Paging: fetch page after page until the end or the limit, never forever."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cli.client import MAX_PAGE_SIZE, paginate

Fetch = Callable[[int, str], tuple[Sequence[int], str]]


def pages(items: list[int], server_page: int) -> tuple[Fetch, list[tuple[int, str]]]:
    """Pages of ``items`` as a server cutting at ``server_page`` would send them."""
    asked: list[tuple[int, str]] = []

    def fetch(size: int, token: str) -> tuple[Sequence[int], str]:
        asked.append((size, token))
        start = int(token or 0)
        end = start + min(size, server_page)
        return items[start:end], str(end) if end < len(items) else ""

    return fetch, asked


def test_pages_are_fetched_until_the_server_sends_no_next_token() -> None:
    fetch, asked = pages(list(range(5)), server_page=2)

    assert paginate(fetch, 100) == [0, 1, 2, 3, 4]
    assert [token for _, token in asked] == ["", "2", "4"]


def test_paging_stops_at_the_limit_and_asks_only_for_what_is_missing() -> None:
    fetch, asked = pages(list(range(500)), server_page=MAX_PAGE_SIZE)

    assert paginate(fetch, 150) == list(range(150))
    assert [size for size, _ in asked] == [MAX_PAGE_SIZE, 50]


def test_a_page_token_seen_before_ends_the_paging() -> None:
    asked: list[str] = []

    def same_token_forever(size: int, token: str) -> tuple[Sequence[int], str]:
        asked.append(token)
        return [1], "again"

    assert paginate(same_token_forever, 100) == [1, 1]
    assert asked == ["", "again"]
