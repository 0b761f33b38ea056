"""Typed settings, read once from ``KEZEK_*`` environment variables.

Every field is documented where it is declared; ``Settings.from_env()`` is the
only place the environment is read.  Tests build ``Settings`` directly.
"""

from __future__ import annotations

import os
from typing import Literal

import msgspec

from admission.applications.models import AgeRule
from admission.readings import Readings, RosterLanguageFull, TruantPeriod

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
    room_join_window_ms: float = 10.0
    """KEZEK_ROOM_JOIN_WINDOW_MS: how long a worker gathers joins into one Redis call, and a slot's operations
    (an admitted visitor's poll, heartbeat, filing, release) into another (a group commit; 0 = to the end of the
    event-loop tick a call arrived in)."""
    room_sweep_ms: int = 500
    """KEZEK_ROOM_SWEEP_MS: how often each worker ends expired leases and refills free slots in every room."""
    room_recovery_seconds: float = 45.0
    """KEZEK_ROOM_RECOVERY_SECONDS: a room Redis lost is rebuilt admitting nobody new for this long, while its
    visitors come back with their tickets and tokens (longer than the longest poll interval, 36 s)."""
    children_per_slot: int = 3
    """KEZEK_CHILDREN_PER_SLOT: one waiting-room slot files for at most this many children (twins, triplets)."""
    room_reconcile_seconds: float = 2.0
    """KEZEK_ROOM_RECONCILE_SECONDS: how often each worker compares every room in Redis with PostgreSQL, the truth
    for windows and room settings (changes also arrive at once by notification; this catches a missed one)."""
    room_hold_seconds: float = 5.0
    """KEZEK_ROOM_HOLD_SECONDS: while PostgreSQL does not answer, rooms admit nobody; each worker renews this hold
    so far ahead (keep it above 3 s: a worker's check waits up to 2 s for PostgreSQL), and it lapses by itself
    when no worker renews it."""
    admission_min_age: int = 6
    """KEZEK_ADMISSION_MIN_AGE: the age a grade-1 child reaches by KEZEK_ADMISSION_AGE_REACHED_BY (``AgeRule``)."""
    admission_age_reached_by: str = "12-31"
    """KEZEK_ADMISSION_AGE_REACHED_BY: ``MM-DD`` of the admission year; ``12-31`` = turns six in the calendar year."""
    admission_max_age: int | None = None
    """KEZEK_ADMISSION_MAX_AGE: grade-1 children younger than this on 1 September; unset = no upper limit."""
    # How the acts are read where they are silent (admission.readings.Readings documents each default).
    roster_language_full: RosterLanguageFull = "held_language"
    """KEZEK_ROSTER_LANGUAGE_FULL: a roster child asks for a full language: ``held_language`` or ``refuse``."""
    basic_secondary_final_grade: int = 9
    """KEZEK_BASIC_SECONDARY_FINAL_GRADE: a transfer from this grade into the next is para 27's August admission."""
    truant_period: TruantPeriod = "month"
    """KEZEK_TRUANT_PERIOD: census para 2.5's 10 days counted per ``month`` or over the ``school_year``."""
    private_colleges_non_state: bool = False
    """KEZEK_PRIVATE_COLLEGES_NON_STATE: count private colleges' students as ``non_state`` (para 11.4) too."""
    outbox_publisher: bool = True
    """KEZEK_OUTBOX_PUBLISHER: run the contingent outbox publisher in each app worker."""
    outbox_poll_seconds: float = 0.5
    """KEZEK_OUTBOX_POLL_SECONDS: how long an idle publisher sleeps between looks at the outbox."""
    outbox_retention_days: int = 30
    """KEZEK_OUTBOX_RETENTION_DAYS: delivered contingent events are pruned from the outbox after this many days."""
    contingent_url: str = ""
    """KEZEK_CONTINGENT_URL: the contingent register's HTTP endpoint (events POSTed to ``<url>/events``);
    empty = the PostgreSQL stand-in (schema ``contingent``) in the service's own database."""
    contingent_token: str = ""
    """KEZEK_CONTINGENT_TOKEN: bearer token for the contingent register's HTTP endpoint."""
    contingent_timeout_seconds: float = 5.0
    """KEZEK_CONTINGENT_TIMEOUT_SECONDS: bound on each HTTP call to the contingent register."""
    schools_cache_seconds: float = 2.0
    """KEZEK_SCHOOLS_CACHE_SECONDS: per-worker cache of a region's free-seat list (0 = no cache)."""
    join_rate_per_minute: int = 30
    """KEZEK_JOIN_RATE_PER_MINUTE: joins one client address may make per minute (then 429); 0 = no limit."""
    trusted_proxies: str = ""
    """KEZEK_TRUSTED_PROXIES: comma-separated addresses of our own proxies / load balancers: for a request
    from one of them the rate limit counts the client named last in ``X-Forwarded-For``."""
    challenge_max_number: int = 60_000
    """KEZEK_CHALLENGE_MAX_NUMBER: a proof-of-work challenge asks for a counter up to this (browser work)."""
    challenge_ttl_seconds: int = 300
    """KEZEK_CHALLENGE_TTL_SECONDS: how long a proof-of-work challenge may be answered."""
    log_level: str = "INFO"
    """KEZEK_LOG_LEVEL: Python logging level."""

    def age_rule(self) -> AgeRule:
        return AgeRule(
            min_years=self.admission_min_age, reached_by=self.admission_age_reached_by, max_years=self.admission_max_age
        )

    def readings(self) -> Readings:
        return Readings(
            roster_language_full=self.roster_language_full,
            basic_secondary_final_grade=self.basic_secondary_final_grade,
            truant_period=self.truant_period,
            private_colleges_non_state=self.private_colleges_non_state,
        )

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
