"""``mvlite.connect()`` and the Connection: PEP 249, shaped like stdlib ``sqlite3``.

Single job: the public connection object. It owns transaction control
(implicit BEGIN before INSERT/UPDATE/DELETE in the legacy ``isolation_level``
mode of stdlib ``sqlite3``, explicit BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE|
CONCURRENT], COMMIT, ROLLBACK, SAVEPOINT, RELEASE), parameter binding (qmark
and named), autocommit statements (one MVCC transaction each, retried
internally on a write-write conflict because nothing was shown to the user),
and the closed / wrong-thread checks. Statements themselves run in
``sql.engine``; the database is ``mvcc.database.Database`` (one per file per
process, DESIGN decision 5).
"""
from __future__ import annotations

import threading
from typing import Any, Iterable

from mvcc.database import Database
from mvcc.errors import ConflictError
from sql import ast as A
from sql.engine import Engine, Result
from sql.parser import iter_parse, parse_first
from sql.pragma import run_pragma
from storage.errors import OperationalError, ProgrammingError

from mvlite.cursor import Cursor

__all__ = ["connect", "Connection", "Row", "LEGACY_TRANSACTION_CONTROL"]

LEGACY_TRANSACTION_CONTROL = -1
_MODES = {"": "deferred", "DEFERRED": "deferred", "IMMEDIATE": "immediate",
          "EXCLUSIVE": "exclusive", "CONCURRENT": "concurrent"}
_DML = (A.Insert, A.Update, A.Delete)
_RETRIES = 50
_memory_vfs = None


class Row:
    """A result row addressable by index and by column name (like ``sqlite3.Row``)."""

    __slots__ = ("_names", "_values")

    def __init__(self, cursor: Cursor, values: tuple) -> None:
        self._names = [d[0] for d in cursor.description or ()]
        self._values = tuple(values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            k = key.lower()
            for i, n in enumerate(self._names):
                if n.lower() == k:
                    return self._values[i]
            raise IndexError("No item with that key")
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Any:
        return iter(self._values)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Row) and self._names == other._names and \
            self._values == other._values

    def __hash__(self) -> int:
        return hash((tuple(self._names), self._values))

    def __repr__(self) -> str:
        return f"<mvlite.Row {self._values!r}>"


def _adapt(v: Any, i: Any) -> Any:
    t = type(v)
    if v is None or t in (int, float, str, bytes):
        if t is int and not -(1 << 63) <= v < (1 << 63):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return v
    if t is bool:
        return int(v)
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    raise ProgrammingError(f"Error binding parameter {i}: type '{t.__name__}' is not supported")


def _bind(stmt: A.Statement, params: Any) -> list:
    names = stmt.params
    n = len(names)
    if isinstance(params, dict) or (hasattr(params, "keys") and hasattr(params, "__getitem__")
                                    and not isinstance(params, (list, tuple))):
        out = []
        for i, name in enumerate(names):
            if name is None or name[0] == "?":
                raise ProgrammingError("Binding %d has no name, but you supplied a dictionary "
                                       "(which has only names)." % (i + 1))
            try:
                out.append(_adapt(params[name[1:]], name[1:]))
            except KeyError:
                raise ProgrammingError(f"You did not supply a value for binding parameter "
                                       f"{name}.") from None
        return out
    if params is None:
        params = ()
    try:
        seq = list(params)
    except TypeError:
        raise ProgrammingError("parameters are of unsupported type") from None
    if len(seq) != n:
        raise ProgrammingError(f"Incorrect number of bindings supplied. The current statement "
                               f"uses {n}, and there are {len(seq)} supplied.")
    return [_adapt(v, i + 1) for i, v in enumerate(seq)]


class Connection:
    """A PEP 249 connection; see the module docstring."""

    def __init__(self, database: Any, timeout: float = 5.0, isolation_level: str | None = "DEFERRED",
                 check_same_thread: bool = True, uri: bool = False,
                 autocommit: Any = LEGACY_TRANSACTION_CONTROL, **pager_options: Any) -> None:
        global _memory_vfs
        path = str(database)
        vfs = None
        if uri and path.startswith("file:"):
            path = path[5:].split("?", 1)[0] or ":memory:"
        if path == ":memory:" or path == "":
            from storage.io import MemoryVFS
            vfs = MemoryVFS()  # a private database per connection, as in sqlite3
            path = "/memory.db"
        self._db = Database.open(path, vfs=vfs, **pager_options)
        self._engine = Engine(self._db)
        self._timeout = float(timeout)
        self.isolation_level = isolation_level
        self.autocommit = autocommit
        self._check_same_thread = check_same_thread
        self._thread = threading.get_ident()
        self._txn: Any = None
        self._txn_by_savepoint = False
        self._closed = False
        self._busy = threading.Lock()
        self.row_factory: Any = None
        self.text_factory = str

    # -- properties ------------------------------------------------------------

    @property
    def isolation_level(self) -> str | None:
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        if value is not None:
            if not isinstance(value, str) or value.upper() not in _MODES:
                raise ValueError("isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', "
                                 "'EXCLUSIVE' or 'CONCURRENT'")
        if value is None and getattr(self, "_txn", None) is not None:
            self._commit()
        self._isolation_level = value

    @property
    def in_transaction(self) -> bool:
        self._check_open()
        return self._txn is not None and self._txn.state == 0

    @property
    def total_changes(self) -> int:
        self._check_open()
        return self._engine.total_changes

    # functions.changes()/last_insert_rowid()/total_changes() read these
    @property
    def changes(self) -> int:
        return self._engine.changes

    @property
    def last_insert_rowid(self) -> int:
        return self._engine.last_insert_rowid

    # -- checks ----------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed database.")
        if self._check_same_thread and threading.get_ident() != self._thread:
            raise ProgrammingError(
                "SQLite objects created in a thread can only be used in that same thread. "
                f"The object was created in thread id {self._thread} and this is thread id "
                f"{threading.get_ident()}.")

    # -- PEP 249 ---------------------------------------------------------------

    def cursor(self, factory: Any = Cursor) -> Cursor:
        self._check_open()
        return factory(self)

    def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str) -> Cursor:
        return self.cursor().executescript(sql_script)

    def commit(self) -> None:
        self._check_open()
        self._commit()

    def rollback(self) -> None:
        self._check_open()
        self._rollback()

    def close(self) -> None:
        if self._closed:
            return
        if self._txn is not None:
            try:
                self._txn.rollback()
            except Exception:
                pass
            self._txn = None
        self._closed = True
        self._db.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        return False

    def __del__(self) -> None:
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    # -- transactions ------------------------------------------------------------

    def _live_txn(self) -> Any:
        t = self._txn
        if t is not None and t.state != 0:
            self._txn = None
            self._engine.invalidate()
            return None
        return t

    def _commit(self) -> None:
        t = self._live_txn()
        self._txn = None
        if t is not None:
            try:
                t.commit()
            finally:
                self._engine.invalidate() if t.changes_schema else None

    def _rollback(self) -> None:
        t = self._live_txn()
        self._txn = None
        if t is not None:
            t.rollback()
            self._engine.invalidate()

    def _begin(self, mode: str) -> Any:
        self._txn = self._db.begin(mode, timeout=self._timeout)
        self._txn_by_savepoint = False
        return self._txn

    def _legacy_mode(self) -> str | None:
        """The implicit-BEGIN mode, or None when statements autocommit."""
        if self.autocommit is True:
            return None
        if self.autocommit is False:
            return "deferred"
        if self._isolation_level is None:
            return None
        return _MODES[self._isolation_level.upper()]

    # -- executing ---------------------------------------------------------------

    def _execute(self, cur: Cursor, sql: str, parameters: Any, many: bool) -> None:
        if not isinstance(sql, str):
            raise TypeError("execute() argument 1 must be str")
        if not self._busy.acquire(blocking=False):
            raise OperationalError("database is locked")
        try:
            stmt, tail = parse_first(sql)
            if stmt is not None and parse_first(sql, tail)[0] is not None:
                raise ProgrammingError("You can only execute one statement at a time.")
            cur.lastrowid = self._engine.last_insert_rowid
            if stmt is None:
                cur._set(None)
                cur.rowcount = -1
                return
            if many:
                if not isinstance(stmt, _DML):
                    raise ProgrammingError("executemany() can only execute DML statements.")
                total = 0
                for params in parameters:
                    res = self._run(stmt, sql, _bind(stmt, params))
                    total += res.changes
                cur._set(None)
                cur.rowcount = total
            else:
                res = self._run(stmt, sql, _bind(stmt, parameters))
                cur._set(res)
                cur.rowcount = res.changes if isinstance(stmt, _DML) else -1
            cur.lastrowid = self._engine.last_insert_rowid
        finally:
            self._busy.release()

    def _executescript(self, cur: Cursor, script: str) -> None:
        if self._legacy_mode() is not None:
            self._commit()
        if not self._busy.acquire(blocking=False):
            raise OperationalError("database is locked")
        try:
            res = None
            for stmt, _end in iter_parse(script):
                text = script[stmt.span[0]:stmt.span[1]]
                res = self._run(stmt, text, [], script=True)
            cur._set(None)
            del res
        finally:
            self._busy.release()

    def _run(self, stmt: A.Statement, sql: str, params: list, script: bool = False) -> Result:
        t = type(stmt)
        if t is A.Begin:
            if self._live_txn() is not None:
                raise OperationalError("cannot start a transaction within a transaction")
            self._begin(_MODES[(stmt.mode or "").upper()])
            return Result(None, [])
        if t is A.Commit:
            if self._live_txn() is None:
                raise OperationalError("cannot commit - no transaction is active")
            self._commit()
            return Result(None, [])
        if t is A.Rollback:
            txn = self._live_txn()
            if stmt.savepoint is not None:
                if txn is None:
                    raise OperationalError(f"no such savepoint: {stmt.savepoint}")
                txn.rollback_to(stmt.savepoint)
                self._engine.invalidate()
                return Result(None, [])
            if txn is None:
                raise OperationalError("cannot rollback - no transaction is active")
            self._rollback()
            return Result(None, [])
        if t is A.Savepoint:
            txn = self._live_txn()
            if txn is None:
                txn = self._begin("deferred")
                self._txn_by_savepoint = True
            txn.savepoint(stmt.name)
            return Result(None, [])
        if t is A.Release:
            txn = self._live_txn()
            if txn is None:
                raise OperationalError(f"no such savepoint: {stmt.name}")
            txn.release(stmt.name)
            if self._txn_by_savepoint and not txn.savepoints:
                self._commit()
            return Result(None, [])
        if t is A.Pragma:
            return run_pragma(self, stmt)
        txn = self._live_txn()
        if txn is None and not script and isinstance(stmt, _DML):
            mode = self._legacy_mode()
            if mode is not None:
                txn = self._begin(mode)
        if txn is not None:
            try:
                return self._engine.execute(txn, stmt, sql, params, self)
            finally:
                if txn.state != 0:  # aborted by a conflict: the transaction is gone
                    self._txn = None
                    self._engine.invalidate()
        # autocommit: one transaction for this statement, retried on conflict
        for attempt in range(_RETRIES):
            txn = self._db.begin("deferred", timeout=self._timeout)
            try:
                res = self._engine.execute(txn, stmt, sql, params, self)
                txn.commit()
                if txn.changes_schema:
                    self._engine.invalidate()
                return res
            except ConflictError:
                txn.rollback()
                if attempt == _RETRIES - 1:
                    raise
            except BaseException:
                txn.rollback()
                if txn.changes_schema:
                    self._engine.invalidate()
                raise
        raise AssertionError("unreachable")


def connect(database: Any, timeout: float = 5.0, isolation_level: str | None = "DEFERRED",
            check_same_thread: bool = True, factory: Any = Connection, uri: bool = False,
            autocommit: Any = LEGACY_TRANSACTION_CONTROL, **kwargs: Any) -> Connection:
    """Open a connection to the SQLite database file ``database`` (":memory:" for RAM)."""
    return factory(database, timeout=timeout, isolation_level=isolation_level,
                   check_same_thread=check_same_thread, uri=uri, autocommit=autocommit,
                   **kwargs)
