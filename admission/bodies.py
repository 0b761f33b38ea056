"""The base of the JSON bodies clients send (request bodies and the Structs nested in them).

A body is decoded strictly: a field the body does not declare is refused (a misspelt or renamed
field is a 400 naming it, not silently dropped while the client believes it set something), it is
frozen once decoded (handlers and services pass it on, they do not edit it), and its fields are
keyword-only.  msgspec gives a subclass its base's ``forbid_unknown_fields`` and ``frozen``, but
applies ``kw_only`` per class, like dataclasses; mypy reads ``frozen`` from each class line too.  So
a body is declared ``class XIn(Body, frozen=True, kw_only=True)`` (mypy refuses one that is not
frozen), and the refusal of unknown fields, which no checker would notice missing, is declared
here once.
"""

from __future__ import annotations

import msgspec


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A JSON body from a client: unknown fields refused, frozen, keyword-only fields."""
