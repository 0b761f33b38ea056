"""locust's FastHttpUser keeps its pooled keep-alive connections at any number of users.

geventhttpclient checks a pooled socket with ``select.select([sock], [], [], 0)``
before reusing it; gevent's ``select`` first calls the real ``select()``, which
raises ``ValueError`` for a file descriptor >= 1024 (FD_SETSIZE), and the check
then calls a healthy connection dead.  Past ~1,000 users every request opened a
new connection (6,091 connections for 2,000 families): the load generator
manufactured connection churn.  :func:`install` replaces the check with
``poll()``, which has no descriptor limit, and counts the connections opened,
so a run can show its connections per family.
"""

from __future__ import annotations

import select
from typing import Any

from gevent import monkey
from geventhttpclient import connectionpool

# gevent's monkey-patching removes select.poll (it would block the loop); a zero-timeout poll never blocks.
_poll = monkey.get_original("select", "poll")
_DEAD = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL
opened = {"connections": 0}


def _is_socket_alive(_self: Any, sock: Any) -> bool:
    """Alive = open and not readable while idle (readable means the server closed it, or sent junk)."""
    if sock is None:
        return False
    try:
        fd = sock.fileno()
        if fd < 0:
            return False
        poller = _poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return not any(events & _DEAD for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def install() -> None:
    """Patch geventhttpclient's pool (idempotent)."""
    pool = connectionpool.ConnectionPool
    if getattr(pool, "_kezek_patched", False):
        return
    create = pool._create_socket

    def _create_socket(self: Any) -> Any:
        sock = create(self)
        opened["connections"] += 1
        return sock

    pool._is_socket_alive = _is_socket_alive  # type: ignore[method-assign]
    pool._create_socket = _create_socket  # type: ignore[method-assign]
    pool._kezek_patched = True  # type: ignore[attr-defined]
