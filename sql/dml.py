"""Row writes: INSERT / UPDATE / DELETE with SQLite's constraints and conflict resolution.

Single job: turn one INSERT, UPDATE or DELETE into row writes on the MVCC
transaction, keeping every index (plain, UNIQUE, partial, expression) in step
and enforcing NOT NULL, CHECK, UNIQUE / PRIMARY KEY and the rowid the way
SQLite does. Behaviour is documented in SQLite's lang_insert.html,
lang_update.html, lang_delete.html, lang_conflict.html (OR ROLLBACK / ABORT /
FAIL / IGNORE / REPLACE and the constraints' own ON CONFLICT clauses; the
statement's OR wins), lang_upsert.html (ON CONFLICT ... DO NOTHING / DO
UPDATE, ``excluded.``), lang_returning.html, lang_createtable.html (CHECK,
DEFAULT) and partialindex.html / expridx.html. Triggers are fired through
``sql.triggers``. Every row written, deleted or replaced goes through
``Engine._row_changed`` (change capture depends on it).

Conflict order follows SQLite's sqlite3GenerateConstraintChecks: NOT NULL
per column, CHECK, then the rowid and the UNIQUE indexes in schema order,
with REPLACE constraints checked after the others (an INTEGER PRIMARY KEY
with REPLACE goes last when some index does not replace). UPSERT targets
are checked first.
"""
from __future__ import annotations

from typing import Any

from mvcc.errors import KeyExistsError
from sql import ast as A
from sql import values as V
from sql.compiler import compile_exprs, compile_row_exprs, compile_select, compile_where_scan
from sql.schema import ROWID_NAMES, Index, Schema, Table
from storage.errors import IntegrityError, OperationalError

__all__ = ["do_insert", "do_update", "do_delete", "table_info", "Skip", "raise_conflict",
           "rewrite", "returning_plan", "expr_text"]


_ROWID_CEIL = 1 << 63


class Skip(Exception):
    """IGNORE (or RAISE(IGNORE)): drop the current row and go on with the next one."""


def raise_conflict(txn: Any, oe: str | None, msg: str) -> None:
    """Raise ``msg`` as an IntegrityError with the conflict action ``oe``'s effect.

    ROLLBACK ends the transaction here (the connection notices the state);
    FAIL marks the error so that the engine keeps the statement's earlier rows.
    """
    exc = IntegrityError(msg)
    if oe == "ROLLBACK":
        txn.rollback()
    elif oe == "FAIL":
        exc.mvlite_fail = True  # type: ignore[attr-defined]
    raise exc


def rewrite(node: Any, fn: Any) -> Any:
    """A copy of an AST with ``fn(node)`` (not None) substituted, bottom-up."""
    r = fn(node)
    if r is not None:
        return r
    if isinstance(node, tuple):
        return tuple(rewrite(x, fn) for x in node)
    if not isinstance(node, A.Node):
        return node
    changes = {}
    for f in type(node).__attrs_attrs__:  # type: ignore[attr-defined]
        v = getattr(node, f.name)
        if isinstance(v, (A.Node, tuple)):
            nv = rewrite(v, fn)
            if nv is not v:
                changes[f.name] = nv
    if not changes:
        return node
    import attrs
    return attrs.evolve(node, **changes)


def expr_text(sql: str, e: A.Expr) -> str:
    """Source text of a result expression up to the next top-level comma (column names)."""
    if e.pos < 0:
        return ""
    from sql.tokenizer import tokenize
    depth = 0
    end = e.pos
    for tok in tokenize(sql, e.pos):
        ty = tok.type
        if ty == "LP":
            depth += 1
        elif ty == "RP":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and ty in ("COMMA", "EOF", "SEMI", "AS"):
            break
        end = tok.pos + len(tok.text)
    return sql[e.pos:end]


# -- per-table write information ------------------------------------------------

class _Ix:
    """One index as the writer sees it: key maker, partial predicate, conflict action."""

    __slots__ = ("ix", "tree", "key", "where", "unique", "oe", "label", "cols")

    def __init__(self, eng: Any, s: Schema, t: Table, ix: Index) -> None:
        self.ix = ix
        self.tree = eng.trees.index(ix)
        self.unique = ix.unique
        self.oe = ix.on_conflict
        self.cols = ix.columns
        names = (t.name.lower(),)
        alias = t.rowid_alias
        if any(e is not None for e in ix.exprs):
            terms = [e if e is not None else A.ColumnRef(name=t.columns[c].name)
                     for e, c in zip(ix.exprs, ix.columns)]
            fn = compile_row_exprs(t, names, terms, s).fn
            self.key = lambda rec, rowid, fn=fn: fn(None, [], None, rowid, rec)
            self.label = f"index '{ix.name}'"
        else:
            cols = tuple(ix.columns)
            if alias is not None and alias in cols:
                self.key = lambda rec, rowid, cols=cols: tuple(
                    rowid if c == alias else rec[c] for c in cols)
            else:
                self.key = lambda rec, rowid, cols=cols: tuple(rec[c] for c in cols)
            self.label = ", ".join(f"{t.name}.{t.columns[c].name}" for c in cols)
        if ix.where is not None:
            wfn = compile_row_exprs(t, names, [ix.where], s).fn
            self.where = lambda rec, rowid, wfn=wfn: V.truth(wfn(None, [], None, rowid, rec)[0]) \
                is True
        else:
            self.where = None

    def covers(self, rec: tuple, rowid: int) -> bool:
        w = self.where
        return w is None or w(rec, rowid)


class TableInfo:
    """What writing rows of one table needs, built once per schema generation."""

    def __init__(self, eng: Any, s: Schema, t: Table) -> None:
        self.t = t
        self.n = len(t.columns)
        self.alias = t.rowid_alias
        self.names = (t.name.lower(),)
        self.tree = eng.trees.table(t)
        self.ixs = [_Ix(eng, s, t, ix) for ix in t.indexes]
        # SQLite links each new index at the front of the table's list, so
        # uniqueness is checked newest index first
        self.uixs = [x for x in reversed(self.ixs) if x.unique]
        self.notnull = [(c.index, c.notnull_oe) for c in t.columns
                        if c.notnull and c.index != t.rowid_alias]
        self.defaults: list[Any] = []
        self.pad_values: list[Any] = []
        for c in t.columns:
            d = c.default
            if d is None:
                self.defaults.append(None)
                self.pad_values.append(None)
                continue
            fn = compile_exprs([d]).fn
            self.defaults.append(fn)
            try:
                self.pad_values.append(V.apply_affinity(fn(None, [], None)[0], c.affinity))
            except Exception:
                self.pad_values.append(None)
        self.checks: list[tuple[str, Any]] = []
        for name, e, text in t.checks:
            fn = compile_row_exprs(t, self.names, [e], s).fn
            self.checks.append((name or text, fn))
        self.affs = [c.affinity if i != t.rowid_alias else None
                     for i, c in enumerate(t.columns)]
        self.rowid_oe = t.rowid_oe
        #: the rowid check goes last when it replaces and some index does not
        self.rowid_last = t.rowid_oe == "REPLACE" and any(x.oe != "REPLACE" for x in self.uixs)

    def pad(self, rec: tuple) -> tuple:
        if len(rec) < self.n:
            return tuple(rec) + tuple(self.pad_values[len(rec):])
        return rec

    def default(self, i: int, txn: Any, conn: Any) -> Any:
        fn = self.defaults[i]
        return None if fn is None else fn(txn, [], conn)[0]

    def rowid_label(self) -> str:
        t = self.t
        name = t.columns[t.rowid_alias].name if t.rowid_alias is not None else "rowid"
        return f"{t.name}.{name}"


def table_info(eng: Any, s: Schema, t: Table) -> TableInfo:
    key = (getattr(s, "gen", 0), t.name.lower())
    infos = eng._infos
    info = infos.get(key)
    if info is None:
        if len(infos) > 256:
            infos.clear()
        info = infos[key] = TableInfo(eng, s, t)
    return info


# -- constraint checks ------------------------------------------------------------

def _prepare(eng: Any, txn: Any, info: TableInfo, row: list, rowid: Any, oe: str | None,
             conn: Any) -> tuple[Any, tuple]:
    """Affinities, NOT NULL and CHECK on ``row``; returns (rowid or None, record)."""
    t = info.t
    affs = info.affs
    for i in range(info.n):
        a = affs[i]
        if a is not None and a != V.BLOB:
            row[i] = V.apply_affinity(row[i], a)
    for i, coe in info.notnull:
        if row[i] is None:
            act = oe or coe or "ABORT"
            if act == "REPLACE":
                d = info.default(i, txn, conn)
                if d is not None:
                    row[i] = V.apply_affinity(d, affs[i]) if affs[i] else d
                    continue
                act = "ABORT"
            if act == "IGNORE":
                raise Skip()
            raise_conflict(txn, act, f"NOT NULL constraint failed: {t.name}.{t.columns[i].name}")
    alias = info.alias
    if alias is not None:
        if row[alias] is not None or rowid is None:
            rowid = row[alias]
        row[alias] = None
    if rowid is not None:
        r = V.apply_affinity(rowid, V.INTEGER)
        if type(r) is not int:
            raise IntegrityError("datatype mismatch")
        rowid = r
    rec = tuple(row)
    if info.checks:
        for label, fn in info.checks:
            v = fn(txn, [], conn, rowid, rec)[0]
            if v is not None and V.truth(v) is False:
                act = oe if oe in ("IGNORE", "FAIL", "ROLLBACK") else "ABORT"
                if act == "IGNORE":
                    raise Skip()
                raise_conflict(txn, act, f"CHECK constraint failed: {label}")
    return rowid, rec


def _conflicts(txn: Any, x: _Ix, rec: tuple, rowid: int | None, skip: Any) -> list[int]:
    """Rowids of other rows whose key in unique index ``x`` equals this row's."""
    r = rowid if rowid is not None else 0
    if not x.covers(rec, r):
        return []
    prefix = tuple(x.key(rec, r))
    for v in prefix:
        if v is None:
            return []
    # hi bound: the prefix plus a rowid above every rowid (version-chain keys are
    # compared whole, so a bare prefix as upper bound would miss them)
    return [k[-1] for k in txn.index_keys(x.tree, prefix, prefix + (_ROWID_CEIL,))
            if k[-1] != skip]


def delete_row(eng: Any, txn: Any, info: TableInfo, rowid: int, rec: tuple) -> None:
    """Remove a row and its index entries (REPLACE's victims and DELETE)."""
    for x in info.ixs:
        if x.covers(rec, rowid):
            txn.index_remove(x.tree, tuple(x.key(rec, rowid)) + (rowid,))
    txn.delete(info.tree, rowid)
    eng._row_changed(txn, info.t, -1, rowid, rec, None)


def _replace(eng: Any, txn: Any, info: TableInfo, victims: list[int]) -> None:
    for v in victims:
        old = txn.get(info.tree, v)
        if old is not None:
            delete_row(eng, txn, info, v, info.pad(old))


def _unique_checks(eng: Any, txn: Any, info: TableInfo, rec: tuple, rowid: int | None,
                   old_rowid: int | None, oe: str | None, upsert: Any = None) -> Any:
    """Check the rowid and UNIQUE indexes; resolve conflicts. Returns an upsert hit or None.

    An upsert hit is ``(clause, conflicting rowid)`` for the caller to act on.
    Order (sqlite3GenerateConstraintChecks): UPSERT target indexes first, the
    others newest first; the rowid before all, but after the UPSERT targets when
    the first ON CONFLICT clause targets an index, and last when the rowid
    REPLACEs while an index does not; REPLACE constraints after the others.
    """
    rowid_changes = rowid is not None and rowid != old_rowid
    clause_of: dict = {}
    catch_all = None
    checks: list[Any] = []
    if upsert:
        for clause, target in upsert:
            if target is None:
                catch_all = clause
            elif target == "rowid":
                clause_of.setdefault("rowid", clause)
            elif id(target) not in clause_of:
                clause_of[id(target)] = clause
                checks.append(target)
        first = upsert[0][1]
        # the rowid is checked after the target indexes when the first clause has one
        ipk_at = len(checks) if first is not None and first != "rowid" else 0
        checks.extend(x for x in info.uixs if id(x) not in clause_of)
    else:
        checks.extend(info.uixs)
        ipk_at = len(checks) if info.rowid_last and oe is None else 0
    if rowid_changes:
        checks.insert(ipk_at, None)
    later: list[Any] = []
    for x in checks:
        if upsert:
            clause = clause_of.get("rowid" if x is None else id(x), catch_all)
            if clause is not None:
                if x is None:
                    victims = [rowid] if txn.get(info.tree, rowid) is not None else []
                else:
                    victims = _conflicts(txn, x, rec, rowid, old_rowid)
                if victims:
                    return clause, victims[0]
                continue
        act = oe or (info.rowid_oe if x is None else x.oe) or "ABORT"
        if act == "REPLACE":
            later.append(x)
            continue
        _one_check(eng, txn, info, x, act, rec, rowid, old_rowid)
    for x in later:
        _one_check(eng, txn, info, x, "REPLACE", rec, rowid, old_rowid)
    return None


def _one_check(eng: Any, txn: Any, info: TableInfo, x: Any, act: str, rec: tuple,
               rowid: int | None, old_rowid: int | None) -> None:
    if x is None:
        if txn.get(info.tree, rowid) is None:
            return
        victims = [rowid]
        label = info.rowid_label()
    else:
        victims = _conflicts(txn, x, rec, rowid, old_rowid)
        if not victims:
            return
        label = x.label
    if act == "REPLACE":
        _replace(eng, txn, info, victims)
    elif act == "IGNORE":
        raise Skip()
    else:
        raise_conflict(txn, act, f"UNIQUE constraint failed: {label}")


def write_insert(eng: Any, txn: Any, info: TableInfo, rowid: Any, rec: tuple) -> int:
    """Store a checked row and its index entries; returns its rowid."""
    t = info.t
    auto = t.name if t.autoincrement else None
    if rowid is None:
        rowid = txn.insert_auto(info.tree, rec, autoincrement=auto)
    else:
        try:
            txn.insert(info.tree, rowid, rec)
        except KeyExistsError:
            raise IntegrityError(f"UNIQUE constraint failed: {info.rowid_label()}") from None
        if auto:
            txn.note_rowid(auto, rowid)
    for x in info.ixs:
        if x.covers(rec, rowid):
            txn.index_add(x.tree, tuple(x.key(rec, rowid)) + (rowid,))
    eng._row_changed(txn, t, 1, rowid, None, rec)
    return rowid


def write_update(eng: Any, txn: Any, info: TableInfo, old_rowid: int, old: tuple,
                 rowid: int, rec: tuple) -> None:
    """Replace row ``old_rowid`` by (rowid, rec), moving only the index keys that changed."""
    t = info.t
    moves = []
    for x in info.ixs:
        ok = tuple(x.key(old, old_rowid)) + (old_rowid,) if x.covers(old, old_rowid) else None
        nk = tuple(x.key(rec, rowid)) + (rowid,) if x.covers(rec, rowid) else None
        if ok != nk or (ok is not None and _types(ok) != _types(nk)):
            moves.append((x, ok, nk))
            if ok is not None:
                txn.index_remove(x.tree, ok)
    if rowid == old_rowid:
        txn.update(info.tree, rowid, rec)
    else:
        txn.delete(info.tree, old_rowid)
        try:
            txn.insert(info.tree, rowid, rec)
        except KeyExistsError:
            raise IntegrityError(f"UNIQUE constraint failed: {info.rowid_label()}") from None
    for x, ok, nk in moves:
        if nk is not None:
            txn.index_add(x.tree, nk)
    if rowid == old_rowid:
        eng._row_changed(txn, t, 0, rowid, old, rec)
    else:  # a changed rowid is a delete and an insert, as in SQLite
        eng._row_changed(txn, t, -1, old_rowid, old, None)
        eng._row_changed(txn, t, 1, rowid, None, rec)


def _types(key: tuple | None) -> tuple:
    return () if key is None else tuple(type(v) for v in key)


# -- RETURNING ----------------------------------------------------------------------

def returning_plan(eng: Any, s: Schema, t: Table, names: tuple, items: tuple, sql: str,
                   key: str, intreal: bool = True) -> Any:
    """Compiled RETURNING list: ``.fn(txn, p, conn, rowid, rec)``, ``.columns``.

    ``intreal``: as SQLite does for INSERT/UPDATE, a bare REAL column whose value
    is integral comes back as an integer (the register still holds the integer
    the record stores); DELETE reads the column back as REAL.
    """
    def build() -> Any:
        exprs: list[A.Expr] = []
        cols: list[str] = []
        reals: list[int] = []
        for rc in items:
            if isinstance(rc, A.Star):
                if rc.table is not None and rc.table.lower() not in names:
                    raise OperationalError(f"no such table: {rc.table}")
                for c in t.columns:
                    if c.affinity == V.REAL:
                        reals.append(len(exprs))
                    exprs.append(A.ColumnRef(name=c.name))
                    cols.append(c.name)
                continue
            e = rc.expr
            if isinstance(e, A.ColumnRef):
                c = t.column(e.name)
                if c is not None and c.affinity == V.REAL:
                    reals.append(len(exprs))
            exprs.append(e)
            if rc.alias is not None:
                cols.append(rc.alias)
            elif isinstance(e, A.ColumnRef):
                c = t.column(e.name)
                if c is None and e.name.lower() in ROWID_NAMES and t.rowid_alias is not None:
                    c = t.columns[t.rowid_alias]
                cols.append(c.name if c is not None else e.name)
            else:
                cols.append(expr_text(sql, e))
        c = compile_row_exprs(t, names, exprs, s)
        c.columns = cols
        if reals and intreal:
            fn = c.fn

            def ret(txn: Any, p: Any, conn: Any, rowid: Any, rec: Any) -> tuple:
                out = fn(txn, p, conn, rowid, rec)
                if any(type(out[i]) is float for i in reals):
                    out = list(out)
                    for i in reals:
                        v = out[i]
                        if type(v) is float and v.is_integer() and -2.0**63 <= v < 2.0**63:
                            out[i] = int(v)
                    out = tuple(out)
                return out
            c.fn = ret
        return c
    return eng._plan(key + ("\x00returning" if intreal else "\x00returning-d"), s, build)


# -- INSERT -----------------------------------------------------------------------

class _ValuesPlan:
    __slots__ = ("rows",)

    def __init__(self, rows: list) -> None:
        self.rows = rows


def _source_rows(eng: Any, txn: Any, s: Schema, stmt: A.Insert, sql: str, params: list,
                 conn: Any, tname: str, n: int, ntargets: int, has_columns: bool) -> list:
    src = stmt.source
    if src is None:
        return [()]
    if isinstance(src.core, A.Values) and not src.compound and src.with_ is None \
            and not src.order_by and src.limit is None:
        exprs_rows = src.core.rows
        for er in exprs_rows:
            if len(er) != ntargets:
                if not has_columns:
                    raise OperationalError(f"table {tname} has {n} columns but "
                                           f"{len(er)} values were supplied")
                raise OperationalError(f"{len(er)} values for {ntargets} columns")
        plans = eng._plan(sql, s, lambda: _ValuesPlan([compile_exprs(list(er), s)
                                                        for er in exprs_rows]))
        return [c.fn(txn, params, conn) for c in plans.rows]
    if stmt.with_ is not None and src.with_ is None:
        import attrs
        src = attrs.evolve(src, with_=stmt.with_)
    c = eng._plan(sql, s, lambda: compile_select(src, sql, s))
    rows = c.fn(txn, params, conn)
    width = len(c.columns) if c.columns else (len(rows[0]) if rows else ntargets)
    if width != ntargets:
        if not has_columns:
            raise OperationalError(f"table {tname} has {n} columns but "
                                   f"{width} values were supplied")
        raise OperationalError(f"{width} values for {ntargets} columns")
    return rows


def _upsert_targets(info: TableInfo, clauses: tuple) -> list:
    """Match each ON CONFLICT target to the rowid or a unique index (SQLite's rules)."""
    t = info.t
    out = []
    for k, u in enumerate(clauses):
        if u.target is None:
            if k != len(clauses) - 1:
                raise OperationalError("ON CONFLICT clause does not match any PRIMARY KEY "
                                       "or UNIQUE constraint")
            out.append((u, None))
            continue
        cols = []
        colls = []
        for term in u.target:
            e = term.expr
            coll = None
            if isinstance(e, A.Collate):
                coll = e.collation.upper()
                e = e.expr
            c = t.column(e.name) if isinstance(e, A.ColumnRef) else None
            if c is None and isinstance(e, A.ColumnRef) and e.name.lower() not in ROWID_NAMES:
                raise OperationalError(f"no such column: {e.name}")
            cols.append(c.index if c is not None else (-1 if isinstance(e, A.ColumnRef) and
                                                          e.name.lower() in ROWID_NAMES
                                                          else e))
            colls.append(coll)
        found: Any = False
        if len(cols) == 1 and (cols[0] == -1 or (t.rowid_alias is not None and
                                                  cols[0] == t.rowid_alias)) \
                and u.target_where is None:
            found = "rowid"
        else:
            for x in info.uixs:
                ix = x.ix
                if len(ix.columns) != len(cols):
                    continue
                if ix.where is not None and (u.target_where is None or
                                             u.target_where != ix.where):
                    continue
                mine = []
                for c, e in zip(ix.columns, ix.exprs):
                    mine.append(c if e is None else e)
                if all(any(m == c for m in mine) for c in cols) and \
                        all(cl is None or cl == (ix.collations[i] or "BINARY")
                            for i, cl in enumerate(colls)):
                    found = x
                    break
        if found is False:
            raise OperationalError("ON CONFLICT clause does not match any PRIMARY KEY "
                                   "or UNIQUE constraint")
        out.append((u, found))
    return out


def _excluded_params(info: TableInfo, base: int) -> Any:
    n = info.n

    def fn(node: Any) -> Any:
        if isinstance(node, A.ColumnRef) and node.table is not None and \
                node.table.lower() == "excluded":
            c = info.t.column(node.name)
            if c is None:
                if node.name.lower() in ROWID_NAMES:
                    return A.Param(index=base + n + 1, pos=node.pos)
                raise OperationalError(f"no such column: excluded.{node.name}")
            if c.index == info.alias:
                return A.Param(index=base + n + 1, pos=node.pos)
            return A.Param(index=base + c.index + 1, pos=node.pos)
        return None
    return fn


class _UpsertPlan:
    __slots__ = ("slots", "fn", "has_where")

    def __init__(self, slots: list, fn: Any, has_where: bool) -> None:
        self.slots = slots
        self.fn = fn
        self.has_where = has_where


def _upsert_plan(eng: Any, s: Schema, info: TableInfo, names: tuple, u: A.Upsert, k: int,
                 sql: str, base: int) -> _UpsertPlan:
    def build() -> _UpsertPlan:
        fn = _excluded_params(info, base)
        slots, exprs = _assignments(info.t, u.assignments)
        exprs = [rewrite(e, fn) for e in exprs]
        if u.where is not None:
            exprs.append(rewrite(u.where, fn))
        c = compile_row_exprs(info.t, names, exprs, s) if exprs else None
        return _UpsertPlan(slots, c.fn if c else None, u.where is not None)
    return eng._plan(f"{sql}\x00upsert{k}\x00{base}", s, build)


def _assignments(t: Table, assignments: tuple) -> tuple[list[int], list[A.Expr]]:
    slots: list[int] = []
    exprs: list[A.Expr] = []
    for a in assignments:
        vals: list[A.Expr]
        if len(a.columns) == 1:
            vals = [a.value]
        elif isinstance(a.value, A.Vector):
            if len(a.value.items) != len(a.columns):
                raise OperationalError(f"{len(a.columns)} columns assigned "
                                       f"{len(a.value.items)} values")
            vals = list(a.value.items)
        else:
            from storage.errors import NotSupportedError
            raise NotSupportedError("row-value assignments from subqueries are not supported yet")
        for name, v in zip(a.columns, vals):
            col = t.column(name)
            if col is not None:
                slots.append(col.index)
            elif name.lower() in ROWID_NAMES:
                slots.append(-1)
            else:
                raise OperationalError(f"no such column: {name}")
            exprs.append(v)
    return slots, exprs


def _write_target(eng: Any, txn: Any, qt: A.QualifiedTable) -> tuple[Any, Any, Any, Any]:
    """(schema, view or None, table, its write info) for the table a write names."""
    s = eng.schema(txn)
    if qt.schema is not None and qt.schema.lower() != "main":
        raise OperationalError(f"unknown database {qt.schema}")
    view = s.views.get(qt.name.lower()) if s.table(qt.name) is None else None
    if view is not None:
        return s, view, None, None
    t = eng._table(s, qt.name, qt.schema)
    return s, None, t, table_info(eng, s, t)


def _note_fail(exc: BaseException, count: int) -> None:
    """OR FAIL / RAISE(FAIL): remember how many rows the statement changed before it."""
    if getattr(exc, "mvlite_fail", False) and not hasattr(exc, "mvlite_changes"):
        exc.mvlite_changes = count  # type: ignore[attr-defined]


def do_insert(eng: Any, txn: Any, stmt: A.Insert, sql: str, params: list, conn: Any,
              outer_oe: str | None = None) -> Any:
    """Run an INSERT; returns the change count, or a Result when it has RETURNING."""
    s, view, t, info = _write_target(eng, txn, stmt.table)
    if view is not None:
        return TR.insert_into_view(eng, txn, s, view, stmt, sql, params, conn)
    qt = stmt.table
    n = info.n
    oe = outer_oe or stmt.or_conflict
    if stmt.verb == "REPLACE":
        oe = outer_oe or "REPLACE"
    if stmt.columns is None:
        targets = list(range(n))
    else:
        targets = []
        for name in stmt.columns:
            col = t.column(name)
            if col is not None:
                targets.append(col.index)
            elif name.lower() in ROWID_NAMES:
                targets.append(-1)
            else:
                raise OperationalError(f"table {t.name} has no column named {name}")
    names = ((qt.alias or qt.name).lower(),)
    upsert = _upsert_targets(info, stmt.upsert) if stmt.upsert else None
    if upsert:
        for k, u in enumerate(stmt.upsert):  # compiled up front: errors as at prepare time
            if u.do_update:
                _upsert_plan(eng, s, info, names, u, k, sql, len(params))
    ret = returning_plan(eng, s, t, names, stmt.returning, sql, sql) if stmt.returning else None
    rows = _source_rows(eng, txn, s, stmt, sql, params, conn, t.name, n, len(targets),
                        stmt.columns is not None)
    if stmt.source is None:
        targets = []
    trig = TR.table_triggers(s, t.name, "INSERT")
    given = set(targets)
    fill = [i for i in range(n) if i not in given and info.defaults[i] is not None]
    count = 0
    out: list[tuple] = []
    base = len(params)
    start_rowid = eng.last_insert_rowid
    try:
        for values in rows:
            row: list[Any] = [None] * n
            rowid = None
            for slot, v in zip(targets, values):
                if slot == -1:
                    rowid = v
                else:
                    row[slot] = v
            for i in fill:
                row[i] = info.default(i, txn, conn)
            try:
                if trig is not None and trig.before:
                    new = list(row)
                    nr = rowid if rowid is not None else (
                        row[info.alias] if info.alias is not None else None)
                    TR.fire(eng, txn, s, trig.before, info, None, None,
                            _affined(info, new), nr if nr is not None else -1, conn, oe)
                rowid, rec = _prepare(eng, txn, info, row, rowid, oe, conn)
                hit = _unique_checks(eng, txn, info, rec, rowid, None, oe, upsert)
                if hit is not None:
                    clause, victim = hit
                    if not clause.do_update:
                        continue
                    r = _do_upsert_update(eng, txn, s, info, names, clause, stmt, sql, params,
                                          conn, victim, rec, rowid, base, trig_upd=True)
                    if r is None:
                        continue
                    count += 1
                    if ret is not None:
                        out.append(ret.fn(txn, params, conn, r[0], r[1]))
                    continue
                rowid = write_insert(eng, txn, info, rowid, rec)
                count += 1
                eng.last_insert_rowid = rowid
                if ret is not None:
                    out.append(ret.fn(txn, params, conn, rowid, rec))
                if trig is not None and trig.after:
                    TR.fire(eng, txn, s, trig.after, info, None, None, _full(info, rec, rowid),
                            rowid, conn, oe)
            except Skip:
                continue
    except BaseException as exc:
        _note_fail(exc, count)
        if type(exc) is OperationalError:
            # SQLite compiles trigger programs with the statement: their errors
            # come before any row is written
            eng.last_insert_rowid = start_rowid
        raise
    if ret is not None:
        from sql.engine import Result
        return Result(ret.columns, out, count)
    return count


def _affined(info: TableInfo, row: list) -> list:
    """NEW values for BEFORE INSERT triggers: the column affinities applied."""
    out = list(row)
    for i, a in enumerate(info.affs):
        if a is not None and a != V.BLOB:
            out[i] = V.apply_affinity(out[i], a)
    return out


def _full(info: TableInfo, rec: tuple, rowid: int) -> list:
    row = list(rec)
    if info.alias is not None:
        row[info.alias] = rowid
    return row


def _do_upsert_update(eng: Any, txn: Any, s: Schema, info: TableInfo, names: tuple,
                      clause: A.Upsert, stmt: A.Insert, sql: str, params: list, conn: Any,
                      victim: int, rec: tuple, rowid: Any, base: int,
                      trig_upd: bool) -> tuple | None:
    """DO UPDATE on the conflicting row; returns (rowid, new record) or None if WHERE said no."""
    k = stmt.upsert.index(clause)
    plan = _upsert_plan(eng, s, info, names, clause, k, sql, base)
    old = txn.get(info.tree, victim)
    if old is None:
        return None
    old = info.pad(old)
    excl = _full(info, rec, rowid if rowid is not None else -1)
    p = list(params) + excl + [rowid]
    vals = plan.fn(txn, p, conn, victim, old) if plan.fn is not None else ()
    if plan.has_where:
        if V.truth(vals[-1]) is not True:
            return None
        vals = vals[:-1]
    trig = TR.table_triggers(s, info.t.name, "UPDATE")
    return _update_one(eng, txn, s, info, victim, old, plan.slots, vals, None, conn, trig,
                       set(plan.slots))


def _update_one(eng: Any, txn: Any, s: Schema, info: TableInfo, old_rowid: int, old: tuple,
                slots: list, vals: tuple, oe: str | None, conn: Any, trig: Any,
                changed: set) -> tuple:
    """Apply SET values to one row with checks and triggers; returns (rowid, record)."""
    alias = info.alias
    row = list(old)
    new_rowid: Any = old_rowid
    if alias is not None:
        row[alias] = old_rowid
    for slot, v in zip(slots, vals):
        if slot == -1 or slot == alias:
            new_rowid = v
            if alias is not None:
                row[alias] = v
        else:
            row[slot] = v
    oldfull = _full(info, old, old_rowid)
    if trig is not None and trig.before:
        fired = TR.for_update(trig.before, changed, info)
        if fired:
            TR.fire(eng, txn, s, fired, info, oldfull, old_rowid, _affined(info, row),
                    new_rowid, conn, oe)
            cur = txn.get(info.tree, old_rowid)
            if cur is None:
                raise Skip()
    if alias is None:
        rid, rec = _prepare(eng, txn, info, row, new_rowid, oe, conn)
    else:
        rid, rec = _prepare(eng, txn, info, row, None, oe, conn)
    if rid is None:
        if alias is None:
            raise_conflict(txn, "ABORT", f"NOT NULL constraint failed: {info.t.name}.rowid")
        raise IntegrityError("datatype mismatch")
    _unique_checks(eng, txn, info, rec, rid, old_rowid, oe)
    write_update(eng, txn, info, old_rowid, old, rid, rec)
    if trig is not None and trig.after:
        fired = TR.for_update(trig.after, changed, info)
        if fired:
            TR.fire(eng, txn, s, fired, info, oldfull, old_rowid, _full(info, rec, rid), rid,
                    conn, oe)
    return rid, rec


# -- UPDATE / DELETE ----------------------------------------------------------------

def _limited(stmt: Any, targets: list, eng: Any, txn: Any, s: Schema, params: list,
             conn: Any) -> list:
    if stmt.order_by or stmt.limit is not None:
        from storage.errors import NotSupportedError
        raise NotSupportedError("ORDER BY / LIMIT on UPDATE and DELETE is not supported")
    return targets


def _from_targets(eng: Any, txn: Any, s: Schema, info: TableInfo, stmt: Any,
                  exprs: list, sql: str, params: list, conn: Any) -> list:
    """UPDATE ... FROM (lang_update.html 2.2): the target joined with the FROM items.

    Runs ``[WITH ...] SELECT t.rowid, <SET values> FROM t, <from> WHERE <where>``
    (also for UPDATE/DELETE with a WITH clause); a target row matched by several
    FROM rows is updated once, with the last match.
    """
    _limited(stmt, [], eng, txn, s, params, conn)
    qt = stmt.table
    alias = qt.alias or qt.name
    f = getattr(stmt, "from_", None)
    joins = () if f is None else (A.Join("COMMA", f.first),) + tuple(f.joins)
    core = A.SelectCore(
        columns=(A.ResultColumn(A.ColumnRef(name="rowid", table=alias)),) +
        tuple(A.ResultColumn(e) for e in exprs),
        from_=A.FromClause(A.TableName(name=info.t.name, alias=qt.alias,
                                       indexed_by=qt.indexed_by, not_indexed=qt.not_indexed),
                           joins),
        where=stmt.where)
    sel = A.Select(core=core, with_=stmt.with_)
    c = eng._plan(sql + "\x00from", s, lambda: compile_select(sel, sql, s))
    last: dict = {}
    for r in c.fn(txn, params, conn):
        last[r[0]] = tuple(r[1:])  # the last match wins, as in SQLite's ephemeral table
    out = []
    tree = info.tree
    for rowid, vals in last.items():
        rec = txn.get(tree, rowid)
        if rec is not None:
            out.append((rowid, rec, vals))
    return out


def do_update(eng: Any, txn: Any, stmt: A.Update, sql: str, params: list, conn: Any,
              outer_oe: str | None = None) -> Any:
    s, view, t, info = _write_target(eng, txn, stmt.table)
    if view is not None:
        return TR.update_view(eng, txn, s, view, stmt, sql, params, conn)
    qt = stmt.table
    names = ((qt.alias or qt.name).lower(),)
    slots, exprs = _assignments(t, stmt.assignments)
    if stmt.from_ is not None or stmt.with_ is not None:
        targets = _from_targets(eng, txn, s, info, stmt, exprs, sql, params, conn)
    else:
        c = eng._plan(sql, s, lambda: compile_where_scan(t, names, stmt.where, exprs, s,
                                                         qt.indexed_by, qt.not_indexed))
        targets = _limited(stmt, c.fn(txn, params, conn), eng, txn, s, params, conn)
    ret = returning_plan(eng, s, t, names, stmt.returning, sql, sql) if stmt.returning else None
    oe = outer_oe or stmt.or_conflict
    trig = TR.table_triggers(s, t.name, "UPDATE")
    changed = set(slots)
    count = 0
    out: list[tuple] = []
    tree = info.tree
    try:
        for old_rowid, rec, vals in targets:
            if trig is not None or oe == "REPLACE":
                # an earlier row's trigger or REPLACE may have deleted or changed this one
                cur = txn.get(tree, old_rowid)
                if cur is None:
                    continue
                if trig is not None and tuple(cur) != tuple(rec):
                    rec = cur
            rec = info.pad(tuple(rec))
            try:
                rid, newrec = _update_one(eng, txn, s, info, old_rowid, rec, slots, vals, oe,
                                          conn, trig, changed)
            except Skip:
                continue
            count += 1
            if ret is not None:
                out.append(ret.fn(txn, params, conn, rid, newrec))
    except BaseException as exc:
        _note_fail(exc, count)
        raise
    if ret is not None:
        from sql.engine import Result
        return Result(ret.columns, out, count)
    return count


def do_delete(eng: Any, txn: Any, stmt: A.Delete, sql: str, params: list, conn: Any,
              outer_oe: str | None = None) -> Any:
    s, view, t, info = _write_target(eng, txn, stmt.table)
    if view is not None:
        return TR.delete_view(eng, txn, s, view, stmt, sql, params, conn)
    qt = stmt.table
    names = ((qt.alias or qt.name).lower(),)
    if stmt.with_ is not None:
        targets = _from_targets(eng, txn, s, info, stmt, [], sql, params, conn)
    else:
        c = eng._plan(sql, s, lambda: compile_where_scan(t, names, stmt.where, [], s,
                                                         qt.indexed_by, qt.not_indexed))
        targets = _limited(stmt, c.fn(txn, params, conn), eng, txn, s, params, conn)
    ret = returning_plan(eng, s, t, names, stmt.returning, sql, sql, intreal=False) \
        if stmt.returning else None
    trig = TR.table_triggers(s, t.name, "DELETE")
    tree = info.tree
    count = 0
    out: list[tuple] = []
    try:
        for rowid, rec, _ in targets:
            if trig is not None:
                cur = txn.get(tree, rowid)
                if cur is None:
                    continue
                rec = cur
            rec = info.pad(tuple(rec))
            try:
                if trig is not None and trig.before:
                    TR.fire(eng, txn, s, trig.before, info, _full(info, rec, rowid), rowid,
                            None, None, conn, None)
                    cur = txn.get(tree, rowid)
                    if cur is None:
                        continue
                    rec = info.pad(tuple(cur))
                if ret is not None:
                    out.append(ret.fn(txn, params, conn, rowid, rec))
                delete_row(eng, txn, info, rowid, rec)
                count += 1
                if trig is not None and trig.after:
                    TR.fire(eng, txn, s, trig.after, info, _full(info, rec, rowid), rowid,
                            None, None, conn, None)
            except Skip:
                continue
    except BaseException as exc:
        _note_fail(exc, count)
        raise
    if ret is not None:
        from sql.engine import Result
        return Result(ret.columns, out, count)
    return count


# -- CREATE TABLE checks ------------------------------------------------------------

def _not_constant(e: Any) -> bool:
    bad = []

    def walk(node: Any) -> Any:
        if isinstance(node, A.ColumnRef) and not (node.double_quoted and node.table is None):
            bad.append(node)
        elif isinstance(node, (A.Subquery, A.Exists, A.InSelect)):
            bad.append(node)
        return None
    rewrite(e, walk)
    return bool(bad)


def validate_table(s: Schema, t: Table) -> None:
    """CREATE TABLE-time errors SQLite reports: non-constant DEFAULT, CHECK names."""
    for c in t.columns:
        if c.default is not None and _not_constant(c.default):
            raise OperationalError(f"default value of column [{c.name}] is not constant")
    for _name, e, _text in t.checks:
        compile_row_exprs(t, (t.name.lower(),), [e], s)


# -- CREATE TABLE ... AS SELECT ------------------------------------------------------

_AFF_TYPE = {V.INTEGER: " INT", V.REAL: " REAL", V.TEXT: " TEXT", V.NUMERIC: " NUM"}


def _ident(name: str) -> str:
    """An identifier as SQLite's identPut writes it into generated CREATE text."""
    from sql.tokenizer import KEYWORDS
    plain = name != "" and not name[0].isdigit() and all(
        ch.isalnum() or ch == "_" for ch in name) and name.isascii()
    if plain and name.upper() not in KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _from_tables(s: Schema, core: Any) -> list[tuple[str, Table]]:
    out: list[tuple[str, Table]] = []
    f = core.from_ if isinstance(core, A.SelectCore) else None
    if f is None:
        return out
    for src in (f.first,) + tuple(j.source for j in f.joins):
        if isinstance(src, A.TableName):
            t = s.table(src.name)
            if t is not None:
                out.append(((src.alias or src.name).lower(), t))
    return out


def _expr_affinity(e: Any, tables: list) -> str | None:
    while isinstance(e, A.Collate):
        e = e.expr
    if isinstance(e, A.Cast):
        return V.affinity_of(e.type_name)
    if isinstance(e, A.ColumnRef):
        for alias, t in tables:
            if e.table is not None and e.table.lower() != alias:
                continue
            c = t.column(e.name)
            if c is not None:
                return c.affinity
            if e.name.lower() in ROWID_NAMES:
                return V.INTEGER
    return None


def _ident_len(name: str) -> int:
    return len(name) + name.count('"') + 2


def names_of(columns: list[str]) -> list[str]:
    """Result column names made distinct as sqlite3ColumnsFromExprList does ("x:1")."""
    seen: set[str] = set()
    out = []
    for name in columns:
        base = name
        cnt = 0
        while name.lower() in seen:
            cnt += 1
            name = f"{base}:{cnt}"
        seen.add(name.lower())
        out.append(name)
    return out


def ctas_columns(s: Schema, sel: A.Select, names: list[str]) -> str:
    """The column list of the CREATE text SQLite generates for CREATE TABLE ... AS SELECT."""
    core = sel.core
    tables = _from_tables(s, core)
    affs: list[str | None] = []
    if isinstance(core, A.SelectCore):
        for rc in core.columns:
            if isinstance(rc, A.Star):
                for alias, t in tables:
                    if rc.table is None or rc.table.lower() == alias:
                        affs.extend(c.affinity for c in t.columns)
            else:
                affs.append(_expr_affinity(rc.expr, tables))
    if len(affs) != len(names):
        affs = [None] * len(names)
    return [_ident(name) + _AFF_TYPE.get(aff or "", "")
            for name, aff in zip(names_of(names), affs)]


def create_table_as(eng: Any, txn: Any, stmt: A.CreateTable, sql: str, params: list,
                    conn: Any) -> int:
    """CREATE TABLE ... AS SELECT: generated CREATE text, then the rows (lang_createtable 3)."""
    s = eng.schema(txn)
    sel = stmt.as_select
    c = compile_select(sel, sql, s)
    rows = c.fn(txn, params, conn)
    parts = ctas_columns(s, sel, list(c.columns))
    # createTableStmt's layout: one line when short, else one column per line
    size = sum(_ident_len(n) + 5 for n in names_of(c.columns)) + _ident_len(stmt.name)
    if size < 50:
        text = "CREATE TABLE " + _ident(stmt.name) + "(" + ",".join(parts) + ")"
    else:
        text = "CREATE TABLE " + _ident(stmt.name) + "(" + ",".join(
            "\n  " + p for p in parts) + "\n)"
    txn.begin_schema_change()
    tree = txn.create_tree("table")
    txn.insert_auto(eng.db.table(1), ("table", stmt.name, stmt.name, tree.root, text))
    s2 = eng.schema(txn)
    t = s2.table(stmt.name)
    info = table_info(eng, s2, t)
    affs = info.affs
    for r in rows:
        rec = tuple(V.apply_affinity(v, a) if a is not None and a != V.BLOB else v
                    for v, a in zip(r, affs))
        write_insert(eng, txn, info, None, rec)
    return 0


# last: sql.triggers imports this module's Skip / raise_conflict / rewrite
from sql import triggers as TR  # noqa: E402
