"""schemathesis, the external fuzzer, against a served app: every operation of /docs/openapi.json,
with valid credentials and without.  Zero server errors, zero undeclared status codes or content
types, zero responses that break their declared schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from admission.keys import KeySet, mint_admin_token
from devservices import ServerFactory
from queue_service.settings import Settings

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("KEZEK_SCHEMATHESIS_EXAMPLES", "15"))


@pytest.fixture
def served(settings: Settings, kezek_server: ServerFactory) -> tuple[str, KeySet]:
    """``kezek serve`` (granian, 1 worker) on a free port, on this test's Redis and PostgreSQL."""
    server = kezek_server(settings.database_url, settings.redis_url, workers=1, outbox_publisher="0")
    return server.url, server.keys


def _schemathesis(url: str, tmp_path: Path, label: str, *headers: str) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG),
        "run", f"{url}/docs/openapi.json",
        "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--phases", "examples,coverage,fuzzing",
        "--seed", "12", "--generation-database", "none", "--workers", "2", "--no-shrink",
        "--request-timeout", "20", "--no-color", "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", str(tmp_path / label),
    ]  # fmt: skip
    for header in headers:
        command += ["-H", header]
    # cwd: schemathesis keeps a cache folder (.schemathesis) where it runs
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False, cwd=tmp_path)
    print(done.stdout[-6000:])
    assert done.returncode == 0, f"schemathesis {label}:\n{done.stdout[-20000:]}\n{done.stderr[-3000:]}"


@pytest.mark.timeout(600)
def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(
    served: tuple[str, KeySet], tmp_path: Path
) -> None:
    url, keys = served
    _schemathesis(url, tmp_path, "anonymous")
    ministry = mint_admin_token(keys, "fuzzer", "ministry")
    _schemathesis(url, tmp_path, "ministry", f"Authorization: Bearer {ministry}")
