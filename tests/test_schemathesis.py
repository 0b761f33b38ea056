"""schemathesis, the external fuzzer, against a served app: every operation of /docs/openapi.json,
with valid credentials and without.  Zero server errors, zero undeclared status codes or content
types, zero responses that break their declared schema."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from admission.keys import KeySet, mint_admin_token
from devservices import free_port
from queue_service.settings import Settings

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("KEZEK_SCHEMATHESIS_EXAMPLES", "15"))


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, KeySet]]:
    """``kezek serve`` (granian, 1 worker) on a free port, on this test's Redis and PostgreSQL."""
    key_file = tmp_path / "key.pem"
    keys = KeySet.load_or_create(key_file)
    port = free_port()
    env = {
        **os.environ,
        "KEZEK_REDIS_URL": settings.redis_url,
        "KEZEK_DATABASE_URL": settings.database_url,
        "KEZEK_SIGNING_KEY_FILE": str(key_file),
        "KEZEK_PORT": str(port),
        "KEZEK_WORKERS": "1",
        "KEZEK_LOG_LEVEL": "WARNING",
        "KEZEK_DB_POOL_MIN": "1",
        "KEZEK_OUTBOX_PUBLISHER": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "kezek"), "serve", "--server", "granian", "--workers", "1"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/ready", timeout=1) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            yield url, keys
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


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
