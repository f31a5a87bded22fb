"""mvlite: the public face (PEP 249 ``connect()``, the shell, the MCP server).

Only the exception hierarchy exists so far; it is defined in ``storage.errors``
(the lowest layer, so every layer can raise it) and re-exported here.
"""
from storage.errors import (  # noqa: F401
    Warning, Error, InterfaceError, DatabaseError, DataError, OperationalError,
    IntegrityError, InternalError, ProgrammingError, NotSupportedError,
)
