"""Typed settings, read once from ``KEZEK_*`` environment variables.

Every field is documented where it is declared; ``Settings.from_env()`` is the
only place the environment is read.  Tests build ``Settings`` directly.
"""

from __future__ import annotations

import os
from typing import Literal

import msgspec

PortalAuth = Literal["demo", "assertion"]
RedisMode = Literal["standalone", "sentinel", "cluster"]


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    redis_url: str = "redis://127.0.0.1:6379/0"
    """KEZEK_REDIS_URL: the Redis holding the waiting rooms."""
    database_url: str = "postgresql://kezek@127.0.0.1:5432/kezek"
    """KEZEK_DATABASE_URL: the PostgreSQL holding schools, applications and the contingent store."""
    host: str = "127.0.0.1"
    """KEZEK_HOST: the address the HTTP server binds."""
    port: int = 8000
    """KEZEK_PORT: the HTTP port."""
    workers: int = 2
    """KEZEK_WORKERS: ASGI server worker processes (one per core is a good start)."""
    public_url: str = "http://127.0.0.1:8000"
    """KEZEK_PUBLIC_URL: how parents' browsers reach this service (used in redirect URLs)."""
    apply_url: str = "/apply/{region}"
    """KEZEK_APPLY_URL: where an admitted visitor is redirected; ``{region}`` is filled in."""
    signing_key_file: str = ".kezek/signing-key.pem"
    """KEZEK_SIGNING_KEY_FILE: Ed25519 private key (PEM) signing access and admin tokens; created if missing."""
    ticket_secret: str = ""
    """KEZEK_TICKET_SECRET: MAC key for waiting-room tickets; empty = derived from the signing key."""
    portal_auth: PortalAuth = "demo"
    """KEZEK_PORTAL_AUTH: ``demo`` trusts the typed ИИН; ``assertion`` requires a portal-signed JWT."""
    portal_public_key_file: str = ""
    """KEZEK_PORTAL_PUBLIC_KEY_FILE: the egov portal's public key (PEM) for ``assertion`` mode."""
    demo: bool = False
    """KEZEK_DEMO: demo mode; the run command opens one region's window from now."""
    demo_region: str = "astana"
    """KEZEK_DEMO_REGION: the region whose window demo mode opens."""
    db_pool_min: int = 2
    """KEZEK_DB_POOL_MIN: asyncpg pool minimum size per worker."""
    db_pool_max: int = 20
    """KEZEK_DB_POOL_MAX: asyncpg pool maximum size per worker."""
    redis_max_connections: int = 200
    """KEZEK_REDIS_MAX_CONNECTIONS: Redis connection pool size per worker (per cluster node in ``cluster`` mode)."""
    redis_mode: RedisMode = "standalone"
    """KEZEK_REDIS_MODE: ``standalone`` (KEZEK_REDIS_URL is the server), ``sentinel`` (KEZEK_REDIS_SENTINELS
    find the master KEZEK_REDIS_SENTINEL_MASTER; KEZEK_REDIS_URL gives only password and database) or
    ``cluster`` (KEZEK_REDIS_URL is any node of a Redis Cluster; the others are discovered)."""
    redis_sentinels: str = ""
    """KEZEK_REDIS_SENTINELS: ``host:port,host:port,...`` of the Sentinels (``sentinel`` mode)."""
    redis_sentinel_master: str = "kezek"
    """KEZEK_REDIS_SENTINEL_MASTER: the master's name the Sentinels monitor (``sentinel`` mode)."""
    redis_retries: int = 3
    """KEZEK_REDIS_RETRIES: a command that met a connection error or timeout is retried this many times
    (exponential backoff with jitter, 50 ms doubling to 1 s) on a fresh connection, then fails (503)."""
    backlog: int = 16384
    """KEZEK_BACKLOG: the listen socket's accept queue (the kernel caps it at ``net.core.somaxconn``)."""
    max_connections: int = 65536
    """KEZEK_MAX_CONNECTIONS: open client connections this server holds; each worker takes its share
    (granian's backpressure).  Needs as many open files: ``kezek serve`` raises its soft limit to the hard one."""
    keep_alive_ms: int = 45_000
    """KEZEK_KEEP_ALIVE_MS: an idle keep-alive connection (and a client sending its request headers) is cut
    after this long; above the waiting page's longest poll interval (30 s + 20 % jitter = 36 s), at most 60000."""
    body_timeout_seconds: float = 10.0
    """KEZEK_BODY_TIMEOUT_SECONDS: a request body not received whole within this is answered 408 and the
    connection closed (slow senders hold a connection and a worker's memory)."""
    max_body_bytes: int = 64 * 1024
    """KEZEK_MAX_BODY_BYTES: larger request bodies are refused with 413."""
    admin_token_ttl_hours: int = 12
    """KEZEK_ADMIN_TOKEN_TTL_HOURS: default lifetime of minted admin tokens."""
    room_snapshot_ms: int = 300
    """KEZEK_ROOM_SNAPSHOT_MS: how stale a worker's cached view of a waiting room may be when answering polls."""
    room_sweep_ms: int = 500
    """KEZEK_ROOM_SWEEP_MS: how often each worker ends expired leases and refills free slots in every room."""
    admission_min_age: int = 6
    """KEZEK_ADMISSION_MIN_AGE: the youngest admitted to grade 1, in full years on 1 September."""
    admission_max_age: int = 9
    """KEZEK_ADMISSION_MAX_AGE: grade-1 applicants must be younger than this on 1 September."""
    outbox_publisher: bool = True
    """KEZEK_OUTBOX_PUBLISHER: run the contingent outbox publisher in each app worker."""
    outbox_poll_seconds: float = 0.5
    """KEZEK_OUTBOX_POLL_SECONDS: how long an idle publisher sleeps between looks at the outbox."""
    schools_cache_seconds: float = 2.0
    """KEZEK_SCHOOLS_CACHE_SECONDS: per-worker cache of a region's free-seat list (0 = no cache)."""
    log_level: str = "INFO"
    """KEZEK_LOG_LEVEL: Python logging level."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read ``KEZEK_<FIELD>`` for every field; unknown or malformed values fail loudly."""
        env = os.environ if environ is None else environ
        raw: dict[str, str] = {}
        for name in cls.__struct_fields__:
            value = env.get(f"KEZEK_{name.upper()}")
            if value is not None and value != "":
                raw[name] = value
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SystemExit(f"invalid KEZEK_* setting: {exc}") from exc
