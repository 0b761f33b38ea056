"""Throwaway services for development, tests and benchmarks, started and stopped by their PIDs.

* :mod:`devservices.local` -- a Redis and a PostgreSQL on free ports (``scripts/run``, the tests).
* :mod:`devservices.topologies` -- a Redis Cluster; a master, a replica and Sentinels.
* :mod:`devservices.kezek` -- ``kezek serve`` as production runs it, ready when every worker is; the app in a thread.

``python -m devservices up`` starts a Redis and a PostgreSQL and waits (``scripts/run`` uses it).
Not part of the service: nothing under ``queue_service`` or ``admission`` imports it.
"""

from __future__ import annotations

from devservices.kezek import KezekServer, ServerFactory, in_thread
from devservices.local import (
    LocalPostgres,
    LocalRedis,
    ServiceError,
    Services,
    find_binary,
    free_port,
    pg_directory,
    with_database,
)

__all__ = [
    "KezekServer",
    "LocalPostgres",
    "LocalRedis",
    "ServerFactory",
    "ServiceError",
    "Services",
    "find_binary",
    "free_port",
    "in_thread",
    "pg_directory",
    "with_database",
]
