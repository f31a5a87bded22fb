"""PRAGMA statements: a name → handler table, and SQLite's pragmas (pragma.html).

Single job: dispatch ``PRAGMA [schema.]name [= value | (value)]`` to the
handler registered for ``name``, and implement the pragmas mvlite supports
with SQLite 3.40's result columns, rows and value parsing (sqlite3Atoi,
getSafetyLevel, sqlite3GetBoolean in SQLite's pragma.c / util.c). Handlers
take ``(conn, stmt)`` — the ``mvlite.connection.Connection`` and the parsed
``sql.ast.Pragma`` — and return an ``sql.engine.Result`` (columns + rows
like SQLite's, or no rows). A handler that needs a transaction asks the
connection for one (``with conn._pragma_txn() as txn``), so that PRAGMAs
obey the connection's transaction state. Unknown pragmas are silently
ignored, as in SQLite. The list, and where we differ on purpose (journal
mode is always WAL, foreign keys are not enforced, header writes are not
transactional), is in docs/api.md.
"""
from __future__ import annotations

from typing import Any, Callable

from sql import ast as A
from sql.engine import Result

__all__ = ["PRAGMAS", "PRAGMA_COLUMNS", "register_pragma", "run_pragma", "pragma_table"]

Handler = Callable[[Any, A.Pragma], Result]

#: lower-case pragma name -> handler
PRAGMAS: dict[str, Handler] = {}
#: lower-case pragma name -> its result columns, for pragmas usable as
#: table-valued functions (``pragma_table_info('t')``)
PRAGMA_COLUMNS: dict[str, list[str]] = {}


def register_pragma(name: str, columns: list[str] | None = None
                    ) -> Callable[[Handler], Handler]:
    """Decorator: make ``fn`` the handler of ``PRAGMA name``; ``columns`` (its result
    columns) also makes it available as the table-valued function ``pragma_<name>``."""
    def deco(fn: Handler) -> Handler:
        PRAGMAS[name.lower()] = fn
        if columns is not None:
            PRAGMA_COLUMNS[name.lower()] = list(columns)
        return fn
    return deco


def pragma_table(conn: Any, function_name: str, args: list) -> Result | None:
    """Rows of the table-valued function ``pragma_<name>(arg)`` (None: no such function).

    For the SELECT compiler: the columns are ``PRAGMA_COLUMNS[name]`` (known
    before running); the rows are those of ``PRAGMA name(arg)``. SQLite's hidden
    ``arg`` / ``schema`` columns are not provided.
    """
    fname = function_name.lower()
    if not fname.startswith("pragma_") or fname[7:] not in PRAGMA_COLUMNS:
        return None
    name = fname[7:]
    value = None if not args or args[0] is None else str(args[0])
    res = run_pragma(conn, A.Pragma(name=name, value=value, is_call=value is not None))
    return Result(PRAGMA_COLUMNS[name], res.rows)


def run_pragma(conn: Any, stmt: A.Pragma) -> Result:
    """Run one PRAGMA for ``conn``; unknown names return no rows (SQLite ignores them)."""
    if stmt.schema is not None and stmt.schema.lower() != "main":
        from storage.errors import OperationalError
        raise OperationalError(f"unknown database {stmt.schema}")
    fn = PRAGMAS.get(stmt.name.lower())
    if fn is None:
        return Result(None, [])
    return fn(conn, stmt)


# registration list: modules imported for their @register_pragma handlers
# (sql.pragmas_core: SQLite's pragmas). sql.cdc registers its pragma when imported;
# the lead decides where that import lives (it also adds global SQL functions).
from sql import pragmas_core  # noqa: E402,F401
