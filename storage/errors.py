"""The PEP 249 exception hierarchy, with SQLite result codes.

It lives in the lowest layer so that every layer can raise it without
importing upwards; ``mvlite`` re-exports it as the public API. Names, base
classes and messages follow the stdlib ``sqlite3`` module: every exception
carries ``sqlite_errorcode`` and ``sqlite_errorname``.
"""
from __future__ import annotations

import builtins

# SQLite primary and extended result codes that we raise.
SQLITE_ERROR = 1
SQLITE_INTERNAL = 2
SQLITE_PERM = 3
SQLITE_ABORT = 4
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_NOMEM = 7
SQLITE_READONLY = 8
SQLITE_INTERRUPT = 9
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_PROTOCOL = 15
SQLITE_SCHEMA = 17
SQLITE_TOOBIG = 18
SQLITE_CONSTRAINT = 19
SQLITE_MISMATCH = 20
SQLITE_MISUSE = 21
SQLITE_RANGE = 25
SQLITE_NOTADB = 26
SQLITE_IOERR_READ = SQLITE_IOERR | (1 << 8)
SQLITE_IOERR_SHORT_READ = SQLITE_IOERR | (2 << 8)
SQLITE_IOERR_WRITE = SQLITE_IOERR | (3 << 8)
SQLITE_IOERR_FSYNC = SQLITE_IOERR | (4 << 8)
SQLITE_IOERR_TRUNCATE = SQLITE_IOERR | (6 << 8)
SQLITE_BUSY_SNAPSHOT = SQLITE_BUSY | (2 << 8)
SQLITE_CORRUPT_INDEX = SQLITE_CORRUPT | (3 << 8)

ERROR_NAMES = {
    SQLITE_ERROR: "SQLITE_ERROR", SQLITE_INTERNAL: "SQLITE_INTERNAL",
    SQLITE_PERM: "SQLITE_PERM", SQLITE_ABORT: "SQLITE_ABORT",
    SQLITE_BUSY: "SQLITE_BUSY", SQLITE_LOCKED: "SQLITE_LOCKED",
    SQLITE_NOMEM: "SQLITE_NOMEM", SQLITE_READONLY: "SQLITE_READONLY",
    SQLITE_INTERRUPT: "SQLITE_INTERRUPT", SQLITE_IOERR: "SQLITE_IOERR",
    SQLITE_CORRUPT: "SQLITE_CORRUPT", SQLITE_FULL: "SQLITE_FULL",
    SQLITE_CANTOPEN: "SQLITE_CANTOPEN", SQLITE_PROTOCOL: "SQLITE_PROTOCOL",
    SQLITE_SCHEMA: "SQLITE_SCHEMA", SQLITE_TOOBIG: "SQLITE_TOOBIG",
    SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT", SQLITE_MISMATCH: "SQLITE_MISMATCH",
    SQLITE_MISUSE: "SQLITE_MISUSE", SQLITE_RANGE: "SQLITE_RANGE",
    SQLITE_NOTADB: "SQLITE_NOTADB",
    SQLITE_IOERR_READ: "SQLITE_IOERR_READ",
    SQLITE_IOERR_SHORT_READ: "SQLITE_IOERR_SHORT_READ",
    SQLITE_IOERR_WRITE: "SQLITE_IOERR_WRITE",
    SQLITE_IOERR_FSYNC: "SQLITE_IOERR_FSYNC",
    SQLITE_IOERR_TRUNCATE: "SQLITE_IOERR_TRUNCATE",
    SQLITE_BUSY_SNAPSHOT: "SQLITE_BUSY_SNAPSHOT",
    SQLITE_CORRUPT_INDEX: "SQLITE_CORRUPT_INDEX",
}


SQLITE_CONSTRAINT_CHECK = SQLITE_CONSTRAINT | (1 << 8)
SQLITE_CONSTRAINT_FOREIGNKEY = SQLITE_CONSTRAINT | (3 << 8)
SQLITE_CONSTRAINT_NOTNULL = SQLITE_CONSTRAINT | (5 << 8)
SQLITE_CONSTRAINT_PRIMARYKEY = SQLITE_CONSTRAINT | (6 << 8)
SQLITE_CONSTRAINT_UNIQUE = SQLITE_CONSTRAINT | (8 << 8)
ERROR_NAMES.update({
    SQLITE_CONSTRAINT_CHECK: "SQLITE_CONSTRAINT_CHECK",
    SQLITE_CONSTRAINT_FOREIGNKEY: "SQLITE_CONSTRAINT_FOREIGNKEY",
    SQLITE_CONSTRAINT_NOTNULL: "SQLITE_CONSTRAINT_NOTNULL",
    SQLITE_CONSTRAINT_PRIMARYKEY: "SQLITE_CONSTRAINT_PRIMARYKEY",
    SQLITE_CONSTRAINT_UNIQUE: "SQLITE_CONSTRAINT_UNIQUE",
})

#: message prefix -> (extended) result code, for errors raised without ``code=``;
#: a rowid / PRIMARY KEY conflict should pass code=SQLITE_CONSTRAINT_PRIMARYKEY
_CODE_BY_MESSAGE = (
    ("UNIQUE constraint failed", SQLITE_CONSTRAINT_UNIQUE),
    ("NOT NULL constraint failed", SQLITE_CONSTRAINT_NOTNULL),
    ("CHECK constraint failed", SQLITE_CONSTRAINT_CHECK),
    ("FOREIGN KEY constraint failed", SQLITE_CONSTRAINT_FOREIGNKEY),
    ("datatype mismatch", SQLITE_MISMATCH),
    ("interrupted", SQLITE_INTERRUPT),
    ("attempt to write a readonly database", SQLITE_READONLY),
    ("database is locked", SQLITE_BUSY),
    ("unable to open database file", SQLITE_CANTOPEN),
)


class Warning(builtins.Exception):  # noqa: A001 - PEP 249 name
    """PEP 249 ``Warning``."""


class Error(builtins.Exception):
    """Base of every mvlite error; carries the SQLite result code."""

    default_code: int = SQLITE_ERROR

    def __init__(self, *args: object, code: int | None = None) -> None:
        super().__init__(*args)
        if code is None and args and isinstance(args[0], str) and \
                self.default_code in (SQLITE_ERROR, SQLITE_CONSTRAINT):  # generic classes only
            for prefix, c in _CODE_BY_MESSAGE:
                if args[0].startswith(prefix):
                    code = c
                    break
        self.sqlite_errorcode: int = self.default_code if code is None else code
        self.sqlite_errorname: str = ERROR_NAMES.get(
            self.sqlite_errorcode, f"SQLITE_UNKNOWN({self.sqlite_errorcode})"
        )


class InterfaceError(Error):
    """Misuse of the interface (PEP 249)."""

    default_code = SQLITE_MISUSE


class DatabaseError(Error):
    """Errors related to the database (PEP 249)."""


class DataError(DatabaseError):
    """Problems with processed data (e.g. a value too big)."""

    default_code = SQLITE_TOOBIG


class OperationalError(DatabaseError):
    """Errors of the database's operation: locked, I/O, disk full..."""


class IntegrityError(DatabaseError):
    """A constraint failed."""

    default_code = SQLITE_CONSTRAINT


class InternalError(DatabaseError):
    """The engine found itself in an impossible state."""

    default_code = SQLITE_INTERNAL


class ProgrammingError(DatabaseError):
    """Bad SQL or bad API use."""


class NotSupportedError(DatabaseError):
    """A feature SQLite has that mvlite does not (yet)."""


# -- storage-level subclasses: typed so callers need not match messages ------

class CorruptError(DatabaseError):
    """The file's bytes break the format's rules."""

    default_code = SQLITE_CORRUPT

    def __init__(self, msg: str = "database disk image is malformed", *,
                 detail: str | None = None, code: int | None = None) -> None:
        super().__init__(msg, code=code)
        #: what exactly is wrong, for logs and our own checker (not the message,
        #: which stays SQLite's wording)
        self.detail = detail


class NotADatabaseError(DatabaseError):
    """The file does not start with a valid SQLite header."""

    default_code = SQLITE_NOTADB

    def __init__(self, msg: str = "file is not a database", *, code: int | None = None) -> None:
        super().__init__(msg, code=code)


class BusyError(OperationalError):
    """Another writer or process holds what we need; retrying may succeed."""

    default_code = SQLITE_BUSY
    retryable = True

    def __init__(self, msg: str = "database is locked", *, code: int | None = None) -> None:
        super().__init__(msg, code=code)


class DiskIOError(OperationalError):
    """The operating system reported an I/O failure."""

    default_code = SQLITE_IOERR

    def __init__(self, msg: str = "disk I/O error", *, code: int | None = None) -> None:
        super().__init__(msg, code=code)


class DiskFullError(OperationalError):
    """ENOSPC (or the fault injector's simulation of it)."""

    default_code = SQLITE_FULL

    def __init__(self, msg: str = "database or disk is full", *, code: int | None = None) -> None:
        super().__init__(msg, code=code)


class CantOpenError(OperationalError):
    """The file cannot be opened (missing directory, permissions, mode=ro...)."""

    default_code = SQLITE_CANTOPEN

    def __init__(self, msg: str = "unable to open database file", *, code: int | None = None) -> None:
        super().__init__(msg, code=code)


class ReadOnlyError(OperationalError):
    """A write was attempted on a database opened read-only."""

    default_code = SQLITE_READONLY

    def __init__(self, msg: str = "attempt to write a readonly database", *,
                 code: int | None = None) -> None:
        super().__init__(msg, code=code)
