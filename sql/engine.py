"""The statement engine: prepare, execute, DDL, writes and constraint checks.

Single job: run one parsed statement inside one MVCC transaction for a
connection: SELECT through compiled plans (``sql.compiler``), INSERT /
UPDATE / DELETE through ``sql.dml`` (constraints, conflict resolution,
UPSERT, RETURNING, index maintenance) and ``sql.triggers``, CREATE/DROP
TABLE/INDEX/TRIGGER and CREATE TABLE ... AS SELECT by writing
``sqlite_schema`` rows (layout in ``sql.schema``) and asking ``mvcc`` for new
trees. A statement ended by OR FAIL keeps its earlier rows; OR ROLLBACK ends
the transaction (the connection sees ``txn.state``). Transaction
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

from sql import ast as A
from sql.compiler import Compiled, compile_select
from sql import dml as D
from sql import triggers as TR
from sql import ddl as _ddl
from sql.datetime import begin_statement
from sql.registry import Registry
from sql.schema import (
    Index, Schema, Table, auto_index, auto_index_specs, index_from_ast, keyinfo_for,
    table_from_ast,
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
        #: CREATE TEMP VIEW: lower name -> statement, private to this connection
        self.temp_views: dict[str, A.CreateView] = {}
        #: the connection's functions/aggregates/collations (sql.registry)
        self.registry = Registry()
        #: change capture (sql.cdc) when a capture mode is on, else None
        self.capture: Any = None
        self.changes = 0
        self.total_changes = 0
        self.last_insert_rowid = 0
        #: per (schema generation, table): sql.dml.TableInfo
        self._infos: dict = {}
        #: names of the triggers running now (recursive_triggers is off)
        self._firing: set[str] = set()

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
        for key, view in self.temp_views.items():  # TEMP views shadow the file's objects
            s.views[key] = view
            s.others[key] = "view"
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
        begin_statement()  # 'now' and CURRENT_* are read once per statement
        t = type(stmt)
        if t is A.Select:
            s = self.schema(txn)
            c = self._plan(sql, s, lambda: compile_select(stmt, sql, s))
            return Result(c.columns, c.fn(txn, params, conn))
        if t is A.Explain:
            inner = stmt.statement
            if type(inner) is not A.Select:
                raise NotSupportedError("EXPLAIN is supported for SELECT statements only")
            s = self.schema(txn)
            c = self._plan(sql, s, lambda: compile_select(inner, sql, s))
            if stmt.query_plan:
                return Result(["id", "parent", "notused", "detail"],
                              [(i, par, 0, d) for i, par, d in c.eqp])
            # ours lists the generated Python source, one row per line (docs/sql.md)
            return Result(["addr", "line"], list(enumerate(c.source.splitlines())))
        handler = _HANDLERS.get(t)
        if handler is None:
            raise NotSupportedError(f"{t.__name__.upper()} statements are not supported yet")
        txn.savepoint(_STMT_SP)
        self._firing.clear()
        try:
            n = handler(self, txn, stmt, sql, params, conn)
        except BaseException as exc:
            dml = t in (A.Insert, A.Update, A.Delete)
            kept = getattr(exc, "mvlite_changes", None) if getattr(exc, "mvlite_fail", False) \
                else None
            if txn.state == 0:  # still ACTIVE: undo this statement only (OR FAIL keeps it)
                try:
                    if kept is None:
                        txn.rollback_to(_STMT_SP)
                    txn.release(_STMT_SP)
                except Exception:
                    pass
            if dml and type(exc) is not OperationalError:  # not a prepare-time error
                self.changes = kept or 0
                self.total_changes += kept or 0
            raise
        txn.release(_STMT_SP)
        res = n if isinstance(n, Result) else Result(None, [], n)
        if t in (A.Insert, A.Update, A.Delete):
            self.changes = res.changes
            self.total_changes += res.changes
        return res

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
            raise OperationalError("table sqlite_master may not be modified")
        if t.without_rowid:
            raise NotSupportedError(f"WITHOUT ROWID tables are not supported yet: {t.name}")
        if not t.supported:
            raise NotSupportedError(f"generated columns are not supported yet: {t.name}")
        return t

    def _index_key(self, t: Table, ix: Index, row: tuple, rowid: int) -> tuple:
        alias = t.rowid_alias
        return tuple(rowid if c == alias else row[c] for c in ix.columns) + (rowid,)

    # -- DDL ----------------------------------------------------------------------

    def _schema_insert(self, txn: Any, row: tuple) -> None:
        txn.insert_auto(self.db.table(SCHEMA_ROOT), row)

    def _create_table(self, txn: Any, stmt: A.CreateTable, sql: str, params: list,
                      conn: Any) -> int:
        if stmt.temp or (stmt.schema is not None and stmt.schema.lower() != "main"):
            raise NotSupportedError("TEMP tables and attached databases are not supported yet")
        s = self.schema(txn)
        name = stmt.name
        kind = "table" if s.table(name) is not None else \
            ("index" if s.index(name) is not None else s.others.get(name.lower()))
        if kind is not None and kind != "trigger":  # triggers have their own namespace
            if stmt.if_not_exists:
                return 0
            if kind == "index":
                raise OperationalError(f"there is already an index named {name}")
            raise OperationalError(f"{kind} {name} already exists")
        if name.lower().startswith("sqlite_"):
            raise OperationalError(f"object name reserved for internal use: {name}")
        if stmt.as_select is not None:
            return D.create_table_as(self, txn, stmt, sql, params, conn)
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
        D.validate_table(s, t)
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
        if s.has_object(name) and s.others.get(name.lower()) != "trigger":
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
        txn.begin_schema_change()
        itree = txn.create_tree("index", keyinfo=ix.keyinfo, unique=ix.unique)
        ix.root = itree.root
        x = D._Ix(self, s, t, ix)  # key maker + partial predicate, as writes use them
        self._schema_insert(txn, ("index", name, t.name, itree.root, stmt.schema_sql))
        tree = self.trees.table(t)
        info = D.table_info(self, s, t)
        for rowid, rec in list(txn.rows(tree)):
            rec = info.pad(rec)
            if not x.covers(rec, rowid):
                continue
            if x.unique and D._conflicts(txn, x, rec, rowid, None):
                raise IntegrityError(f"UNIQUE constraint failed: {x.label}")
            txn.index_add(itree, tuple(x.key(rec, rowid)) + (rowid,))
        return 0

    def _drop(self, txn: Any, stmt: A.Drop, sql: str, params: list, conn: Any) -> int:
        s = self.schema(txn)
        kind = stmt.kind.upper()
        name = stmt.name
        if kind == "TRIGGER":
            return TR.drop_trigger(self, txn, stmt, s)
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
            # (the table's triggers are removed by sql.ddl.drop, which calls us)
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


_HANDLERS = {
    A.Insert: D.do_insert,
    A.Update: D.do_update,
    A.Delete: D.do_delete,
    A.CreateTrigger: TR.create_trigger,
    A.CreateTable: Engine._create_table,
    A.CreateIndex: Engine._create_index,
    A.Drop: _ddl.drop,
    A.CreateView: _ddl.create_view,
    A.AlterTable: _ddl.alter_table,
    A.Reindex: _ddl.reindex,
    A.Analyze: _ddl.analyze,
    A.Vacuum: _ddl.vacuum,
}

_unused = keyinfo_for
