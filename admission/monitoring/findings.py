"""Nonconformities computed from Kezek's own records, for one school and one year's admission.

The year is the calendar year in Kazakhstan time (UTC+5): the grade-1
applications the school decided that year and the transfers it was asked to
decide that year.  Each finding names its evidence (application and transfer
ids, audit entries, outbox events, enrolments, counters) and groups the records
of one kind (per language of instruction where seats are counted), the way a
commission lists one nonconformity with its attachments.

Readings taken where the rules are silent (said here so the commission can judge):

- *The window in force* at a decision is the one the audit log shows at that
  instant (the last ``region.window`` change before it, else the first change's
  old value, else the region's current window).  Capacities and the pre-school
  roster at an instant are rebuilt the same way from ``school_classes.set`` and
  ``preschool_roster.put/remove`` entries.
- *Over capacity*: the seats taken (general and roster) at any moment exceed the
  class sets' capacity in force at that moment.
- *Ground 7 while a seat was free*: at the refusal, capacity − general seats
  taken − seats held for the roster was above zero (what ``decide_seat`` checks).
- *A refusal without ground*: no annex-2 ground, and not a window refusal made
  while the window in force was indeed closed.
- *Roster child* (pilot para 4, automatic admission with no competition, age or
  language condition): refused at its own school for capacity or age, or admitted
  there in its roster language without priority.
- *Withdrawn seat not freed*: the class set's counters hold more seats than its
  live applications (accepted or confirmed).
- *Confirmations*: the admission order is due by the last day of the region's
  window (pilot para 1: children are admitted between 27 May and 31 August);
  missing is judged only once the window has closed.
- *Contingent store*: a confirmed admission has one enrolment at the school
  carrying its order number (current or ended later by a transfer); none is
  missing, more than one is duplicated.
- *Transfers*: decided after ``decision_due_at`` (1 working day), or still
  pending past it; accepted into a grade 2-9 class set (para 25) whose pupils
  on the day (contingent store) plus transfers already accepted filled it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import msgspec

from admission.db import QUERIES, Connection
from admission.monitoring.models import Computed, Evidence
from admission.reference import KZ

WINDOW_REFUSALS = ("window_not_open", "window_closed")
SEAT_STATUSES = ("accepted", "confirmed", "withdrawn")  # the decision took a seat
CAPACITY_GRADES = range(2, 10)  # model rules para 25


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The calendar year in Kazakhstan time, ``[1 Jan, 1 Jan next)``."""
    return dt.datetime(year, 1, 1, tzinfo=KZ), dt.datetime(year + 1, 1, 1, tzinfo=KZ)


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(KZ).strftime("%Y-%m-%d %H:%M")


class History:
    """A value that changed over time: the audit entries that changed it, and its current value.

    ``value(entry_value)`` turns an entry's old/new JSON into the value.
    """

    def __init__(self, entries: Sequence[asyncpg.Record], current: Any, value: Callable[[Any], Any]) -> None:
        self.entries = list(entries)
        self.current = current
        self.value = value

    def at(self, instant: dt.datetime) -> tuple[Any, int | None]:
        """The value in force at ``instant`` and the audit entry that shows it (None: never changed)."""
        before = [e for e in self.entries if e["at"] <= instant]
        if before:
            return self.value(before[-1]["new_value"]), before[-1]["id"]
        if self.entries:  # before the first change: its old value, shown by that entry
            return self.value(self.entries[0]["old_value"]), self.entries[0]["id"]
        return self.current, None


def _window(value: Any) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime.fromisoformat(value["opens_at"]), dt.datetime.fromisoformat(value["closes_at"])


def _capacity(value: Any) -> int:
    return 0 if value is None else int(value["classes"]) * int(value["seats_per_class"])


def _roster_language(value: Any) -> str | None:
    return None if value is None else str(value["language"])


class Records:
    """What the computation reads, loaded once per school and year."""

    def __init__(self) -> None:
        self.region = ""
        self.window: History
        self.applications: list[asyncpg.Record] = []
        self.capacity: dict[tuple[int, str], History] = {}
        self.roster: dict[str, History] = {}
        self.class_sets: dict[tuple[int, str], asyncpg.Record] = {}
        self.enrolments: dict[str, list[asyncpg.Record]] = defaultdict(list)
        self.outbox: dict[str, list[asyncpg.Record]] = defaultdict(list)
        self.transfers: list[asyncpg.Record] = []

    def capacity_at(self, grade: int, language: str, at: dt.datetime) -> tuple[int, int | None]:
        history = self.capacity.get((grade, language))
        if history is None:
            return 0, None
        capacity, entry = history.at(at)
        return int(capacity), entry

    def roster_language_at(self, child: str, at: dt.datetime) -> str | None:
        history = self.roster.get(child)
        return None if history is None else history.at(at)[0]

    def roster_held_at(self, language: str, at: dt.datetime) -> int:
        return sum(1 for child in self.roster if self.roster_language_at(child, at) == language)


async def load(conn: Connection, school_bin: str, region: str, year: int) -> Records:
    r = Records()
    r.region = region
    start, end = year_bounds(year)
    window = await conn.fetchrow(QUERIES["mon_region_window"], region)
    assert window is not None
    r.window = History(
        await conn.fetch(QUERIES["mon_audit_of"], region, ["region.window"], f"region:{region}"),
        (window["window_opens_at"], window["window_closes_at"]),
        _window,
    )
    r.applications = list(await conn.fetch(QUERIES["mon_year_applications"], school_bin, start, end))
    class_rows = await conn.fetch(QUERIES["mon_school_class_sets"], school_bin)
    r.class_sets = {(c["grade"], c["language"]): c for c in class_rows}
    capacity_entries: dict[tuple[int, str], list[asyncpg.Record]] = defaultdict(list)
    for e in await conn.fetch(QUERIES["mon_audit_of"], region, ["school_classes.set"], f"school:{school_bin}/"):
        # target: school:<bin>/grade:<g>/<language>
        _, grade, language = e["target"].split("/")
        capacity_entries[(int(grade.removeprefix("grade:")), language)].append(e)
    for key in set(capacity_entries) | set(r.class_sets):
        current = r.class_sets[key]["capacity"] if key in r.class_sets else 0
        r.capacity[key] = History(capacity_entries.get(key, []), current, _capacity)
    roster_entries: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for e in await conn.fetch(
        QUERIES["mon_audit_of"], region, ["preschool_roster.put", "preschool_roster.remove"], f"school:{school_bin}/"
    ):
        roster_entries[e["target"].rsplit("/child:", 1)[1]].append(e)
    current_roster = {
        row["child_iin"]: row["language"] for row in await conn.fetch(QUERIES["mon_school_roster"], school_bin)
    }
    for child in set(roster_entries) | set(current_roster):
        r.roster[child] = History(roster_entries.get(child, []), current_roster.get(child), _roster_language)
    confirmed = sorted({a["child_iin"] for a in r.applications if a["confirmed_at"] is not None})
    for e in await conn.fetch(QUERIES["mon_enrolments_of"], school_bin, confirmed):
        r.enrolments[e["child_iin"]].append(e)
    for o in await conn.fetch(QUERIES["mon_outbox_of"], school_bin, confirmed):
        r.outbox[o["child_iin"]].append(o)
    r.transfers = list(await conn.fetch(QUERIES["mon_year_transfers"], school_bin, start, end))
    return r


class Gathered:
    """One finding's records as they are found: their ids, the audit entries showing them, one item each."""

    def __init__(self, kind: str, key: str = "") -> None:
        self.kind = kind
        self.key = key
        self.application_ids: list[Any] = []
        self.transfer_ids: list[Any] = []
        self.audit_ids: set[int] = set()
        self.enrolment_ids: list[int] = []
        self.outbox_ids: list[int] = []
        self.items: list[dict[str, Any]] = []

    def add(
        self,
        item: dict[str, Any],
        *,
        application: Any = None,
        transfer: Any = None,
        audit_entry: int | None = None,
    ) -> None:
        if application is not None:
            self.application_ids.append(application)
        if transfer is not None:
            self.transfer_ids.append(transfer)
        if audit_entry is not None:
            self.audit_ids.add(audit_entry)
        self.items.append(item)

    def found(self, counters: dict[str, int] | None = None) -> list[Computed]:
        """The finding, keyed by kind, class set and a digest of its evidence; none when nothing was gathered.

        The same records give the same fingerprint, so a recomputation keeps the commission's
        review; changed records give a new finding to review (the reviewed one goes stale).
        """
        if not self.items:
            return []
        evidence = Evidence(
            application_ids=self.application_ids,
            transfer_ids=self.transfer_ids,
            audit_entry_ids=sorted(self.audit_ids),
            enrolment_ids=self.enrolment_ids,
            outbox_event_ids=self.outbox_ids,
            counters=counters or {},
            items=self.items,
        )
        digest = hashlib.sha256(msgspec.json.encode(evidence)).hexdigest()[:16]
        fingerprint = ":".join(p for p in (self.kind, self.key, digest) if p)
        return [Computed(kind=self.kind, fingerprint=fingerprint, evidence=evidence)]


def _application_item(a: asyncpg.Record, **more: Any) -> dict[str, Any]:
    return {"application_id": str(a["id"]), "decided_at": _stamp(a["decided_at"]), **more}


def window_findings(r: Records) -> list[Computed]:
    outside = Gathered("accepted_outside_window")
    groundless = Gathered("refusal_without_ground")
    for a in r.applications:
        (opens, closes), entry = r.window.at(a["decided_at"])
        inside = opens <= a["decided_at"] < closes
        window = f"{_stamp(opens)} – {_stamp(closes)}"
        if a["status"] in SEAT_STATUSES and not inside:
            outside.add(_application_item(a, window=window), application=a["id"], audit_entry=entry)
        if a["status"] == "refused" and a["refusal_ground"] is None:
            if a["refusal_code"] in WINDOW_REFUSALS and not inside:
                continue  # a window refusal while the window was closed: no annex-2 ground is due
            item = _application_item(a, window=window, refusal_code=a["refusal_code"])
            groundless.add(item, application=a["id"], audit_entry=entry)
    return outside.found() + groundless.found()


def seat_findings(r: Records) -> list[Computed]:
    """Over capacity at any moment, and ground-7 refusals while a general seat was free (grade 1, per language)."""
    found: list[Computed] = []
    by_language: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for a in r.applications:
        by_language[a["language"]].append(a)
    for language in sorted(set(by_language) | {lang for grade, lang in r.capacity if grade == 1}):
        apps = by_language.get(language, [])
        history = r.capacity.get((1, language))
        # (instant, order, change of taken, application or audit entry); seats freed first at a tie.
        events: list[tuple[dt.datetime, int, int, Any]] = []
        for a in apps:
            if a["status"] in SEAT_STATUSES:
                events.append((a["decided_at"], 1, +1, a))
                if a["withdrawn_at"] is not None:
                    events.append((a["withdrawn_at"], 0, -1, a))
        events.extend((e["at"], 2, 0, e) for e in (history.entries if history else []))
        events.sort(key=lambda ev: (ev[0], ev[1]))
        over = Gathered("over_capacity", language)
        taken = peak = 0
        for at, _, change, record in events:
            taken += change
            capacity, entry = r.capacity_at(1, language, at)
            if taken > capacity and change >= 0:
                peak = max(peak, taken - capacity)
                item = {"language": language, "at": _stamp(at), "capacity": capacity, "taken": taken}
                if change > 0:  # a seat taken beyond the capacity
                    over.add({**item, "application_id": str(record["id"])}, application=record["id"], audit_entry=entry)
                else:  # the capacity set below the seats taken
                    over.add({**item, "audit_entry_id": record["id"]}, audit_entry=record["id"])
        found += over.found({"most_seats_over_capacity": peak})
        found += _ground7_findings(r, language, apps)
    return found


def _ground7_findings(r: Records, language: str, apps: list[asyncpg.Record]) -> list[Computed]:
    wrong = Gathered("class_full_while_seat_free", language)
    for refused in apps:
        if refused["status"] != "refused" or refused["refusal_ground"] != 7:
            continue
        at = refused["decided_at"]
        general = sum(
            1
            for a in apps
            if a["status"] in SEAT_STATUSES
            and not a["priority"]
            and a["decided_at"] < at
            and (a["withdrawn_at"] is None or a["withdrawn_at"] > at)
        )
        capacity, entry = r.capacity_at(1, language, at)
        held = r.roster_held_at(language, at)
        free = capacity - general - held
        if free > 0:
            item = _application_item(
                refused, language=language, capacity=capacity, taken=general, held_for_roster=held, free=free
            )
            wrong.add(item, application=refused["id"], audit_entry=entry)
    return wrong.found()


def roster_findings(r: Records) -> list[Computed]:
    refused = Gathered("roster_child_refused")
    unprioritised = Gathered("roster_child_not_prioritised")
    for a in r.applications:
        roster_language = r.roster_language_at(a["child_iin"], a["decided_at"])
        if roster_language is None:
            continue
        item = _application_item(a, child_iin=a["child_iin"], roster_language=roster_language, language=a["language"])
        if a["status"] == "refused" and a["refusal_code"] in ("class_full", "age_out_of_range"):
            item |= {"refusal_ground": a["refusal_ground"], "refusal_code": a["refusal_code"]}
            refused.add(item, application=a["id"])
        elif a["status"] in SEAT_STATUSES and not a["priority"] and a["language"] == roster_language:
            unprioritised.add(item, application=a["id"])
    return refused.found() + unprioritised.found()


def counter_findings(r: Records) -> list[Computed]:
    found: list[Computed] = []
    for (grade, language), row in sorted(r.class_sets.items()):
        if grade != 1:
            continue
        apps = [a for a in r.applications if a["language"] == language]
        live = sum(1 for a in apps if a["status"] in ("accepted", "confirmed"))
        counted = row["general_taken"] + row["roster_taken"]
        if counted <= live:
            continue
        not_freed = Gathered("withdrawn_seat_not_freed", language)
        for a in apps:
            if a["status"] == "withdrawn":
                item = _application_item(a, language=language, withdrawn_at=_stamp(a["withdrawn_at"]))
                not_freed.add(item, application=a["id"])
        counters = {
            "general_taken": row["general_taken"],
            "roster_taken": row["roster_taken"],
            "live_applications": live,
            "seats_not_freed": counted - live,
        }
        if not not_freed.items:  # counters above the live applications with no withdrawal to blame
            not_freed.add({"language": language})
        found += not_freed.found(counters)
    return found


def confirmation_findings(r: Records, now: dt.datetime) -> list[Computed]:
    _, closes = r.window.current
    last_day = (closes - dt.timedelta(microseconds=1)).astimezone(KZ).date()
    missing = Gathered("confirmation_missing")
    late = Gathered("confirmation_late")
    for a in r.applications:
        item = _application_item(a, due_by=last_day.isoformat())
        if a["status"] == "accepted" and now >= closes:
            missing.add(item, application=a["id"])
        elif a["confirmed_at"] is not None and (a["order_date"] > last_day or a["confirmed_at"] >= closes):
            item |= {
                "order_number": a["order_number"],
                "order_date": a["order_date"].isoformat(),
                "confirmed_at": _stamp(a["confirmed_at"]),
            }
            late.add(item, application=a["id"])
    return missing.found() + late.found()


def contingent_findings(r: Records) -> list[Computed]:
    missing = Gathered("contingent_missing")
    duplicated = Gathered("contingent_duplicated")
    for a in r.applications:
        if a["status"] != "confirmed":
            continue
        enrolled = [e for e in r.enrolments[a["child_iin"]] if e["order_number"] == a["order_number"]]
        if len(enrolled) == 1:
            continue
        events = [o for o in r.outbox[a["child_iin"]] if o["order_number"] == a["order_number"]]
        gathered = missing if not enrolled else duplicated
        gathered.enrolment_ids.extend(e["id"] for e in enrolled)
        gathered.outbox_ids.extend(o["id"] for o in events)
        item = {
            "application_id": str(a["id"]),
            "child_iin": a["child_iin"],
            "order_number": a["order_number"],
            "enrolments": len(enrolled),
            "outbox_events": len(events),
            "outbox_undelivered": sum(1 for o in events if o["delivered_at"] is None),
        }
        gathered.add(item, application=a["id"])
    return missing.found() + duplicated.found()


async def transfer_findings(conn: Connection, r: Records, school_bin: str, now: dt.datetime) -> list[Computed]:
    late = Gathered("transfer_decided_late")
    full = Gathered("transfer_into_full_class")
    for t in r.transfers:
        decided = t["decided_at"]
        if (decided is not None and decided > t["decision_due_at"]) or (
            decided is None and t["status"] == "pending" and now > t["decision_due_at"]
        ):
            item = {
                "transfer_id": str(t["id"]),
                "requested_at": _stamp(t["requested_at"]),
                "decision_due_at": _stamp(t["decision_due_at"]),
                "decided_at": _stamp(decided) if decided is not None else "—",
            }
            late.add(item, transfer=t["id"])
        accepted = t["status"] in ("accepted", "departed", "completed") and decided is not None
        if not (accepted and t["to_school_bin"] == school_bin and t["grade"] in CAPACITY_GRADES):
            continue
        day = decided.astimezone(KZ).date()
        key = (school_bin, t["grade"], t["language"])
        enrolled = await conn.fetchval(QUERIES["mon_class_enrolled_on"], *key, day, t["child_iin"])
        holding = await conn.fetchval(QUERIES["mon_transfers_holding_before"], *key, decided, day, t["child_iin"])
        capacity, entry = r.capacity_at(t["grade"], t["language"], decided)
        if enrolled + holding >= capacity:
            full_item: dict[str, Any] = {
                "transfer_id": str(t["id"]),
                "decided_at": _stamp(decided),
                "grade": t["grade"],
                "language": t["language"],
                "capacity": capacity,
                "occupied": enrolled + holding,
            }
            full.add(full_item, transfer=t["id"], audit_entry=entry)
    return late.found() + full.found()


async def compute(conn: Connection, school_bin: str, region: str, year: int, now: dt.datetime) -> list[Computed]:
    """Every nonconformity the records show for ``school_bin``'s admission of ``year``."""
    r = await load(conn, school_bin, region, year)
    return [
        *window_findings(r),
        *seat_findings(r),
        *roster_findings(r),
        *counter_findings(r),
        *confirmation_findings(r, now),
        *contingent_findings(r),
        *await transfer_findings(conn, r, school_bin, now),
    ]
