"""Importing the two extracts: merge by ИИН, bad rows reported, idempotent, quarterly history."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest
from census_helpers import Census

from admission.census import importer, reports
from admission.census.errors import BadExtractFile, NotACensusMonth, SnapshotCompleted
from admission.census.formats import PERSONS_COLUMNS


async def _children(conn: asyncpg.Connection, snapshot_id: int) -> list[dict[str, object]]:
    rows = await conn.fetch(
        "SELECT c.* FROM census.children c JOIN census.snapshots s ON s.load_id = c.load_id"
        " WHERE s.id = $1 ORDER BY c.iin",
        snapshot_id,
    )
    return [{k: v for k, v in r.items() if k != "load_id"} for r in rows]


async def test_the_two_extracts_merge_into_one_record_per_child(census: Census, conn: asyncpg.Connection) -> None:
    both = census.child(dt.date(2015, 4, 2))
    register_only = census.child(dt.date(2012, 1, 20), male=False)
    education_only = census.child(dt.date(2016, 7, 7))
    persons, bbazh = census.extracts(
        [
            census.person(both, locality="Астана", district="2-шағын аудан"),
            census.person(register_only, registered="0"),
        ],
        [census.pupil(both, grade="5"), census.pupil(education_only, surname="Сейітов", name="Айдос")],
    )
    report = await census.import_extracts(persons, bbazh)
    assert (report.persons_rows, report.bbazh_rows, report.children, report.rejected) == (2, 2, 3, 0)
    rows = {r["iin"]: r for r in await _children(conn, report.snapshot_id)}
    assert set(rows) == {both, register_only, education_only}
    merged = rows[both]
    assert (merged["in_persons"], merged["in_bbazh"]) == (True, True)
    assert (merged["locality"], merged["district"], merged["org_kind"], merged["grade"]) == (
        "Астана", "2-шағын аудан", "school", 5,
    )  # fmt: skip
    assert merged["birth_date"] == dt.date(2015, 4, 2)
    assert merged["age"] == 11
    # Counted whether registered at the address or not; residence unknown when only the school knows the child.
    assert rows[register_only]["registered"] is False
    assert (rows[education_only]["in_persons"], rows[education_only]["locality"]) == (False, None)
    counts = await reports.category_counts(conn, report.snapshot_id)
    assert (counts.children, counts.not_registered, counts.residence_unknown) == (3, 1, 1)


async def test_bad_rows_are_reported_with_file_line_and_reason_and_the_rest_is_imported(
    census: Census, conn: asyncpg.Connection
) -> None:
    good = [census.child(dt.date(2014, 3, d)) for d in (1, 2, 3)]
    bad_check = census.child(dt.date(2014, 5, 5))
    bad_check = bad_check[:11] + str((int(bad_check[11]) + 1) % 10)
    mismatched = census.child(dt.date(2013, 6, 6))
    adult = census.child(dt.date(2007, 1, 1))
    rejected, warned = "rejected", "warning"
    # Every line of the two files after their header (line 1), and what the import says of it: nothing,
    # or its code and severity.
    persons_lines: list[tuple[list[str], tuple[str, str] | None]] = [
        (census.person(good[0]), None),
        (census.person(bad_check), ("invalid_iin", rejected)),
        (census.person(census.child(dt.date(2014, 10, 10)))[:9], ("field_count", rejected)),
        (census.person(census.child(dt.date(2014, 8, 8)), birth_date="31.02.2014"), ("invalid_date", rejected)),
        (census.person(mismatched, birth_date="07.06.2013"), ("birth_date_mismatch", rejected)),
        (census.person(adult), ("not_a_child", rejected)),
        (census.person(census.child(dt.date(2014, 9, 9)), sex="F"), ("sex_mismatch", rejected)),
        (census.person(good[1]), None),
        (census.person(good[0], surname="Екінші"), ("duplicate_iin", rejected)),  # the same ИИН again
    ]
    bbazh_lines: list[tuple[list[str], tuple[str, str] | None]] = [
        (census.pupil(good[0]), None),
        (census.pupil(good[2], org_kind="university"), ("invalid_value", rejected)),
        (census.pupil(good[1], surname="Басқа"), ("name_mismatch", warned)),  # kept
        (census.pupil(good[2], grade="13"), ("invalid_value", rejected)),
        # The same ИИН again: rejected, and its other name is not warned of.
        (census.pupil(good[0], surname="Үшінші", grade="9"), ("duplicate_iin", rejected)),
    ]
    persons, bbazh = census.extracts([r for r, _ in persons_lines], [r for r, _ in bbazh_lines])
    # Bytes that are not UTF-8 on line 11 of the persons file.
    with persons.open("ab") as out:
        out.write(b"\xff\xfe;" + ";".join(census.person(good[2])[1:]).encode() + b"\r\n")

    report = await census.import_extracts(persons, bbazh)

    issues = await reports.list_issues(conn, report.snapshot_id)
    found = {(i.file, i.line, i.code, i.severity) for i in issues}
    said_of_lines = {
        (file, line, *said)
        for file, lines in (("persons.csv", persons_lines), ("bbazh.csv", bbazh_lines))
        for line, (_, said) in enumerate(lines, start=2)
        if said
    }
    assert found == said_of_lines | {("persons.csv", 11, "invalid_encoding", rejected)}
    assert {i.detail for i in issues if i.code == "duplicate_iin"} == {"ИИН already on line 2"}
    assert next(i for i in issues if i.code == "field_count").detail == "expected 12 fields, got 9"
    assert (report.rejected, report.warnings) == (11, 1)
    # The good rows are in (the first of the duplicates kept); every row of good[2] was bad, and each is reported.
    rows = {r["iin"]: r for r in await _children(conn, report.snapshot_id)}
    assert set(rows) == set(good[:2])
    assert (rows[good[0]]["surname"], rows[good[0]]["grade"]) == ("Ахметов", 3)  # the first rows of the ИИН
    assert rows[good[1]]["surname"] == "Ахметов"  # the persons register wins over ББАЖ's spelling


async def test_importing_the_same_files_twice_gives_the_same_snapshot(census: Census, conn: asyncpg.Connection) -> None:
    kids = [census.child(dt.date(2010 + n, 2, 3)) for n in range(8)]
    broken = census.person(kids[0], iin="12345")
    persons, bbazh = census.extracts(
        [census.person(k) for k in kids[:6]] + [broken],
        [census.pupil(k) for k in kids[3:]] + [census.exempt(kids[1])],
    )
    first = await census.import_extracts(persons, bbazh)
    before = (await _children(conn, first.snapshot_id), await reports.list_issues(conn, first.snapshot_id))
    second = await census.import_extracts(persons, bbazh)
    after = (await _children(conn, second.snapshot_id), await reports.list_issues(conn, second.snapshot_id))
    assert second.snapshot_id == first.snapshot_id
    assert (second.children, second.rejected) == (first.children, first.rejected) == (8, 1)
    assert after == before
    assert len(await importer.list_snapshots(conn, census.region)) == 1


async def test_the_next_quarter_keeps_the_previous_snapshot(census: Census, conn: asyncpg.Connection) -> None:
    kids = [census.child(dt.date(2014, 1, d)) for d in range(1, 6)]
    newcomer = census.child(dt.date(2015, 5, 5))
    september = census.extracts([census.person(k) for k in kids], [census.pupil(k) for k in kids], "-09")
    december = census.extracts([census.person(k) for k in [*kids[1:], newcomer]], [], "-12")
    sept = await census.import_extracts(*september)
    await reports.mark_complete(conn, census.region_admin(), census.region, census.as_of, census.now)
    dec_day = dt.date(2026, 12, 5)
    dec = await census.import_extracts(*december, as_of=dec_day, now=census.now + dt.timedelta(days=86))
    dec_again = await census.import_extracts(*december, as_of=dec_day, now=census.now + dt.timedelta(days=87))
    assert dec.snapshot_id == dec_again.snapshot_id != sept.snapshot_id
    history = await importer.list_snapshots(conn, census.region)
    assert [(s.period, s.children) for s in history] == [(dt.date(2026, 12, 1), 5), (dt.date(2026, 9, 1), 5)]
    assert {r["iin"] for r in await _children(conn, sept.snapshot_id)} == set(kids)
    assert {r["iin"] for r in await _children(conn, dec.snapshot_id)} == {*kids[1:], newcomer}
    # The completed September census is frozen: re-importing it is refused and changes nothing.
    with pytest.raises(SnapshotCompleted):
        await census.import_extracts(*december)
    assert {r["iin"] for r in await _children(conn, sept.snapshot_id)} == set(kids)


async def test_a_file_of_another_format_is_refused_before_anything_changes(
    census: Census, conn: asyncpg.Connection
) -> None:
    kid = census.child(dt.date(2014, 2, 2))
    persons, bbazh = census.extracts([census.person(kid)], [census.pupil(kid)])
    await census.import_extracts(persons, bbazh)
    with pytest.raises(BadExtractFile) as caught:  # the ББАЖ file given as the persons extract
        await census.import_extracts(bbazh, bbazh)
    assert ";".join(PERSONS_COLUMNS) in str(caught.value)
    snapshot = await importer.get_snapshot(conn, census.region)
    assert (snapshot.children, snapshot.persons_file) == (1, "persons.csv")


async def test_the_census_is_quarterly(census: Census, conn: asyncpg.Connection) -> None:
    kid = census.child(dt.date(2014, 2, 2))
    persons, bbazh = census.extracts([census.person(kid)], [])
    with pytest.raises(NotACensusMonth):
        await census.import_extracts(persons, bbazh, as_of=dt.date(2026, 10, 1))
    assert await importer.list_snapshots(conn, census.region) == []


async def test_quoted_fields_blank_lines_and_line_numbers_as_spreadsheets_export_them(
    census: Census, conn: asyncpg.Connection
) -> None:
    first, second, third = (census.child(dt.date(2013, 3, d)) for d in (4, 5, 6))
    quoted = census.person(first, address='Астана; "Нұр Әлем" ТК, 5')  # a delimiter and quotes inside one field
    persons, bbazh = census.extracts([quoted, census.person(second)], [])
    with persons.open("a", encoding="utf-8", newline="") as out:
        out.write("\r\n")  # line 4: blank, not a row
        out.write(";".join(census.person(third)[:5]) + "\r\n")  # line 5: too few fields
    report = await census.import_extracts(persons, bbazh)
    assert (report.persons_rows, report.children, report.rejected) == (3, 2, 1)
    rows = {r["iin"]: r for r in await _children(conn, report.snapshot_id)}
    assert rows[first]["address"] == 'Астана; "Нұр Әлем" ТК, 5'
    assert [(i.line, i.code) for i in await reports.list_issues(conn, report.snapshot_id)] == [(5, "field_count")]


async def _leftovers(conn: asyncpg.Connection) -> list[str]:
    """Scratch schemas, and load tables outside the partition tree: what an import must not leave behind."""
    rows = await conn.fetch(
        "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'census_work_%'"
        " UNION ALL SELECT relname FROM pg_class WHERE relnamespace = 'census'::regnamespace"
        " AND relname ~ '^children_[0-9]+$' AND relkind = 'r' AND NOT relispartition"
    )
    return sorted(r["name"] for r in rows)


async def test_readers_see_the_previous_load_unblocked_until_the_import_commits(
    census: Census, db_pool: asyncpg.Pool
) -> None:
    kids = [census.child(dt.date(2014, 7, d)) for d in range(1, 4)]
    done = await census.load([census.person(kids[0])], [])
    files = census.extracts([census.person(k) for k in kids], [census.pupil(k) for k in kids], "-2")
    seen: list[int] = []
    importing = True

    async def read() -> None:
        async with db_pool.acquire() as reading:
            await reading.execute("SET lock_timeout = '1s'")  # a reader blocked by the import would fail
            while importing:
                seen.append((await reports.category_counts(reading, done.snapshot_id)).children)
                await asyncio.sleep(0)

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.05)
    try:
        again = await census.import_extracts(*files)
    finally:
        importing = False
        await reader
    assert again.children == 3
    assert seen[0] == 1, seen
    assert set(seen) <= {1, 3}, seen
    assert seen == sorted(seen), seen  # the old load until the new one, never both or none
    async with db_pool.acquire() as conn:
        assert (await reports.category_counts(conn, done.snapshot_id)).children == 3
        assert await _leftovers(conn) == []


async def test_a_failed_import_leaves_the_snapshot_as_it_was_and_nothing_behind(
    census: Census, conn: asyncpg.Connection
) -> None:
    kids = [census.child(dt.date(2015, 3, d)) for d in range(1, 4)]
    first = await census.load([census.person(kids[0])], [])
    before = await importer.get_snapshot(conn, census.region)
    await conn.execute(
        "CREATE FUNCTION pg_temp.fail() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'the database went away'; END $$;"
        " CREATE TRIGGER fail BEFORE UPDATE ON census.snapshots FOR EACH ROW EXECUTE FUNCTION pg_temp.fail()"
    )  # the import's last transaction fails, after both halves were merged into the new load
    with pytest.raises(asyncpg.RaiseError, match="went away"):
        await census.import_extracts(*census.extracts([census.person(k) for k in kids], [], "-2"))
    assert await importer.get_snapshot(conn, census.region) == before
    assert (await reports.category_counts(conn, first.snapshot_id)).children == 1
    assert await _leftovers(conn) == []


async def test_a_second_import_of_a_quarter_waits_for_the_first_and_replaces_it_whole(
    census: Census, db_pool: asyncpg.Pool
) -> None:
    sets, said = {}, {}
    for size in (3, 5):
        kids = [census.child(dt.date(2013, 5, d)) for d in range(1, size + 1)]
        sets[size] = census.extracts([census.person(k) for k in kids], [census.pupil(k) for k in kids], f"-{size}")
        said[size] = []
    done = await asyncio.gather(*(census.import_extracts(*sets[size], step=said[size].append) for size in (3, 5)))
    assert done[0].snapshot_id == done[1].snapshot_id
    waited = [size for size, steps in said.items() if any(s.startswith("waiting for another import") for s in steps)]
    assert len(waited) == 1, said  # one ran, the other waited for it
    async with db_pool.acquire() as conn:
        snapshot = await importer.get_snapshot(conn, census.region)
        assert snapshot.children == waited[0]  # the one that waited committed last, whole
        assert await conn.fetchval("SELECT count(*) FROM census.children") == snapshot.children
        assert await conn.fetchval("SELECT count(DISTINCT load_id) FROM census.children") == 1
        assert await _leftovers(conn) == []


async def test_an_import_sweeps_what_a_dead_import_left_and_spares_a_live_one(
    census: Census, db_pool: asyncpg.Pool
) -> None:
    async with db_pool.acquire() as dead, db_pool.acquire() as alive:
        loads = []
        for conn in (dead, alive):
            load = await conn.fetchval("SELECT nextval('census.load_ids')")
            await conn.execute(
                "SELECT census.lock_load($1); SELECT census.load_step($1, 'create')".replace("$1", str(load))
            )
            loads.append(load)
        await dead.close()  # killed: its lock is gone with its session, its tables stay
        kid = census.child(dt.date(2016, 1, 1))
        await census.load([census.person(kid)], [])
        assert await _leftovers(alive) == [f"census_work_{loads[1]}", f"children_{loads[1]}"]


async def test_files_copy_refuses_are_read_line_by_line_with_nothing_lost(
    census: Census, conn: asyncpg.Connection
) -> None:
    first, second, third = (census.child(dt.date(2013, 4, d)) for d in (4, 5, 6))
    odd_address = census.person(second, address="Астана\x02 5-үй")  # the raw COPY's quote byte inside a field
    persons, bbazh = census.extracts([census.person(first), odd_address], [census.pupil(first)])
    with bbazh.open("ab") as out:  # a CRLF file with one line ending LF: COPY refuses mixed endings
        out.write(";".join(census.pupil(second)).encode() + b"\n")
        out.write(";".join(census.pupil(third)).encode() + b"\r\n")
    report = await census.import_extracts(persons, bbazh)
    assert (report.persons_rows, report.bbazh_rows, report.children, report.rejected) == (2, 3, 3, 0)
    rows = {r["iin"]: r for r in await _children(conn, report.snapshot_id)}
    assert rows[second]["address"] == "Астана\x02 5-үй"
    assert (rows[second]["in_bbazh"], rows[third]["in_bbazh"], rows[third]["in_persons"]) == (True, True, False)


async def test_coded_values_outside_their_lists_are_rejected(census: Census, conn: asyncpg.Connection) -> None:
    kids = [census.child(dt.date(2012, 5, d)) for d in range(1, 12)]
    citizenships = ["KZ", "XXA", "RU", "kz", "K1", "KAZ", "Қ"]  # lines 2-8: the first three are fine
    persons_rows = [census.person(k, citizenship=c) for k, c in zip(kids, citizenships, strict=False)]
    grades = ["0", "09", "12", "1a", "012", "", "13", "-1"]  # ББАЖ lines 2-9: the first three are fine
    bbazh_rows = [census.pupil(k, grade=g) for k, g in zip(kids, grades, strict=False)]
    persons, bbazh = census.extracts(persons_rows, bbazh_rows)
    report = await census.import_extracts(persons, bbazh)
    issues = {
        (i.file, i.line) for i in await reports.list_issues(conn, report.snapshot_id) if i.code == "invalid_value"
    }
    assert issues == {("persons.csv", n) for n in range(5, 9)} | {("bbazh.csv", n) for n in range(5, 10)}
    rows = {r["iin"]: r for r in await _children(conn, report.snapshot_id)}
    assert [rows[k]["grade"] for k in kids[:3]] == [0, 9, 12]
    assert rows[kids[1]]["foreign_stateless"]
    assert not rows[kids[0]]["foreign_stateless"]
