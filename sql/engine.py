"""The statement engine: prepare, execute, DDL, writes and constraint checks.

Single job: run one parsed statement inside one MVCC transaction for a
connection: SELECT through compiled plans (``sql.compiler``), INSERT /
UPDATE / DELETE with index maintenance and SQLite's NOT NULL / UNIQUE /
datatype errors, CREATE/DROP TABLE/INDEX by writing ``sqlite_schema`` rows
(layout in ``sql.schema``) and asking ``mvcc`` for new trees. Transaction
control (BEGIN/COMMIT/...) belongs to ``mvlite.connection``. Each data
statement runs under an internal savepoint so that a failing statement
undoes only its own changes, as in SQLite.

Caches: the ``Schema`` is rebuilt when the database's schema version moves
(or inside a transaction that changed the schema); compiled plans are cached
per (SQL text, schema generation).
"""
from __future__ import annotations

import itertools
from typing import Any

from mvcc.errors import KeyExistsError
from sql import ast as A
from sql import values as V
from sql.compiler import (
    Compiled, compile_exprs, compile_select, compile_where_scan, const_value,
)
from sql.registry import Registry
from sql.schema import (
    ROWID_NAMES, Index, Schema, Table, auto_index, auto_index_specs, index_from_ast,
    keyinfo_for, table_from_ast,
)
from storage.errors import IntegrityError, NotSupportedError, OperationalError

__all__ = ["Engine", "Result"]

_gen = itertools.count(1)
_STMT_SP = "\x00mvlite-stmt"
SCHEMA_ROOT = 1


class _Trees:
    """Trees for schema objects, by their current root (provisional roots too)."""

    __slots__ = ("db",)

    def __init__(self, db: Any) -> None:
        self.db = db

    def table(self, t: Table) -> Any:
        return self.db.table(t.root)

    def index(self, ix: Index) -> Any:
        return self.db.index(ix.root, ix.keyinfo, ix.unique)


class Result:
    """What a statement produced: result columns + rows (SELECT) or a change count."""

    __slots__ = ("columns", "rows", "changes", "is_query")

    def __init__(self, columns: list[str] | None, rows: list[tuple], changes: int = 0) -> None:
        self.columns = columns
        self.rows = rows
        self.changes = changes
        self.is_query = columns is not None


class Engine:
    """Per-connection engine state: schema cache, plan cache, change counters."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.trees = _Trees(db)
        self._schema: Schema | None = None
        self._plans: dict[tuple[str, int], Compiled] = {}
        #: the connection's functions/aggregates/collations (sql.registry)
        self.registry = Registry()
        #: change capture (sql.cdc) when a capture mode is on, else None
        self.capture: Any = None
        self.changes = 0
        self.total_changes = 0
        self.last_insert_rowid = 0

    # -- schema ----------------------------------------------------------------

    def schema(self, txn: Any) -> Schema:
        s = self._schema
        if not txn.changes_schema and s is not None and s.version == txn.schema_version \
                and txn.schema_version == self.db.schema_version:
            return s
        rows = [rec for _rowid, rec in txn.rows(self.db.table(SCHEMA_ROOT))]
        s = Schema.from_rows(rows, txn.schema_version)
        s.gen = next(_gen)  # type: ignore[attr-defined]
        s.trees = self.trees  # type: ignore[attr-defined]
        s.registry = self.registry  # type: ignore[attr-defined]
        if s.sequence_root and s.sequence_root > 0:
            self.db.sequence_root = s.sequence_root
        if not txn.changes_schema and txn.schema_version == self.db.schema_version:
            self._schema = s
        return s

    def invalidate(self) -> None:
        self._schema = None

    def _plan(self, key: str, s: Schema, build: Any) -> Compiled:
        k = (key, s.gen, self.registry.generation)  # type: ignore[attr-defined]
        c = self._plans.get(k)
        if c is None:
            if len(self._plans) > 512:
                self._plans.clear()
            c = self._plans[k] = build()
        return c

    # -- dispatch ----------------------------------------------------------------

    def execute(self, txn: Any, stmt: A.Statement, sql: str, params: list, conn: Any) -> Result:
        """Run one data or schema statement inside ``txn`` (statement-atomic)."""
        t = type(stmt)
        if t is A.Select:
            s = self.schema(txn)
            c = self._plan(sql, s, lambda: compile_select(stmt, sql, s))
            return Result(c.columns, c.fn(txn, params, conn))
        if t is A.Explain:
            raise NotSupportedError("EXPLAIN is not supported yet")
        handler = _HANDLERS.get(t)
        if handler is None:
            raise NotSupportedError(f"{t.__name__.upper()} statements are not supported yet")
        txn.savepoint(_STMT_SP)
        try:
            n = handler(self, txn, stmt, sql, params, conn)
        except BaseException:
            if txn.state == 0:  # still ACTIVE: undo this statement only
                try:
                    txn.rollback_to(_STMT_SP)
                    txn.release(_STMT_SP)
                except Exception:
                    pass
            raise
        txn.release(_STMT_SP)
        if t in (A.Insert, A.Update, A.Delete):
            self.changes = n
            self.total_changes += n
        return Result(None, [], n)

    # -- row-change hook ------------------------------------------------------------

    def _row_changed(self, txn: Any, t: Table, kind: int, rowid: int,
                     old: tuple | None, new: tuple | None) -> None:
        """Every row written by a statement passes through here, after the write.

        ``kind``: 1 insert, 0 update, -1 delete; ``old``/``new`` are the full
        record tuples (None where absent; for a rowid-alias table the alias
        slot holds None, as on disk). Change capture (``sql.cdc``) hooks in
        here so that it sees exactly the rows the B-trees see.
        """
        cap = self.capture
        if cap is not None:
            cap.row_changed(self, txn, t, kind, rowid, old, new)

    # -- helpers -----------------------------------------------------------------

    def _table(self, s: Schema, name: str, schema_name: str | None = None) -> Table:
        if schema_name is not None and schema_name.lower() != "main":
            raise OperationalError(f"unknown database {schema_name}")
        t = s.table(name)
        if t is None:
            raise OperationalError(f"no such table: {name}")
        if name.lower() == "sqlite_schema" or name.lower() == "sqlite_master":
            raise OperationalError(f"table {name} may not be modified")
        if t.without_rowid:
            raise NotSupportedError(f"WITHOUT ROWID tables are not supported yet: {t.name}")
        if not t.supported:
            raise NotSupportedError(f"generated columns are not supported yet: {t.name}")
        for ix in t.indexes:
            if not ix.supported:
                raise NotSupportedError(f"writes to tables with expression or partial "
                                        f"indexes are not supported yet: {ix.name}")
        return t

    def _finish_row(self, t: Table, row: list, rowid: Any) -> tuple[Any, tuple]:
        """Apply affinities and NOT NULL; return (rowid or None for auto, record tuple)."""
        alias = t.rowid_alias
        cols = t.columns
        for i, col in enumerate(cols):
            if i == alias:
                continue
            v = row[i]
            if col.affinity != V.BLOB:
                v = row[i] = V.apply_affinity(v, col.affinity)
            if v is None and col.notnull:
                raise IntegrityError(f"NOT NULL constraint failed: {t.name}.{col.name}")
        if alias is not None:
            rowid = row[alias]
            row[alias] = None
        if rowid is not None:
            r = V.apply_affinity(rowid, V.INTEGER)
            if type(r) is not int:
                raise IntegrityError("datatype mismatch")
            rowid = r
        return rowid, tuple(row)

    def _index_key(self, t: Table, ix: Index, row: tuple, rowid: int) -> tuple:
        alias = t.rowid_alias
        return tuple(rowid if c == alias else row[c] for c in ix.columns) + (rowid,)

    def _check_unique(self, txn: Any, t: Table, row: tuple, rowid: int | None,
                      skip: int | None) -> None:
        for ix in t.indexes:
            if not ix.unique:
                continue
            prefix = self._index_key(t, ix, row, rowid if rowid is not None else 0)[:-1]
            if any(v is None for v in prefix):
                continue
            itree = self.trees.index(ix)
            for key in txn.index_keys(itree, prefix, prefix):
                if key[-1] != skip:
                    names = ", ".join(f"{t.name}.{t.columns[c].name}" for c in ix.columns)
                    raise IntegrityError(f"UNIQUE constraint failed: {names}")

    def _rowid_conflict(self, t: Table) -> IntegrityError:
        name = t.columns[t.rowid_alias].name if t.rowid_alias is not None else "rowid"
        return IntegrityError(f"UNIQUE constraint failed: {t.name}.{name}")

    # -- INSERT --------------------------------------------------------------------

    def _insert(self, txn: Any, stmt: A.Insert, sql: str, params: list, conn: Any) -> int:
        if stmt.with_ is not None or stmt.upsert or stmt.returning:
            raise NotSupportedError("WITH, UPSERT and RETURNING are not supported yet")
        if stmt.or_conflict not in (None, "ABORT") or stmt.verb != "INSERT":
            raise NotSupportedError("INSERT OR <conflict> / REPLACE is not supported yet")
        s = self.schema(txn)
        qt = stmt.table
        t = self._table(s, qt.name, qt.schema)
        n = len(t.columns)
        # target slots: column index, or -1 for an explicit rowid
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
        # the value rows
        if stmt.source is None:
            rows: list[tuple] = [()]
            targets = []
        else:
            src = stmt.source
            if isinstance(src.core, A.Values) and not src.compound and src.with_ is None \
                    and not src.order_by and src.limit is None:
                exprs_rows = src.core.rows
                for er in exprs_rows:
                    if len(er) != len(targets):
                        if stmt.columns is None:
                            raise OperationalError(f"table {t.name} has {n} columns but "
                                                   f"{len(er)} values were supplied")
                        raise OperationalError(f"{len(er)} values for {len(targets)} columns")
                plans = self._plan(sql, s, lambda: _ValuesPlan([compile_exprs(list(er))
                                                                for er in exprs_rows]))
                rows = [c.fn(txn, params, conn) for c in plans.rows]
            else:
                c = self._plan(sql, s, lambda: compile_select(src, sql, s))
                rows = c.fn(txn, params, conn)
                if rows and len(rows[0]) != len(targets):
                    raise OperationalError(f"table {t.name} has {n} columns but "
                                           f"{len(rows[0])} values were supplied")
        tree = self.trees.table(t)
        auto = t.name if t.autoincrement else None
        count = 0
        given = set(targets)
        for values in rows:
            row: list[Any] = [None] * n
            rowid = None
            for slot, v in zip(targets, values):
                if slot == -1:
                    rowid = v
                else:
                    row[slot] = v
            for i, col in enumerate(t.columns):
                if i not in given and col.default is not None:
                    row[i] = const_value(col.default)
            if t.rowid_alias is not None and -1 in given and t.rowid_alias in given:
                pass  # the alias column wins (SQLite takes the last assignment)
            rowid, rec = self._finish_row(t, row, rowid)
            self._check_unique(txn, t, rec, rowid, None)
            if rowid is None:
                rowid = txn.insert_auto(tree, rec, autoincrement=auto)
            else:
                try:
                    txn.insert(tree, rowid, rec)
                except KeyExistsError:
                    raise self._rowid_conflict(t) from None
                if auto:
                    txn.note_rowid(auto, rowid)
            for ix in t.indexes:
                txn.index_add(self.trees.index(ix), self._index_key(t, ix, rec, rowid))
            self._row_changed(txn, t, 1, rowid, None, rec)
            count += 1
            self.last_insert_rowid = rowid
        return count

    # -- UPDATE / DELETE -------------------------------------------------------------

    def _update(self, txn: Any, stmt: A.Update, sql: str, params: list, conn: Any) -> int:
        if stmt.with_ is not None or stmt.from_ is not None or stmt.returning or \
                stmt.order_by or stmt.limit is not None:
            raise NotSupportedError("UPDATE with WITH/FROM/RETURNING/ORDER BY/LIMIT "
                                    "is not supported yet")
        if stmt.or_conflict not in (None, "ABORT"):
            raise NotSupportedError("UPDATE OR <conflict> is not supported yet")
        s = self.schema(txn)
        qt = stmt.table
        t = self._table(s, qt.name, qt.schema)
        names = ((qt.alias or qt.name).lower(),)
        slots: list[int] = []
        exprs: list[A.Expr] = []
        for a in stmt.assignments:
            if len(a.columns) != 1:
                raise NotSupportedError("row-value assignments are not supported yet")
            name = a.columns[0]
            col = t.column(name)
            if col is not None:
                slots.append(col.index)
            elif name.lower() in ROWID_NAMES:
                slots.append(-1)
            else:
                raise OperationalError(f"no such column: {name}")
            exprs.append(a.value)
        c = self._plan(sql, s, lambda: compile_where_scan(t, names, stmt.where, exprs, s,
                                                          qt.indexed_by, qt.not_indexed))
        targets = c.fn(txn, params, conn)
        tree = self.trees.table(t)
        alias = t.rowid_alias
        itrees = [(ix, self.trees.index(ix)) for ix in t.indexes]
        count = 0
        for old_rowid, rec, vals in targets:
            if len(rec) < len(t.columns):
                rec = tuple(rec) + (None,) * (len(t.columns) - len(rec))
            row = list(rec)
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
            if alias is None:
                rid, newrec = self._finish_row(t, row, new_rowid)
            else:
                rid, newrec = self._finish_row(t, row, None)
            if rid is None:
                raise IntegrityError(f"NOT NULL constraint failed: {t.name}.rowid") \
                    if alias is None else IntegrityError("datatype mismatch")
            self._check_unique(txn, t, newrec, rid, old_rowid)
            if rid != old_rowid:
                if txn.get(tree, rid) is not None:
                    raise self._rowid_conflict(t)
            for ix, it in itrees:
                ok = self._index_key(t, ix, rec, old_rowid)
                nk = self._index_key(t, ix, newrec, rid)
                if ok != nk or _types(ok) != _types(nk):
                    txn.index_remove(it, ok)
            if rid == old_rowid:
                txn.update(tree, rid, newrec)
            else:
                txn.delete(tree, old_rowid)
                txn.insert(tree, rid, newrec)
            for ix, it in itrees:
                ok = self._index_key(t, ix, rec, old_rowid)
                nk = self._index_key(t, ix, newrec, rid)
                if ok != nk or _types(ok) != _types(nk):
                    txn.index_add(it, nk)
            if rid == old_rowid:
                self._row_changed(txn, t, 0, rid, tuple(rec), newrec)
            else:  # a changed rowid is a delete and an insert, as in SQLite
                self._row_changed(txn, t, -1, old_rowid, tuple(rec), None)
                self._row_changed(txn, t, 1, rid, None, newrec)
            count += 1
        return count

    def _delete(self, txn: Any, stmt: A.Delete, sql: str, params: list, conn: Any) -> int:
        if stmt.with_ is not None or stmt.returning or stmt.order_by or stmt.limit is not None:
            raise NotSupportedError("DELETE with WITH/RETURNING/ORDER BY/LIMIT "
                                    "is not supported yet")
        s = self.schema(txn)
        qt = stmt.table
        t = self._table(s, qt.name, qt.schema)
        names = ((qt.alias or qt.name).lower(),)
        c = self._plan(sql, s, lambda: compile_where_scan(t, names, stmt.where, [], s,
                                                          qt.indexed_by, qt.not_indexed))
        targets = c.fn(txn, params, conn)
        tree = self.trees.table(t)
        itrees = [(ix, self.trees.index(ix)) for ix in t.indexes]
        for rowid, rec, _ in targets:
            if len(rec) < len(t.columns):
                rec = tuple(rec) + (None,) * (len(t.columns) - len(rec))
            for ix, it in itrees:
                txn.index_remove(it, self._index_key(t, ix, rec, rowid))
            txn.delete(tree, rowid)
            self._row_changed(txn, t, -1, rowid, tuple(rec), None)
        return len(targets)

    # -- DDL ----------------------------------------------------------------------

    def _schema_insert(self, txn: Any, row: tuple) -> None:
        txn.insert_auto(self.db.table(SCHEMA_ROOT), row)

    def _create_table(self, txn: Any, stmt: A.CreateTable, sql: str, params: list,
                      conn: Any) -> int:
        if stmt.temp or (stmt.schema is not None and stmt.schema.lower() != "main"):
            raise NotSupportedError("TEMP tables and attached databases are not supported yet")
        if stmt.as_select is not None:
            raise NotSupportedError("CREATE TABLE ... AS SELECT is not supported yet")
        s = self.schema(txn)
        name = stmt.name
        if s.table(name) is not None or s.has_object(name):
            if stmt.if_not_exists:
                return 0
            kind = "table" if s.table(name) is not None else \
                ("index" if s.index(name) is not None else s.others.get(name.lower(), "table"))
            if kind == "table":
                raise OperationalError(f"table {name} already exists")
            raise OperationalError(f"there is already an {kind} named {name}")
        if name.lower().startswith("sqlite_"):
            raise OperationalError(f"object name reserved for internal use: {name}")
        if stmt.without_rowid:
            raise NotSupportedError("WITHOUT ROWID tables are not supported yet")
        t = table_from_ast(stmt, 0)
        if not t.supported:
            raise NotSupportedError("generated columns are not supported yet")
        seen = set()
        for col in t.columns:
            if col.name.lower() in seen:
                raise OperationalError(f"duplicate column name: {col.name}")
            seen.add(col.name.lower())
        if t.autoincrement and t.rowid_alias is None:
            raise OperationalError("AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY")
        txn.begin_schema_change()
        tree = txn.create_tree("table")
        self._schema_insert(txn, ("table", name, name, tree.root, stmt.schema_sql))
        for n, cols in enumerate(auto_index_specs(t), 1):
            ix = auto_index(t, n, cols, 0)
            itree = txn.create_tree("index", keyinfo=ix.keyinfo, unique=True)
            self._schema_insert(txn, ("index", ix.name, name, itree.root, None))
        if t.autoincrement and s.table("sqlite_sequence") is None:
            seq = txn.create_tree("table")
            self._schema_insert(txn, ("table", "sqlite_sequence", "sqlite_sequence", seq.root,
                                      "CREATE TABLE sqlite_sequence(name,seq)"))
        return 0

    def _create_index(self, txn: Any, stmt: A.CreateIndex, sql: str, params: list,
                      conn: Any) -> int:
        if stmt.schema is not None and stmt.schema.lower() != "main":
            raise NotSupportedError("attached databases are not supported yet")
        s = self.schema(txn)
        name = stmt.name
        if s.has_object(name):
            if stmt.if_not_exists:
                return 0
            if s.index(name) is not None:
                raise OperationalError(f"index {name} already exists")
            raise OperationalError(f"there is already a table named {name}")
        if name.lower().startswith("sqlite_"):
            raise OperationalError(f"object name reserved for internal use: {name}")
        t = s.table(stmt.table)
        if t is None:
            raise OperationalError(f"no such table: main.{stmt.table}")
        for term in stmt.columns:
            e = term.expr
            while isinstance(e, A.Collate):
                e = e.expr
            if isinstance(e, A.ColumnRef) and t.column(e.name) is None:
                raise OperationalError(f"no such column: {e.name}")
        ix = index_from_ast(stmt, t, 0)
        if not ix.supported:
            raise NotSupportedError("expression and partial indexes are not supported yet")
        txn.begin_schema_change()
        itree = txn.create_tree("index", keyinfo=ix.keyinfo, unique=ix.unique)
        self._schema_insert(txn, ("index", name, t.name, itree.root, stmt.schema_sql))
        tree = self.trees.table(t)
        seen: set = set()
        sk = ix.keyinfo.sort_key
        for rowid, rec in list(txn.rows(tree)):
            if len(rec) < len(t.columns):
                rec = tuple(rec) + (None,) * (len(t.columns) - len(rec))
            key = self._index_key(t, ix, rec, rowid)
            if ix.unique and not any(v is None for v in key[:-1]):
                p = sk(key[:-1])
                if p in seen:
                    names = ", ".join(f"{t.name}.{t.columns[c].name}" for c in ix.columns)
                    raise IntegrityError(f"UNIQUE constraint failed: {names}")
                seen.add(p)
            txn.index_add(itree, key)
        return 0

    def _drop(self, txn: Any, stmt: A.Drop, sql: str, params: list, conn: Any) -> int:
        s = self.schema(txn)
        kind = stmt.kind.upper()
        name = stmt.name
        if kind not in ("TABLE", "INDEX"):
            raise NotSupportedError(f"DROP {kind} is not supported yet")
        if kind == "TABLE":
            t = s.table(name)
            if t is None:
                if stmt.if_exists:
                    return 0
                raise OperationalError(f"no such table: {name}")
            if t.name.lower().startswith("sqlite_"):
                raise OperationalError(f"table {t.name} may not be dropped")
            victims = {t.name.lower()} | {ix.name.lower() for ix in t.indexes}
            trees = [self.trees.table(t)] + [self.trees.index(ix) for ix in t.indexes]
        else:
            ix = s.index(name)
            if ix is None:
                if stmt.if_exists:
                    return 0
                raise OperationalError(f"no such index: {name}")
            if ix.auto:
                raise OperationalError("index associated with UNIQUE or PRIMARY KEY "
                                       "constraint cannot be dropped")
            victims = {ix.name.lower()}
            trees = [self.trees.index(ix)]
        txn.begin_schema_change()
        stree = self.db.table(SCHEMA_ROOT)
        for rowid, rec in list(txn.rows(stree)):
            if len(rec) > 1 and isinstance(rec[1], str) and rec[1].lower() in victims:
                txn.delete(stree, rowid)
        for tr in trees:
            txn.drop_tree(tr)
        return 0


def _types(key: tuple) -> tuple:
    return tuple(type(v) for v in key)


class _ValuesPlan:
    __slots__ = ("rows",)

    def __init__(self, rows: list[Compiled]) -> None:
        self.rows = rows


_HANDLERS = {
    A.Insert: Engine._insert,
    A.Update: Engine._update,
    A.Delete: Engine._delete,
    A.CreateTable: Engine._create_table,
    A.CreateIndex: Engine._create_index,
    A.Drop: Engine._drop,
}

_unused = keyinfo_for
