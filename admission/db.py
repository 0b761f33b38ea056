"""PostgreSQL access: the pool, named queries from ``.sql`` files, migrations.

Queries live in ``admission/sql/*.sql`` as blocks headed ``-- name: <name>``;
they are parsed once into :data:`QUERIES`.  Values always travel as bind
parameters, never formatted into SQL.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, cast

import asyncpg
import msgspec

from admission.locks import MIGRATIONS

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What domain functions accept: a plain connection or one borrowed from the pool.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:
    Connection = asyncpg.Connection
    Pool = asyncpg.Pool

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_queries(text: str, source: str) -> dict[str, str]:
    """Split ``text`` into named queries; text before the first name is a comment."""
    parts = _NAME.split(text)
    found: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        sql = body.strip()
        if not sql:
            raise ValueError(f"{source}: query {name!r} is empty")
        if name in found:
            raise ValueError(f"{source}: query {name!r} defined twice")
        found[name] = sql
    return found


def load_queries() -> Mapping[str, str]:
    queries: dict[str, str] = {}
    for entry in sorted(resources.files("admission.sql").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for name, sql in parse_queries(entry.read_text("utf-8"), entry.name).items():
            if name in queries:
                raise ValueError(f"{entry.name}: query {name!r} is already defined in another file")
            queries[name] = sql
    return queries


QUERIES: Mapping[str, str] = load_queries()

# A ``:name`` parameter; quoted literals and comments are matched first so a name in them
# stays text, and ``::type`` casts are not parameters (the colon before them is one too).
_PARAMETER = re.compile(r"'(?:[^']|'')*'|--[^\n]*|(?<![:\w]):([a-z_][a-z0-9_]*)|(\$[0-9]+)")

P = TypeVar("P", bound=msgspec.Struct)
S = TypeVar("S", bound=msgspec.Struct)


@functools.cache
def _fields(struct: type[msgspec.Struct]) -> tuple[tuple[str, bool], ...]:
    return tuple((f.name, f.required) for f in msgspec.structs.fields(struct))


def from_row(struct: type[S], row: Mapping[str, Any] | asyncpg.Record, **given: Any) -> S:
    """A ``struct`` from the row's columns of the same names; ``given`` sets the fields it names.

    Rows become Structs at the repository boundary without a ``field=row["field"]`` line
    per column; a field the row lacks and ``given`` does not set keeps its default (or
    fails, when it has none, with the missing column's name).
    """
    values = {name: row[name] for name, required in _fields(struct) if name not in given and (required or name in row)}
    return struct(**values, **given)


def number_parameters(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with each ``:name`` turned into ``$n`` (numbered by first use), and the names in that order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(2):
            raise ValueError(f"{match.group(2)} in a query written with named parameters")
        found = match.group(1)
        if found is None:
            return match.group(0)
        if found not in order:
            order.append(found)
        return f"${order.index(found) + 1}"

    return _PARAMETER.sub(number, sql), tuple(order)


class NamedQuery(Generic[P]):
    """A named query written with ``:name`` parameters, bound from a Struct by field name.

    asyncpg speaks only positional ``$n``, and a wide statement numbered by hand
    shifts every later value when a column is added (the values still fit the
    types, so nothing fails: the data goes to the wrong column).  Here the SQL
    names each value, the numbering is worked out once at import, and a Struct
    whose fields are exactly those names carries the values: a name missing on
    either side fails at import, a missing or mistyped value fails mypy.
    """

    __slots__ = ("names", "sql")

    def __init__(self, name: str, params: type[P]) -> None:
        self.sql, self.names = number_parameters(QUERIES[name])
        fields = {f.name for f in msgspec.structs.fields(params)}
        if fields != set(self.names):
            raise ValueError(f"query {name!r} names {sorted(self.names)}; {params.__name__} has {sorted(fields)}")

    def args(self, values: P) -> list[Any]:
        """The values in the order of the compiled ``$n``."""
        return [getattr(values, name) for name in self.names]


def migrations() -> list[tuple[str, str]]:
    """``(version, sql)`` of every migration file, in order."""
    files = [e for e in resources.files("admission.migrations").iterdir() if e.name.endswith(".sql")]
    return [(e.name.removesuffix(".sql"), e.read_text("utf-8")) for e in sorted(files, key=lambda e: e.name)]


def current_schema_sql() -> str:
    return resources.files("admission").joinpath("schema.sql").read_text("utf-8")


def checksum(sql: str) -> str:
    """What ``kezek_migrations`` records of a migration file: the SHA-256 of its text."""
    return hashlib.sha256(sql.encode()).hexdigest()


class MigrationEdited(RuntimeError):
    """A migration the database already applied was changed afterwards: applied files are append-only."""

    def __init__(self, versions: list[str]) -> None:
        super().__init__(
            f"migration(s) {', '.join(versions)} changed after this database applied them; "
            "applied migrations must never be edited: restore the file(s) and add a new migration"
        )
        self.versions = versions


async def _applied(conn: Connection) -> dict[str, str | None]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS kezek_migrations ("
        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    await conn.execute("ALTER TABLE kezek_migrations ADD COLUMN IF NOT EXISTS checksum text")
    # rows applied before checksums were recorded take the file's checksum once (trust on first use)
    for version, sql in migrations():
        await conn.execute(
            "UPDATE kezek_migrations SET checksum = $2 WHERE version = $1 AND checksum IS NULL", version, checksum(sql)
        )
    return {r["version"]: r["checksum"] for r in await conn.fetch("SELECT version, checksum FROM kezek_migrations")}


def _edited(applied: Mapping[str, str | None]) -> list[str]:
    return [v for v, sql in migrations() if v in applied and applied[v] != checksum(sql)]


async def verify_migrations(conn: Connection) -> None:
    """Refuse (MigrationEdited) a database whose applied migrations differ from the files shipped.

    Versions the database has and the files do not are allowed: a newer release migrated it
    and this one may still be running during a rolling upgrade.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATIONS)
        edited = _edited(await _applied(conn))
    if edited:
        raise MigrationEdited(edited)


async def migrate(conn: Connection) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; return their versions.

    Safe to run from several processes at once: an advisory lock serialises them.  Refuses
    (MigrationEdited) when an applied migration's file changed since.
    """
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATIONS)
    try:
        done = await _applied(conn)
        edited = _edited(done)
        if edited:
            raise MigrationEdited(edited)
        for version, sql in migrations():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO kezek_migrations (version, checksum) VALUES ($1, $2)", version, checksum(sql)
                )
            applied.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATIONS)
    return applied


async def _init_connection(conn: Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: b"\x01" + msgspec.json.encode(v),
        decoder=lambda b: msgspec.json.decode(b[1:]),
        schema="pg_catalog",
        format="binary",
    )


async def connect(dsn: str, **kwargs: Any) -> asyncpg.Connection[asyncpg.Record]:
    """One connection outside the pool (a listener, a health check) that decodes ``jsonb`` like the pool's."""
    conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(dsn, **kwargs)
    try:
        await _init_connection(conn)
    except BaseException:
        conn.terminate()
        raise
    return conn


class PooledConnection(asyncpg.Connection):
    """A pool's connection that knows when its borrower set no session state (:func:`stateless`)."""

    stateless = False

    def leaves_no_session_state(self) -> None:
        self.stateless = True


async def _reset(conn: asyncpg.Connection[Any]) -> None:
    """The pool's reset of a connection given back (after asyncpg rolled back a transaction left open and
    dropped its listeners): the reset query (``RESET ALL``, advisory locks released, ``UNLISTEN *``...), a
    round trip, unless its borrower set no session state."""
    if isinstance(conn, PooledConnection) and conn.stateless:
        conn.stateless = False
        return
    query = conn.get_reset_query()
    if query:
        await conn.execute(query)


async def create_pool(dsn: str, min_size: int = 2, max_size: int = 20, **kwargs: Any) -> Pool:
    """A pool whose connections encode/decode ``jsonb`` with msgspec."""
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, connection_class=PooledConnection,
        reset=_reset, **kwargs,
    )  # fmt: skip
    assert pool is not None
    return pool


@asynccontextmanager
async def stateless(pool: Pool) -> AsyncIterator[Connection]:
    """A connection of ``pool`` for statements that leave no session state behind: no ``SET`` (``SET LOCAL``
    is the transaction's), no session advisory lock (``pg_advisory_xact_lock`` is the transaction's), no
    ``LISTEN``, no prepared statement or cursor of its own.  It goes back without the reset query, a round
    trip saved (a filing in the surge makes two statements); a transaction left open is still rolled back."""
    async with pool.acquire() as conn:
        cast(PooledConnection, conn).leaves_no_session_state()  # the pool's proxy passes it to its connection
        yield conn
