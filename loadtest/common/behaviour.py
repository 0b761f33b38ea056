"""What a family does and when, decided without any HTTP client: one home for both load generators.

The locust :class:`loadtest.common.users.Family` (QA's kit) and the lean wave generator
(:mod:`loadtest.lean_wave`, ``scripts/bench wave``'s default) send their requests differently
(gevent and geventhttpclient, or asyncio and a small HTTP/1.1 protocol), but a family must behave
the same in both, or the two would measure different waves: when it arrives, how long it waits
between polls and after a "not now", which school and children it files for, how long it fills in
the form.  Those decisions live here, with the scenarios' option defaults (``options.toml``), and
import neither locust nor gevent (importing locust monkey-patches the process for gevent).
"""

from __future__ import annotations

import bisect
import itertools
import random
import tomllib
from importlib import resources
from types import SimpleNamespace
from typing import Any

from loadtest.common import people

OPTIONS: dict[str, dict[str, Any]] = tomllib.loads(
    resources.files("loadtest.common").joinpath("options.toml").read_text(encoding="utf-8")
)
"""The scenarios' options, as data: each one's default, whose type is the option's, and its help."""

HEARTBEAT_SECONDS = 10.0
"""How often an open form renews its slot: under a quarter of the shortest lease (``session_ttl`` ≥ 30 s)."""
ARRIVAL_SPREAD_SECONDS = 1.0
"""How long locust's dispatcher takes to add one batch of users (one iteration, ~1 s)."""
MIN_POLL_SECONDS = 0.2
NO_HINT_POLL_SECONDS = 2.0
"""The poll interval when an answer suggests none."""
RETRY_AFTER_SECONDS = 5.0
"""The wait after a "not now" (429, 503, ``queue_full``) without a ``Retry-After`` header."""
JOIN_ERROR_SECONDS = (2.0, 3.0)
"""After a 5xx to a join: wait 2 s plus up to 3 s more, then join again."""
NOT_NOW_CODES = frozenset({"queue_full", "window_not_open"})
"""A join's problem codes that mean "come back later" (as do 429 and 503), not an error."""


def defaults(**overrides: Any) -> SimpleNamespace:
    """The options as locust's parser gives them (``think_seconds``…): the defaults, then ``overrides``."""
    values = {name.replace("-", "_"): option["default"] for name, option in OPTIONS.items()}
    unknown = set(overrides) - set(values)
    if unknown:
        raise ValueError(f"unknown load-test options: {sorted(unknown)}")
    return SimpleNamespace(**{**values, **overrides})


def arrival_delay(rng: random.Random) -> float:
    """How long after its batch is started a family arrives: locust starts a whole second's arrivals at once
    (its dispatcher adds floor(spawn rate) users per ~1 s iteration): 133 joins within ~20 ms each second of an
    8,000-family wave, measured as the join's "queueing".  Each family comes at a random moment of its second,
    as people do."""
    return rng.random() * ARRIVAL_SPREAD_SECONDS


def poll_wait(visitor: dict[str, Any], max_poll_seconds: float) -> float:
    """Seconds until the next poll: the interval the service suggested, within [0.2 s, ``max_poll_seconds``]."""
    suggested = as_float(visitor.get("poll_after_seconds"), NO_HINT_POLL_SECONDS)
    return min(max(suggested, MIN_POLL_SECONDS), max_poll_seconds)


def not_now_wait(retry_after: Any, max_poll_seconds: float, rng: random.Random) -> float:
    """Seconds until the next join after "not now": ``Retry-After`` (capped), spread ±50 % so retries do not align."""
    return min(as_float(retry_after, RETRY_AFTER_SECONDS), max_poll_seconds) * (0.5 + rng.random())


def join_error_wait(rng: random.Random) -> float:
    base, spread = JOIN_ERROR_SECONDS
    return base + rng.random() * spread


def form_pauses(seconds: float) -> list[float]:
    """The pauses of a parent filling in the form for ``seconds``, each followed by a heartbeat: one every
    :data:`HEARTBEAT_SECONDS`, and always one at the end (just before filing)."""
    pauses = []
    while True:
        step = min(seconds, HEARTBEAT_SECONDS)
        pauses.append(step)
        seconds -= step
        if seconds <= 0:
            return pauses


def choose(
    rng: random.Random, who: people.People, region: people.Region, offered: list[tuple[str, list[str]]], opts: Any
) -> tuple[str, list[tuple[str, str, bool]]]:
    """(school BIN, [(child ИИН, language, roster child?)]) — a pre-school roster child goes to its own school;
    others pick a school by popularity (Zipf), in a language it offers free seats in (70 %), twins sometimes."""
    if region.roster and rng.random() < opts.roster_share:
        school, child, language = region.roster[rng.randrange(len(region.roster))]
        return school, [(child, language, True)]
    schools = list(region.schools)
    weights = list(itertools.accumulate(people.popularity_weights(len(schools), opts.popularity)))
    pick = schools[bisect.bisect(weights, rng.random() * weights[-1])]
    languages = dict(offered).get(pick.bin) or list(pick.languages)
    language = languages[0] if rng.random() < 0.7 else rng.choice(list(pick.languages))
    first = who.child()
    children = [(first, language, False)]
    if rng.random() < opts.twin_share:
        children.append((who.child(people.birth_date_of(first)), language, False))
    return pick.bin, children


def as_float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 << 30
