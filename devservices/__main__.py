"""``python -m devservices up``: a Redis and a PostgreSQL until SIGINT or SIGTERM (used by ``scripts/run``).

    python -m devservices up --dir .kezek/services --env-file .kezek/services.env

starts both, writes ``KEZEK_REDIS_URL`` / ``KEZEK_DATABASE_URL`` to the env file,
prints them and waits; SIGINT or SIGTERM stops both servers and exits.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from devservices.local import Services


def _up(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    stop = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    # Under scripts/run, Ctrl-C reaches every process at once; the script stops the
    # server first and then us with SIGTERM, so the server never loses its databases mid-request.
    signal.signal(signal.SIGINT, signal.SIG_IGN if args.ignore_sigint else on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    only = tuple(part for part in args.only.split(",") if part)
    with Services(directory, args.redis_port, args.pg_port, only) as services:
        env = ""
        if services.redis:
            env += f"KEZEK_REDIS_URL={services.redis.url}\n"
        if services.postgres:
            env += f"KEZEK_DATABASE_URL={services.postgres.url}\n"
        if args.env_file:
            Path(args.env_file).write_text(env)
        sys.stdout.write(env)
        sys.stdout.flush()
        while not stop:
            for server in (services.redis, services.postgres):
                if server and server.proc and server.proc.poll() is not None:
                    sys.stderr.write(f"{type(server).__name__} stopped unexpectedly\n")
                    return 1
            time.sleep(0.2)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devservices", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Redis and PostgreSQL and wait for SIGINT/SIGTERM")
    up.add_argument("--dir", default=".kezek/services", help="where the servers keep their data")
    up.add_argument("--env-file", help="write KEZEK_REDIS_URL and KEZEK_DATABASE_URL here")
    up.add_argument("--redis-port", type=int, default=None, help="default: a free port")
    up.add_argument("--pg-port", type=int, default=None, help="default: a free port")
    up.add_argument("--only", default="redis,postgres", help="which servers to start (comma-separated)")
    up.add_argument("--ignore-sigint", action="store_true", help="stop on SIGTERM only")
    return _up(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
