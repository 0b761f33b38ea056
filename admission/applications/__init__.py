"""Grade-1 admission: decisions against class capacity, withdrawal, confirmation, admin edits.

- :mod:`.service`: ``file_application`` (idempotent; ``repeat_of``), ``get_application``, ``withdraw``, ``confirm``.
- :mod:`.admin`: class sets, pre-school rosters, windows, auto-confirmation, free seats.
- :mod:`.models`: request/response structs, refusal grounds (annex 2 item 9), errors.
"""

from __future__ import annotations

from admission.applications.models import AgeRule, Application, ApplicationRequest, Filed
from admission.applications.service import Filing, confirm, file_application, get_application, repeat_of, withdraw

__all__ = [
    "AgeRule",
    "Application",
    "ApplicationRequest",
    "Filed",
    "Filing",
    "confirm",
    "file_application",
    "get_application",
    "repeat_of",
    "withdraw",
]
