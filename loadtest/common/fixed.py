"""Sets the fixed counts of admins, bad actors and readers from the options, once, on the master."""

from __future__ import annotations

from typing import Any

from locust import events

from loadtest.common.options import options


def fixed_counts(**classes: Any) -> None:
    """``fixed_counts(admins=Admin, bad_actors=Bad, readers=Reader)``: class.fixed_count = --<option>."""

    @events.init.add_listener
    def _set(environment: Any, **_: Any) -> None:
        opts = options(environment)
        if opts is None:
            return
        for option, user_class in classes.items():
            user_class.fixed_count = int(getattr(opts, option))
