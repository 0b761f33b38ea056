"""The rooms' charts: the last 30 minutes as inline SVG polylines (no chart library, no script)."""

from __future__ import annotations

import datetime as dt

import msgspec

from queue_service.console.history import KEEP_SECONDS, Sample


class Chart(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    top: int
    """The value at the top edge."""
    waiting: str
    active: str
    max_active: str
    """SVG ``points`` of each line."""


def chart(samples: list[Sample], now: dt.datetime, width: int = 600, height: int = 160) -> Chart:
    """Waiting, active and max_active over the last 30 minutes, time left to right, 0 at the bottom."""
    end = now.timestamp()
    start = end - KEEP_SECONDS
    # Scaled to the people in the room; a max_active far above them runs along the top edge.
    top = _nice(max([10, *(max(s.waiting, s.active) * 6 // 5 for s in samples)]))

    def line(values: list[tuple[float, int]]) -> str:
        return " ".join(
            f"{(at - start) / KEEP_SECONDS * width:.1f},{height - min(value, top) / top * (height - 4) - 2:.1f}"
            for at, value in values
        )

    return Chart(
        width=width,
        height=height,
        top=top,
        waiting=line([(s.at, s.waiting) for s in samples]),
        active=line([(s.at, s.active) for s in samples]),
        max_active=line([(s.at, s.max_active) for s in samples]),
    )


def _nice(value: int) -> int:
    """The next 1, 2 or 5 × 10ⁿ at or above ``value``."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10
