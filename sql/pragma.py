"""PRAGMA statements: a name → handler table (pragma.html).

Single job: dispatch ``PRAGMA [schema.]name [= value | (value)]`` to the
handler registered for ``name``. Handlers take ``(conn, stmt)`` — the
``mvlite.connection.Connection`` and the parsed ``sql.ast.Pragma`` — and
return an ``sql.engine.Result`` (columns + rows like SQLite's, or no rows).
A handler that needs a transaction asks the connection for one
(``conn._pragma_txn(write)``), so that PRAGMAs obey the connection's
transaction state. Unknown pragmas are silently ignored, as in SQLite.
"""
from __future__ import annotations

from typing import Any, Callable

from sql import ast as A
from sql.engine import Result

__all__ = ["PRAGMAS", "register_pragma", "run_pragma"]

Handler = Callable[[Any, A.Pragma], Result]

#: lower-case pragma name -> handler
PRAGMAS: dict[str, Handler] = {}


def register_pragma(name: str) -> Callable[[Handler], Handler]:
    """Decorator: make ``fn`` the handler of ``PRAGMA name``."""
    def deco(fn: Handler) -> Handler:
        PRAGMAS[name.lower()] = fn
        return fn
    return deco


def run_pragma(conn: Any, stmt: A.Pragma) -> Result:
    """Run one PRAGMA for ``conn``; unknown names return no rows (SQLite ignores them)."""
    fn = PRAGMAS.get(stmt.name.lower())
    if fn is None:
        return Result(None, [])
    return fn(conn, stmt)
