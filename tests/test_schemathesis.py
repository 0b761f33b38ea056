"""schemathesis, the external fuzzer, against a served app: every operation of /docs/openapi.json,
with valid credentials and without.  Zero server errors, zero undeclared status codes or content
types, zero responses that break their declared schema.

"Valid credentials" is one real credential for every security scheme the schema declares: a
ministry admin token, a waiting-room ticket, an access token holding a live slot, the withdraw
token of a filed application and the transfer token of a requested transfer (the last two with
their ids offered to the fuzzer for the path, so it reads and withdraws them for real)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import asyncpg
import httpx
import pytest

from admission import reference
from admission.iin import make_iin
from admission.signing_keys import KeySet, mint_admin_token
from devservices import ServerFactory
from queue_service.settings import Settings

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("KEZEK_SCHEMATHESIS_EXAMPLES", "15"))


PARENT = make_iin(dt.date(1988, 4, 2), False, 1200)
PUPIL = make_iin(dt.date(2014, 3, 1), True, 4711)  # in grade 5 at the first Astana school, per the contingent store


async def _astana_open_with_a_pupil(database_url: str) -> tuple[str, str, str, str]:
    """Astana's window open now (read by the server at start-up) and a pupil to transfer: the first
    Astana school with a grade-1 class (its language) and the second one (the pupil's new school)."""
    conn = await asyncpg.connect(database_url)
    try:
        await reference.open_demo_window(conn, "astana", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        first, second = await conn.fetch(
            "SELECT DISTINCT ON (c.school_bin) c.school_bin, c.language FROM school_classes c"
            " JOIN schools s ON s.bin = c.school_bin WHERE s.region_slug = 'astana' AND c.grade = 1 AND c.classes > 0"
            " ORDER BY c.school_bin, c.language LIMIT 2"
        )
        await conn.execute(
            "INSERT INTO contingent.enrolments"
            " (child_iin, school_bin, grade, language, order_number, order_date, since)"
            " VALUES ($1, $2, 5, $3, 'seed', '2025-09-01', '2025-09-01')",
            PUPIL, first["school_bin"], first["language"],
        )  # fmt: skip
    finally:
        await conn.close()
    return first["school_bin"], first["language"], second["school_bin"], second["language"]


def _credentials(url: str, keys: KeySet, schools: tuple[str, str, str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A real credential for every security scheme, and the ids they are for."""
    school, language, new_school, new_language = schools
    with httpx.Client(base_url=url, timeout=20) as http:
        joined = http.post("/v1/rooms/astana/visitors", json={"applicant_iin": PARENT})
        assert joined.status_code in (200, 201), joined.text
        view = joined.json()
        assert view["status"] == "admitted", view  # the room has free slots: the parent holds one
        form = {"applicant_iin": PARENT, "child_iin": make_iin(dt.date(2020, 3, 1), True, 4712),
                "school_bin": school, "language": language, "consent": True}  # fmt: skip
        filed = http.post("/v1/applications", json=form, headers={"Authorization": f"Bearer {view['access_token']}"})
        assert filed.status_code == 201, filed.text
        transfer = {
            "path": "portal", "applicant_iin": PARENT, "applicant_full_name": "Серікбаева Айгүл Маратқызы",
            "applicant_phone": "+7 701 555 12 34", "registered_address": "Астана, Есіл ауданы, Сынақ көшесі, 5",
            "consent": True, "child_iin": PUPIL, "child_full_name": "Серікбаев Әлихан", "to_school_bin": new_school,
            "grade": 5, "language": new_language, "ground": "relocation", "document_ref": "housing-77/2026",
        }  # fmt: skip
        requested = http.post("/v1/transfers", json=transfer)
        assert requested.status_code == 201, requested.text
    tokens = {
        "admin": mint_admin_token(keys, "fuzzer", "ministry"),
        "ticket": view["ticket"],
        "access": view["access_token"],
        "withdraw": filed.json()["withdraw_token"],
        "transfer": requested.json()["transfer_token"],
    }
    return tokens, {"application_id": filed.json()["id"], "transfer_id": requested.json()["id"]}


def _config_with(tmp_path: Path, tokens: dict[str, str], ids: dict[str, str]) -> Path:
    """The shared config plus a bearer for every scheme and the real ids offered for the path."""
    text = CONFIG.read_text().rstrip() + "\n"  # it ends with its [parameters] table: the ids' lines join it
    text += "".join(f'"path.{name}" = {{ dictionary = "{name}s", probability = 0.5 }}\n' for name in ids)
    text += "".join(f"\n[dictionaries.{name}s]\nvalues = [{json.dumps(value)}]\n" for name, value in ids.items())
    text += "".join(f"\n[auth.openapi.{scheme}]\nbearer = {json.dumps(token)}\n" for scheme, token in tokens.items())
    parsed = tomllib.loads(text)
    assert set(parsed["auth"]["openapi"]) == set(tokens)
    assert {f"path.{name}" for name in ids} <= set(parsed["parameters"])
    path = tmp_path / "schemathesis-credentials.toml"
    path.write_text(text)
    return path


@pytest.fixture
async def schools(database_url: str) -> tuple[str, str, str, str]:
    return await _astana_open_with_a_pupil(database_url)


@pytest.fixture
def served(settings: Settings, kezek_server: ServerFactory, schools: tuple[str, str, str, str]) -> tuple[str, KeySet]:
    """``kezek serve`` (granian, 1 worker) on a free port, on this test's Redis and PostgreSQL."""
    server = kezek_server(settings.database_url, settings.redis_url, workers=1, outbox_publisher="0")
    return server.url, server.keys


def _schemathesis(url: str, tmp_path: Path, label: str, config: Path = CONFIG) -> subprocess.Popen[str]:
    """schemathesis started on the served app; its report goes to ``tmp_path / label``."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
        "run", f"{url}/docs/openapi.json",
        "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--phases", "examples,coverage,fuzzing",
        "--seed", "12", "--generation-database", "none", "--workers", "2", "--no-shrink",
        "--request-timeout", "20", "--no-color", "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", str(tmp_path / label),
    ]  # fmt: skip
    # cwd: schemathesis keeps a cache folder (.schemathesis) where it runs
    folder = tmp_path / f"cwd-{label}"
    folder.mkdir()
    with (tmp_path / f"{label}.log").open("w") as log:  # a file, not a pipe: two runs at once never block on it
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=folder)


@pytest.mark.timeout(600)
def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(
    served: tuple[str, KeySet], tmp_path: Path, schools: tuple[str, str, str, str]
) -> None:
    url, keys = served
    # the credentials first, while the parent's slot is fresh and the join's rate limit untouched by
    # the fuzzer's joins; then both runs at once (the server answers both; neither can touch the
    # other's credentials)
    tokens, ids = _credentials(url, keys, schools)
    runs = {
        "credentials": _schemathesis(url, tmp_path, "credentials", _config_with(tmp_path, tokens, ids)),
        "anonymous": _schemathesis(url, tmp_path, "anonymous"),
    }
    try:
        for run in runs.values():
            run.wait(timeout=420)
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
                run.wait()
    outputs = {label: (tmp_path / f"{label}.log").read_text() for label in runs}
    for label, output in outputs.items():
        print(f"== schemathesis {label}\n{output[-6000:]}")
    for label, run in runs.items():
        assert run.returncode == 0, f"schemathesis {label}:\n{outputs[label][-20000:]}"
