"""The operator's first hour with the CLI: help that reads cleanly, and the README's census quick-start."""

from __future__ import annotations

import csv
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from queue_service.cli import main as cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_help_page_reads_without_raw_markup() -> None:
    runner = CliRunner()
    pages = _commands(cli)
    assert ("census", "contingent") in pages
    for path in pages:
        result = runner.invoke(cli, [*path, "--help"], prog_name="kezek", terminal_width=120)
        assert result.exit_code == 0, result.output
        assert "``" not in result.output, f"kezek {' '.join(path)} --help:\n{result.output}"
        assert "Usage: kezek" in result.output


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_census_quick_start_loads_the_generated_contingent(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """generate → territories → contingent → import: school-age children are mostly covered, as in life."""
    monkeypatch.setenv("KEZEK_DATABASE_URL", database_url)
    out = tmp_path / "astana"
    _cli("census", "generate", "astana", "--children", "3000", "--out", str(out))
    _cli("census", "territories", str(out / "territories.csv"))
    loaded = _cli("census", "contingent", str(out / "contingent.csv"))
    with (out / "contingent.csv").open(encoding="utf-8-sig") as f:
        rows = sum(1 for _ in f) - 1
    assert f"{rows} rows, {rows} children enrolled" in loaded
    assert ", 0 children enrolled" in _cli("census", "contingent", str(out / "contingent.csv"))  # twice: no one twice
    _cli("census", "import", "astana", "--persons", str(out / "persons.csv"), "--bbazh", str(out / "bbazh.csv"),
         "--as-of", "2026-09-10")  # fmt: skip
    report = tmp_path / "report.csv"
    _cli("census", "report", "astana", "--out", str(report))
    with report.open(encoding="utf-8-sig") as f:
        rows_out = list(csv.reader(f, delimiter=";"))
    header, region_row = rows_out[0], rows_out[1]
    counts = dict(zip(header, region_row, strict=True))
    school_age = int(next(v for k, v in counts.items() if k.startswith("Мектеп жасындағы")))
    not_covered = int(next(v for k, v in counts.items() if k.startswith("Оқумен қамтылмаған")))
    assert school_age > 500
    assert not_covered < school_age * 0.15, counts
