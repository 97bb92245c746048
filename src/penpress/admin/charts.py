"""Bar charts drawn on the server as inline SVG: no script, no chart library, no inline style.

The geometry is computed here; ``templates/admin/_chart.html`` writes the elements, and the
colours come from CSS classes over the site's custom properties (``static/css/style.css``), so
the charts follow the light and dark schemes and pass the strict Content-Security-Policy. The
``viewBox`` makes them scale to the width of any screen, a 390 px phone included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 220
TOP = 16  # room for the largest bar's value
BOTTOM = 28  # room for the labels under the bars
LEFT = 24  # room on both sides for the first and last labels
ROW = 26  # a horizontal chart's row height
TICK_CHARS = 24  # a horizontal chart's names are cut to this (the full name is in the tooltip)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # the bar's full name, for its tooltip and the table beside the chart
    tick: str  # what is written under (or beside) the bar; "" to skip it


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    horizontal: bool = False

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


def columns(
    title: str,
    points: Sequence[tuple[str, int]],
    *,
    tick_every: int = 1,
    short: Callable[[str], str] = str,
) -> Chart:
    """Vertical bars, one per point, left to right; every ``tick_every``-th counting back from
    the last is labelled with ``short(label)``."""
    n = max(len(points), 1)
    slot = (WIDTH - 2 * LEFT) / n
    tallest = max((value for _, value in points), default=0) or 1
    room = HEIGHT - TOP - BOTTOM
    bars = []
    for i, (label, value) in enumerate(points):
        height = room * value / tallest
        bars.append(
            Bar(
                x=round(LEFT + i * slot + slot * 0.15, 2),
                y=round(TOP + room - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                value=value,
                label=label,
                tick=short(label) if (n - 1 - i) % tick_every == 0 else "",
            )
        )
    return Chart(title, WIDTH, HEIGHT, bars)


def rows(title: str, points: Sequence[tuple[str, int]], *, label_width: int = 240) -> Chart:
    """Horizontal bars, one per point, top to bottom, named on their left."""
    tallest = max((value for _, value in points), default=0) or 1
    room = WIDTH - label_width - 60  # the value is written after the bar
    bars = [
        Bar(
            x=label_width,
            y=i * ROW + 4,
            width=round(max(room * value / tallest, 1), 2),
            height=ROW - 8,
            value=value,
            label=label,
            tick=label if len(label) <= TICK_CHARS else label[: TICK_CHARS - 1] + "…",
        )
        for i, (label, value) in enumerate(points)
    ]
    return Chart(title, WIDTH, max(len(points), 1) * ROW, bars, horizontal=True)
