"""The journal: what each simulated person did and what the service answered, one JSON object a line.

Every locust process (the standalone one, or each worker in distributed mode)
appends to its own ``journal-<host>-<pid>.jsonl`` in the journal folder; the
invariant checker reads them all after the run.  Times are ``time.time()``
(wall clock) so journals of processes on one machine can be merged.

Events (``ev``):

* ``join``: ``iin``, ``t0`` (request sent), ``t1`` (answer received), ``status``, ``position``
* ``admitted``: ``iin``, ``t_wait`` (last poll still waiting), ``t_seen`` (first poll admitted)
* ``abandoned``: ``iin``, ``t``; ``rejoin``: ``iin``, ``same_place`` (a second device kept the place)
* ``released``: ``iin``, ``t`` (until when the slot was surely held: the family's first filing request)
* ``applied``: ``iin``, ``child``, ``school``, ``language``, ``id``, ``status``, ``ground``, ``roster``
* ``withdrawn``: ``id``, ``child``, ``http``
* ``bad``: ``kind``, ``http`` (what a bad actor got), ``expected_4xx``
* ``admin``: ``action``, ``target``, ``http``
* ``http5xx``: ``name``, ``http``
* ``connections``: ``opened`` (connections this process opened in the whole run; written at its end)
* ``closed``: ``t`` — the process closed its journal (always its last line): the record is complete

A process writes its journal through a buffer and closes it when it quits.  In
distributed mode locust's master may exit before its worker processes have
quit, so a reader waits for every journal's ``closed`` line
(:func:`unclosed_journals`) before trusting what the journals say.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CLOSED = "closed"
"""The event a journal ends with once its process closed it."""


class Journal:
    """An append-only JSONL file of this process; ``write`` is cheap (buffered), ``close`` flushes."""

    def __init__(self, directory: str | Path) -> None:
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"journal-{socket.gethostname()}-{os.getpid()}.jsonl"
        self._file = self.path.open("a", encoding="utf-8", buffering=1 << 16)
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def write(self, ev: str, **fields: Any) -> None:
        line = json.dumps({"ev": ev, **fields}, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            if time.monotonic() - self._last_flush > 2.0:
                self._file.flush()
                self._last_flush = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.write(json.dumps({"ev": CLOSED, "t": time.time()}, separators=(",", ":")) + "\n")
                self._file.close()


class NullJournal(Journal):
    """Used when no journal folder is given (e.g. a hand-driven web-UI session)."""

    def __init__(self) -> None:
        pass

    def write(self, ev: str, **fields: Any) -> None:  # noqa: ARG002 - nothing to record
        return

    def close(self) -> None:
        return


def read_journals(directory: str | Path) -> Iterator[dict[str, Any]]:
    """Every event of every ``journal-*.jsonl`` in ``directory`` (a torn last line is skipped)."""
    for path in sorted(Path(directory).glob("journal-*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue


def unclosed_journals(directory: str | Path) -> list[Path]:
    """The journals in ``directory`` whose process has not closed them (yet): no ``closed`` last line."""
    unclosed: list[Path] = []
    for path in sorted(Path(directory).glob("journal-*.jsonl")):
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            lines = f.read().splitlines()
        try:
            last = json.loads(lines[-1]) if lines else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            last = None
        if not isinstance(last, dict) or last.get("ev") != CLOSED:
            unclosed.append(path)
    return unclosed


def await_journals(directory: str | Path, timeout: float) -> list[Path]:
    """Wait up to ``timeout`` seconds for every journal in ``directory`` to be closed; those still open."""
    deadline = time.monotonic() + timeout
    while True:
        unclosed = unclosed_journals(directory)
        if not unclosed or time.monotonic() >= deadline:
            return unclosed
        time.sleep(0.2)
