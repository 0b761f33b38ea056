"""The PostgreSQL migrations, applied in file-name order by :func:`admission.db.migrate`.

Append-only: once the first production deployment has applied a file, that file is never
edited again.  ``kezek_migrations`` records the SHA-256 of every applied file and both
``kezek migrate`` and the service's start-up refuse a database whose applied files changed
since (:class:`admission.db.MigrationEdited`); a change to the schema is a new file.

Before that deployment the history was squashed once so that it reads forward (``0004_census``
took in ``0005``, which dropped functions 0004 had created; the schema and data a database gets
are the same, compared with ``pg_dump``).  A development database migrated before the squash is
refused (its 0004 checksum differs): recreate it.  Gaps in the numbering (0005, 0007, 0012) are
fine and never reused.  After a new file, regenerate ``admission/schema.sql`` with
``scripts/dump-schema``.
"""
