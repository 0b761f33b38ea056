"""Kazakhstan time is a fixed UTC+5 (one offset since 2024-03-01), whatever the host's tz database says."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from admission import reference
from admission.transfers import workdays

PROBE = """
import datetime as dt
from zoneinfo import ZoneInfo
from admission import reference
from admission.transfers import workdays
opens, closes = reference.window_bounds(dt.date(2026, 5, 27), dt.date(2026, 8, 31))
talon = workdays.end_of_working_days(dt.datetime(2026, 4, 17, 10, tzinfo=dt.UTC), 3)
print(ZoneInfo("Asia/Almaty").utcoffset(dt.datetime(2026, 6, 1)), opens.astimezone(dt.UTC).isoformat(),
      closes.astimezone(dt.UTC).isoformat(), talon.astimezone(dt.UTC).isoformat())
"""


def test_annex_2_windows_open_at_midnight_utc_plus_5_not_6() -> None:
    assert reference.KZ.utcoffset(None) == dt.timedelta(hours=5)
    opens, closes = reference.window_bounds(dt.date(2026, 5, 27), dt.date(2026, 8, 31))
    assert opens == dt.datetime(2026, 5, 26, 19, 0, tzinfo=dt.UTC)  # 00:00 on 27 May at UTC+5 (+6 would be 18:00)
    assert closes == dt.datetime(2026, 8, 31, 19, 0, tzinfo=dt.UTC)  # the end of 31 August
    assert workdays.acceptance_day(dt.datetime(2026, 4, 17, 18, 45, tzinfo=dt.UTC)) == dt.date(2026, 4, 20)


def test_annex_2_windows_do_not_move_on_a_host_whose_tz_database_says_almaty_is_utc_plus_6(tmp_path: Path) -> None:
    """A host with tz data older than 2024a: ``Asia/Almaty`` is +6 there; Kezek's times must not change."""
    old = tmp_path / "zoneinfo"
    (old / "Asia").mkdir(parents=True)
    with resources.as_file(resources.files("tzdata").joinpath("zoneinfo", "Asia", "Dhaka")) as plus_six:
        shutil.copy(plus_six, old / "Asia" / "Almaty")  # a zone fixed at UTC+6, as Almaty was before 2024-03-01
    env = {**os.environ, "PYTHONTZPATH": str(old)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    ).stdout.split()
    assert out[0] == "6:00:00", "the probe's host database must really say +6"
    assert out[1:] == [
        "2026-05-26T19:00:00+00:00",  # windows open at 00:00 UTC+5
        "2026-08-31T19:00:00+00:00",
        "2026-04-22T13:30:00+00:00",  # a talon lapses at 18:30 UTC+5
    ]
