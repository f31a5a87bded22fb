"""mvlite: the public face (PEP 249 ``connect()``, the shell, the MCP server).

``connect``/``Connection``/``Cursor``/``Row`` follow the stdlib ``sqlite3``
module; the exception hierarchy is defined in ``storage.errors`` (the lowest
layer, so every layer can raise it) and re-exported here.
"""
from storage.errors import (  # noqa: F401
    Warning, Error, InterfaceError, DatabaseError, DataError, OperationalError,
    IntegrityError, InternalError, ProgrammingError, NotSupportedError,
)
from mvlite.connection import Connection, Row, connect  # noqa: F401
from mvlite.cursor import Cursor  # noqa: F401

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"
sqlite_version = "3.40.1"
sqlite_version_info = (3, 40, 1)
