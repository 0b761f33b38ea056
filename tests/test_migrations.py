"""The migrations produce exactly the schema in admission/schema.sql, re-running them is a no-op, and an
applied migration edited afterwards is refused."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from admission import db as database
from admission.signing_keys import KeySet
from devservices import with_database
from queue_service.app import create_app
from queue_service.settings import Settings

CATALOG = """
SELECT 'column' AS kind, table_schema || '.' || table_name || '.' || column_name AS name,
       data_type || ' null=' || is_nullable || ' default=' || coalesce(column_default, '') AS definition
FROM information_schema.columns
WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_name <> 'kezek_migrations'
UNION ALL
SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND conrelid::regclass::text <> 'kezek_migrations'
UNION ALL
SELECT 'index', schemaname || '.' || indexname, indexdef
FROM pg_indexes
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND tablename <> 'kezek_migrations'
UNION ALL
SELECT 'function', n.nspname || '.' || p.proname, pg_get_functiondef(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT 'trigger', tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger t WHERE NOT tgisinternal
UNION ALL
SELECT 'view', schemaname || '.' || viewname, definition
FROM pg_views WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT 'type', n.nspname || '.' || t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
GROUP BY 1, 2
ORDER BY 1, 2
"""


async def _fresh(server_url: str, name: str) -> asyncpg.Connection:
    admin = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return await asyncpg.connect(with_database(server_url, name))


async def test_migrations_produce_the_current_schema(postgres_server_url: str) -> None:
    migrated = await _fresh(postgres_server_url, "kezek_check_migrated")
    declared = await _fresh(postgres_server_url, "kezek_check_declared")
    try:
        applied = await database.migrate(migrated)
        assert applied == [version for version, _ in database.migrations()]
        assert await database.migrate(migrated) == []  # idempotent
        await declared.execute(database.current_schema_sql())
        await declared.execute("RESET search_path")  # the dump empties it; compare names as the app sees them
        from_migrations = [tuple(r) for r in await migrated.fetch(CATALOG)]
        from_schema_file = [tuple(r) for r in await declared.fetch(CATALOG)]
        assert from_migrations, "the migrations created nothing"
        missing = sorted(set(from_migrations) - set(from_schema_file))
        extra = sorted(set(from_schema_file) - set(from_migrations))
        assert (missing, extra) == ([], []), "admission/schema.sql is stale: run scripts/dump-schema"
    finally:
        await migrated.close()
        await declared.close()


async def test_an_applied_migration_edited_afterwards_is_refused_by_migrate_and_by_the_app(
    database_url: str, settings: Settings, keys: KeySet
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        first = database.migrations()[0][0]
        # the database applied a different text of the first migration than the file shipped now
        await conn.execute("UPDATE kezek_migrations SET checksum = 'edited' WHERE version = $1", first)
        with pytest.raises(database.MigrationEdited) as refused:
            await database.migrate(conn)
        assert refused.value.versions == [first]
    finally:
        await conn.close()
    with pytest.raises(BaseExceptionGroup) as startup:  # the app's lifespan refuses to start
        async with AsyncTestClient(app=create_app(settings, keys=keys)):
            pass
    assert startup.group_contains(database.MigrationEdited)


async def test_databases_migrated_before_checksums_take_the_files_checksums_once(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE kezek_migrations SET checksum = NULL")
        assert await database.migrate(conn) == []
        recorded = dict(await conn.fetch("SELECT version, checksum FROM kezek_migrations"))  # type: ignore[arg-type]
        assert recorded == {v: database.checksum(sql) for v, sql in database.migrations()}
    finally:
        await conn.close()
