"""Triggers: CREATE/DROP TRIGGER and firing trigger programs on row changes.

Single job: store triggers in ``sqlite_schema`` (type 'trigger', rootpage 0,
the CREATE text), and run their bodies when ``sql.dml`` changes a row:
BEFORE / AFTER / INSTEAD OF, INSERT / UPDATE [OF cols] / DELETE, FOR EACH
ROW (SQLite has only row triggers), WHEN, the NEW./OLD. pseudo-rows and
RAISE(IGNORE | ROLLBACK | ABORT | FAIL, msg). Behaviour is documented in
SQLite's lang_createtrigger.html and lang_droptrigger.html.

How: a body statement is rewritten once per schema generation so that
``NEW.x`` / ``OLD.x`` become bound parameters (slots 1..n: NEW columns, n+1:
NEW rowid, n+2..2n+1: OLD columns, 2n+2: OLD rowid) and ``RAISE(...)``
becomes a call of a hidden function that throws; then it runs through the
ordinary statement paths with that parameter list, its plans cached like any
other statement's. recursive_triggers is off, as SQLite's default: a trigger
does not fire while it is already running. Changes made by trigger bodies
count in total_changes() but not in changes(); last_insert_rowid() is
restored when a trigger program ends (lang_corefunc.html).
"""
from __future__ import annotations

from typing import Any

from sql import ast as A
from sql import functions as F
from sql import values as V
from sql.compiler import compile_exprs, compile_select
from sql.dml import Skip, raise_conflict, rewrite
from storage.errors import IntegrityError, OperationalError

__all__ = ["create_trigger", "drop_trigger", "table_triggers", "fire", "for_update",
           "insert_into_view", "update_view", "delete_view"]

_RAISE_FN = "\x00raise"


class _Raise(Exception):
    def __init__(self, action: str, msg: Any) -> None:
        super().__init__(msg)
        self.action = action
        self.msg = msg


def _raise(action: Any, msg: Any = None) -> Any:
    raise _Raise(action, msg)


_RAISE_DEF = F.FunctionDef(_RAISE_FN, -1, _raise, deterministic=False, min_args=1, max_args=2)


class TableTriggers:
    """The triggers of one table (or view) for one event, split by timing."""

    __slots__ = ("before", "after", "instead")

    def __init__(self) -> None:
        self.before: list[A.CreateTrigger] = []
        self.after: list[A.CreateTrigger] = []
        self.instead: list[A.CreateTrigger] = []


def table_triggers(s: Any, name: str, event: str) -> TableTriggers | None:
    """The triggers on ``name`` for ``event`` (INSERT/UPDATE/DELETE), or None if none."""
    if not s.triggers:
        return None
    cache = s.__dict__.setdefault("_trigger_cache", {})
    key = (name.lower(), event)
    if key in cache:
        return cache[key]
    tt = TableTriggers()
    # SQLite links each new trigger at the front of the table's list: newest fires first
    for trig in reversed(list(s.triggers.values())):
        if trig.table.lower() != name.lower() or trig.event.upper() != event:
            continue
        timing = (trig.timing or "BEFORE").upper()
        (tt.instead if timing == "INSTEAD OF" else
         tt.after if timing == "AFTER" else tt.before).append(trig)
    res = tt if (tt.before or tt.after or tt.instead) else None
    cache[key] = res
    return res


def for_update(trigs: list, changed: set, info: Any) -> list:
    """The UPDATE triggers that fire when columns ``changed`` (slots; -1 rowid) are SET."""
    out = []
    t = info.t
    for trig in trigs:
        cols = trig.update_columns
        if cols is None:
            out.append(trig)
            continue
        for name in cols:
            c = t.column(name)
            slot = c.index if c is not None else None
            if slot is not None and (slot in changed or
                                     (slot == t.rowid_alias and -1 in changed)):
                out.append(trig)
                break
    return out


# -- firing ---------------------------------------------------------------------

class _Program:
    """A trigger rewritten for parameters: WHEN plan key and body statements."""

    __slots__ = ("when", "body")

    def __init__(self, when: A.Expr | None, body: list) -> None:
        self.when = when
        self.body = body


def _params_rewriter(names: list[str], alias: int | None, event: str = "") -> Any:
    n = len(names)
    # an INSERT trigger has no OLD row, a DELETE trigger no NEW row
    missing = "old" if event == "INSERT" else ("new" if event == "DELETE" else None)
    index = {c.lower(): i for i, c in reversed(list(enumerate(names)))}
    rowids = ("rowid", "oid", "_rowid_")

    def fn(node: Any) -> Any:
        if isinstance(node, A.Raise):
            args: tuple = (A.Literal(node.action.upper(), "string"),)
            if node.message is not None:
                args += (A.Literal(node.message, "string"),)
            return A.FunctionCall(_RAISE_FN, args, pos=node.pos)
        if isinstance(node, A.ColumnRef) and node.table is not None and node.schema is None:
            tl = node.table.lower()
            if tl not in ("new", "old"):
                return None
            if tl == missing:
                raise OperationalError(f"no such column: {node.table}.{node.name}")
            base = 0 if tl == "new" else n + 1
            i = index.get(node.name.lower())
            if i is None:
                if node.name.lower() in rowids:
                    return A.Param(base + n + 1, pos=node.pos)
                raise OperationalError(f"no such column: {node.table}.{node.name}")
            if i == alias:
                return A.Param(base + n + 1, pos=node.pos)
            return A.Param(base + i + 1, pos=node.pos)
        return None
    return fn


def _program(s: Any, trig: A.CreateTrigger, names: list[str], alias: int | None) -> _Program:
    cache = s.__dict__.setdefault("_trigger_programs", {})
    p = cache.get(trig.name.lower())
    if p is None:
        fn = _params_rewriter(names, alias, trig.event.upper())
        when = rewrite(trig.when, fn) if trig.when is not None else None
        body = [rewrite(st, fn) for st in trig.body]
        p = cache[trig.name.lower()] = _Program(when, body)
    return p


def fire(eng: Any, txn: Any, s: Any, trigs: list, info: Any, old: list | None,
         old_rowid: Any, new: list | None, new_rowid: Any, conn: Any, oe: str | None,
         names: list[str] | None = None) -> None:
    """Run each trigger of ``trigs`` (not already running) for one row."""
    if names is None:
        names = [c.name for c in info.t.columns]
        alias = info.t.rowid_alias
    else:
        alias = None
    n = len(names)
    firing = eng._firing
    p = (list(new) if new is not None else [None] * n) + [new_rowid] + \
        (list(old) if old is not None else [None] * n) + [old_rowid]
    for trig in trigs:
        lname = trig.name.lower()
        if lname in firing:
            continue
        prog = _program(s, trig, names, alias)
        key = (trig.sql or trig.name) + "\x00trigger"
        firing.add(lname)
        saved_rowid = eng.last_insert_rowid
        # the hidden RAISE function is visible only while trigger programs compile
        had = F.SCALAR.get(_RAISE_FN)
        F.SCALAR[_RAISE_FN] = _RAISE_DEF
        try:
            if prog.when is not None:
                c = eng._plan(key + "\x00when", s, lambda: compile_exprs([prog.when], s))
                if V.truth(c.fn(txn, p, conn)[0]) is not True:
                    continue
            for k, st in enumerate(prog.body):
                _run_body(eng, txn, s, st, f"{key}{k}", p, conn, oe)
        except _Raise as r:
            if r.action == "IGNORE":
                raise Skip() from None
            msg = r.msg if r.msg is not None else ""
            if not isinstance(msg, str):
                msg = str(msg)
            raise_conflict(txn, r.action if r.action in ("ROLLBACK", "FAIL") else "ABORT", msg)
        finally:
            if had is None:
                F.SCALAR.pop(_RAISE_FN, None)
            firing.discard(lname)
            eng.last_insert_rowid = saved_rowid


def _run_body(eng: Any, txn: Any, s: Any, st: Any, key: str, p: list, conn: Any,
              oe: str | None) -> None:
    from sql import dml
    t = type(st)
    s = eng.schema(txn)
    if t is A.Select:
        c = eng._plan(key, s, lambda: compile_select(st, key, s))
        c.fn(txn, p, conn)
        return
    try:
        if t is A.Insert:
            r = dml.do_insert(eng, txn, st, key, p, conn, outer_oe=oe)
        elif t is A.Update:
            r = dml.do_update(eng, txn, st, key, p, conn, outer_oe=oe)
        elif t is A.Delete:
            r = dml.do_delete(eng, txn, st, key, p, conn, outer_oe=oe)
        else:
            raise OperationalError("unsupported statement in a trigger body")
    except OperationalError as exc:
        msg = str(exc)
        if type(exc) is OperationalError and msg.startswith("no such table: ") and \
                "." not in msg[15:]:
            # trigger programs name their tables with the schema, as SQLite reports
            raise OperationalError("no such table: main." + msg[15:]) from None
        raise
    eng.total_changes += r if isinstance(r, int) else r.changes


# -- INSTEAD OF on views ---------------------------------------------------------

def _view_names(eng: Any, s: Any, view: A.CreateView) -> list[str]:
    if view.columns is not None:
        return list(view.columns)
    key = (view.sql or view.name) + "\x00viewcols"
    c = eng._plan(key, s, lambda: compile_select(view.select, view.sql or "", s))
    return list(c.columns)


def _instead(s: Any, view: A.CreateView, event: str) -> list:
    tt = table_triggers(s, view.name, event)
    if tt is None or not tt.instead:
        raise OperationalError(f"cannot modify {view.name} because it is a view")
    return tt.instead


class _ViewInfo:
    def __init__(self, names: list[str]) -> None:
        self.t = None
        self.names = names


def insert_into_view(eng: Any, txn: Any, s: Any, view: A.CreateView, stmt: A.Insert,
                     sql: str, params: list, conn: Any) -> int:
    from sql import dml
    trigs = _instead(s, view, "INSERT")
    names = _view_names(eng, s, view)
    n = len(names)
    if stmt.columns is None:
        targets = list(range(n))
    else:
        low = [x.lower() for x in names]
        targets = []
        for name in stmt.columns:
            if name.lower() not in low:
                raise OperationalError(f"table {view.name} has no column named {name}")
            targets.append(low.index(name.lower()))
    rows = dml._source_rows(eng, txn, s, stmt, sql, params, conn, view.name, n, len(targets),
                            stmt.columns is not None)
    if stmt.source is None:
        targets = []
    for values in rows:
        row: list[Any] = [None] * n
        for slot, v in zip(targets, values):
            row[slot] = v
        try:
            fire(eng, txn, s, trigs, None, None, None, row, None, conn, stmt.or_conflict,
                 names=names)
        except Skip:
            continue
    return 0


def _view_rows(eng: Any, txn: Any, s: Any, view: A.CreateView, where: Any, exprs: list,
               sql: str, params: list, conn: Any) -> list:
    cols: tuple = (A.Star(),) + tuple(A.ResultColumn(e) for e in exprs)
    sel = A.Select(core=A.SelectCore(columns=cols,
                                      from_=A.FromClause(A.TableName(name=view.name)),
                                      where=where))
    c = eng._plan(sql + "\x00viewrows", s, lambda: compile_select(sel, sql, s))
    return c.fn(txn, params, conn)


def update_view(eng: Any, txn: Any, s: Any, view: A.CreateView, stmt: A.Update, sql: str,
                params: list, conn: Any) -> int:
    trigs = _instead(s, view, "UPDATE")
    names = _view_names(eng, s, view)
    low = [x.lower() for x in names]
    slots: list[int] = []
    exprs: list = []
    for a in stmt.assignments:
        for name in a.columns:
            if name.lower() not in low:
                raise OperationalError(f"no such column: {name}")
            slots.append(low.index(name.lower()))
        if len(a.columns) == 1:
            exprs.append(a.value)
        else:
            exprs.extend(a.value.items)
    fired = [t for t in trigs if t.update_columns is None or
             any(c.lower() in low and low.index(c.lower()) in slots for c in t.update_columns)]
    n = len(names)
    for r in _view_rows(eng, txn, s, view, stmt.where, exprs, sql, params, conn):
        old = list(r[:n])
        new = list(old)
        for slot, v in zip(slots, r[n:]):
            new[slot] = v
        try:
            fire(eng, txn, s, fired, None, old, None, new, None, conn, stmt.or_conflict,
                 names=names)
        except Skip:
            continue
    return 0


def delete_view(eng: Any, txn: Any, s: Any, view: A.CreateView, stmt: A.Delete, sql: str,
                params: list, conn: Any) -> int:
    trigs = _instead(s, view, "DELETE")
    names = _view_names(eng, s, view)
    n = len(names)
    for r in _view_rows(eng, txn, s, view, stmt.where, [], sql, params, conn):
        try:
            fire(eng, txn, s, trigs, None, list(r[:n]), None, None, None, conn, None,
                 names=names)
        except Skip:
            continue
    return 0


# -- DDL -------------------------------------------------------------------------

def create_trigger(eng: Any, txn: Any, stmt: A.CreateTrigger, sql: str, params: list,
                   conn: Any) -> int:
    from storage.errors import NotSupportedError
    if stmt.temp or (stmt.schema is not None and stmt.schema.lower() not in ("main",)):
        raise NotSupportedError("TEMP triggers and attached databases are not supported yet")
    s = eng.schema(txn)
    name = stmt.name
    if name.lower() in s.triggers or s.others.get(name.lower()) == "trigger":
        if stmt.if_not_exists:
            return 0
        raise OperationalError(f"trigger {name} already exists")
    if name.lower().startswith("sqlite_"):
        raise OperationalError(f"object name reserved for internal use: {name}")
    t = s.table(stmt.table)
    view = s.views.get(stmt.table.lower())
    if t is None and view is None:
        raise OperationalError(f"no such table: main.{stmt.table}")
    timing = (stmt.timing or "BEFORE").upper()
    if view is not None and t is None and timing != "INSTEAD OF":
        raise OperationalError(f"cannot create {timing} trigger on view: {stmt.table}")
    if t is not None and timing == "INSTEAD OF":
        raise OperationalError(f"cannot create INSTEAD OF trigger on table: {stmt.table}")
    if t is not None and t.name.lower().startswith("sqlite_"):
        raise OperationalError("cannot create trigger on system table")
    tbl = t.name if t is not None else view.name
    txn.begin_schema_change()
    txn.insert_auto(eng.db.table(1), ("trigger", name, tbl, 0, stmt.schema_sql))
    return 0


def drop_trigger(eng: Any, txn: Any, stmt: A.Drop, s: Any) -> int:
    name = stmt.name
    if stmt.schema is not None and stmt.schema.lower() not in ("main",):
        raise OperationalError(f"unknown database {stmt.schema}")
    if name.lower() not in s.triggers and s.others.get(name.lower()) != "trigger":
        if stmt.if_exists:
            return 0
        raise OperationalError(f"no such trigger: {name}")
    txn.begin_schema_change()
    stree = eng.db.table(1)
    for rowid, rec in list(txn.rows(stree)):
        if len(rec) > 1 and rec[0] == "trigger" and isinstance(rec[1], str) and \
                rec[1].lower() == name.lower():
            txn.delete(stree, rowid)
    return 0


_unused = IntegrityError
