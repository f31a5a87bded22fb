"""``mvlite FILE --mcp``: a Model Context Protocol server over stdio.

Single job: expose one mvlite database to an MCP client (an LLM agent) as a
small set of tools — open_database, current_database, list_tables,
describe_table, execute_query (read-only), insert_data, update_data,
delete_data and schema_change — speaking JSON-RPC 2.0 on stdin/stdout through
the official ``mcp`` SDK (an optional extra: ``pip install "mvlite[mcp]"``).
Every SQL tool parses its text with our own parser (``sql.parser.parse_one``)
and checks the statement's AST class, never a string prefix: exactly one
statement per call, ``execute_query`` refuses anything that writes, the
write tools accept only their own kind. Refusals and SQL errors are tool
errors (``isError: true`` results carrying the message), never crashes.
The tools, their arguments and the JSON they return are documented in
``docs/mcp.md``; the protocol is the MCP specification
(modelcontextprotocol.io, "Tools"); the statements are SQLite's (lang.html,
pragma.html for which PRAGMAs only read).

The SQL side (``DatabaseSession``, ``check_statement``) does not need the
SDK, so it is usable and testable without it; ``build_server`` and ``main``
import the SDK lazily.
"""
import argparse
import json
import math
import os
import sys
import threading
import traceback
import urllib.parse
from typing import Any

import attrs

import mvlite
from sql import ast as A
from sql.parser import parse_one
from storage.errors import Error, ProgrammingError

__all__ = ["DatabaseSession", "ToolRefused", "check_statement", "statement_name",
           "build_server", "main", "INSTALL_HINT", "OLD_SDK_HINT", "DEFAULT_MAX_ROWS"]

#: the one-line message printed when the SDK is missing
INSTALL_HINT = 'mvlite: --mcp needs the MCP SDK: pip install "mvlite[mcp]"'
#: ... and when the installed SDK predates 2.0 (no ``mcp.server.mcpserver``)
OLD_SDK_HINT = ('mvlite: --mcp needs version 2 of the MCP SDK (the installed one is older): '
                'pip install -U "mvlite[mcp]"')
#: execute_query returns at most this many rows unless told otherwise
DEFAULT_MAX_ROWS = 500

#: PRAGMAs that only read, whatever their argument (a table/index name or a limit)
_QUERY_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo", "index_list",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
    "collation_list", "database_list", "function_list", "module_list", "pragma_list",
    "compile_options",
})
#: PRAGMAs that read a setting when given no value (and change it when given one)
_SETTING_PRAGMAS = frozenset({
    "application_id", "auto_vacuum", "automatic_index", "busy_timeout", "cache_size",
    "cache_spill", "cell_size_check", "checkpoint_fullfsync", "data_version",
    "defer_foreign_keys", "encoding", "foreign_keys", "freelist_count", "fullfsync",
    "hard_heap_limit", "ignore_check_constraints", "journal_mode", "journal_size_limit",
    "legacy_alter_table", "locking_mode", "max_page_count", "mmap_size", "page_count",
    "page_size", "query_only", "read_uncommitted", "recursive_triggers",
    "reverse_unordered_selects", "schema_version", "secure_delete", "soft_heap_limit",
    "synchronous", "temp_store", "threads", "trusted_schema", "user_version",
    "wal_autocheckpoint",
})

_SCHEMA_CLASSES = (A.CreateTable, A.CreateIndex, A.CreateView, A.CreateTrigger,
                   A.CreateVirtualTable, A.Drop, A.AlterTable)
_WRITE_CLASSES = (A.Insert, A.Update, A.Delete) + _SCHEMA_CLASSES

#: tool name -> (AST classes it runs, human description of them)
_TOOL_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "insert_data": ((A.Insert,), "INSERT or REPLACE"),
    "update_data": ((A.Update,), "UPDATE"),
    "delete_data": ((A.Delete,), "DELETE"),
    "schema_change": (_SCHEMA_CLASSES, "CREATE, ALTER or DROP"),
}


class ToolRefused(Exception):
    """A statement the called tool will not run (wrong kind, several statements...)."""


# -- statement checks -------------------------------------------------------------

def statement_name(stmt: A.Statement) -> str:
    """The statement's kind as SQL words (``'INSERT'``, ``'DROP TABLE'``, ``'PRAGMA x'``)."""
    if isinstance(stmt, A.Insert):
        return stmt.verb.upper()
    if isinstance(stmt, A.Drop):
        return f"DROP {stmt.kind.upper()}"
    if isinstance(stmt, A.Pragma):
        return f"PRAGMA {stmt.name}"
    if isinstance(stmt, A.Explain):
        return "EXPLAIN " + statement_name(stmt.statement)
    names = {A.CreateTable: "CREATE TABLE", A.CreateIndex: "CREATE INDEX",
             A.CreateView: "CREATE VIEW", A.CreateTrigger: "CREATE TRIGGER",
             A.CreateVirtualTable: "CREATE VIRTUAL TABLE", A.AlterTable: "ALTER TABLE"}
    return names.get(type(stmt), type(stmt).__name__.upper())


def _contains_write(node: Any) -> bool:
    """True if a write statement appears anywhere inside ``node`` (a WITH, a subquery...)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, _WRITE_CLASSES):
            return True
        if isinstance(n, A.Node):
            for f in attrs.fields(type(n)):
                v = getattr(n, f.name)
                if isinstance(v, (A.Node, tuple, list)):
                    stack.append(v)
        elif isinstance(n, (tuple, list)):
            stack.extend(x for x in n if isinstance(x, (A.Node, tuple, list)))
    return False


def _is_read_pragma(stmt: A.Pragma) -> bool:
    name = stmt.name.lower()
    return name in _QUERY_PRAGMAS or (name in _SETTING_PRAGMAS and stmt.value is None)


def _is_read(stmt: A.Statement) -> bool:
    if isinstance(stmt, A.Select):
        return not _contains_write(stmt)
    if isinstance(stmt, A.Pragma):
        return _is_read_pragma(stmt)
    if isinstance(stmt, A.Explain):  # EXPLAIN never runs its statement; still be strict
        return _is_read(stmt.statement)
    return False


def _tool_for(stmt: A.Statement) -> str | None:
    if _is_read(stmt):
        return "execute_query"
    for tool, (classes, _words) in _TOOL_KINDS.items():
        if isinstance(stmt, classes):
            return tool
    return None


def check_statement(tool: str, sql: str) -> A.Statement:
    """Parse ``sql`` and return its one statement if ``tool`` may run it.

    Raises ``ToolRefused`` (wrong kind, no statement, several statements) or
    the parser's ``OperationalError`` (syntax errors, SQLite's messages).
    """
    if not isinstance(sql, str):
        raise ToolRefused("sql must be a string")
    try:
        stmt = parse_one(sql)
    except ProgrammingError:
        raise ToolRefused(f"{tool} runs exactly one SQL statement per call; found more "
                          "after the first ';'") from None
    if stmt is None:
        raise ToolRefused("no SQL statement given")
    if tool == "execute_query":
        if _is_read(stmt):
            return stmt
        allowed = "read-only statements (SELECT, EXPLAIN, read-only PRAGMA)"
    else:
        classes, allowed = _TOOL_KINDS[tool]
        if isinstance(stmt, classes):
            return stmt
        allowed += " statements"
    other = _tool_for(stmt)
    hint = f"; use {other}" if other else "; no tool runs it"
    raise ToolRefused(f"{tool} runs only {allowed}, not {statement_name(stmt)}{hint}")


# -- values as JSON ------------------------------------------------------------------

def _json_value(v: Any) -> Any:
    """A SQL value as JSON: blobs as ``{"hex": ...}``, infinities as ``{"real": ...}``."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"hex": bytes(v).hex()}
    if isinstance(v, float) and not math.isfinite(v):
        return {"real": "Infinity" if v > 0 else "-Infinity"}
    return v


def _param_value(v: Any) -> Any:
    """A JSON parameter as a SQL value (``{"hex": ...}`` becomes a blob)."""
    if isinstance(v, dict):
        if set(v) == {"hex"} and isinstance(v["hex"], str):
            try:
                return bytes.fromhex(v["hex"])
            except ValueError:
                raise ToolRefused(f"invalid hex in blob parameter: {v['hex']!r}") from None
        raise ToolRefused('a parameter value must be a string, number, null or {"hex": "..."}')
    if isinstance(v, list):
        raise ToolRefused('a parameter value must be a string, number, null or {"hex": "..."}')
    return v


def _params(params: Any) -> Any:
    if params is None:
        return ()
    if isinstance(params, dict):
        return {str(k).lstrip(":@$"): _param_value(v) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return [_param_value(v) for v in params]
    raise ToolRefused("params must be a list (for ?) or an object (for :name)")


def _rows(cur: Any, limit: int | None) -> dict[str, Any]:
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    out: dict[str, Any] = {"columns": cols}
    truncated = limit is not None and len(rows) > limit
    if truncated:
        rows = rows[:limit]
    out["rows"] = [[_json_value(v) for v in r] for r in rows]
    out["row_count"] = len(rows)
    if truncated:
        out["truncated"] = True
    return out


# -- the database side ---------------------------------------------------------------

class DatabaseSession:
    """The one open database the tools work on (SDK-independent; thread-safe).

    The connection runs in autocommit mode: each write commits at once, so
    nothing is left half-done between tool calls. ``readonly`` opens files
    with ``mode=ro`` (never creating one) and runs only ``execute_query``.
    """

    def __init__(self, path: str | None = None, readonly: bool = False) -> None:
        self._lock = threading.Lock()
        self._conn: Any = None
        self.path = ":memory:"
        self.readonly = readonly
        self.open(path if path is not None else ":memory:")

    # -- database ----------------------------------------------------------------------

    def open(self, path: str) -> dict[str, Any]:
        """Open (or create) the database at ``path``; the previous one is closed."""
        if not isinstance(path, str) or not path:
            raise ToolRefused("path must be a non-empty string")
        memory = path == ":memory:"
        full = path if memory else os.path.abspath(os.path.expanduser(path))
        if not memory and os.path.isdir(full):
            raise ToolRefused(f"{full} is a directory")
        existed = memory or os.path.exists(full)
        if self.readonly and not existed:
            raise ToolRefused(f"{full} does not exist (the server is read-only)")
        target, uri = full, False
        if self.readonly and not memory:
            target, uri = "file:" + urllib.parse.quote(full) + "?mode=ro", True
        with self._lock:
            conn = mvlite.connect(target, uri=uri, isolation_level=None, check_same_thread=False)
            try:
                self._table_names(conn)  # a file that is not a database fails here
            except BaseException:
                conn.close()
                raise
            old, self._conn, self.path = self._conn, conn, full
            if old is not None:
                old.close()
        info = self.current()
        info["created"] = not existed
        return info

    def current(self) -> dict[str, Any]:
        """Where the open database is, and how many tables it has."""
        with self._lock:
            memory = self.path == ":memory:"
            out: dict[str, Any] = {"path": self.path, "in_memory": memory}
            if self.readonly:
                out["readonly"] = True
            if not memory:
                out["size_bytes"] = os.path.getsize(self.path) if os.path.exists(self.path) else 0
            out["tables"] = len([1 for _n, t in self._table_names(self._conn) if t == "table"])
            return out

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- schema --------------------------------------------------------------------------

    @staticmethod
    def _objects(conn: Any) -> list[tuple[str, str, str | None]]:
        """(name, 'table'|'view', CREATE text) of user tables and views, in schema order."""
        try:
            rows = conn.execute("SELECT name, type, sql FROM sqlite_schema "
                                "WHERE type IN ('table', 'view')").fetchall()
        except mvlite.OperationalError:  # reading sqlite_schema with SQL not supported yet
            txn = conn._db.begin("deferred", timeout=conn._timeout)
            try:
                s = conn._engine.schema(txn)
            finally:
                txn.rollback()
            rows = [(t.name, "table", t.sql) for t in s.tables.values()]
            rows += [(v.name, "view", getattr(v, "sql", None) or None) for v in s.views.values()]
        return [r for r in rows if not r[0].lower().startswith("sqlite_")]

    def _table_names(self, conn: Any) -> list[tuple[str, str]]:
        return [(n, t) for n, t, _sql in self._objects(conn)]

    def list_tables(self) -> dict[str, Any]:
        """User tables and views (internal ``sqlite_*`` tables left out)."""
        with self._lock:
            return {"tables": [{"name": n, "type": t} for n, t in self._table_names(self._conn)]}

    def describe_table(self, name: str) -> dict[str, Any]:
        """Columns (as ``PRAGMA table_info`` gives them), indexes and CREATE text of a table."""
        if not isinstance(name, str) or not name:
            raise ToolRefused("table must be a non-empty string")
        with self._lock:
            conn = self._conn
            found = [o for o in self._objects(conn) if o[0].lower() == name.lower()]
            if not found:
                raise mvlite.OperationalError(f"no such table: {name}")
            real, kind, sql = found[0]
            out: dict[str, Any] = {"name": real, "type": kind}
            cols = self._columns_by_pragma(conn, real)
            if not cols and kind == "view":
                cols = self._view_columns(conn, real)
            out["columns"] = cols
            if kind == "table":
                out["indexes"] = self._indexes_by_pragma(conn, real)
            out["sql"] = sql
            return out

    @staticmethod
    def _columns_by_pragma(conn: Any, name: str) -> list[dict[str, Any]]:
        cur = conn.execute("PRAGMA table_info(%s)" % _quote(name))
        cols = [d[0] for d in cur.description or ()]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    @staticmethod
    def _indexes_by_pragma(conn: Any, name: str) -> list[dict[str, Any]]:
        """``PRAGMA index_list`` rows, each with its key columns from ``PRAGMA index_info``."""
        out = []
        for _seq, ix, unique, origin, partial in conn.execute(
                "PRAGMA index_list(%s)" % _quote(name)).fetchall():
            cols = [r[2] for r in conn.execute("PRAGMA index_info(%s)" % _quote(ix)).fetchall()]
            out.append({"name": ix, "unique": bool(unique), "origin": origin,
                        "partial": bool(partial), "columns": cols})
        return out

    @staticmethod
    def _view_columns(conn: Any, name: str) -> list[dict[str, Any]]:
        """A view's column names from its result (declared types are not known here)."""
        try:
            cur = conn.execute("SELECT * FROM %s LIMIT 0" % _quote(name))
        except Error:
            return []
        return [{"cid": i, "name": d[0], "type": "", "notnull": 0, "dflt_value": None, "pk": 0}
                for i, d in enumerate(cur.description or ())]

    # -- statements ----------------------------------------------------------------------

    def run(self, tool: str, sql: str, params: Any = None,
            max_rows: int | None = DEFAULT_MAX_ROWS) -> dict[str, Any]:
        """Run one statement for ``tool`` after checking its kind; the result as JSON data."""
        if self.readonly and tool != "execute_query":
            raise ToolRefused(f"{tool} is not available: the server is read-only")
        stmt = check_statement(tool, sql)
        bound = _params(params)
        if max_rows is not None and max_rows < 0:
            raise ToolRefused("max_rows must be >= 0")
        with self._lock:
            cur = self._conn.execute(sql, bound)
            if tool == "execute_query":
                if cur.description is None:
                    return {"columns": [], "rows": [], "row_count": 0}
                return _rows(cur, max_rows)
            if tool == "schema_change":
                return {"ok": True, "statement": statement_name(stmt)}
            out: dict[str, Any] = {"changes": cur.rowcount}
            if tool == "insert_data":
                out["last_insert_rowid"] = cur.lastrowid
            if cur.description:  # RETURNING
                out.update(_rows(cur, None))
            return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- the MCP side --------------------------------------------------------------------

def _error_name(e: BaseException) -> str:
    """The PEP 249 class a user sees (``OperationalError`` for the parser's subclasses)."""
    for cls in type(e).__mro__:
        if cls.__module__ == "storage.errors" and getattr(mvlite, cls.__name__, None) is cls:
            return cls.__name__
    return type(e).__name__


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def build_server(session: DatabaseSession) -> Any:
    """An ``MCPServer`` (the SDK's high-level server) with the tools bound to ``session``
    (only the reading ones when the session is read-only)."""
    # no ``from __future__ import annotations`` in this module: the SDK reads
    # these annotations (local names) to build each tool's input schema
    from typing import Annotated

    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import ToolAnnotations
    from pydantic import Field

    server = MCPServer(
        "mvlite", version=_version(), log_level="WARNING",
        instructions="SQL access to one SQLite-format database through mvlite. Read with "
                     "execute_query; change data with insert_data / update_data / delete_data; "
                     "change the schema with schema_change. One statement per call.")

    def call(fn: Any, *args: Any) -> str:
        try:
            return _dump(fn(*args))
        except ToolRefused as e:
            raise ToolError(f"refused: {e}") from None
        except Error as e:
            raise ToolError(f"{_error_name(e)}: {e}") from None
        except (ValueError, TypeError, OverflowError, OSError) as e:  # bad value, unreadable file
            raise ToolError(f"{type(e).__name__}: {e}") from None
        except Exception as e:  # a bug: report it to the caller, keep serving, log for us
            traceback.print_exc(file=sys.stderr)
            raise ToolError(f"internal error: {type(e).__name__}: {e}") from None

    Sql = Annotated[str, Field(description="exactly one SQL statement (a trailing ';' is fine)")]
    Params = Annotated[list[Any] | dict[str, Any] | None, Field(
        description='values for ? (a list) or :name (an object) parameters; a blob is '
                    '{"hex": "..."}')]
    ro = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
    rw = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    destructive = ToolAnnotations(read_only_hint=False, destructive_hint=True,
                                  open_world_hint=False)

    def open_database(path: Annotated[str, Field(
            description="database file (created if missing) or ':memory:'")]) -> str:
        """Open (or create) a SQLite-format database file; later calls use it."""
        return call(session.open, path)

    def current_database() -> str:
        """The path of the open database, its size and number of tables."""
        return call(session.current)

    def list_tables() -> str:
        """The database's tables and views."""
        return call(session.list_tables)

    def describe_table(table: Annotated[str, Field(description="table or view name")]) -> str:
        """Columns (name, type, notnull, default, pk), indexes and CREATE text of a table."""
        return call(session.describe_table, table)

    def execute_query(sql: Sql, params: Params = None, max_rows: Annotated[int, Field(
            description="at most this many rows are returned", ge=0)] = DEFAULT_MAX_ROWS) -> str:
        """Run one read-only statement (SELECT, EXPLAIN, read-only PRAGMA); returns
        {"columns", "rows", "row_count"[, "truncated"]}."""
        return call(session.run, "execute_query", sql, params, max_rows)

    def insert_data(sql: Sql, params: Params = None) -> str:
        """Run one INSERT or REPLACE statement; returns {"changes", "last_insert_rowid"}."""
        return call(session.run, "insert_data", sql, params)

    def update_data(sql: Sql, params: Params = None) -> str:
        """Run one UPDATE statement; returns {"changes"}."""
        return call(session.run, "update_data", sql, params)

    def delete_data(sql: Sql, params: Params = None) -> str:
        """Run one DELETE statement; returns {"changes"}."""
        return call(session.run, "delete_data", sql, params)

    def schema_change(sql: Sql) -> str:
        """Run one CREATE (TABLE/INDEX/VIEW/TRIGGER), ALTER TABLE or DROP statement."""
        return call(session.run, "schema_change", sql)

    tools = [(open_database, rw), (current_database, ro), (list_tables, ro),
             (describe_table, ro), (execute_query, ro)]
    if not session.readonly:
        tools += [(insert_data, rw), (update_data, rw), (delete_data, destructive),
                  (schema_change, destructive)]
    for fn, ann in tools:
        server.add_tool(fn, annotations=ann, structured_output=False)
    return server


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("mvlite")
    except Exception:
        return "0"


def main(path: str | None = None, readonly: bool = False) -> int:
    """Serve the database at ``path`` (``:memory:`` when None) over stdio until EOF;
    ``readonly`` serves only the reading tools on a ``mode=ro`` connection."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        try:
            import mcp  # noqa: F401
        except ImportError:
            print(INSTALL_HINT, file=sys.stderr)
        else:  # an SDK 1.x: FastMCP was renamed MCPServer in 2.0
            print(OLD_SDK_HINT, file=sys.stderr)
        return 1
    try:
        session = DatabaseSession(path, readonly=readonly)
    except (Error, ToolRefused, OSError) as e:
        print(f"mvlite: cannot open {path}: {e}", file=sys.stderr)
        return 1
    try:
        build_server(session).run("stdio")
    except KeyboardInterrupt:
        return 130
    finally:
        session.close()
    return 0


if __name__ == "__main__":
    _ap = argparse.ArgumentParser(prog="python -m mvlite.mcp_server",
                                  description="Serve a mvlite database over MCP (stdio).")
    _ap.add_argument("database", nargs="?", default=None, help="database file (default :memory:)")
    _ap.add_argument("--readonly", action="store_true", help="serve only the reading tools")
    _args = _ap.parse_args()
    sys.exit(main(_args.database, readonly=_args.readonly))
