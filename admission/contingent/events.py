"""What the contingent store (ҰБДҚ) is told: enrolments start, end, move.

Events are a msgspec tagged union, stored as JSON in the outbox and handed to
a :class:`~admission.contingent.store.ContingentStore` with their outbox id.
"""

from __future__ import annotations

import datetime as dt

import msgspec


class Enrol(msgspec.Struct, frozen=True, kw_only=True, tag="enrol"):
    """A confirmed admission: the child studies at ``school_bin`` from ``since``."""

    child_iin: str
    school_bin: str
    grade: int
    language: str
    order_number: str
    order_date: dt.date
    since: dt.date


class Revoke(msgspec.Struct, frozen=True, kw_only=True, tag="revoke"):
    """A confirmed admission withdrawn: the enrolment at ``school_bin`` ends."""

    child_iin: str
    school_bin: str
    reason: str


class Move(msgspec.Struct, frozen=True, kw_only=True, tag="move"):
    """A transfer: the enrolment at ``from_school_bin`` ends and one at ``to_school_bin`` starts, atomically."""

    child_iin: str
    from_school_bin: str
    to_school_bin: str
    grade: int
    language: str
    order_number: str
    order_date: dt.date
    since: dt.date


class Leave(msgspec.Struct, frozen=True, kw_only=True, tag="leave"):
    """The child left (e.g. the country): the enrolment at ``school_bin`` ends ``on`` that day."""

    child_iin: str
    school_bin: str
    reason: str
    on: dt.date


ContingentEvent = Enrol | Revoke | Move | Leave

EVENT_ENCODER = msgspec.json.Encoder()
EVENT_DECODER: msgspec.json.Decoder[ContingentEvent] = msgspec.json.Decoder(ContingentEvent)


def kind(event: ContingentEvent) -> str:
    """The event's tag: ``enrol``, ``revoke``, ``move`` or ``leave``."""
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag
