"""A stand-in for the contingent register's HTTP endpoint, run as its own process by the tests.

``python contingent_receiver.py PORT`` serves:

- ``POST /events``: applies an event once per ``Idempotency-Key`` (a repeat is answered 200 and not
  applied again), recording the order of application -- unless the mode says otherwise:
  ``ok``; ``down`` (503, nothing applied); ``hang`` (holds the request for 60 s, nothing applied);
  ``flaky`` (every 3rd request 503 without applying, every 5th applied but answered 500: a lost answer).
- ``PUT /mode/<mode>``: switches the mode.
- ``GET /state``: ``{"applied": [[event_id, child_iin], ...], "requests": n, "in_flight": n}``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE: dict[str, object] = {"mode": "ok", "requests": 0, "in_flight": 0}
APPLIED: list[tuple[int, str]] = []
SEEN: set[int] = set()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        with LOCK:
            self._answer(200, {"applied": APPLIED, "requests": STATE["requests"], "in_flight": STATE["in_flight"]})

    def do_PUT(self) -> None:
        with LOCK:
            STATE["mode"] = self.path.rsplit("/", 1)[-1]
        self._answer(200, {"mode": STATE["mode"]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = int(self.headers["Idempotency-Key"])
        assert key == body["event_id"]
        with LOCK:
            STATE["requests"] = count = int(STATE["requests"]) + 1  # type: ignore[call-overload]
            STATE["in_flight"] = int(STATE["in_flight"]) + 1  # type: ignore[call-overload]
            mode = STATE["mode"]
        try:
            if mode == "hang":
                time.sleep(60)
                return
            if mode == "down" or (mode == "flaky" and count % 3 == 0):
                self._answer(503, {"error": "down"})
                return
            with LOCK:
                if key not in SEEN:
                    SEEN.add(key)
                    APPLIED.append((key, body["event"]["child_iin"]))
            if mode == "flaky" and count % 5 == 0:
                self._answer(500, {"error": "applied, but the answer is lost"})
                return
            self._answer(200, {"applied": key})
        finally:
            with LOCK:
                STATE["in_flight"] = int(STATE["in_flight"]) - 1  # type: ignore[call-overload]


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
