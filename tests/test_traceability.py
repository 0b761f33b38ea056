"""The traceability table (docs/rules.md) holds: every enforced paragraph has a test that names it.

The table is parsed as docs/rules.md describes it; test names are collected from every
``test_*.py`` under tests/ (functions named ``test_*``, sync or async).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import msgspec
import pytest

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "rules.md"
STATUSES = {"enforced", "assumption", "outside", "pending"}
SEEDS = ("000", "001", "002", "003", "004")


class Row(msgspec.Struct, frozen=True):
    seed: str
    line: int
    paragraph: str
    status: str
    code: list[str]
    tests: list[str]
    note: str


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def parse(text: str) -> tuple[list[Row], set[str]]:
    """The table's rows and the seeds that have a section."""
    rows: list[Row] = []
    sections: set[str] = set()
    seed: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        heading = re.match(r"^## Seed (\d{3})\b", line)
        if heading:
            seed = heading.group(1)
            sections.add(seed)
            continue
        if line.startswith("## "):
            seed = None
            continue
        if seed is None or not line.startswith("| ") or line.startswith(("| ¶", "|---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 6, f"docs/rules.md:{number}: expected 6 cells, got {len(cells)}"
        paragraph, _, status, code, tests, note = cells
        rows.append(Row(seed, number, paragraph, status, _ticked(code), _ticked(tests), note))
    return rows, sections


def slug(paragraph: str) -> str:
    """``para 2.5`` → ``para_2_5``; ``annex 2 item 9`` → ``annex_2_item_9``."""
    return re.sub(r"[^a-z0-9]+", "_", paragraph.lower()).strip("_")


def names_paragraph(test: str, paragraph: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(slug(paragraph))}(?![0-9])", test) is not None


def collected_test_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def problems(rows: list[Row], tests: set[str]) -> list[str]:
    found: list[str] = []
    for row in rows:
        where = f"docs/rules.md:{row.line} (seed {row.seed}, {row.paragraph})"
        if row.status not in STATUSES:
            found.append(f"{where}: status {row.status!r} is not one of {sorted(STATUSES)}")
            continue
        for reference in row.code:
            path, _, name = reference.partition("::")
            file = ROOT / path
            if not file.is_file():
                found.append(f"{where}: no file {path}")
            elif name and name not in file.read_text("utf-8"):
                found.append(f"{where}: {path} has no {name}")
        found.extend(f"{where}: no test {test} under tests/" for test in row.tests if test not in tests)
        if row.status == "enforced":
            if not row.code:
                found.append(f"{where}: enforced, but by no code")
            if not any(names_paragraph(t, row.paragraph) for t in row.tests):
                found.append(f"{where}: enforced, but no listed test names it ({slug(row.paragraph)})")
        elif not row.note:
            found.append(f"{where}: {row.status} needs a note saying what and why")
    return found


def test_the_traceability_table_has_a_test_naming_every_enforced_paragraph() -> None:
    rows, sections = parse(TABLE.read_text("utf-8"))
    assert sections >= set(SEEDS), f"one section per seed: missing {set(SEEDS) - sections}"
    for seed in ("000", "002", "004"):
        assert any(r.seed == seed and r.status == "enforced" for r in rows), f"seed {seed} has no enforced row"
    assert problems(rows, collected_test_names()) == []


P17 = "`test_para_17_exceptions_apply_in_grade_11`"


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        ("| para 17 | transfers | enforced | `admission/readings.py` | `test_something_else` | |", "no test test_"),
        ("| para 17 | transfers | enforced | `admission/readings.py` | `{named}` | |", "no listed test names it"),
        ("| para 1 | x | enforced | `admission/readings.py` | {p17} | |", "no listed test names it"),
        ("| para 17 | x | enforced | `admission/nowhere.py` | {p17} | |", "no file"),
        ("| para 17 | x | enforced | `admission/readings.py::Nope` | {p17} | |", "has no Nope"),
        ("| para 17 | x | enforced | | {p17} | |", "by no code"),
        ("| para 9 | x | assumption | | | |", "needs a note"),
        ("| para 9 | x | done | | | because |", "is not one of"),
    ],
)
def test_the_traceability_check_fails_on_a_broken_row(row: str, complaint: str) -> None:
    """The check itself can fail: each kind of broken row is caught."""
    header = "## Seed 002\n\n| ¶ | a | status | code | tests | note |\n|---|---|---|---|---|---|\n"
    named = "test_the_traceability_table_has_a_test_naming_every_enforced_paragraph"
    rows, _ = parse(header + row.format(named=named, p17=P17))
    found = problems(rows, collected_test_names())
    assert any(complaint in f for f in found), found


def test_a_paragraph_slug_matches_whole_numbers_only() -> None:
    assert names_paragraph("test_census_para_2_5_truants", "para 2.5")
    assert names_paragraph("test_pilot_para_1_and_annex_2_regions", "annex 2")
    assert not names_paragraph("test_para_17_exceptions", "para 1")
    assert not names_paragraph("test_para_21_talons", "para 2")
