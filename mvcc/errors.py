"""The MVCC layer's own error types, typed so callers can retry without matching text.

Both subclass the PEP 249 classes of ``storage.errors`` (re-exported by
``mvlite``), so ``except mvlite.OperationalError`` still catches them.
"""
from __future__ import annotations

from storage.errors import (
    SQLITE_BUSY_SNAPSHOT,
    SQLITE_SCHEMA,
    DatabaseError,
    OperationalError,
)


class ConflictError(OperationalError):
    """A write-write conflict: another transaction changed (or is changing) the row.

    SQLite extended code SQLITE_BUSY_SNAPSHOT (517). The transaction has been
    rolled back when this is raised; running it again from the start may succeed.
    """

    default_code = SQLITE_BUSY_SNAPSHOT
    retryable = True

    def __init__(self, msg: str = "database is locked: write-write conflict, transaction rolled back",
                 *, code: int | None = None) -> None:
        super().__init__(msg, code=code)


class SchemaChangedError(OperationalError):
    """The schema changed after this transaction began (SQLITE_SCHEMA)."""

    default_code = SQLITE_SCHEMA
    retryable = True

    def __init__(self, msg: str = "database schema has changed", *, code: int | None = None) -> None:
        super().__init__(msg, code=code)


class KeyExistsError(DatabaseError):
    """An insert met a key that is visible to the inserting transaction.

    Internal: the SQL layer turns it into ``IntegrityError`` with the constraint's
    name ("UNIQUE constraint failed: t.id").
    """
