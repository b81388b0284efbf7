"""Small charts as inline SVG, drawn on the server: no script, no library, no network.

Why server-rendered: the console works without JavaScript and its CSP allows no inline
script, so a chart is markup like the rest of the page. Each chart is an ``<svg
role="img">`` whose ``<title>`` and ``<desc>`` say what it shows (screen readers read
them), with a ``<title>`` on every bar or dot (the browser shows it on hover) and its
value in ``data-value``, so the figures are in the page, not only in the picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 170
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 26  # margins: axis labels live there
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Sample:
    """One point of a series: its label (the period), its value (None: nothing measured)."""

    label: str
    value: float | None


def bars(
    chart_id: str,
    title: str,
    samples: Sequence[Sample],
    text: Callable[[float], str],
    *,
    top: float | None = None,
) -> Markup:
    """A bar per sample, heights from 0 to ``top`` (default: the largest value)."""
    scale = _top(samples, top)
    slot = PLOT_W / max(len(samples), 1)
    width = max(slot * 0.7, 1.0)
    marks = []
    for index, sample in enumerate(samples):
        if sample.value is None:
            continue
        height = PLOT_H * sample.value / scale
        x = LEFT + index * slot + (slot - width) / 2
        marks.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + PLOT_H - height:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}" data-value="{sample.value:g}">'
            f"<title>{escape(sample.label)}: {escape(text(sample.value))}</title></rect>"
        )
    return _svg(chart_id, title, samples, text, scale, "".join(marks))


def line(
    chart_id: str, title: str, samples: Sequence[Sample], text: Callable[[float], str]
) -> Markup:
    """A line through the samples that have a value, with a dot on each."""
    scale = _top(samples, None)
    slot = PLOT_W / max(len(samples), 1)
    points = []
    dots = []
    for index, sample in enumerate(samples):
        if sample.value is None:
            continue
        x = LEFT + index * slot + slot / 2
        y = TOP + PLOT_H - PLOT_H * sample.value / scale
        points.append(f"{x:.1f},{y:.1f}")
        dots.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5" data-value="{sample.value:g}">'
            f"<title>{escape(sample.label)}: {escape(text(sample.value))}</title></circle>"
        )
    path = f'<polyline class="line" points="{" ".join(points)}"/>' if len(points) > 1 else ""
    return _svg(chart_id, title, samples, text, scale, path + "".join(dots))


def _top(samples: Sequence[Sample], top: float | None) -> float:
    largest = max((s.value for s in samples if s.value is not None), default=0.0)
    return top if top else (largest or 1.0)


def _svg(
    chart_id: str,
    title: str,
    samples: Sequence[Sample],
    text: Callable[[float], str],
    scale: float,
    marks: str,
) -> Markup:
    measured = [s for s in samples if s.value is not None]
    first, last = (samples[0].label, samples[-1].label) if samples else ("", "")
    desc = (
        f"{len(measured)} of {len(samples)} periods measured, {first} to {last}; "
        f"the highest is {text(max(s.value for s in measured if s.value is not None))}."
        if measured
        else f"Nothing to measure from {first} to {last}."
    )
    base = TOP + PLOT_H
    axes = (
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}"/>'
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">'
        f"{escape(text(scale))}</text>"
        f'<text class="tick" x="{LEFT - 6}" y="{base}" text-anchor="end">{escape(text(0.0))}</text>'
        f'<text class="tick" x="{LEFT}" y="{HEIGHT - 6}">{escape(first)}</text>'
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">'
        f"{escape(last)}</text>"
    )
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'data-points="{len(samples)}">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
        f"{axes}{marks}</svg>"
    )
