"""Load shapes: how many people are in the system, second by second.

``SurgeShape``: the opening.  The fixed-count users (admins, bad actors,
status readers) come first, then ``--families`` families arrive at an even
rate within ``--arrival-seconds`` and stay until the end: a family that is
done stays idle (locust would otherwise start a new one in its place), so the
user count is the number of families that have arrived.  The shape stops the
test at ``--run-time`` even in the web UI, so a run is always bounded.

``SteadyShape``: only the fixed-count users, for ``--run-time``.
"""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape

from loadtest.common.options import options

DEFAULT_RUN_SECONDS = 120


def _fixed(runner: Any) -> int:
    """The fixed-count users of the classes this locustfile runs."""
    return sum(int(getattr(c, "fixed_count", 0) or 0) for c in runner.user_classes)


def _limit(opts: Any) -> float:
    return float(getattr(opts, "run_time", None) or DEFAULT_RUN_SECONDS)


class SurgeShape(LoadTestShape):
    """N families within T seconds of the opening, on top of the fixed-count users."""

    use_common_options = True  # --run-time bounds the run (the shape reads it too)

    def tick(self) -> tuple[int, float] | None:
        opts = options(self.runner.environment)
        elapsed = self.get_run_time()
        if elapsed >= _limit(opts):
            return None
        families = int(opts.families)
        rate = max(families / max(float(opts.arrival_seconds), 0.001), 1.0)
        fixed = _fixed(self.runner)
        return families + fixed, rate + fixed


class SteadyShape(LoadTestShape):
    """Only the fixed-count users (readers, bad actors, admins), for the run time."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        opts = options(self.runner.environment)
        if self.get_run_time() >= _limit(opts):
            return None
        fixed = _fixed(self.runner)
        return fixed, float(max(fixed, 1))
