"""Who may move a region's grade-1 window, and how far (pilot para 7 and annex 2).

Para 7: documents are accepted within the period of annex 2.  So a region's
office may only *narrow* its window inside annex 2's dates (open later, close
earlier); a window outside them (open before the region's annex-2 day, or
past 31 August) is the ministry's alone, with a stated reason that goes into
the audit log.  Annex 2 is the schedule shipped in
``admission/reference/regions.csv`` (the 2026 order; a later order's schedule
replaces that file).  Demo mode (``kezek demo-window``) is an operator
command, not an admin's change, and is marked ``window_is_demo`` everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import ClassVar

from admission import reference
from admission.errors import Forbidden, InvalidInput, Language


class WindowOutsideSchedule(Forbidden):
    code = "window_outside_schedule"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Қабылдау кезеңін 2-қосымшадан тыс тек министрлік өзгерте алады ({opens} – {closes}); өңір оны тек"
        " тарылта алады.",
        "ru": "Вывести период приёма за пределы приложения 2 ({opens} – {closes}) может только министерство;"
        " регион может его только сузить.",
        "en": "Only the ministry may move a window outside annex 2 ({opens} - {closes}); a region may only narrow it.",
    }


class WindowReasonRequired(InvalidInput):
    code = "window_reason_required"
    messages: ClassVar[dict[Language, str]] = {
        "kk": "Кезеңді 2-қосымшадан тыс жылжыту үшін себебін көрсетіңіз (reason).",
        "ru": "Чтобы вывести период за пределы приложения 2, укажите причину (reason).",
        "en": "Moving a window outside annex 2 needs a stated reason (reason).",
    }


@functools.cache
def annex_2() -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """Each region's annex-2 window: [opens, closes) in Kazakhstan time."""
    return {r.slug: (r.window_opens_at, r.window_closes_at) for r in reference.regions_from_file()}


def check_change(role: str, region: str, opens_at: dt.datetime, closes_at: dt.datetime, reason: str | None) -> bool:
    """Whether the new window lies outside annex 2; raises when ``role`` may not set it so.

    Inside annex 2 anyone in scope may set it (a region narrows); outside it
    only the ministry, and only with a reason.
    """
    schedule = annex_2().get(region)
    inside = schedule is not None and schedule[0] <= opens_at and closes_at <= schedule[1]
    if inside:
        return False
    if role != "ministry":
        opens, closes = schedule or (opens_at, closes_at)
        raise WindowOutsideSchedule(
            opens=opens.astimezone(reference.KZ).date().isoformat(),
            closes=(closes.astimezone(reference.KZ).date() - dt.timedelta(days=1)).isoformat(),
        )
    if reason is None or not reason.strip():
        raise WindowReasonRequired()
    return True
