"""mvlite: the public face (PEP 249 ``connect()``, the shell, the MCP server).

``connect``/``Connection``/``Cursor``/``Row`` and the module attributes follow
the stdlib ``sqlite3`` module (docs.python.org/3/library/sqlite3.html);
deliberate differences are listed in docs/api.md. The exception hierarchy is
defined in ``storage.errors`` (the lowest layer, so every layer can raise it)
and re-exported here.
"""
from typing import Any, Callable

from storage.errors import (  # noqa: F401
    Warning, Error, InterfaceError, DatabaseError, DataError, OperationalError,
    IntegrityError, InternalError, ProgrammingError, NotSupportedError,
)
from mvlite.connection import (  # noqa: F401
    LEGACY_TRANSACTION_CONTROL, Connection, PrepareProtocol, Row, adapters, connect,
)
from mvlite.cursor import Cursor, converters  # noqa: F401
from sql.tokenizer import complete_statement as _complete

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"
sqlite_version = "3.40.1"
sqlite_version_info = (3, 40, 1)
version = "2.6.0"
version_info = (2, 6, 0)
PARSE_DECLTYPES = 1
PARSE_COLNAMES = 2
Binary = memoryview


def complete_statement(statement: str) -> bool:
    """True if ``statement`` ends a complete SQL statement (sqlite3_complete)."""
    if not isinstance(statement, str):
        raise TypeError("complete_statement() argument 'statement' must be str")
    return _complete(statement)


def register_adapter(type: type, adapter: Callable[[Any], Any]) -> None:  # noqa: A002
    """Bind values of exactly ``type`` as ``adapter(value)``."""
    adapters[(type, PrepareProtocol)] = adapter


def register_converter(typename: str, converter: Callable[[bytes], Any]) -> None:
    """With PARSE_COLNAMES, columns named ``"x [typename]"`` go through ``converter``."""
    converters[typename.upper()] = converter


def enable_callback_tracebacks(flag: bool) -> None:
    """Accepted for compatibility; exceptions in callbacks are not printed."""
