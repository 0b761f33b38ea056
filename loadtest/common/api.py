"""The service's HTTP paths as the scenarios call them, and the names locust groups them under.

Paths are the cross-issue contract (waiting room: issue 3, admission: issue 4).
``name()`` is the templated form, so locust's statistics show one row per endpoint
whatever the region, ticket or application id.
"""

from __future__ import annotations

from typing import Any

JOIN = "/v1/rooms/{region}/visitors"
POLL = "/v1/rooms/{region}/visitors/me"
HEARTBEAT = "/v1/rooms/{region}/sessions/heartbeat"
RELEASE = "/v1/rooms/{region}/sessions/me"
ROOM = "/v1/rooms/{region}"
ROOMS = "/v1/rooms"
REGION = "/v1/regions/{region}"
SCHOOLS = "/v1/regions/{region}/schools"
APPLY = "/v1/applications"
APPLICATION = "/v1/applications/{id}"
WITHDRAW = "/v1/applications/{id}/withdraw"
ADMIN_ROOM = "/v1/admin/rooms/{region}"
ADMIN_CLASSES = "/v1/admin/schools/{bin}/classes/{grade}/{language}"
ADMIN_CONFIRM = "/v1/admin/schools/{bin}/confirmations"


def path(template: str, **params: str) -> tuple[str, str]:
    """(the real path, the name for locust's statistics: the template with ``{x}`` written ``[x]``)."""
    return template.format(**params), name(template)


def name(template: str) -> str:
    """The name locust groups a templated path's requests under (its braces would read as a format)."""
    return template.replace("{", "[").replace("}", "]")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem_code(body: Any) -> str:
    """The ``code`` of an RFC 9457 problem body, or ``""``."""
    if isinstance(body, dict):
        code = body.get("code", "")
        return code if isinstance(code, str) else ""
    return ""


def schools_in(body: Any) -> list[tuple[str, list[str]]]:
    """(BIN, languages with free seats) from ``GET /v1/regions/{region}/schools``.

    Tolerant of the exact shape: a list of schools (or ``{"schools": [...]}``),
    each with ``bin`` and seats per language as a mapping or a list of objects.
    """
    items = body.get("schools", []) if isinstance(body, dict) else body
    found: list[tuple[str, list[str]]] = []
    for school in items if isinstance(items, list) else []:
        if not isinstance(school, dict):
            continue
        bin_ = school.get("bin") or school.get("school_bin")
        if not isinstance(bin_, str):
            continue
        languages: list[str] = []
        for key in ("free_seats", "seats", "languages", "grade1", "free"):
            value = school.get(key)
            if isinstance(value, dict):
                languages = [lang for lang, v in value.items() if _positive(v)]
                break
            if isinstance(value, list):
                for entry in value:
                    if isinstance(entry, dict) and isinstance(entry.get("language"), str):
                        free = entry.get("free", entry.get("free_seats", entry.get("seats", 1)))
                        if _positive(free):
                            languages.append(entry["language"])
                    elif isinstance(entry, str):
                        languages.append(entry)
                break
        found.append((bin_, languages))
    return found


def _positive(value: Any) -> bool:
    if isinstance(value, dict):
        value = value.get("free", value.get("free_seats", 1))
    return isinstance(value, int | float) and value > 0
