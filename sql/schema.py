"""The schema: tables, columns and indexes, read from ``sqlite_schema`` rows.

Single job: turn the rows of ``sqlite_schema`` (the table B-tree at root page
1; columns type, name, tbl_name, rootpage, sql — SQLite's "Database File
Format" page, fileformat2 section 2.6 "Storage Of The SQL Database Schema")
into ``Table``/``Column``/``Index`` objects the planner and compiler use.
The CREATE texts are parsed with ``sql.parser``; affinities follow
"Datatypes In SQLite" (datatype3 section 3.1). UNIQUE and non-rowid PRIMARY
KEY constraints own automatic indexes named ``sqlite_autoindex_<table>_<n>``
whose sqlite_schema row has a NULL sql column; they are numbered in the
order SQLite creates them (column constraints left to right, then table
constraints), and a constraint on the same columns as an earlier one shares
its index. A ``Schema`` is immutable once built; the engine builds a new one
whenever the database's schema version changes.

sqlite_schema row layout (record columns):
    0 type      'table' | 'index' | 'view' | 'trigger'
    1 name      object name
    2 tbl_name  table the object belongs to
    3 rootpage  root page number (0 for views and triggers)
    4 sql       the CREATE text as written (NULL for automatic indexes)
"""
from __future__ import annotations

from typing import Any, Iterable

from sql import ast as A
from sql.collation import get_collation
from sql.parser import parse_one
from sql.values import INTEGER, affinity_of
from storage.btree import KeyInfo
from storage.errors import CorruptError, OperationalError

__all__ = ["Column", "Table", "Index", "Schema", "ROWID_NAMES", "keyinfo_for"]

ROWID_NAMES = ("rowid", "oid", "_rowid_")


class Column:
    """One declared column: its affinity, collation, constraints and default."""

    __slots__ = ("name", "index", "type_name", "affinity", "collation", "notnull",
                 "default", "pk", "unique", "notnull_oe")

    def __init__(self, name: str, index: int, type_name: str | None) -> None:
        self.name = name
        self.index = index
        self.type_name = type_name
        self.affinity = affinity_of(type_name)
        self.collation: str | None = None  # None = BINARY
        self.notnull = False
        self.default: A.Expr | None = None
        self.pk = False
        self.unique = False
        #: NOT NULL's ON CONFLICT action (None = the statement's, else ABORT)
        self.notnull_oe: str | None = None

    def __repr__(self) -> str:
        return f"Column({self.name!r}, {self.affinity})"


class Index:
    """One index: key columns (table column numbers), collations, DESC flags, KeyInfo."""

    __slots__ = ("name", "table", "root", "columns", "collations", "desc", "unique",
                 "keyinfo", "auto", "supported", "sql", "partial", "exprs", "where",
                 "on_conflict")

    def __init__(self, name: str, table: str, root: int, columns: list[int],
                 collations: list[str | None], desc: list[bool], unique: bool,
                 auto: bool = False, sql: str | None = None, supported: bool = True,
                 partial: bool = False) -> None:
        self.name = name
        self.table = table
        self.root = root
        self.columns = columns
        self.collations = collations
        self.desc = desc
        self.unique = unique
        self.auto = auto
        self.sql = sql
        self.supported = supported
        self.partial = partial
        #: per key term: the expression of an expression term, else None
        self.exprs: list[A.Expr | None] = [None] * len(columns)
        #: a partial index's WHERE
        self.where: A.Expr | None = None
        #: the UNIQUE / PRIMARY KEY constraint's ON CONFLICT action (auto indexes)
        self.on_conflict: str | None = None
        self.keyinfo = keyinfo_for(collations, desc)

    def __repr__(self) -> str:
        return f"Index({self.name!r}, {self.columns}, unique={self.unique})"


def keyinfo_for(collations: Iterable[str | None], desc: Iterable[bool]) -> KeyInfo:
    """KeyInfo with collation callables (None for BINARY) for the storage layer."""
    colls = []
    for c in collations:
        if c is None or c.upper() == "BINARY":
            colls.append(None)
        else:
            colls.append(get_collation(c).compare)
    return KeyInfo(colls, list(desc))


class Table:
    """One rowid table: columns in order, the rowid alias, its indexes."""

    __slots__ = ("name", "root", "columns", "by_name", "rowid_alias", "indexes", "sql",
                 "autoincrement", "without_rowid", "unique_sets", "pk_columns", "supported", "pk_entry",
                 "unique_oes", "rowid_oe", "checks")

    def __init__(self, name: str, root: int, sql: str | None) -> None:
        self.name = name
        self.root = root
        self.sql = sql
        self.columns: list[Column] = []
        self.by_name: dict[str, Column] = {}
        self.rowid_alias: int | None = None
        self.indexes: list[Index] = []
        self.autoincrement = False
        self.without_rowid = False
        #: column-number lists of UNIQUE/PRIMARY KEY constraints, in SQLite's order
        self.unique_sets: list[list[int]] = []
        self.pk_columns: list[int] = []
        #: which entry of unique_sets is the PRIMARY KEY (an INTEGER PRIMARY KEY owns
        #: no index, but a UNIQUE on the same column still does)
        self.pk_entry: int | None = None
        self.supported = True
        #: ON CONFLICT action of each entry of unique_sets (None = not given)
        self.unique_oes: list[str | None] = []
        #: ON CONFLICT action of an INTEGER PRIMARY KEY (the rowid)
        self.rowid_oe: str | None = None
        #: CHECK constraints: (constraint name or None, expression, expression text)
        self.checks: list[tuple[str | None, A.Expr, str]] = []

    def column(self, name: str) -> Column | None:
        return self.by_name.get(name.lower())

    def __repr__(self) -> str:
        return f"Table({self.name!r}, root={self.root})"


def table_from_ast(stmt: A.CreateTable, root: int, text: str | None = None) -> Table:
    """Build a Table from its CREATE TABLE statement (autoindexes attached later).

    ``text`` is the SQL the statement was parsed from; it gives CHECK
    constraints the expression text SQLite quotes in "CHECK constraint failed".
    """
    t = Table(stmt.name, root, stmt.schema_sql)
    t.without_rowid = stmt.without_rowid
    pk_desc = None
    pk_oe = None
    for i, cd in enumerate(stmt.columns):
        col = Column(cd.name, i, cd.type_name)
        for c in cd.constraints:
            if isinstance(c, A.PrimaryKeyConstraint):
                if t.pk_columns:
                    raise OperationalError(f'table "{stmt.name}" has more than one primary key')
                col.pk = True
                t.pk_columns = [i]
                pk_desc = c.direction
                t.autoincrement = t.autoincrement or c.autoincrement
                t.pk_entry = len(t.unique_sets)
                t.unique_sets.append([i])
                t.unique_oes.append(c.on_conflict)
                pk_oe = c.on_conflict
            elif isinstance(c, A.NotNullConstraint):
                col.notnull = True
                col.notnull_oe = c.on_conflict
            elif isinstance(c, A.UniqueConstraint):
                col.unique = True
                t.unique_sets.append([i])
                t.unique_oes.append(c.on_conflict)
            elif isinstance(c, A.CheckConstraint):
                t.checks.append((c.name, c.expr, _expr_text(text, c.expr)))
            elif isinstance(c, A.DefaultConstraint):
                col.default = c.expr
            elif isinstance(c, A.CollateConstraint):
                col.collation = c.collation.upper()
            elif isinstance(c, A.GeneratedConstraint):
                t.supported = False
        t.columns.append(col)
        t.by_name.setdefault(cd.name.lower(), col)
    for c in stmt.constraints:
        if isinstance(c, A.TablePrimaryKey):
            if t.pk_columns:
                raise OperationalError(f'table "{stmt.name}" has more than one primary key')
            cols = [_term_column(t, term) for term in c.columns]
            t.pk_columns = [x for x in cols if x is not None]
            t.autoincrement = t.autoincrement or c.autoincrement
            if len(c.columns) == 1:
                pk_desc = None  # a table-constraint PK on INTEGER is always the alias
            for x in t.pk_columns:
                t.columns[x].pk = True
            t.pk_entry = len(t.unique_sets)
            t.unique_sets.append(t.pk_columns)
            t.unique_oes.append(c.on_conflict)
            pk_oe = c.on_conflict
        elif isinstance(c, A.TableUnique):
            cols = [_term_column(t, term) for term in c.columns]
            t.unique_sets.append([x for x in cols if x is not None])
            t.unique_oes.append(c.on_conflict)
        elif isinstance(c, A.TableCheck):
            t.checks.append((c.name, c.expr, _expr_text(text, c.expr)))
    if len(t.pk_columns) == 1:
        col = t.columns[t.pk_columns[0]]
        if (col.type_name or "").upper() == "INTEGER" and (pk_desc or "").upper() != "DESC":
            t.rowid_alias = col.index
            t.rowid_oe = pk_oe
    return t


def _expr_text(text: str | None, e: A.Expr) -> str:
    """The source text of a parenthesised expression (up to its closing paren), trimmed."""
    if text is None or e.pos < 0:
        return ""
    from sql.tokenizer import tokenize
    depth = 0
    end = e.pos
    for tok in tokenize(text, e.pos):
        if tok.type == "LP":
            depth += 1
        elif tok.type == "RP":
            if depth == 0:
                break
            depth -= 1
        elif tok.type == "EOF":
            break
        end = tok.pos + len(tok.text)
    return text[e.pos:end].strip()


def _term_column(t: Table, term: A.OrderingTerm) -> int | None:
    e = term.expr
    while isinstance(e, A.Collate):
        e = e.expr
    if isinstance(e, A.ColumnRef):
        col = t.column(e.name)
        if col is not None:
            return col.index
    return None


def auto_index_specs(t: Table) -> list[list[int]]:
    """The column lists of the automatic indexes SQLite creates for ``t``, in order."""
    specs: list[list[int]] = []
    for n, cols in enumerate(t.unique_sets):
        if t.rowid_alias is not None and n == t.pk_entry:
            continue
        if cols and cols not in specs:
            specs.append(cols)
    return specs


def _auto_oe(t: Table, cols: list[int]) -> str | None:
    """The ON CONFLICT of the first constraint that owns the automatic index on ``cols``."""
    for n, (c, oe) in enumerate(zip(t.unique_sets, t.unique_oes)):
        if c == cols and not (t.rowid_alias is not None and n == t.pk_entry):
            return oe
    return None


def auto_index(t: Table, n: int, cols: list[int], root: int) -> Index:
    colls = [t.columns[c].collation for c in cols]
    ix = Index(f"sqlite_autoindex_{t.name}_{n}", t.name, root, list(cols), colls,
               [False] * len(cols), True, auto=True)
    ix.on_conflict = _auto_oe(t, list(cols))
    return ix


def index_from_ast(stmt: A.CreateIndex, t: Table, root: int) -> Index:
    cols: list[int] = []
    colls: list[str | None] = []
    desc: list[bool] = []
    exprs: list[A.Expr | None] = []
    supported = True
    for term in stmt.columns:
        e = term.expr
        coll = None
        if isinstance(e, A.Collate):
            coll = e.collation.upper()
            e = e.expr
        col = t.column(e.name) if isinstance(e, A.ColumnRef) else None
        exprs.append(None if col is not None else e)
        if col is None:
            supported = False
            cols.append(-1)
            colls.append(coll)
        else:
            cols.append(col.index)
            colls.append(coll if coll is not None else col.collation)
        desc.append((term.direction or "").upper() == "DESC")
    ix = Index(stmt.name, t.name, root, cols, colls, desc, stmt.unique, sql=stmt.schema_sql,
               supported=supported and stmt.where is None, partial=stmt.where is not None)
    ix.exprs = exprs
    ix.where = stmt.where
    return ix


#: sqlite_schema itself (root page 1), under its names; not in Schema.tables, so
#: code listing the user's tables does not see it (as sqlite3's .tables does not)
SCHEMA_TABLE_NAMES = ("sqlite_schema", "sqlite_master")
SCHEMA_TABLE = table_from_ast(parse_one(
    "CREATE TABLE sqlite_schema(type text, name text, tbl_name text, rootpage int, sql text)"), 1)


class Schema:
    """Every table and index of one database at one schema version."""

    def __init__(self, version: int = 0) -> None:
        self.version = version
        self.tables: dict[str, Table] = {}
        self.indexes: dict[str, Index] = {}
        self.others: dict[str, str] = {}  # views, triggers: name -> type
        #: lower name -> parsed CREATE VIEW / CREATE TRIGGER (sql.ast), in schema order
        self.views: dict[str, A.CreateView] = {}
        self.triggers: dict[str, A.CreateTrigger] = {}
        self.sequence_root: int | None = None

    def table(self, name: str) -> Table | None:
        """The table ``name``; also the schema table itself, readable by SELECT."""
        t = self.tables.get(name.lower())
        if t is None and name.lower() in SCHEMA_TABLE_NAMES:
            return SCHEMA_TABLE
        return t

    def index(self, name: str) -> Index | None:
        return self.indexes.get(name.lower())

    def has_object(self, name: str) -> bool:
        n = name.lower()
        return n in self.tables or n in self.indexes or n in self.others

    @classmethod
    def from_rows(cls, rows: Iterable[tuple], version: int = 0) -> "Schema":
        """Build from sqlite_schema records (in rowid order)."""
        s = cls(version)
        autos: dict[str, dict[str, int]] = {}
        later: list[tuple] = []
        try:
            for row in rows:
                row = tuple(row) + (None,) * (5 - len(row))
                typ, name, tbl, root, sql = row[:5]
                if typ == "table":
                    if sql is None:
                        continue
                    stmt = parse_one(sql)
                    if not isinstance(stmt, A.CreateTable):
                        raise CorruptError("malformed database schema (%s)" % name)
                    t = table_from_ast(stmt, root if type(root) is int else 0, sql)
                    if type(stmt) is A.CreateTable and stmt.name.lower() == "sqlite_sequence":
                        s.sequence_root = t.root
                    s.tables[name.lower()] = t
                elif typ == "index":
                    later.append(row)
                elif isinstance(name, str):
                    s.others[name.lower()] = typ
                    if typ in ("view", "trigger") and isinstance(sql, str):
                        stmt = parse_one(sql)
                        if typ == "view" and isinstance(stmt, A.CreateView):
                            s.views[name.lower()] = stmt
                        elif typ == "trigger" and isinstance(stmt, A.CreateTrigger):
                            s.triggers[name.lower()] = stmt
            for typ, name, tbl, root, sql in (r[:5] for r in later):
                t = s.tables.get(str(tbl).lower())
                if t is None:
                    continue
                root = root if type(root) is int else 0
                if sql is None:
                    autos.setdefault(t.name.lower(), {})[name] = root
                    continue
                stmt = parse_one(sql)
                if not isinstance(stmt, A.CreateIndex):
                    raise CorruptError("malformed database schema (%s)" % name)
                ix = index_from_ast(stmt, t, root)
                t.indexes.append(ix)
                s.indexes[name.lower()] = ix
            for t in s.tables.values():
                roots = autos.get(t.name.lower(), {})
                for n, cols in enumerate(auto_index_specs(t), 1):
                    iname = f"sqlite_autoindex_{t.name}_{n}"
                    root = roots.get(iname)
                    if root is None:
                        continue
                    ix = auto_index(t, n, cols, root)
                    t.indexes.insert(n - 1, ix)
                    s.indexes[iname.lower()] = ix
        except CorruptError:
            raise
        except Exception as exc:  # a schema we cannot read is a malformed database
            raise CorruptError(f"malformed database schema ({exc})") from None
        return s


def _is_integer_affinity(col: Column) -> bool:
    return col.affinity == INTEGER


def describe(x: Any) -> str:  # pragma: no cover - debugging aid
    return repr(x)
