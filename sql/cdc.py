"""Change data capture: every row change of a connection logged into a table.

Single job: Turso's CDC for mvlite — ``PRAGMA unstable_capture_data_changes_conn
('<mode>[,<table>]')`` turns capture on for one connection (modes ``off``,
``id``, ``before``, ``after``, ``full``; default table ``turso_cdc``), each row
change then appends one row (change_id, change_time, change_type, table_name,
id, before, after, updates) to that table, and the SQL functions
``table_columns_json_array(table)`` and ``bin_record_json_object(columns,
record)`` read the row images back. Behaviour, table layout and the
``updates`` format: ``docs/cdc.md`` (after the Turso manual's "CDC" section,
CDC table version v1).

How it hooks in: the engine calls ``Capture.row_changed`` after every row
write (``Engine._row_changed``); schema statements are wrapped here (their
entries in ``sql.engine._HANDLERS``) and record the difference they made to
``sqlite_schema`` against the table name ``sqlite_schema``. Change rows are
written with ``Transaction.insert_deferred``: inside the same transaction as
the change (a rollback, ROLLBACK TO or failed statement drops them), with
their change_id assigned by the commit leader in commit order, so concurrent
writers never conflict on the capture table (docs/mvcc.md, "Deferred rows").
"""
from __future__ import annotations

import functools
import json
import math
import time
from typing import Any, Callable

from sql import ast as A
from sql import engine as _engine
from sql.engine import Result
from sql.functions import FunctionDef, register_function
from sql.parser import parse_one
from sql.pragma import register_pragma
from sql.values import real_to_text
from storage.errors import OperationalError
from storage.record import decode_record, encode_record

__all__ = ["MODES", "DEFAULT_TABLE", "Capture", "cdc_table_sql", "table_columns_json_array",
           "bin_record_json_object"]

#: capture modes; "off" is the absence of a Capture
MODES = ("off", "id", "before", "after", "full")
DEFAULT_TABLE = "turso_cdc"
SCHEMA_TABLE = "sqlite_schema"
_SCHEMA_ROOT = 1


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cdc_table_sql(name: str) -> str:
    """The capture table's DDL (Turso's CDC table, version v1)."""
    return (f"CREATE TABLE IF NOT EXISTS {_quote_ident(name)} (change_id INTEGER PRIMARY KEY "
            "AUTOINCREMENT, change_time INTEGER, change_type INTEGER, table_name TEXT, id, "
            "before BLOB, after BLOB, updates BLOB)")


def _same(a: Any, b: Any) -> bool:
    """Value identity as storage sees it: 1 and 1.0 differ, NaN never equals."""
    return type(a) is type(b) and a == b


class Capture:
    """One connection's capture setting; the engine calls ``row_changed``."""

    __slots__ = ("mode", "table", "_key", "_tree", "_images", "_before", "_after", "_full")

    def __init__(self, mode: str, table: str) -> None:
        self.mode = mode
        self.table = table
        self._key = table.lower()
        self._tree: tuple[Any, Any] | None = None  # (schema generation, VersionedTree)
        self._before = mode in ("before", "full")
        self._after = mode in ("after", "full")
        self._full = mode == "full"

    def _cdc_tree(self, engine: Any, txn: Any) -> Any:
        s = engine.schema(txn)
        cached = self._tree
        gen = getattr(s, "gen", None)
        if cached is not None and cached[0] == gen and gen is not None:
            return cached[1]
        t = s.table(self.table)
        if t is None:
            raise OperationalError(f"no such table: {self.table}")
        tree = engine.trees.table(t)
        self._tree = (gen, tree)
        return tree

    def row_changed(self, engine: Any, txn: Any, t: Any, kind: int, rowid: int,
                    old: tuple | None, new: tuple | None) -> None:
        """Log one row change of table ``t`` (kind 1 insert, 0 update, -1 delete)."""
        if t.name.lower() == self._key:
            return  # the capture table itself is not captured (as in Turso)
        alias = t.rowid_alias
        if alias is not None:  # row images carry the rowid in its alias column
            if old is not None and alias < len(old):
                old = old[:alias] + (rowid,) + old[alias + 1:]
            if new is not None and alias < len(new):
                new = new[:alias] + (rowid,) + new[alias + 1:]
        before = encode_record(old) if self._before and old is not None else None
        after = encode_record(new) if self._after and new is not None else None
        updates = None
        if self._full and kind == 0 and old is not None and new is not None:
            updates = _updates_record(old, new)
        row = (None, int(time.time()), kind, t.name, rowid, before, after, updates)
        txn.insert_deferred(self._cdc_tree(engine, txn), row, self.table)

    def schema_changed(self, engine: Any, txn: Any, old: dict[int, tuple],
                       new: dict[int, tuple]) -> None:
        """Log the ``sqlite_schema`` rows one schema statement added, changed or removed."""
        tree = None
        for rowid in sorted(old.keys() | new.keys()):
            a, b = old.get(rowid), new.get(rowid)
            if a == b:
                continue
            rec = b if b is not None else a
            if len(rec) > 2 and isinstance(rec[2], str) and rec[2].lower() == self._key:
                continue  # the capture table's own rows
            if tree is None:
                s = engine.schema(txn)
                if s.table(self.table) is None:
                    return  # the capture table itself went away (DROP TABLE turso_cdc)
                tree = self._cdc_tree(engine, txn)
            kind = 1 if a is None else (-1 if b is None else 0)
            txn.insert_deferred(tree, self._schema_row(engine, kind, rowid, a, b), self.table)

    def _schema_row(self, engine: Any, kind: int, rowid: int, a: tuple | None,
                    b: tuple | None) -> Any:
        """The change row for one sqlite_schema row; a callable when the root is provisional.

        A tree created by the running transaction has a negative provisional
        root until commit; the commit leader calls the returned function after
        giving it its real root page, so the after-image holds the real one.
        """
        before = encode_record(a) if self._before and a is not None else None
        updates = None
        if self._full and kind == 0:
            updates = _updates_record(a, b)
        now = int(time.time())
        if not self._after or b is None:
            return (None, now, kind, SCHEMA_TABLE, rowid, before, None, updates)
        root = b[3] if len(b) > 3 else None
        vtree = engine.db.trees.get(root) if type(root) is int and root < 0 else None
        if vtree is None:
            return (None, now, kind, SCHEMA_TABLE, rowid, before, encode_record(b), updates)
        rest = b

        def resolve() -> tuple:
            real = rest[:3] + (vtree.root,) + rest[4:]
            return (None, now, kind, SCHEMA_TABLE, rowid, before, encode_record(real),
                    updates)
        return resolve


def _updates_record(old: tuple, new: tuple) -> bytes:
    """Turso's ``updates`` image: N change flags (0/1), then N values (NULL if unchanged)."""
    n = max(len(old), len(new))
    o = tuple(old) + (None,) * (n - len(old))
    w = tuple(new) + (None,) * (n - len(new))
    flags = [0 if _same(x, y) else 1 for x, y in zip(o, w)]
    values = [y if f else None for f, y in zip(flags, w)]
    return encode_record(flags + values)


# -- schema statements ------------------------------------------------------------

def _schema_rows(engine: Any, txn: Any) -> dict[int, tuple]:
    return {rowid: tuple(rec) for rowid, rec in txn.rows(engine.db.table(_SCHEMA_ROOT))}


def _wrap_schema_handler(handler: Callable) -> Callable:
    """Run a schema statement and, when capture is on, log its sqlite_schema diff."""
    @functools.wraps(handler)
    def run(engine: Any, txn: Any, stmt: Any, sql: str, params: list, conn: Any) -> int:
        cap = engine.capture
        if cap is None:
            return handler(engine, txn, stmt, sql, params, conn)
        before = _schema_rows(engine, txn)
        n = handler(engine, txn, stmt, sql, params, conn)
        if txn.changes_schema:
            cap.schema_changed(engine, txn, before, _schema_rows(engine, txn))
        return n
    run.__cdc_wrapped__ = True  # type: ignore[attr-defined]
    return run


def _install_schema_hooks() -> None:
    for stmt_type, handler in list(_engine._HANDLERS.items()):
        if stmt_type in (A.Insert, A.Update, A.Delete):
            continue
        if not getattr(handler, "__cdc_wrapped__", False):
            _engine._HANDLERS[stmt_type] = _wrap_schema_handler(handler)


_install_schema_hooks()


# -- the PRAGMA -------------------------------------------------------------------

@register_pragma("unstable_capture_data_changes_conn")
def capture_pragma(conn: Any, stmt: A.Pragma) -> Result:
    """Read (no value) or set ('<mode>[,<table>]') this connection's capture mode."""
    engine = conn._engine
    cap = engine.capture
    if stmt.value is None:
        if cap is None:
            return Result(["mode", "table"], [("off", None)])
        return Result(["mode", "table"], [(cap.mode, cap.table)])
    mode, _, table = stmt.value.partition(",")
    mode = mode.strip().lower()
    table = table.strip() or DEFAULT_TABLE
    if mode not in MODES:
        raise OperationalError(f"unexpected pragma value: expected '{', '.join(MODES)}', "
                               f"got '{mode}'")
    if mode == "off":
        engine.capture = None
        return Result(None, [])
    engine.capture = None  # creating the table is not itself captured
    ddl = cdc_table_sql(table)
    try:
        conn._run(parse_one(ddl), ddl, [])
    except BaseException:
        engine.capture = cap  # the previous setting stays
        raise
    engine.capture = Capture(mode, table)
    return Result(None, [])


# -- reading functions --------------------------------------------------------------

def table_columns_json_array(conn: Any, table: Any) -> str | None:
    """The column names of ``table`` in the current schema, as a JSON array."""
    if table is None:
        return None
    name = table if isinstance(table, str) else str(table)
    engine = conn._engine
    txn = conn._live_txn() if hasattr(conn, "_live_txn") else None
    if txn is not None:
        s = engine.schema(txn)
    else:
        txn = engine.db.begin("concurrent")
        try:
            s = engine.schema(txn)
        finally:
            txn.rollback()
    t = s.table(name)
    if t is None:
        raise OperationalError(f"no such table: {name}")
    return json.dumps([c.name for c in t.columns], ensure_ascii=False, separators=(",", ":"))


def _json_value(v: Any) -> str:
    if v is None:
        return "null"
    tv = type(v)
    if tv is int:
        return str(v)
    if tv is float:
        if math.isinf(v):
            return "9.0e+999" if v > 0 else "-9.0e+999"
        return real_to_text(v)
    if tv is str:
        return json.dumps(v, ensure_ascii=False)
    return json.dumps(bytes(v).hex().upper())  # JSON has no blobs: hex text


def bin_record_json_object(columns: Any, record: Any) -> str | None:
    """A record blob as a JSON object keyed by the names in the JSON array ``columns``.

    Columns past the end of the record are null (rows written before an
    ALTER TABLE ADD COLUMN); values past the last name are left out. Blobs,
    which JSON cannot hold, appear as upper-case hex text.
    """
    if columns is None or record is None:
        return None
    if not isinstance(record, (bytes, bytearray, memoryview)):
        raise OperationalError("bin_record_json_object: record must be a blob")
    try:
        names = json.loads(columns)
    except (TypeError, ValueError):
        raise OperationalError("malformed JSON") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise OperationalError("bin_record_json_object: columns must be a JSON array of names")
    values = decode_record(bytes(record))
    parts = []
    for i, n in enumerate(names):
        v = values[i] if i < len(values) else None
        parts.append(json.dumps(n, ensure_ascii=False) + ":" + _json_value(v))
    return "{" + ",".join(parts) + "}"


register_function(FunctionDef("table_columns_json_array", 1, table_columns_json_array,
                              deterministic=False, needs_connection=True))
register_function(FunctionDef("bin_record_json_object", 2, bin_record_json_object))
