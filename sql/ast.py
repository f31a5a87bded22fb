"""The typed syntax tree of SQLite's SQL: what ``sql.parser`` produces.

Single job: immutable node classes (attrs, frozen, slots) for every
expression and statement SQLite 3.40 accepts, shaped after the grammar in
SQLite's "SQL As Understood By SQLite" pages (lang_expr, lang_select,
lang_insert, lang_update, lang_delete, lang_createtable, lang_createindex,
lang_createview, lang_createtrigger, lang_createvtab, lang_altertable,
lang_transaction, lang_savepoint, pragma, lang_attach, lang_vacuum, ...).
Name binding, types and meaning belong to later stages; nodes record what
was written, with identifiers already dequoted.

Conventions:

- Lists are tuples. Optional parts are ``None``. Names are ``str``.
- Expression nodes carry ``pos``, the offset of their first token, and
  statements carry ``span``, the ``(start, end)`` offsets of their text
  without the terminating semicolon. Both are left out of ``==`` so that
  trees can be compared by shape.
- ``CREATE`` statements keep ``sql``, their exact source text, and
  ``schema_sql``, the text SQLite stores in ``sqlite_schema`` (``CREATE
  TABLE`` + the text from the object name on; ``None`` for ``CREATE TABLE
  ... AS SELECT``, whose stored text SQLite generates from the result columns).
- Operators are spelled as in SQL (``'+'``, ``'||'``, ``'IS NOT'``, ``'AND'``).
- Bare ``TRUE``/``FALSE`` parse as ``Literal(kind='bool')``. In SQLite they
  are identifiers that become booleans when no column of that name is in
  scope, so a binder that wants that last bit of fidelity checks for a
  column called ``true``/``false`` first.
- ``ColumnRef.double_quoted`` is set for ``"name"``: SQLite turns an
  unresolvable double-quoted identifier into a string literal.
"""
from __future__ import annotations

from typing import Union

import attrs

__all__ = [
    # expressions
    "Node", "Expr", "Literal", "CurrentTime", "Param", "ColumnRef", "Unary", "Binary",
    "Collate", "Cast", "Case", "WhenThen", "Between", "Like", "IsNull", "InList",
    "InSelect", "InTable", "Exists", "Subquery", "FunctionCall", "Vector", "Raise",
    "OrderingTerm", "WindowSpec", "Frame", "FrameBound", "WindowDef",
    # select
    "Statement", "ResultColumn", "Star", "TableName", "SubquerySource", "JoinSource",
    "Join", "FromClause", "SelectCore", "Values", "CompoundPart", "CTE", "With", "Select",
    # dml
    "QualifiedTable", "Assignment", "Upsert", "Insert", "Update", "Delete",
    # ddl
    "ColumnConstraint", "PrimaryKeyConstraint", "NotNullConstraint", "UniqueConstraint",
    "CheckConstraint", "DefaultConstraint", "CollateConstraint", "ForeignKeyClause",
    "ReferencesConstraint", "GeneratedConstraint", "TableConstraint",
    "TablePrimaryKey", "TableUnique", "TableCheck", "TableForeignKey", "ColumnDef",
    "CreateTable", "CreateIndex", "CreateView", "CreateTrigger", "CreateVirtualTable",
    "Drop", "AlterTable",
    # other statements
    "Begin", "Commit", "Rollback", "Savepoint", "Release", "Pragma", "Attach", "Detach",
    "Vacuum", "Analyze", "Reindex", "Explain",
]


def _pos() -> attrs.Attribute:
    return attrs.field(default=-1, eq=False, repr=False, kw_only=True)


def _span() -> attrs.Attribute:
    return attrs.field(default=(-1, -1), eq=False, repr=False, kw_only=True)


@attrs.frozen
class Node:
    """Base of every syntax tree node."""


@attrs.frozen
class Expr(Node):
    """Base of expression nodes; ``pos`` is the offset of the first token."""

    pos: int = _pos()


# -- expressions ---------------------------------------------------------------

@attrs.frozen
class Literal(Expr):
    """A constant as written.

    ``kind`` is ``'null'`` (value None), ``'integer'`` (an ``int``; decimal
    literals beyond 64 bits are left exact, SQLite reads them as REAL; a hex
    literal of up to 16 digits is already wrapped to a signed 64-bit value,
    a longer one is kept exact and SQLite rejects it as "hex literal too
    big"), ``'float'``, ``'string'`` (quotes removed), ``'blob'`` (``bytes``)
    or ``'bool'`` (bare TRUE/FALSE). ``text`` is the source token.
    """

    value: object
    kind: str
    text: str = attrs.field(default="", eq=False, repr=False)


@attrs.frozen
class CurrentTime(Expr):
    """CURRENT_TIME, CURRENT_DATE or CURRENT_TIMESTAMP (``kind`` upper-case)."""

    kind: str


@attrs.frozen
class Param(Expr):
    """A bound parameter: ``?``, ``?NNN``, ``:name``, ``@name``, ``$name``.

    ``index`` is the 1-based slot SQLite assigns (``sqlite3_bind_*``): ``?``
    takes the next free number, ``?NNN`` is NNN, a name reuses its first
    slot. ``name`` is the full token (``':a'``, ``'?3'``), None for ``?``.
    """

    index: int
    name: str | None = None


@attrs.frozen
class ColumnRef(Expr):
    """``[schema.][table.]name``; ``double_quoted`` if name was ``"..."``."""

    name: str
    table: str | None = None
    schema: str | None = None
    double_quoted: bool = False


@attrs.frozen
class Unary(Expr):
    """Prefix operator: ``'-'``, ``'+'``, ``'~'`` or ``'NOT'``."""

    op: str
    operand: Expr


@attrs.frozen
class Binary(Expr):
    """Infix operator: ``|| -> ->> * / % + - << >> & | < <= > >= = != IS``,
    ``IS NOT``, ``AND``, ``OR`` (``==`` reads as ``=``, ``<>`` as ``!=``,
    ``IS NOT DISTINCT FROM`` as ``IS``, ``IS DISTINCT FROM`` as ``IS NOT``)."""

    op: str
    left: Expr
    right: Expr


@attrs.frozen
class Collate(Expr):
    """``expr COLLATE name``."""

    expr: Expr
    collation: str


@attrs.frozen
class Cast(Expr):
    """``CAST(expr AS type)``; ``type_name`` is the type's text ('' if none)."""

    expr: Expr
    type_name: str


@attrs.frozen
class WhenThen(Node):
    """One ``WHEN cond THEN result`` arm of a CASE."""

    when: Expr
    then: Expr


@attrs.frozen
class Case(Expr):
    """``CASE [operand] WHEN .. THEN .. [ELSE ..] END``."""

    operand: Expr | None
    whens: tuple[WhenThen, ...]
    else_: Expr | None = None


@attrs.frozen
class Between(Expr):
    """``expr [NOT] BETWEEN low AND high``."""

    expr: Expr
    low: Expr
    high: Expr
    negated: bool = False


@attrs.frozen
class Like(Expr):
    """``expr [NOT] LIKE|GLOB|REGEXP|MATCH pattern [ESCAPE escape]``.

    ``op`` is upper-case. SQLite evaluates it as the function
    ``op(pattern, expr[, escape])``.
    """

    op: str
    expr: Expr
    pattern: Expr
    escape: Expr | None = None
    negated: bool = False


@attrs.frozen
class IsNull(Expr):
    """``expr ISNULL`` / ``IS NULL`` (or NOTNULL, NOT NULL, IS NOT NULL if negated)."""

    expr: Expr
    negated: bool = False


@attrs.frozen
class InList(Expr):
    """``expr [NOT] IN (e1, e2, ...)``; the list may be empty."""

    expr: Expr
    items: tuple[Expr, ...]
    negated: bool = False


@attrs.frozen
class InSelect(Expr):
    """``expr [NOT] IN (SELECT ...)``."""

    expr: Expr
    select: "Select"
    negated: bool = False


@attrs.frozen
class InTable(Expr):
    """``expr [NOT] IN [schema.]table`` or ``IN tvf(args)`` (``args`` not None)."""

    expr: Expr
    table: str
    schema: str | None = None
    args: tuple[Expr, ...] | None = None
    negated: bool = False


@attrs.frozen
class Exists(Expr):
    """``EXISTS (SELECT ...)`` (NOT EXISTS is ``Unary('NOT', Exists)``)."""

    select: "Select"


@attrs.frozen
class Subquery(Expr):
    """A scalar subquery ``(SELECT ...)``."""

    select: "Select"


@attrs.frozen
class OrderingTerm(Node):
    """One ORDER BY / index / PRIMARY KEY term: ``expr [ASC|DESC] [NULLS FIRST|LAST]``."""

    expr: Expr
    direction: str | None = None
    nulls: str | None = None


@attrs.frozen
class FrameBound(Node):
    """A window frame boundary.

    ``kind`` is ``'UNBOUNDED PRECEDING'``, ``'PRECEDING'``, ``'CURRENT ROW'``,
    ``'FOLLOWING'`` or ``'UNBOUNDED FOLLOWING'``; ``expr`` is the offset for
    ``PRECEDING``/``FOLLOWING``.
    """

    kind: str
    expr: Expr | None = None


@attrs.frozen
class Frame(Node):
    """``ROWS|RANGE|GROUPS start`` or ``... BETWEEN start AND end [EXCLUDE ...]``.

    ``end`` is None for the single-bound form (SQLite reads it as CURRENT
    ROW); ``exclude`` is ``'NO OTHERS'``, ``'CURRENT ROW'``, ``'GROUP'``,
    ``'TIES'`` or None.
    """

    units: str
    start: FrameBound
    end: FrameBound | None = None
    exclude: str | None = None


@attrs.frozen
class WindowSpec(Node):
    """A window: ``([base] [PARTITION BY ..] [ORDER BY ..] [frame])``."""

    base: str | None = None
    partition_by: tuple[Expr, ...] = ()
    order_by: tuple[OrderingTerm, ...] = ()
    frame: Frame | None = None


@attrs.frozen
class WindowDef(Node):
    """``name AS (window)`` in a SELECT's WINDOW clause."""

    name: str
    spec: WindowSpec


@attrs.frozen
class FunctionCall(Expr):
    """``name([DISTINCT|ALL] args)`` or ``name(*)``, with FILTER / OVER.

    ``over`` is a ``WindowSpec`` (``OVER (...)``), a window name (``OVER w``)
    or None. ``name`` is as written (SQLite matches it case-insensitively).
    """

    name: str
    args: tuple[Expr, ...] = ()
    distinct: bool = False
    star: bool = False
    filter: Expr | None = None
    over: WindowSpec | str | None = None


@attrs.frozen
class Vector(Expr):
    """A row value ``(e1, e2, ...)`` of two or more expressions."""

    items: tuple[Expr, ...]


@attrs.frozen
class Raise(Expr):
    """``RAISE(IGNORE)`` or ``RAISE(ROLLBACK|ABORT|FAIL, message)``."""

    action: str
    message: str | None = None


# -- SELECT --------------------------------------------------------------------

@attrs.frozen
class Statement(Node):
    """Base of statements.

    ``span`` is the (start, end) offsets of the statement's text. On a
    top-level statement, ``params`` lists its parameter slots, as
    ``sqlite3_bind_parameter_count``/``_name`` see them: one entry per slot
    1..N, the parameter's name (``':a'``, ``'?3'``) or None for ``?``.
    """

    span: tuple[int, int] = _span()
    params: tuple[str | None, ...] = attrs.field(default=(), eq=False, repr=False, kw_only=True)


@attrs.frozen
class ResultColumn(Node):
    """``expr [[AS] alias]`` in a result list (or RETURNING)."""

    expr: Expr
    alias: str | None = None


@attrs.frozen
class Star(Node):
    """``*`` or ``table.*`` in a result list."""

    table: str | None = None


@attrs.frozen
class TableName(Node):
    """A table (or view, or table-valued function when ``args`` is not None)
    in FROM: ``[schema.]name[(args)] [[AS] alias] [INDEXED BY i | NOT INDEXED]``."""

    name: str
    schema: str | None = None
    alias: str | None = None
    args: tuple[Expr, ...] | None = None
    indexed_by: str | None = None
    not_indexed: bool = False


@attrs.frozen
class SubquerySource(Node):
    """``(SELECT ...) [[AS] alias]`` in FROM."""

    select: "Select"
    alias: str | None = None


@attrs.frozen
class JoinSource(Node):
    """A parenthesised join ``(a JOIN b ...) [[AS] alias]`` in FROM."""

    from_: "FromClause"
    alias: str | None = None


Source = Union[TableName, SubquerySource, JoinSource]


@attrs.frozen
class Join(Node):
    """How one FROM item joins the items before it.

    ``kind``: ``'COMMA'``, ``'INNER'`` (JOIN, INNER JOIN), ``'CROSS'``,
    ``'LEFT'``, ``'RIGHT'``, ``'FULL'`` (OUTER is implied); ``natural``;
    ``on`` or ``using`` (column names) as written.
    """

    kind: str
    source: Source
    natural: bool = False
    on: Expr | None = None
    using: tuple[str, ...] | None = None


@attrs.frozen
class FromClause(Node):
    """``FROM first join...``."""

    first: Source
    joins: tuple[Join, ...] = ()


@attrs.frozen
class SelectCore(Node):
    """One ``SELECT [DISTINCT|ALL] ... FROM ... WHERE ... GROUP BY ... HAVING ...
    WINDOW ...`` (without ORDER BY / LIMIT, which belong to ``Select``)."""

    columns: tuple[ResultColumn | Star, ...]
    distinct: bool = False
    from_: FromClause | None = None
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None
    windows: tuple[WindowDef, ...] = ()


@attrs.frozen
class Values(Node):
    """``VALUES (row), (row), ...``."""

    rows: tuple[tuple[Expr, ...], ...]


@attrs.frozen
class CompoundPart(Node):
    """``UNION|UNION ALL|INTERSECT|EXCEPT core`` after the first core."""

    op: str
    core: SelectCore | Values


@attrs.frozen
class CTE(Node):
    """``name[(columns)] AS [[NOT] MATERIALIZED] (select)``; ``materialized`` is
    True, False (NOT MATERIALIZED) or None."""

    name: str
    select: "Select"
    columns: tuple[str, ...] | None = None
    materialized: bool | None = None


@attrs.frozen
class With(Node):
    """``WITH [RECURSIVE] cte, ...``."""

    ctes: tuple[CTE, ...]
    recursive: bool = False


@attrs.frozen
class Select(Statement):
    """A full query: ``[WITH] core [op core]... [ORDER BY] [LIMIT [OFFSET]]``.

    ``LIMIT a, b`` is stored as limit=b, offset=a, as SQLite reads it.
    """

    core: SelectCore | Values
    compound: tuple[CompoundPart, ...] = ()
    with_: With | None = None
    order_by: tuple[OrderingTerm, ...] = ()
    limit: Expr | None = None
    offset: Expr | None = None


# -- INSERT / UPDATE / DELETE --------------------------------------------------

@attrs.frozen
class QualifiedTable(Node):
    """The target of UPDATE/DELETE/INSERT: ``[schema.]name [AS alias]
    [INDEXED BY i | NOT INDEXED]``."""

    name: str
    schema: str | None = None
    alias: str | None = None
    indexed_by: str | None = None
    not_indexed: bool = False


@attrs.frozen
class Assignment(Node):
    """``col = expr`` or ``(c1, c2) = expr`` in SET."""

    columns: tuple[str, ...]
    value: Expr


@attrs.frozen
class Upsert(Node):
    """``ON CONFLICT [(target) [WHERE ..]] DO NOTHING | DO UPDATE SET .. [WHERE ..]``."""

    target: tuple[OrderingTerm, ...] | None
    target_where: Expr | None = None
    do_update: bool = False
    assignments: tuple[Assignment, ...] = ()
    where: Expr | None = None


@attrs.frozen
class Insert(Statement):
    """INSERT / REPLACE. ``source`` is a ``Select`` (VALUES included) or None
    for DEFAULT VALUES; ``or_conflict`` is ROLLBACK/ABORT/REPLACE/FAIL/IGNORE
    (REPLACE for the REPLACE verb)."""

    table: QualifiedTable
    source: Select | None
    columns: tuple[str, ...] | None = None
    verb: str = "INSERT"
    or_conflict: str | None = None
    upsert: tuple[Upsert, ...] = ()
    returning: tuple[ResultColumn | Star, ...] = ()
    with_: With | None = None


@attrs.frozen
class Update(Statement):
    """``UPDATE [OR ..] table SET .. [FROM ..] [WHERE ..] [RETURNING ..]
    [ORDER BY ..] [LIMIT ..]``."""

    table: QualifiedTable
    assignments: tuple[Assignment, ...]
    or_conflict: str | None = None
    from_: FromClause | None = None
    where: Expr | None = None
    returning: tuple[ResultColumn | Star, ...] = ()
    order_by: tuple[OrderingTerm, ...] = ()
    limit: Expr | None = None
    offset: Expr | None = None
    with_: With | None = None


@attrs.frozen
class Delete(Statement):
    """``DELETE FROM table [WHERE ..] [RETURNING ..] [ORDER BY ..] [LIMIT ..]``."""

    table: QualifiedTable
    where: Expr | None = None
    returning: tuple[ResultColumn | Star, ...] = ()
    order_by: tuple[OrderingTerm, ...] = ()
    limit: Expr | None = None
    offset: Expr | None = None
    with_: With | None = None


# -- CREATE TABLE pieces -------------------------------------------------------

@attrs.frozen
class ColumnConstraint(Node):
    """Base of column constraints; ``name`` from ``CONSTRAINT name``."""

    name: str | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class PrimaryKeyConstraint(ColumnConstraint):
    """``PRIMARY KEY [ASC|DESC] [ON CONFLICT ..] [AUTOINCREMENT]``."""

    direction: str | None = None
    on_conflict: str | None = None
    autoincrement: bool = False


@attrs.frozen
class NotNullConstraint(ColumnConstraint):
    """``NOT NULL [ON CONFLICT ..]``."""

    on_conflict: str | None = None


@attrs.frozen
class UniqueConstraint(ColumnConstraint):
    """``UNIQUE [ON CONFLICT ..]``."""

    on_conflict: str | None = None


@attrs.frozen
class CheckConstraint(ColumnConstraint):
    """``CHECK (expr)``."""

    expr: Expr


@attrs.frozen
class DefaultConstraint(ColumnConstraint):
    """``DEFAULT value``; ``text`` is the source text SQLite keeps for it
    (``PRAGMA table_info``'s dflt_value): the literal, signed number or
    name as written, or what is inside ``( )``."""

    expr: Expr
    text: str = ""


@attrs.frozen
class CollateConstraint(ColumnConstraint):
    """``COLLATE name``."""

    collation: str


@attrs.frozen
class ForeignKeyClause(Node):
    """``REFERENCES table[(cols)] [ON DELETE|UPDATE action] [MATCH name]
    [[NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE]]``.

    Actions are ``'SET NULL'``, ``'SET DEFAULT'``, ``'CASCADE'``,
    ``'RESTRICT'``, ``'NO ACTION'`` or None. ``deferred`` is True only for
    ``DEFERRABLE INITIALLY DEFERRED`` (the one form SQLite defers).
    """

    table: str
    columns: tuple[str, ...] | None = None
    on_delete: str | None = None
    on_update: str | None = None
    match: str | None = None
    deferrable: bool | None = None
    deferred: bool = False


@attrs.frozen
class ReferencesConstraint(ColumnConstraint):
    """A column-level foreign key."""

    clause: ForeignKeyClause


@attrs.frozen
class GeneratedConstraint(ColumnConstraint):
    """``[GENERATED ALWAYS] AS (expr) [STORED|VIRTUAL]``; ``stored`` False
    means VIRTUAL (the default). ``storage`` is the word as written or None."""

    expr: Expr
    stored: bool = False
    storage: str | None = None


@attrs.frozen
class TableConstraint(Node):
    """Base of table constraints; ``name`` from ``CONSTRAINT name``."""

    name: str | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class TablePrimaryKey(TableConstraint):
    """``PRIMARY KEY (terms [AUTOINCREMENT]) [ON CONFLICT ..]``."""

    columns: tuple[OrderingTerm, ...]
    on_conflict: str | None = None
    autoincrement: bool = False


@attrs.frozen
class TableUnique(TableConstraint):
    """``UNIQUE (terms) [ON CONFLICT ..]``."""

    columns: tuple[OrderingTerm, ...]
    on_conflict: str | None = None


@attrs.frozen
class TableCheck(TableConstraint):
    """``CHECK (expr) [ON CONFLICT ..]`` (the conflict clause is ignored by SQLite)."""

    expr: Expr
    on_conflict: str | None = None


@attrs.frozen
class TableForeignKey(TableConstraint):
    """``FOREIGN KEY (cols) REFERENCES ...``."""

    columns: tuple[str, ...]
    clause: ForeignKeyClause


@attrs.frozen
class ColumnDef(Node):
    """A column: name, declared type (None if absent) and constraints.

    ``type_name`` is the type's text with runs of whitespace kept as written
    and a trailing ``GENERATED ALWAYS`` removed (SQLite's grammar reads those
    words as part of the type). ``sql`` is the column definition's source text.
    """

    name: str
    type_name: str | None = None
    constraints: tuple[ColumnConstraint, ...] = ()
    sql: str = attrs.field(default="", eq=False, repr=False)


# -- DDL statements ------------------------------------------------------------

@attrs.frozen
class CreateTable(Statement):
    """CREATE [TEMP] TABLE [IF NOT EXISTS] name (columns, constraints) [options]
    or ... AS select."""

    name: str
    schema: str | None = None
    temp: bool = False
    if_not_exists: bool = False
    columns: tuple[ColumnDef, ...] = ()
    constraints: tuple[TableConstraint, ...] = ()
    without_rowid: bool = False
    strict: bool = False
    as_select: Select | None = None
    sql: str = attrs.field(default="", eq=False, repr=False)
    schema_sql: str | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class CreateIndex(Statement):
    """CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (terms) [WHERE expr]."""

    name: str
    table: str
    columns: tuple[OrderingTerm, ...]
    schema: str | None = None
    unique: bool = False
    if_not_exists: bool = False
    where: Expr | None = None
    sql: str = attrs.field(default="", eq=False, repr=False)
    schema_sql: str | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class CreateView(Statement):
    """CREATE [TEMP] VIEW [IF NOT EXISTS] name [(columns)] AS select."""

    name: str
    select: Select
    schema: str | None = None
    temp: bool = False
    if_not_exists: bool = False
    columns: tuple[str, ...] | None = None
    sql: str = attrs.field(default="", eq=False, repr=False)
    schema_sql: str | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class CreateTrigger(Statement):
    """CREATE [TEMP] TRIGGER [IF NOT EXISTS] name [BEFORE|AFTER|INSTEAD OF]
    DELETE|INSERT|UPDATE [OF cols] ON table [FOR EACH ROW] [WHEN expr]
    BEGIN stmt; ... END.

    ``timing`` is ``'BEFORE'``, ``'AFTER'``, ``'INSTEAD OF'`` or None (SQLite
    treats None as BEFORE). ``body`` holds Insert/Update/Delete/Select nodes.
    """

    name: str
    event: str
    table: str
    body: tuple[Statement, ...]
    schema: str | None = None
    table_schema: str | None = None
    temp: bool = False
    if_not_exists: bool = False
    timing: str | None = None
    update_columns: tuple[str, ...] | None = None
    for_each_row: bool = False
    when: Expr | None = None
    sql: str = attrs.field(default="", eq=False, repr=False)
    schema_sql: str | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class CreateVirtualTable(Statement):
    """CREATE VIRTUAL TABLE [IF NOT EXISTS] name USING module[(args)].

    ``args`` are the raw argument texts, as SQLite hands them to the module
    (empty arguments are dropped); None when there is no argument list.
    """

    name: str
    module: str
    schema: str | None = None
    if_not_exists: bool = False
    args: tuple[str, ...] | None = None
    sql: str = attrs.field(default="", eq=False, repr=False)
    schema_sql: str | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class Drop(Statement):
    """DROP TABLE|INDEX|VIEW|TRIGGER [IF EXISTS] [schema.]name (``kind`` upper-case)."""

    kind: str
    name: str
    schema: str | None = None
    if_exists: bool = False


@attrs.frozen
class AlterTable(Statement):
    """ALTER TABLE [schema.]table followed by one action.

    ``action`` is ``'RENAME TABLE'`` (new_name), ``'RENAME COLUMN'``
    (column, new_name), ``'ADD COLUMN'`` (column_def) or ``'DROP COLUMN'``
    (column).
    """

    table: str
    action: str
    schema: str | None = None
    new_name: str | None = None
    column: str | None = None
    column_def: ColumnDef | None = None


# -- transactions and the rest -------------------------------------------------

@attrs.frozen
class Begin(Statement):
    """BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE|CONCURRENT] [TRANSACTION [name]]."""

    mode: str | None = None


@attrs.frozen
class Commit(Statement):
    """COMMIT / END [TRANSACTION]."""


@attrs.frozen
class Rollback(Statement):
    """ROLLBACK [TRANSACTION] [TO [SAVEPOINT] name]."""

    savepoint: str | None = None


@attrs.frozen
class Savepoint(Statement):
    """SAVEPOINT name."""

    name: str


@attrs.frozen
class Release(Statement):
    """RELEASE [SAVEPOINT] name."""

    name: str


@attrs.frozen
class Pragma(Statement):
    """PRAGMA [schema.]name [= value | (value)].

    ``value`` is the text SQLite passes to the pragma: a name or string
    (dequoted), a number as written (with a leading ``-`` if negative), or
    ON / DELETE / DEFAULT as written. ``is_call`` tells ``name(value)`` from
    ``name = value``.
    """

    name: str
    schema: str | None = None
    value: str | None = None
    is_call: bool = False


@attrs.frozen
class Attach(Statement):
    """ATTACH [DATABASE] file AS name [KEY key] (all three are expressions)."""

    file: Expr
    name: Expr
    key: Expr | None = None


@attrs.frozen
class Detach(Statement):
    """DETACH [DATABASE] name (an expression)."""

    name: Expr


@attrs.frozen
class Vacuum(Statement):
    """VACUUM [schema] [INTO file]."""

    schema: str | None = None
    into: Expr | None = None


@attrs.frozen
class Analyze(Statement):
    """ANALYZE [name1[.name2]] (schema, table or index; resolved later)."""

    name: str | None = None
    schema: str | None = None


@attrs.frozen
class Reindex(Statement):
    """REINDEX [name1[.name2]] (collation, table or index; resolved later)."""

    name: str | None = None
    schema: str | None = None


@attrs.frozen
class Explain(Statement):
    """EXPLAIN [QUERY PLAN] statement."""

    statement: Statement
    query_plan: bool = False
