"""How Kezek reads the acts where they are silent or ambiguous: every such choice, in one place.

Each field is a setting (``KEZEK_<NAME>`` in ``queue_service/settings.py``)
whose default is the reading documented here; ``docs/rules.md`` lists them
as the assumptions of the traceability table.  Nothing here is a hidden
constant: a regional office that reads an act otherwise changes the setting.
The grade-1 age rule is the applications' own (``admission.applications.models.AgeRule``).
"""

from __future__ import annotations

from typing import Literal

import msgspec

RosterLanguageFull = Literal["held_language", "refuse"]
TruantPeriod = Literal["month", "school_year"]


class Readings(msgspec.Struct, frozen=True, kw_only=True):
    roster_language_full: RosterLanguageFull = "held_language"
    """A roster child (pilot para 4) applies to its own school in a language whose class sets are full.

    Para 4 sets no language condition and admits automatically, so the child is
    never refused while a seat is held for it.  When the asked language has
    room the held seat moves there.  When it has none the sanitary limit of the
    class (ҚР ДСМ-76) still binds, so ``held_language`` (default) admits the
    child on the seat held in the roster's language, and the answer says so;
    ``refuse`` refuses on ground 7 instead (the seat stays held).
    """
    basic_secondary_final_grade: int = 9
    """The grade whose completion gives the basic secondary certificate (9; 10 in the 12-year programme).

    Model rules para 27 governs *admission* to the next grade (10, or 11) on
    that certificate: 1-31 August.  A transfer into that grade from this one is
    such an admission; every other transfer of grades 10-12 follows para 17.
    """
    truant_period: TruantPeriod = "month"
    """Census para 2.5 "10 or more calendar days missed without a valid reason" sets no period.

    ``month`` (default): 10+ days in one calendar month, the period of the list
    the school posts by the 10th and agrees with the police (paras 11, 14.6),
    so no pupil is listed all year for one bad month.  ``school_year``: the
    days summed from 1 September to the census month.
    """
    private_colleges_non_state: bool = False
    """Census para 11.4 counts pupils of non-state *preschool and secondary education* organisations.

    In order 324 colleges (technical and vocational education) are named apart
    from secondary education organisations (paras 8.3, 11.3, 17 against 14),
    so by default a private college's student counts as ``tvet`` only, not
    ``non_state``.  True counts them in both.
    """


DEFAULT_READINGS = Readings()
"""The documented defaults (what a caller that is given no settings uses)."""
