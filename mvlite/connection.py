"""``mvlite.connect()`` and the Connection: PEP 249, shaped like stdlib ``sqlite3``.

Single job: the public connection object. It owns transaction control
(implicit BEGIN before INSERT/UPDATE/DELETE in the legacy ``isolation_level``
mode of stdlib ``sqlite3``, explicit BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE|
CONCURRENT], COMMIT, ROLLBACK, SAVEPOINT, RELEASE), parameter binding (qmark
and named), autocommit statements (one MVCC transaction each, retried
internally on a write-write conflict because nothing was shown to the user),
and the closed / wrong-thread checks; also the ``sqlite3`` extras: file: URIs,
user functions/aggregates/collations (kept in the engine's ``sql.registry``),
``interrupt``, progress handler, trace callback, ``iterdump``/``backup``.
Statements themselves run in ``sql.engine``; the database is
``mvcc.database.Database`` (one per file per process, DESIGN decision 5).
Behaviour follows docs.python.org/3/library/sqlite3.html; the differences we
chose are listed in docs/api.md.
"""
from __future__ import annotations

import os
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterable, Iterator

from mvcc.database import Database
from mvcc.errors import ConflictError
from sql import ast as A
from sql import registry as R
from sql.collation import Collation
from sql.engine import Engine, Result
from sql.parser import iter_parse, parse_first
from sql.pragma import run_pragma
import sql.cdc  # noqa: F401,E402 - registers the capture PRAGMA and the CDC functions
from sql.tokenizer import VARIABLE, scan
from storage.errors import (
    SQLITE_CANTOPEN, SQLITE_INTERRUPT, SQLITE_READONLY, NotSupportedError, OperationalError,
    ProgrammingError,
)

from mvlite.cursor import Cursor, converters

__all__ = ["connect", "Connection", "Row", "LEGACY_TRANSACTION_CONTROL"]

LEGACY_TRANSACTION_CONTROL = -1
_MODES = {"": "deferred", "DEFERRED": "deferred", "IMMEDIATE": "immediate",
          "EXCLUSIVE": "exclusive", "CONCURRENT": "concurrent"}
_DML = (A.Insert, A.Update, A.Delete)
_memory_vfs = None


class Row:
    """A result row addressable by index, slice and column name (like ``sqlite3.Row``)."""

    __slots__ = ("_names", "_values")

    def __init__(self, cursor: Cursor, data: tuple) -> None:
        if not isinstance(data, tuple):
            raise TypeError("Row() argument 2 must be tuple")
        self._names = tuple(d[0] for d in cursor.description or ())
        self._values = data

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            k = key.lower()
            for i, n in enumerate(self._names):
                if n.lower() == k:
                    return self._values[i]
            raise IndexError("No item with that key")
        if isinstance(key, (int, slice)):
            return self._values[key]
        raise IndexError("Index must be int or string")

    def keys(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Any:
        return iter(self._values)

    def __eq__(self, other: Any) -> Any:
        if not isinstance(other, Row):
            return NotImplemented
        return self._names == other._names and self._values == other._values

    def __ne__(self, other: Any) -> Any:
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self) -> int:
        return hash(self._names) ^ hash(self._values)

    def __repr__(self) -> str:
        return f"<mvlite.Row object at {id(self):#x}>"


#: (type, protocol) -> adapter, as ``sqlite3.adapters`` (mvlite.register_adapter)
adapters: dict[tuple[type, Any], Callable[[Any], Any]] = {}


class PrepareProtocol:
    """The protocol object of PEP 246 adaptation (``sqlite3.PrepareProtocol``)."""


def _adapt(v: Any, i: Any) -> Any:
    t = type(v)
    if adapters:
        a = adapters.get((t, PrepareProtocol))
        if a is not None:
            v = a(v)
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
    conform = getattr(v, "__conform__", None)
    if conform is not None:
        r = conform(PrepareProtocol)
        if r is not None:
            return _adapt(r, i)
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


def _parse_uri(database: str) -> tuple[str, str, dict[str, str]]:
    """``file:`` URI -> (path, mode, other query parameters), as sqlite3_open_v2 reads it."""
    rest = database[5:]
    rest = rest.split("#", 1)[0]
    path, _, query = rest.partition("?")
    if path.startswith("//"):
        auth, slash, tail = path[2:].partition("/")
        if auth not in ("", "localhost"):
            raise OperationalError(f"invalid uri authority: {auth}")
        path = slash + tail
    path = urllib.parse.unquote(path)
    params: dict[str, str] = {}
    for part in query.split("&") if query else ():
        k, _, v = part.partition("=")
        params[urllib.parse.unquote(k)] = urllib.parse.unquote(v)
    mode = params.pop("mode", "rwc")
    if mode not in ("ro", "rw", "rwc", "memory"):
        raise OperationalError(f"no such access mode: {mode}")
    cache = params.get("cache")
    if cache is not None and cache not in ("shared", "private"):
        raise OperationalError(f"no such cache mode: {cache}")
    return path, mode, params


def _expand_sql(sql: str, stmt: A.Statement, params: list) -> str:
    """``sqlite3_expanded_sql``: the text with each parameter replaced by its literal."""
    if not params:
        return sql
    names = stmt.params
    out = []
    pos = 0
    top = 0
    for t in scan(sql, stmt.span[0] if stmt.span else 0):
        if t.type != VARIABLE:
            continue
        text = t.text
        if text == "?":
            top += 1
            i = top
        elif text[0] == "?":
            i = int(text[1:])
        else:
            try:
                i = names.index(text) + 1
            except ValueError:
                continue
        top = max(top, i)
        if 1 <= i <= len(params):
            out.append(sql[pos:t.pos])
            out.append(_literal(params[i - 1]))
            pos = t.pos + len(text)
    out.append(sql[pos:])
    return "".join(out)


def _literal(v: Any) -> str:
    """A bound value as sqlite3_expanded_sql writes it."""
    if v is None:
        return "NULL"
    t = type(v)
    if t is int:
        return str(v)
    if t is float:
        from sql.printf import sql_printf
        return sql_printf("%!.15g", [v])
    if t is str:
        return "'" + v.replace("'", "''") + "'"
    return "x'" + bytes(v).hex() + "'"


class _Progress:
    """Counts the interrupt checks of compiled plans and calls the progress handler."""

    __slots__ = ("handler", "n", "left")

    def __init__(self, handler: Callable[[], Any], n: int) -> None:
        self.handler = handler
        self.n = n
        self.left = n


def _progress_get(self: "Connection") -> bool:
    if self.__dict__["_interrupt_flag"]:
        return True
    p = self._progress
    p.left -= 1
    if p.left > 0:
        return False
    p.left = p.n
    try:
        stop = p.handler()
    except Exception:
        stop = True
    if stop:
        self.__dict__["_interrupt_flag"] = True
        return True
    return False


def _progress_set(self: "Connection", value: bool) -> None:
    self.__dict__["_interrupt_flag"] = value


_PROGRESS_CLASSES: dict[type, type] = {}


def _with_progress(cls: type) -> type:
    """A subclass of ``cls`` whose ``_interrupted`` also runs the progress handler."""
    sub = _PROGRESS_CLASSES.get(cls)
    if sub is None:
        sub = _PROGRESS_CLASSES[cls] = type(cls.__name__, (cls,), {
            "_interrupted": property(_progress_get, _progress_set),
            "__module__": cls.__module__, "_progress_base": cls})
    return sub


class Connection:
    """A PEP 249 connection; see the module docstring."""

    def __init__(self, database: Any, timeout: float = 5.0, detect_types: int = 0,
                 isolation_level: str | None = "", check_same_thread: bool = True,
                 cached_statements: int = 128, uri: bool = False,
                 autocommit: Any = LEGACY_TRANSACTION_CONTROL, **pager_options: Any) -> None:
        self._closed = True  # until opened: __del__/close must not touch missing state
        if isinstance(database, bytes):
            database = os.fsdecode(database)
        path = os.fspath(database) if not isinstance(database, str) else database
        if not isinstance(path, str):
            raise TypeError("expected str, bytes or os.PathLike object")
        mode = "rwc"
        self._uri_params: dict[str, str] = {}
        if uri and path.startswith("file:"):
            path, mode, self._uri_params = _parse_uri(path)
        self._memory = mode == "memory" or path in (":memory:", "")
        self.readonly = mode == "ro"
        vfs = None
        if self._memory:
            from storage.io import MemoryVFS
            vfs = MemoryVFS()  # a private database per connection, as in sqlite3
            path = "/memory.db"
        elif mode in ("ro", "rw") and not os.path.exists(path):
            raise OperationalError("unable to open database file", code=SQLITE_CANTOPEN)
        elif os.path.isdir(path):
            raise OperationalError("unable to open database file", code=SQLITE_CANTOPEN)
        pager_options.setdefault("cache_size", DEFAULT_CACHE_SIZE)
        self._db = Database.open(path, vfs=vfs, **pager_options)
        self._path = os.path.realpath(path) if not self._memory else ""
        self._engine = Engine(self._db)
        self._timeout = float(timeout)
        self._check_same_thread = check_same_thread
        self._thread = threading.get_ident()
        self._txn: Any = None
        self._txn_by_savepoint = False
        self._busy = threading.Lock()
        self._interrupted = False
        self._progress: _Progress | None = None
        self._trace: Callable[[str], Any] | None = None
        self._trace_text: str | None = None
        self.detect_types = detect_types
        self.row_factory: Any = None
        self.text_factory: Any = str
        #: PRAGMA foreign_keys / recursive_triggers: stored, not enforced here
        self.foreign_keys = False
        self.recursive_triggers = False
        self._closed = False
        self._isolation_level: str | None = None
        self._autocommit: Any = LEGACY_TRANSACTION_CONTROL
        self.isolation_level = isolation_level
        self.autocommit = autocommit

    # -- properties ------------------------------------------------------------

    @property
    def isolation_level(self) -> str | None:
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        if value is not None:
            if not isinstance(value, str):
                raise TypeError("isolation_level must be str or None")
            if value.upper() not in _MODES:
                raise ValueError("isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', "
                                 "'EXCLUSIVE' or 'CONCURRENT'")
        if value is None and self._autocommit is LEGACY_TRANSACTION_CONTROL \
                and getattr(self, "_txn", None) is not None:
            self._commit()
        self._isolation_level = value

    @property
    def autocommit(self) -> Any:
        """True / False / LEGACY_TRANSACTION_CONTROL with Python 3.12's sqlite3 semantics."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: Any) -> None:
        if value is not LEGACY_TRANSACTION_CONTROL and value != LEGACY_TRANSACTION_CONTROL \
                and not isinstance(value, bool):
            raise ValueError("autocommit must be True, False, or "
                             "sqlite3.LEGACY_TRANSACTION_CONTROL")
        if isinstance(value, int) and not isinstance(value, bool):
            value = LEGACY_TRANSACTION_CONTROL
        self._check_open()
        self._autocommit = value
        if value is True:
            self._commit()
        elif value is False:
            self._keep_open()

    @property
    def in_transaction(self) -> bool:
        self._check_open()
        t = self._txn
        return t is not None and t.state == 0

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
        cur = factory(self)
        if not isinstance(cur, Cursor):
            raise TypeError("factory must return a cursor, not " + type(cur).__name__)
        return cur

    def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str) -> Cursor:
        return self.cursor().executescript(sql_script)

    def commit(self) -> None:
        self._check_open()
        if self._autocommit is True:
            return
        if self._live_txn() is not None:
            self._traced("COMMIT")
        self._commit()
        self._keep_open()

    def rollback(self) -> None:
        self._check_open()
        if self._autocommit is True:
            return
        if self._live_txn() is not None:
            self._traced("ROLLBACK")
        self._rollback()
        self._keep_open()

    def close(self) -> None:
        if self._closed:
            return
        if self._check_same_thread and threading.get_ident() != self._thread:
            self._check_open()
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

    # -- sqlite3 extras ---------------------------------------------------------

    def create_function(self, name: str, narg: int, func: Any, *,
                        deterministic: bool = False) -> None:
        """Define (or replace) the SQL function ``name`` with ``narg`` arguments (-1: any)."""
        self._check_open()
        if not isinstance(name, str):
            raise TypeError("create_function() argument 'name' must be str")
        if not isinstance(narg, int) or narg < -1 or narg > 127 or len(name.encode()) > 255:
            raise OperationalError("Error creating function")
        self._engine.registry.define(name, narg, R.user_function(name, narg, func,
                                                                 deterministic))

    def create_aggregate(self, name: str, n_arg: int, aggregate_class: Any) -> None:
        """Define (or replace) the aggregate ``name``: ``aggregate_class()`` has step/finalize."""
        self._check_open()
        if not isinstance(name, str):
            raise TypeError("create_aggregate() argument 'name' must be str")
        if not isinstance(n_arg, int) or n_arg < -1 or n_arg > 127:
            raise OperationalError("Error creating aggregate")
        self._engine.registry.define(name, n_arg, R.user_aggregate(name, n_arg,
                                                                   aggregate_class))

    def create_window_function(self, name: str, num_params: int, aggregate_class: Any) -> None:
        raise NotSupportedError("window functions are not supported")

    def create_collation(self, name: str, callable: Any) -> None:  # noqa: A002 - sqlite3's name
        """Define, replace or (``None``) remove the collation ``name``."""
        self._check_open()
        if not isinstance(name, str):
            raise TypeError("create_collation() argument 1 must be str")
        if callable is None:
            self._engine.registry.define_collation(name, None)
            return
        if not builtins_callable(callable):
            raise TypeError("parameter must be callable")
        fn = callable

        def compare(a: str, b: str) -> int:
            try:
                r = fn(a, b)
            except Exception:
                return 0
            if not isinstance(r, int):
                try:
                    r = int(r) if isinstance(r, float) else 0
                except Exception:
                    return 0
            return 1 if r > 0 else (-1 if r < 0 else 0)
        self._engine.registry.define_collation(
            name, Collation(name, compare, R.collation_key(compare), False))

    def interrupt(self) -> None:
        """Make the running statement fail with "interrupted" (callable from any thread)."""
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed database.")
        self._interrupted = True

    def set_progress_handler(self, progress_handler: Callable[[], Any] | None, n: int) -> None:
        """Call ``progress_handler`` every ``n`` plan steps; a true result interrupts.

        The steps are the compiled plans' interrupt checks (one per row visited),
        not SQLite's VM instructions, so the call counts differ from sqlite3's.
        """
        self._check_open()
        flag = bool(self.__dict__.get("_interrupt_flag", self.__dict__.get("_interrupted")))
        base = getattr(type(self), "_progress_base", type(self))
        if progress_handler is None or n <= 0:
            self._progress = None
            self.__class__ = base
            self.__dict__.pop("_interrupt_flag", None)
            self._interrupted = flag
            return
        self._progress = _Progress(progress_handler, int(n))
        self.__class__ = _with_progress(base)
        self.__dict__.pop("_interrupted", None)
        self.__dict__["_interrupt_flag"] = flag

    def set_trace_callback(self, trace_callback: Callable[[str], Any] | None) -> None:
        """Call ``trace_callback(sql)`` for every statement run (parameters expanded)."""
        self._check_open()
        self._trace = trace_callback

    def set_authorizer(self, authorizer_callback: Any) -> None:
        raise NotSupportedError("set_authorizer is not supported")

    def enable_load_extension(self, enabled: bool) -> None:
        raise NotSupportedError("extensions are not supported")

    def load_extension(self, *args: Any, **kw: Any) -> None:
        raise NotSupportedError("extensions are not supported")

    def blobopen(self, *args: Any, **kw: Any) -> Any:
        raise NotSupportedError("blobopen is not supported")

    def iterdump(self) -> Iterator[str]:
        """SQL text that recreates the database (tables, rows, indexes), like sqlite3's."""
        self._check_open()
        return _iterdump(self)

    def backup(self, target: "Connection", *, pages: int = -1, progress: Any = None,
               name: str = "main", sleep: float = 0.250) -> None:
        """Copy this database into ``target`` (an mvlite or sqlite3 connection) via SQL."""
        self._check_open()
        if name != "main":
            raise OperationalError(f"unknown database {name}")
        if target is self:
            raise ValueError("target cannot be the same connection instance")
        script = "\n".join(self.iterdump())
        if isinstance(target, Connection):
            target._check_open()
            target.commit()
            target._drop_everything()
        target.executescript(script)
        if progress is not None:
            progress(0, 0, 0)

    def _drop_everything(self) -> None:
        rows = [(r[0], r[1]) for r in _schema_rows(self) if not r[1].startswith("sqlite_")]
        for kind, name in rows:
            if kind in ("table", "view"):
                q = name.replace('"', '""')
                self.execute(f'DROP {kind.upper()} IF EXISTS "{q}"')
        self.commit()

    def getlimit(self, category: int) -> int:
        raise NotSupportedError("limits are not supported")

    def setlimit(self, category: int, limit: int) -> int:
        raise NotSupportedError("limits are not supported")

    # -- transactions ------------------------------------------------------------

    def _live_txn(self) -> Any:
        t = self._txn
        if t is not None and t.state != 0:
            self._txn = None
            self._engine.invalidate()
            return None
        return t

    def _keep_open(self) -> None:
        """With autocommit=False a transaction is always open (Python 3.12 semantics)."""
        if self._autocommit is False and self._live_txn() is None:
            self._begin("deferred")

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
        if self._autocommit is not LEGACY_TRANSACTION_CONTROL:
            return None
        if self._isolation_level is None:
            return None
        return _MODES[self._isolation_level.upper()]

    def _decltypes(self, stmt: A.Statement) -> list | None:
        """Declared types of the result columns (PARSE_DECLTYPES), where known."""
        from sql.pragmas_core import select_decltypes
        with self._pragma_txn() as txn:
            schema = self._engine.schema(txn)
        return select_decltypes(stmt, schema)

    def _pragma_txn(self) -> "_PragmaTxn":
        """A context giving a transaction for a PRAGMA: the open one, else a fresh one."""
        return _PragmaTxn(self)

    # -- executing ---------------------------------------------------------------

    def _traced(self, sql: str) -> None:
        cb = self._trace
        if cb is not None:
            try:
                cb(sql)
            except Exception:
                pass

    def _execute(self, cur: Cursor, sql: str, parameters: Any, many: bool) -> None:
        if not isinstance(sql, str):
            raise TypeError(f"execute() argument 1 must be str, not {type(sql).__name__}")
        if not self._busy.acquire(blocking=False):
            raise OperationalError("database is locked")
        try:
            cached = _PARSED.get(sql)
            if cached is None:
                stmt, tail = parse_first(sql)
                more = stmt is not None and _more_sql(sql, tail)
                if len(_PARSED) >= _PARSED_MAX:
                    _PARSED.clear()
                _PARSED[sql] = cached = (stmt, tail, more)
            stmt, tail, more = cached
            if more:
                raise ProgrammingError("You can only execute one statement at a time.")
            if stmt is None:
                cur._set(None)
                cur.rowcount = -1
                return
            if many:
                if not isinstance(stmt, _DML):
                    raise ProgrammingError("executemany() can only execute DML statements.")
                total = 0
                cur._set(None)
                cur.rowcount = -1
                for params in parameters:
                    bound = _bind(stmt, params)
                    res = self._run(stmt, sql, bound, trace=sql[:tail])
                    total += res.changes
                    cur.rowcount = total
                cur._set(None)
                cur.rowcount = total
            else:
                bound = _bind(stmt, parameters)
                res = self._run(stmt, sql, bound, trace=sql[:tail])
                if self.detect_types & 1 and converters and res.is_query:
                    cur._decltypes = self._decltypes(stmt)
                cur._set(res)
                cur.rowcount = res.changes if isinstance(stmt, _DML) else -1
                cur.lastrowid = self._engine.last_insert_rowid
        finally:
            self._busy.release()

    def _executescript(self, cur: Cursor, script: str) -> None:
        if not isinstance(script, str):
            raise TypeError(
                f"executescript() argument must be str, not {type(script).__name__}")
        if self._autocommit is LEGACY_TRANSACTION_CONTROL and self._live_txn() is not None:
            self._traced("COMMIT")
            self._commit()
        if not self._busy.acquire(blocking=False):
            raise OperationalError("database is locked")
        try:
            pos = 0
            for stmt, end in iter_parse(script):
                piece = script[pos:end]
                pos = end
                self._run(stmt, script[stmt.span[0]:stmt.span[1]], [], script=True,
                          trace=piece, expand=False)
            cur._set(None)
        finally:
            self._busy.release()

    def _run(self, stmt: A.Statement, sql: str, params: list, script: bool = False,
             trace: str | None = None, expand: bool = True) -> Result:
        self._interrupted = False
        if self._autocommit is False:
            self._keep_open()
        if self._trace is not None and trace is not None:
            self._trace_text = _expand_sql(trace, stmt, params) if expand else trace
        try:
            return self._run1(stmt, sql, params, script)
        except OperationalError as exc:
            if exc.args and exc.args[0] == "interrupted":
                exc.sqlite_errorcode = SQLITE_INTERRUPT
                exc.sqlite_errorname = "SQLITE_INTERRUPT"
                # SQLite rolls back the whole transaction when a writing statement
                # is interrupted (sqlite3VdbeHalt); a read leaves it alone
                if not isinstance(stmt, A.Select) and self._live_txn() is not None:
                    self._rollback()
                    self._keep_open() if self._autocommit is False else None
            raise
        finally:
            self._interrupted = False
            self._trace_text = None

    def _check_interrupt(self) -> None:
        """SQLite sees an interrupt at the statement's next step, even after its last row."""
        d = self.__dict__
        if d.get("_interrupt_flag", d.get("_interrupted")):
            raise OperationalError("interrupted", code=SQLITE_INTERRUPT)

    def _trace_stmt(self) -> None:
        """Hand the current statement's text to the trace callback (once)."""
        text = self._trace_text
        if text is not None:
            self._trace_text = None
            self._traced(text)

    def _check_writable(self, stmt: A.Statement) -> None:
        if not self.readonly:
            return
        t = type(stmt)
        if t is A.Select or t in (A.Begin, A.Commit, A.Rollback, A.Savepoint, A.Release):
            return
        if t is A.Pragma and (stmt.value is None or stmt.name.lower() not in (
                "user_version", "application_id", "journal_mode")):
            return
        raise OperationalError("attempt to write a readonly database", code=SQLITE_READONLY)

    def _run1(self, stmt: A.Statement, sql: str, params: list, script: bool) -> Result:
        t = type(stmt)
        if self._trace_text is not None and not isinstance(stmt, _DML):
            self._trace_stmt()
        if self.readonly and not isinstance(stmt, _DML):
            self._check_writable(stmt)
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
        implicit = False
        if txn is None and not script and isinstance(stmt, _DML):
            mode = self._legacy_mode()
            if mode is not None:
                self._traced("BEGIN ")
                txn = self._begin(mode)
                implicit = True
        if self._trace_text is not None:
            self._trace_stmt()
        if self.readonly and isinstance(stmt, _DML):
            self._check_writable(stmt)
        if txn is not None:
            try:
                res = self._engine.execute(txn, stmt, sql, params, self)
                self._check_interrupt()
                return res
            except OperationalError as exc:
                # sqlite3 begins after a successful prepare: a statement that does
                # not compile leaves no implicit transaction behind
                if implicit and _is_prepare_error(exc) and txn.state == 0 \
                        and not txn.has_writes:
                    self._rollback()
                raise
            finally:
                if txn.state != 0:  # aborted by a conflict: the transaction is gone
                    self._txn = None
                    self._engine.invalidate()
        # autocommit: one transaction for this statement, retried on conflict (nothing
        # was shown to the user); while the conflicting writer is still running we back
        # off and try again until the busy timeout, as SQLite's busy handler waits
        deadline = 0.0  # set at the first conflict
        delay = 0.0
        for attempt in range(1 << 30):
            txn = self._db.begin("deferred", timeout=self._timeout)
            try:
                res = self._engine.execute(txn, stmt, sql, params, self)
                self._check_interrupt()
                txn.commit()
                if txn.changes_schema:
                    self._engine.invalidate()
                return res
            except ConflictError:
                txn.rollback()
                if not deadline:
                    deadline = time.monotonic() + self._timeout
                if attempt >= 2 and time.monotonic() + delay > deadline:
                    raise
                if attempt:
                    time.sleep(delay)
                    delay = min(delay * 2 or 0.001, 0.05)
            except BaseException as exc:
                if getattr(exc, "mvlite_fail", False) and txn.state == 0:
                    # OR FAIL / RAISE(FAIL): the rows changed before the failing one
                    # stay, so the autocommit transaction commits them
                    txn.commit()
                else:
                    txn.rollback()
                if txn.changes_schema:
                    self._engine.invalidate()
                raise
        raise AssertionError("unreachable")


builtins_callable = callable

#: PRAGMA cache_size for a new database (KiB when negative). SQLite's default is
#: -2000 (2 MiB); our cache misses cost far more than SQLite's (a page is decoded
#: in Python), so a 100k-row table that does not fit made point selects ~4x slower
#: (bench/sql_bench.py, docs/performance.md). 16 MiB per open file, shared by all
#: of its connections in the process.
DEFAULT_CACHE_SIZE = -16384

#: SQL text -> (statement, end of its text, another statement follows): the AST is
#: immutable and parsing is a pure function of the text, so every connection shares
#: it (sqlite3's statement cache plays the same part)
_PARSED: dict[str, tuple[Any, int, bool]] = {}
_PARSED_MAX = 1024

_PREPARE_ERRORS = ("no such ", "near ", "wrong number of arguments", "ambiguous column",
                   "misuse of ", "unknown database", "incomplete input", "table ",
                   "too many ", "unrecognized token", "default value of column",
                   "no tables specified", "cannot ", "sub-select returns")


def _more_sql(sql: str, pos: int) -> bool:
    """True when anything but whitespace and comments follows ``pos``.

    stdlib sqlite3's rule for "You can only execute one statement at a time."
    (its ``lstrip_sql``): a second ``;``, a syntax error or any other text in
    the tail counts; an unterminated comment ends the text.
    """
    n = len(sql)
    while pos < n:
        ch = sql[pos]
        if ch in " \t\f\n\r":
            pos += 1
        elif sql.startswith("--", pos):
            pos = sql.find("\n", pos + 2)
            if pos < 0:
                return False
        elif sql.startswith("/*", pos):
            pos = sql.find("*/", pos + 2)
            if pos < 0:
                return False
            pos += 2
        else:
            return True
    return False


def _is_prepare_error(exc: Exception) -> bool:
    """True for errors sqlite3_prepare reports (the statement never started)."""
    msg = str(exc)
    return msg.startswith(_PREPARE_ERRORS) or msg.endswith("syntax error")


def _schema_rows(conn: Connection) -> list[tuple]:
    """The sqlite_schema records (type, name, tbl_name, rootpage, sql) in rowid order."""
    with conn._pragma_txn() as txn:
        return [rec for _rowid, rec in txn.rows(conn._db.table(1))]


def _iterdump(conn: Connection) -> Iterator[str]:
    """Tables (by name) with their rows, then indexes, triggers and views, then
    sqlite_sequence: the order of Python 3.11's sqlite3 iterdump."""
    yield "BEGIN TRANSACTION;"
    objs = [(r[0], r[1], r[4]) for r in _schema_rows(conn) if r[4] is not None]
    seq = False
    for kind, name, sql in sorted((o for o in objs if o[0] == "table"), key=lambda o: o[1]):
        if name == "sqlite_sequence":
            seq = True
            continue
        if name.startswith("sqlite_"):
            continue
        yield f"{sql};"
        yield from _dump_rows(conn, name)
    for kind, name, sql in objs:
        if kind in ("index", "trigger", "view"):
            yield f"{sql};"
    if seq:
        yield 'DELETE FROM "sqlite_sequence";'
        yield from _dump_rows(conn, "sqlite_sequence")
    yield "COMMIT;"


def _dump_rows(conn: Connection, name: str) -> Iterator[str]:
    q = name.replace('"', '""')
    cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{q}")').fetchall()]
    if not cols:
        return
    sel = " || ',' || ".join('quote("%s")' % c.replace('"', '""') for c in cols)
    for (row,) in conn.execute(f'SELECT {sel} FROM "{q}"').fetchall():
        yield f'INSERT INTO "{q}" VALUES({row});'


class _PragmaTxn:
    """``with conn._pragma_txn() as txn``: the connection's transaction or a one-off one."""

    __slots__ = ("conn", "txn", "own")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.txn: Any = None
        self.own = False

    def __enter__(self) -> Any:
        t = self.conn._live_txn()
        if t is None:
            t = self.conn._db.begin("deferred", timeout=self.conn._timeout)
            self.own = True
        self.txn = t
        return t

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.own:
            if exc_type is None and self.txn.state == 0:
                self.txn.commit()
            elif self.txn.state == 0:
                self.txn.rollback()


def connect(database: Any, timeout: float = 5.0, detect_types: int = 0,
            isolation_level: str | None = "", check_same_thread: bool = True,
            factory: Any = Connection, cached_statements: int = 128, uri: bool = False,
            autocommit: Any = LEGACY_TRANSACTION_CONTROL, **kwargs: Any) -> Connection:
    """Open a connection to the SQLite database file ``database`` (":memory:" for RAM).

    ``uri=True`` reads ``file:path?mode=ro|rw|rwc|memory&cache=shared|private``
    as sqlite3_open_v2 does. Extra keyword arguments go to the pager
    (``page_size``, ``cache_size``, ``synchronous``, ``wal_autocheckpoint``).
    """
    return factory(database, timeout=timeout, detect_types=detect_types,
                   isolation_level=isolation_level, check_same_thread=check_same_thread,
                   cached_statements=cached_statements, uri=uri, autocommit=autocommit,
                   **kwargs)
