"""The console's badges and status pills are readable: each keeps a contrast of at least
4.5:1 (WCAG AA for normal text) between its text and its background, as console.css
declares them (the last rule for a selector wins, as in the browser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[3] / "server/console/static/console.css").read_text()
WHITE = "#ffffff"
CARD = WHITE  # tables and cards are white


def variables() -> dict[str, str]:
    root = re.search(r":root\s*\{([^}]*)\}", CSS)
    assert root is not None
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})", root.group(1)))


def declared(selector: str, prop: str) -> str:
    """The last value of ``prop`` for ``selector`` (vars resolved), '' when none."""
    found = ""
    pattern = re.escape(selector) + r"\s*\{([^}]*)\}"
    for body in re.findall(pattern, CSS):
        match = re.search(rf"(?:^|[;\s]){prop}:\s*([^;]+);", body)
        if match:
            found = match.group(1).strip()
    value = variables().get(found[4:-1], found) if found.startswith("var(") else found
    return "" if value == "transparent" else value


def luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("tone", ["ok", "bad", "busy", "off", "live"])
def test_a_status_badge_s_white_text_stands_out_from_its_colour(tone: str) -> None:
    assert contrast(WHITE, declared(f".badge.{tone}", "background")) >= 4.5


def test_a_badge_without_a_tone_is_readable_too() -> None:
    assert contrast(WHITE, declared(".badge", "background")) >= 4.5


def test_the_muted_was_live_outline_is_readable_on_a_white_row() -> None:
    assert declared(".badge.was-live", "background") == ""  # an outline, not a fill
    assert contrast(declared(".badge.was-live", "color"), CARD) >= 4.5


@pytest.mark.parametrize("tone", ["ok", "busy", "bad", "warn", "off"])
def test_an_app_status_pill_is_readable(tone: str) -> None:
    selector = f".status-pill.{tone}"
    assert contrast(declared(selector, "color"), declared(selector, "background")) >= 4.5
