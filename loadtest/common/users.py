"""The people of an opening day, as locust users (abstract here; each locustfile picks and weighs them).

* :class:`Family` — one family: joins the waiting room as the portal would,
  polls at the interval the service suggests, and when admitted reads the
  region's schools, files one application per child (twins, pre-school roster
  children, popular schools over-asked) with its slot — the slot is the right
  to file, kept alive by heartbeats while the form is open — and releases the
  slot when done, as the portal does (filing does not free it, except the
  ``KEZEK_CHILDREN_PER_SLOT``-th child's); some withdraw later, some abandon
  while waiting, some rejoin from a second device.
* :class:`RegionAdmin` — raises and lowers ``max_active`` and school capacities
  during the surge and confirms accepted applications (admission orders).
* :class:`BadActor` — invalid ИИН, forged / expired / other-region tokens,
  applying without a slot, join spam; every answer must be a 4xx.
* :class:`StatusReader` — the steady background of public status reads.

Every answer is judged with ``catch_response``; every 5xx is a failure and is
journaled.  What the invariant checker needs later goes to the journal.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import random
import time
import uuid
from typing import Any

import gevent
from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

from loadtest.common import api, behaviour, people, pooling
from loadtest.common.journal import Journal, NullJournal
from loadtest.common.options import options

pooling.install()  # pooled keep-alive connections survive past 1,024 file descriptors

_state: dict[str, Any] = {"journal": NullJournal()}
# (application id, withdraw token) of recent decisions in this process: the status readers' sample.
_recent: collections.deque[tuple[str, str]] = collections.deque(maxlen=2000)
_region_cache: dict[str, people.Region] = {}
SNAPSHOT_SETTLE_SECONDS = 1.0
"""Longer than a worker's snapshot of a room lives (``KEZEK_ROOM_SNAPSHOT_MS``, 300 ms by default)."""


@events.test_start.add_listener
def _open_journal(environment: Any, **_: Any) -> None:
    folder = getattr(options(environment), "journal_dir", "")
    if folder and isinstance(_state["journal"], NullJournal):
        _state["journal"] = Journal(folder)


@events.quitting.add_listener
def _close_journal(**_: Any) -> None:
    # how many connections this process opened: ~1 per family when keep-alive holds
    _state["journal"].write("connections", opened=pooling.opened["connections"], t=time.time())
    _state["journal"].close()


def journal() -> Journal:
    return _state["journal"]  # type: ignore[no-any-return]


def region_data(slug: str) -> people.Region:
    if slug not in _region_cache:
        _region_cache[slug] = people.reference_region(slug)
    return _region_cache[slug]


def _rng(environment: Any) -> random.Random:
    seed = options(environment).seed
    return random.Random(seed + id(object())) if seed else random.Random()


def _json(resp: Any) -> Any:
    try:
        return resp.json()
    except (ValueError, TypeError, AttributeError):
        return None


def _judge_5xx(resp: Any, name: str) -> bool:
    """Mark a 5xx (or no answer at all) as a failure and journal it; True when it was one."""
    status = resp.status_code or 0
    if status >= 500 or status == 0:
        resp.failure(f"HTTP {status}")
        journal().write("http5xx", name=name, http=status, t=time.time())
        return True
    return False


class KezekUser(FastHttpUser):
    abstract = True
    network_timeout = 30.0
    connection_timeout = 10.0
    insecure = False

    def on_start(self) -> None:
        self.opts = options(self.environment)
        self.region: str = self.opts.region
        self.rng = _rng(self.environment)


class Family(KezekUser):
    """One family's opening day, from joining the waiting room to a decision (and maybe a withdrawal)."""

    abstract = True
    wait_time = constant(0)
    _people: people.People | None = None

    def on_start(self) -> None:
        super().on_start()
        if Family._people is None:
            Family._people = people.People(random.Random(self.rng.random()))
        self.who = Family._people
        self.applicant = self.who.applicant()
        self.done = False
        gevent.sleep(behaviour.arrival_delay(self.rng))  # a random moment of its second, as people come

    @task
    def opening_day(self) -> None:
        if self.done:
            gevent.sleep(60)
            return
        self.done = True
        token = self.wait_for_turn()
        if token is None:
            return
        self.apply(token)

    # -- the waiting room ---------------------------------------------------------------------------------------

    def join(self, *, device: str = "first") -> dict[str, Any] | None:
        url, name = api.path(api.JOIN, region=self.region)
        while True:
            t0 = time.time()
            with self.client.post(url, json={"applicant_iin": self.applicant}, name=name, catch_response=True) as r:
                t1 = time.time()
                body = _json(r)
                if _judge_5xx(r, name):
                    gevent.sleep(behaviour.join_error_wait(self.rng))
                    continue
                if 200 <= r.status_code < 300 and isinstance(body, dict) and body.get("ticket"):
                    r.success()
                    if device == "first":
                        journal().write(
                            "join", iin=self.applicant, t0=t0, t1=t1, status=body.get("status"),
                            position=body.get("position"),
                        )  # fmt: skip
                    return body
                code = api.problem_code(body)
                if code in behaviour.NOT_NOW_CODES or r.status_code in {429, 503}:
                    r.success()  # the service said "not now" clearly; the portal retries after Retry-After
                    retry_after = r.headers.get("Retry-After")
                    gevent.sleep(behaviour.not_now_wait(retry_after, self.opts.max_poll_seconds, self.rng))
                    continue
                r.failure(f"join: HTTP {r.status_code} {code}")
                return None

    def wait_for_turn(self) -> str | None:
        """Join, poll until admitted; the access token, or None when the family gave up.

        ``t_wait`` is when the last request answered "waiting" was *sent* (the family was surely still
        waiting then), ``t_seen`` when the first "admitted" answer *arrived*: the FIFO check compares them.
        """
        t_wait = time.time()
        visitor = self.join()
        if visitor is None:
            return None
        if self.rng.random() < self.opts.second_device_share:
            self.second_device(visitor)
        abandon = self.rng.random() < self.opts.abandon_share
        abandon_after = self.rng.randrange(1, 4)
        polls = 0
        url, name = api.path(api.POLL, region=self.region)
        while visitor.get("status") != "admitted":
            if visitor.get("status") == "closed":  # the window closed while waiting: nothing more to do today
                journal().write("expired", iin=self.applicant, status="closed", t=time.time())
                return None
            if visitor.get("status") not in {"waiting", None}:  # expired, released…: join again, as a person would
                journal().write("expired", iin=self.applicant, status=visitor.get("status"), t=time.time())
                visitor = self.join(device="again") or {}
                if not visitor:
                    return None
                continue
            if abandon and polls >= abandon_after:
                journal().write("abandoned", iin=self.applicant, t=time.time())
                return None
            gevent.sleep(behaviour.poll_wait(visitor, self.opts.max_poll_seconds))
            sent = time.time()
            with self.client.get(url, headers=api.bearer(visitor["ticket"]), name=name, catch_response=True) as r:
                polls += 1
                body = _json(r)
                if _judge_5xx(r, name):
                    continue
                if r.status_code != 200 or not isinstance(body, dict):
                    r.failure(f"poll: HTTP {r.status_code} {api.problem_code(body)}")
                    return None
                r.success()
                visitor = {**body, "ticket": body.get("ticket") or visitor["ticket"]}
                if visitor.get("status") == "waiting":
                    t_wait = sent
        journal().write("admitted", iin=self.applicant, t_wait=t_wait, t_seen=time.time())
        token = visitor.get("access_token")
        return token if isinstance(token, str) else None

    def second_device(self, first: dict[str, Any]) -> None:
        """The same parent joins again from a phone: same place (or still admitted), never a second one."""
        again = self.join(device="second")
        if again is None:
            kept = False
        elif first.get("status") == "admitted":
            kept = again.get("status") == "admitted"
        else:
            place, before = behaviour.as_int(again.get("position")), behaviour.as_int(first.get("position"))
            kept = again.get("status") == "admitted" or place <= before
        journal().write("rejoin", iin=self.applicant, same_place=kept, t=time.time())

    # -- applying -----------------------------------------------------------------------------------------------

    def choose(self) -> tuple[str, list[tuple[str, str, bool]]]:
        """(school BIN, [(child ИИН, language, roster child?)]) — a pre-school roster child goes to its own school."""
        region = region_data(self.region)
        url, name = api.path(api.SCHOOLS, region=self.region)
        with self.client.get(url, name=name, catch_response=True) as r:
            offered = api.schools_in(_json(r)) if r.status_code == 200 else []
            if not _judge_5xx(r, name):
                if r.status_code == 200:
                    r.success()
                else:
                    r.failure(f"schools: HTTP {r.status_code}")
        return behaviour.choose(self.rng, self.who, region, offered, self.opts)

    def apply(self, token: str) -> None:
        school, children = self.choose()
        token = self.fill_in(token, self.rng.expovariate(1 / max(self.opts.think_seconds, 0.01)))
        # The slot is surely held until now: filing renews it, but the service ends it after the
        # KEZEK_CHILDREN_PER_SLOT-th child, and a lapsed lease ends it too (then filing answers 401).
        leaving = time.time()
        accepted: list[tuple[str, str, str]] = []
        for child, language, roster in children:
            body = {
                "applicant_iin": self.applicant, "child_iin": child, "school_bin": school,
                "language": language, "consent": True,
            }  # fmt: skip
            with self.client.post(
                api.APPLY, json=body, headers=api.bearer(token), name=api.name(api.APPLY), catch_response=True
            ) as r:
                answer = _json(r)
                if _judge_5xx(r, api.name(api.APPLY)):
                    continue
                if r.status_code in {200, 201} and isinstance(answer, dict) and answer.get("id"):
                    r.success()
                    refusal = answer.get("refusal") or {}
                    journal().write(
                        "applied", iin=self.applicant, child=child, school=school, language=language,
                        id=answer["id"], status=answer.get("status"), ground=refusal.get("ground"),
                        roster=roster, t=time.time(),
                    )  # fmt: skip
                    if answer.get("status") == "accepted" and answer.get("withdraw_token"):
                        accepted.append((answer["id"], answer["withdraw_token"], child))
                        _recent.append((answer["id"], answer["withdraw_token"]))
                elif r.status_code == 409:
                    r.success()  # e.g. the child already has a live application (a rerun, a roster collision)
                    journal().write(
                        "applied",
                        iin=self.applicant,
                        child=child,
                        school=school,
                        id=None,
                        status="conflict",
                        code=api.problem_code(answer),
                        roster=roster,
                        t=time.time(),
                    )
                else:
                    r.failure(f"apply: HTTP {r.status_code} {api.problem_code(answer)}")
        self.release(token, leaving)
        for application_id, withdraw_token, child in accepted:
            if self.rng.random() < self.opts.withdraw_share:
                gevent.sleep(self.rng.expovariate(1 / max(self.opts.withdraw_after, 0.01)))
                self.withdraw(application_id, withdraw_token, child)

    def fill_in(self, token: str, seconds: float) -> str:
        """The parent fills in the form for ``seconds``; the open form renews the slot's lease (45 s by
        default) every :data:`behaviour.HEARTBEAT_SECONDS` meanwhile, and once more before filing."""
        for pause in behaviour.form_pauses(seconds):
            gevent.sleep(pause)
            token = self.heartbeat(token)
        return token

    def heartbeat(self, token: str) -> str:
        """The portal keeps the slot while the parent fills in the form; the answer may carry a fresh token."""
        url, name = api.path(api.HEARTBEAT, region=self.region)
        with self.client.post(url, headers=api.bearer(token), name=name, catch_response=True) as r:
            body = _json(r)
            if _judge_5xx(r, name):
                return token
            if r.status_code == 200:
                r.success()
                fresh = body.get("access_token") if isinstance(body, dict) else None
                return fresh if isinstance(fresh, str) else token
            r.failure(f"heartbeat: HTTP {r.status_code} {api.problem_code(body)}")
            return token

    def release(self, token: str, leaving: float) -> None:
        """Give the slot back, as the portal does once the family filed for all its children (filing keeps the
        slot for the next child); ``leaving``: until when the slot was surely held."""
        url, name = api.path(api.RELEASE, region=self.region)
        with self.client.delete(url, headers=api.bearer(token), name=name, catch_response=True) as r:
            if _judge_5xx(r, name):
                return
            if 200 <= r.status_code < 300 or r.status_code in {404, 409, 410}:
                r.success()  # releasing is idempotent: the last child's filing or the lease may have ended it
                journal().write("released", iin=self.applicant, t=leaving)
            else:
                r.failure(f"release: HTTP {r.status_code}")

    def withdraw(self, application_id: str, token: str, child: str) -> None:
        url, name = api.path(api.WITHDRAW, id=application_id)
        with self.client.post(url, headers=api.bearer(token), name=name, catch_response=True) as r:
            if _judge_5xx(r, name):
                return
            journal().write("withdrawn", id=application_id, child=child, http=r.status_code, t=time.time())
            if r.status_code == 200:
                r.success()
            else:
                r.failure(f"withdraw: HTTP {r.status_code} {api.problem_code(_json(r))}")


class RegionAdmin(KezekUser):
    """A regional admin busy during the surge: room size, class sets, admission orders."""

    abstract = True

    def wait_time(self) -> float:
        return float(self.opts.admin_every)

    def on_start(self) -> None:
        super().on_start()
        self.max_active = itertools.cycle(int(v) for v in str(self.opts.admin_max_active).split(",") if v.strip())
        self.orders = itertools.count(1)
        self.schools = region_data(self.region).schools

    def _send(self, method: str, endpoint: str, action: str, body: Any, ok: set[int], **params: str) -> None:
        url, name = api.path(endpoint, **params)
        headers = api.bearer(self.opts.admin_token)
        with self.client.request(method, url, json=body, headers=headers, name=name, catch_response=True) as r:
            journal().write("admin", action=action, target=url, http=r.status_code, t=time.time())
            if _judge_5xx(r, name):
                return
            if r.status_code in ok:
                r.success()
            else:
                r.failure(f"{action}: HTTP {r.status_code} {api.problem_code(_json(r))}")

    @task(3)
    def resize_room(self) -> None:
        value = next(self.max_active)
        self._send("PATCH", api.ADMIN_ROOM, "max_active", {"max_active": value}, {200}, region=self.region)

    @task(3)
    def change_capacity(self) -> None:
        """One more or one fewer class at a popular school; going below the seats taken must be refused (409)."""
        school = self.schools[min(int(self.rng.expovariate(0.5)), len(self.schools) - 1)]
        classes = self.rng.randrange(1, 5)
        self._send(
            "PUT", api.ADMIN_CLASSES, "capacity", {"classes": classes, "seats_per_class": 25}, {200, 409, 422},
            bin=school.bin, grade="1", language=school.languages[0],
        )  # fmt: skip

    @task(1)
    def confirm(self) -> None:
        school = self.schools[self.rng.randrange(len(self.schools))]
        body = {"order_number": f"LT-{next(self.orders)}", "order_date": dt.date.today().isoformat()}
        self._send("POST", api.ADMIN_CONFIRM, "confirm", body, {200, 201}, bin=school.bin)


class BadActor(KezekUser):
    """Someone trying to get a seat without waiting, or as someone else; every answer must be a 4xx."""

    abstract = True
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        super().on_start()
        self.who = people.People(random.Random(self.rng.random()))
        self.schools = region_data(self.region).schools
        self.keys: Any = None
        if self.opts.signing_key_file:
            from admission.signing_keys import KeySet

            self.keys = KeySet.load_or_create(self.opts.signing_key_file)

    def _expect_4xx(self, kind: str, method: str, endpoint: str, *, body: Any = None,
                    token: str | None = None, **params: str) -> Any:  # fmt: skip
        url, name = api.path(endpoint, **params)
        headers = api.bearer(token) if token is not None else {}
        with self.client.request(
            method, url, json=body, headers=headers, name=f"bad: {name}", catch_response=True
        ) as r:
            journal().write("bad", kind=kind, http=r.status_code, t=time.time())
            if _judge_5xx(r, name):
                return None
            if 400 <= r.status_code < 500:
                r.success()
            else:
                r.failure(f"bad actor ({kind}) got HTTP {r.status_code}")
            return _json(r)

    def _application(self) -> dict[str, Any]:
        school = self.schools[self.rng.randrange(len(self.schools))]
        return {
            "applicant_iin": self.who.bad_applicant(), "child_iin": self.who.bad_child(), "school_bin": school.bin,
            "language": school.languages[0], "consent": True,
        }  # fmt: skip

    def _token(self, region: str, applicant: str, ttl: dt.timedelta) -> str | None:
        if self.keys is None:
            return None
        from admission.access import mint_access_token

        return mint_access_token(self.keys, region, applicant, ttl)

    @task
    def invalid_iin(self) -> None:
        body = {"applicant_iin": people.invalid_iin(self.rng)}
        self._expect_4xx("invalid_iin", "POST", api.JOIN, body=body, region=self.region)

    @task
    def apply_without_slot(self) -> None:
        self._expect_4xx("no_token", "POST", api.APPLY, body=self._application())

    @task
    def forged_token(self) -> None:
        from admission.access import mint_access_token
        from admission.signing_keys import KeySet

        application = self._application()
        forged = mint_access_token(
            KeySet.generate(), self.region, application["applicant_iin"], dt.timedelta(minutes=5)
        )
        self._expect_4xx("forged_token", "POST", api.APPLY, body=application, token=forged)

    @task
    def expired_token(self) -> None:
        application = self._application()
        token = self._token(self.region, application["applicant_iin"], dt.timedelta(seconds=-60))
        if token is not None:
            self._expect_4xx("expired_token", "POST", api.APPLY, body=application, token=token)

    @task
    def other_region_token(self) -> None:
        """A genuine token of another region, replayed here: to apply, and on this region's room."""
        application = self._application()
        other = "abai" if self.region != "abai" else "astana"
        token = self._token(other, application["applicant_iin"], dt.timedelta(minutes=5))
        if token is not None:
            self._expect_4xx("region_replay", "POST", api.APPLY, body=application, token=token)
            self._expect_4xx("region_replay", "POST", api.HEARTBEAT, token=token, region=self.region)

    @task
    def forged_ticket(self) -> None:
        self._expect_4xx("forged_ticket", "GET", api.POLL, token=uuid.uuid4().hex, region=self.region)

    @task
    def join_spam(self) -> None:
        """One applicant joining 20 times at once: one place (or 429s), never a second place, never a 5xx.

        The answers' positions differ as the queue moves, so the place is judged afterwards: every distinct
        ticket is polled, one right after the other on one connection (one worker, one snapshot of the room);
        when they differ, again once a snapshot has aged out; two places show two answers both times.  Polled
        at once over several connections, two workers' snapshots (each up to ``KEZEK_ROOM_SNAPSHOT_MS`` old)
        could show one place at two positions.
        """
        applicant = self.who.bad_applicant()
        url, name = api.path(api.JOIN, region=self.region)
        tickets: set[str] = set()

        def one() -> None:
            with self.client.post(url, json={"applicant_iin": applicant}, name=f"spam: {name}",
                                  catch_response=True) as r:  # fmt: skip
                body = _json(r)
                if _judge_5xx(r, name):
                    return
                if 200 <= r.status_code < 500:
                    r.success()
                    if isinstance(body, dict) and isinstance(body.get("ticket"), str):
                        tickets.add(body["ticket"])
                else:
                    r.failure(f"join spam: HTTP {r.status_code}")

        gevent.joinall([gevent.spawn(one) for _ in range(20)])
        places = 1 if len(tickets) <= 1 else self._places(sorted(tickets))
        if places > 1:
            # admitted meanwhile: its newest ticket says "admitted" (a visit reads Redis), an older one may still be
            # answered "waiting" from a worker's snapshot taken before (KEZEK_ROOM_SNAPSHOT_MS): judge again after it
            gevent.sleep(SNAPSHOT_SETTLE_SECONDS)
            places = min(places, self._places(sorted(tickets)))
        journal().write("bad", kind="join_spam", http=200, places=places, expected_4xx=False, t=time.time())

    def _places(self, tickets: list[str]) -> int:
        url, name = api.path(api.POLL, region=self.region)
        seen: list[Any] = []

        def poll(ticket: str) -> None:
            with self.client.get(url, headers=api.bearer(ticket), name=f"spam: {name}", catch_response=True) as r:
                body = _json(r)
                if not _judge_5xx(r, name):
                    r.success()
                    if isinstance(body, dict):
                        seen.append(body.get("position") if body.get("status") == "waiting" else body.get("status"))

        for ticket in tickets:
            poll(ticket)
        return len(set(seen))


class StatusReader(KezekUser):
    """The steady background: rooms, schools and application status read by portals and parents."""

    abstract = True
    wait_time = between(0.5, 2.0)

    def _get(self, endpoint: str, headers: dict[str, str] | None = None, **params: str) -> None:
        url, name = api.path(endpoint, **params)
        with self.client.get(url, headers=headers or {}, name=name, catch_response=True) as r:
            if _judge_5xx(r, name):
                return
            if r.status_code == 200:
                r.success()
            else:
                r.failure(f"HTTP {r.status_code} {api.problem_code(_json(r))}")

    @task(3)
    def room(self) -> None:
        self._get(api.ROOM, region=self.region)

    @task(1)
    def rooms(self) -> None:
        self._get(api.ROOMS)

    @task(1)
    def region_window(self) -> None:
        self._get(api.REGION, region=self.region)

    @task(2)
    def schools(self) -> None:
        self._get(api.SCHOOLS, region=self.region)

    @task(2)
    def application(self) -> None:
        if _recent:
            application_id, token = _recent[self.rng.randrange(len(_recent))]
            self._get(api.APPLICATION, headers=api.bearer(token), id=application_id)
