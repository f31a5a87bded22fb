"""Schema statements beyond CREATE/DROP TABLE/INDEX: views, ALTER TABLE, REINDEX, ANALYZE, VACUUM.

Single job: run CREATE VIEW, DROP VIEW/TRIGGER (and the extra work of DROP
TABLE: its triggers, ``sqlite_sequence`` and ``sqlite_stat1`` rows), ALTER
TABLE (RENAME TO, RENAME COLUMN, ADD COLUMN, DROP COLUMN), REINDEX, ANALYZE
and VACUUM by editing ``sqlite_schema`` rows and trees inside one MVCC
transaction, so that stdlib ``sqlite3`` reads back byte-identical schema
texts. Behaviour follows SQLite 3.40's documentation: lang_createview.html,
lang_dropview.html, lang_droptrigger.html, lang_altertable.html (3.26+
rename semantics, i.e. ``legacy_alter_table=OFF``), lang_reindex.html,
lang_analyze.html (the ``sqlite_stat1`` format of fileformat2 section 2.6.3)
and lang_vacuum.html; exact texts and error messages were checked against
stdlib ``sqlite3``.

SQLite rewrites CREATE texts from the parse tree's token positions
(alter.c); we do the same on ``sql.tokenizer`` tokens, classifying each
identifier by its context (column definition, table reference, qualifier,
column reference...). Statements stored in views and triggers are
classified with a context heuristic (FROM/JOIN/INTO/UPDATE positions,
aliases, CTE names, ``new.``/``old.``), which covers the usual shapes but
not name shadowing in nested scopes. Before a rename, views and triggers
must name existing tables, as in SQLite (its column check is not done).
Selecting from views is ``sql.compiler``'s job; ``sql.triggers`` runs triggers.

VACUUM is refused inside a transaction, as in SQLite; otherwise it rewrites
``sqlite_schema`` in the order SQLite's VACUUM leaves it and keeps every page
(no compaction: commits and checkpoints already fold MVCC versions into the
B-trees). VACUUM INTO writes a new file with the same schema rows (VACUUM's
order) and copies of every table row and index key from this snapshot;
header fields (page size, user_version...) take their defaults.
"""
from __future__ import annotations

from typing import Any, Iterable

from sql import ast as A
from sql import values as V
from sql.parse_expr import _dequote
from sql.tokenizer import FALLBACK_ID, Token, tokenize
from storage.errors import IntegrityError, NotSupportedError, OperationalError

__all__ = ["create_view", "drop", "alter_table", "reindex", "analyze", "vacuum"]

SCHEMA_ROOT = 1
_STAT1_SQL = "CREATE TABLE sqlite_stat1(tbl,idx,stat)"

# -- sqlite_schema rows -------------------------------------------------------


def _rows(engine: Any, txn: Any) -> list[tuple[int, tuple]]:
    """Every sqlite_schema row as (rowid, 5-tuple), in rowid order."""
    out = []
    for rowid, rec in txn.rows(engine.db.table(SCHEMA_ROOT)):
        rec = tuple(rec)
        if len(rec) < 5:
            rec = rec + (None,) * (5 - len(rec))
        out.append((rowid, rec))
    return out


def _find(rows: Iterable[tuple[int, tuple]], name: str,
          types: tuple[str, ...] = ("table", "view", "index")) -> tuple[int, tuple] | None:
    n = name.lower()
    for rowid, rec in rows:
        if rec[0] in types and isinstance(rec[1], str) and rec[1].lower() == n:
            return rowid, rec
    return None


def _check_main(schema: str | None) -> None:
    if schema is None or schema.lower() == "main":
        return
    if schema.lower() == "temp":
        raise NotSupportedError("TEMP schema objects are not supported yet")
    raise OperationalError(f"unknown database {schema}")


def _raw_name(schema_sql: str | None, fallback: str) -> str:
    """The object's name token as written (SQLite's %T in 'already exists' errors)."""
    if schema_sql:
        toks = tokenize(schema_sql)
        if len(toks) > 3:
            return toks[2].text
    return fallback


# -- CREATE VIEW / DROP ---------------------------------------------------------


def create_view(engine: Any, txn: Any, stmt: A.CreateView, sql: str, params: list,
                conn: Any) -> int:
    """CREATE VIEW: one ('view', name, name, 0, sql) row; the SELECT is not checked."""
    name = stmt.name
    if stmt.temp or (stmt.schema is not None and stmt.schema.lower() == "temp"):
        return _create_temp_view(engine, stmt)
    _check_main(stmt.schema)
    if name.lower().startswith("sqlite_"):
        raise OperationalError(f"object name reserved for internal use: {name}")
    rows = _rows(engine, txn)
    hit = _find(rows, name, ("table", "view"))
    if hit is not None:
        if stmt.if_not_exists:
            return 0
        raise OperationalError(f"{hit[1][0]} {_raw_name(stmt.schema_sql, name)} already exists")
    if _find(rows, name, ("index",)) is not None:
        raise OperationalError(f"there is already an index named {name}")
    txn.begin_schema_change()
    txn.insert_auto(engine.db.table(SCHEMA_ROOT), ("view", name, name, 0, stmt.schema_sql))
    return 0


def _create_temp_view(engine: Any, stmt: A.CreateView) -> int:
    """CREATE TEMP VIEW: private to this connection, never written to the file.

    SQLite keeps TEMP objects in a separate per-connection database ("temp");
    we keep TEMP views in ``engine.temp_views`` and the engine adds them to
    every Schema it builds, ahead of the file's views (temp is searched first).
    They live until DROP VIEW or the connection closes; creating or dropping
    one is not undone by ROLLBACK (docs/compatibility.md).
    """
    name = stmt.name
    if name.lower().startswith("sqlite_"):
        raise OperationalError(f"object name reserved for internal use: {name}")
    if name.lower() in engine.temp_views:
        if stmt.if_not_exists:
            return 0
        raise OperationalError(f"view {_raw_name(stmt.schema_sql, name)} already exists")
    engine.temp_views[name.lower()] = stmt
    engine.invalidate()
    return 0


def drop(engine: Any, txn: Any, stmt: A.Drop, sql: str, params: list, conn: Any) -> int:
    """DROP VIEW/TRIGGER here; DROP TABLE/INDEX go to ``Engine._drop`` (plus a table's
    triggers, its ``sqlite_sequence`` and ``sqlite_stat1`` rows, as SQLite drops them)."""
    kind = stmt.kind.upper()
    name = stmt.name
    if kind == "VIEW" and name.lower() in engine.temp_views and \
            (stmt.schema is None or stmt.schema.lower() == "temp"):
        del engine.temp_views[name.lower()]  # the temp schema is searched first
        engine.invalidate()
        return 0
    _check_main(stmt.schema)
    rows = _rows(engine, txn)
    stree = engine.db.table(SCHEMA_ROOT)
    if kind in ("TABLE", "INDEX"):
        hit = _find(rows, name, ("table", "view"))
        if kind == "TABLE" and name.lower() in ("sqlite_master", "sqlite_schema"):
            raise OperationalError(f"table {name} may not be dropped")
        if kind == "TABLE" and hit is not None and hit[1][0] == "view":
            raise OperationalError(f"use DROP VIEW to delete view {hit[1][1]}")
        if kind == "TABLE" and hit is not None and hit[1][1].lower().startswith("sqlite_stat") \
                and type(hit[1][3]) is int:
            # the statistics tables are the only sqlite_ tables SQLite lets users drop
            txn.begin_schema_change()
            txn.delete(stree, hit[0])
            txn.drop_tree(engine.db.table(hit[1][3]))
            return 0
        if kind == "TABLE" and hit is not None:
            # the table's triggers go first, by rowid: a view may share a trigger's name
            tname = hit[1][1]
            trig = [r for r, rec in rows if rec[0] == "trigger" and isinstance(rec[2], str)
                    and rec[2].lower() == tname.lower()]
            if trig:
                txn.begin_schema_change()
                for rowid in trig:
                    txn.delete(stree, rowid)
        n = type(engine)._drop(engine, txn, stmt, sql, params, conn)
        if kind == "TABLE" and hit is not None:
            _delete_named(engine, txn, rows, "sqlite_sequence", 0, tname)
            _delete_named(engine, txn, rows, "sqlite_stat1", 0, tname)
        elif kind == "INDEX":
            _delete_named(engine, txn, rows, "sqlite_stat1", 1, name, nocase=True)
        return n
    if kind == "VIEW":
        hit = _find(rows, name, ("table", "view"))
        if hit is None or hit[1][0] != "view":
            if hit is not None:
                raise OperationalError(f"use DROP TABLE to delete table {hit[1][1]}")
            if stmt.if_exists:
                return 0
            raise OperationalError(f"no such view: {_qual(stmt)}")
    elif kind == "TRIGGER":
        hit = _find(rows, name, ("trigger",))
        if hit is None:
            if stmt.if_exists:
                return 0
            raise OperationalError(f"no such trigger: {_qual(stmt)}")
    else:
        raise NotSupportedError(f"DROP {kind} is not supported")
    txn.begin_schema_change()
    txn.delete(stree, hit[0])
    if kind == "VIEW":  # its INSTEAD OF triggers go with it
        lname = hit[1][1].lower()
        for rowid, rec in rows:
            if rec[0] == "trigger" and isinstance(rec[2], str) and rec[2].lower() == lname:
                txn.delete(stree, rowid)
    return 0


def _qual(stmt: A.Drop) -> str:
    return f"{stmt.schema}.{stmt.name}" if stmt.schema else stmt.name


def _delete_named(engine: Any, txn: Any, rows: list, table: str, col: int, value: str,
                  nocase: bool = False) -> None:
    """Delete rows of an internal table (sqlite_sequence / sqlite_stat1) whose ``col`` is value."""
    hit = _find(rows, table, ("table",))
    if hit is None or type(hit[1][3]) is not int:
        return
    tree = engine.db.table(hit[1][3])
    for rowid, rec in list(txn.rows(tree)):
        v = rec[col] if len(rec) > col else None
        if isinstance(v, str) and (v.lower() == value.lower() if nocase else v == value):
            txn.delete(tree, rowid)


# -- token helpers for rewriting CREATE texts ----------------------------------------

_CONS_START = frozenset(("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"))
_COL_CONS = frozenset(("CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
                       "COLLATE", "REFERENCES", "GENERATED", "AS"))
_TABLE_PREV = frozenset(("FROM", "JOIN", "INTO", "UPDATE"))
_FROM_END = frozenset(("WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "WINDOW", "UNION",
                       "EXCEPT", "INTERSECT", "SELECT", "VALUES", "SET", "ON", "USING", "SEMI",
                       "RETURNING", "BEGIN", "END"))
_CONFLICT = frozenset(("ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE"))


def _name(tok: Token) -> str | None:
    """The identifier a token names (dequoted), or None if it is not a name."""
    if tok.type == "ID":
        return _dequote(tok.text)
    if tok.type in FALLBACK_ID:
        return tok.text
    return None


def _is_idchar(c: str) -> bool:
    return c.isalnum() or c in "_$" or ord(c) >= 0x80


def _replacement(orig: str, nxt: str, new: str, always_quote: bool) -> str:
    """alter.c renameEditSql: bare if the old token was bare (and the new name was not
    quoted in the ALTER), else a double-quoted name."""
    if not always_quote and orig and _is_idchar(orig[0]):
        return new
    q = '"' + new.replace('"', '""') + '"'
    return q + " " if nxt == '"' else q


def _edit(text: str, spans: Iterable[tuple[int, int]], new: str, always_quote: bool) -> str:
    out = text
    for pos, end in sorted(set(spans), reverse=True):
        out = out[:pos] + _replacement(text[pos:end], text[end:end + 1], new, always_quote) \
            + out[end:]
    return out


def _match(toks: list[Token], i: int) -> int:
    """Index of the RP closing the LP at ``i``."""
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j].type
        if t == "LP":
            depth += 1
        elif t == "RP":
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


class _Ref:
    """One classified identifier token: role, name, and qualifier (for columns)."""

    __slots__ = ("i", "role", "name", "qual", "extra")

    def __init__(self, i: int, role: str, name: str, qual: str | None = None,
                 extra: str | None = None) -> None:
        self.i = i
        self.role = role
        self.name = name
        self.qual = qual
        self.extra = extra


def _expr_role(toks: list[Token], i: int) -> _Ref | None:
    """Role of an identifier inside an expression: column, qualifier, or nothing."""
    name = _name(toks[i])
    if name is None or toks[i].type != "ID":
        return None
    prev = toks[i - 1].type if i else ""
    nxt = toks[i + 1].type
    if prev in ("COLLATE", "AS"):  # a collation, or CAST's type name
        return None
    if nxt == "DOT":
        return _Ref(i, "qual", name)
    if prev == "DOT":
        q = _name(toks[i - 2]) if i >= 2 else None
        return _Ref(i, "col", name, q)
    if nxt == "LP":
        return None
    return _Ref(i, "col", name)


def _table_def_refs(toks: list[Token]) -> tuple[list[_Ref], list[tuple[int, int, int]], int]:
    """Classify a CREATE TABLE text's identifiers.

    Returns (refs, columns, add_offset_token): ``columns`` lists each column
    definition as (name token, first token, last token); ``add_offset_token``
    is the token before which ALTER TABLE ADD COLUMN inserts (the comma that
    starts the table constraints, else the closing parenthesis).
    """
    refs: list[_Ref] = []
    cols: list[tuple[int, int, int]] = []
    i0 = next(k for k, t in enumerate(toks) if t.type == "LP")
    refs.append(_Ref(i0 - 1, "name", _name(toks[i0 - 1]) or ""))
    end = _match(toks, i0)
    add_at = end
    j = i0 + 1
    while j < end:
        # one item: [j, k) up to a depth-1 comma or the end
        k = j
        while k < end and toks[k].type != "COMMA":
            k = _match(toks, k) + 1 if toks[k].type == "LP" else k + 1
        t0 = toks[j]
        if t0.type in _CONS_START:
            if add_at == end:
                add_at = j - 1
            c = j
        else:
            refs.append(_Ref(j, "coldef", _name(t0) or _dequote(t0.text)))
            c = j + 1
            while c < k and toks[c].type not in _COL_CONS:
                c = _match(toks, c) + 1 if toks[c].type == "LP" else c + 1
            cols.append((j, j, k - 1))
        _constraint_refs(toks, c, k, refs)
        j = k + 1
    return refs, cols, add_at


def _constraint_refs(toks: list[Token], c: int, k: int, refs: list[_Ref]) -> None:
    while c < k:
        ty = toks[c].type
        if ty in ("COLLATE", "CONSTRAINT", "MATCH"):
            c += 2
            continue
        if ty == "DEFAULT":
            c += 1
            if c < k and toks[c].type in ("PLUS", "MINUS"):
                c += 1
            c = _match(toks, c) + 1 if c < k and toks[c].type == "LP" else c + 1
            continue
        if ty == "REFERENCES":
            tname = _name(toks[c + 1]) or ""
            refs.append(_Ref(c + 1, "reftable", tname))
            c += 2
            if c < k and toks[c].type == "LP":
                e = _match(toks, c)
                for m in range(c + 1, e):
                    n = _name(toks[m])
                    if n is not None:
                        refs.append(_Ref(m, "refcol", n, extra=tname))
                c = e + 1
            continue
        r = _expr_role(toks, c)
        if r is not None:
            refs.append(r)
        c += 1


def _index_refs(toks: list[Token]) -> list[_Ref]:
    """CREATE INDEX text: the ON table token, then column references."""
    refs: list[_Ref] = []
    on = next(k for k, t in enumerate(toks) if t.type == "ON")
    refs.append(_Ref(on + 1, "table", _name(toks[on + 1]) or ""))
    for c in range(on + 2, len(toks) - 1):
        r = _expr_role(toks, c)
        if r is not None:
            refs.append(r)
    return refs


def _stmt_refs(toks: list[Token], lo: int, hi: int) -> list[_Ref]:
    """Classify identifiers of a DML/SELECT token range: table, alias, qual, col."""
    refs: list[_Ref] = []
    depth = 0
    in_from: dict[int, bool] = {0: False}
    last_table = -10
    for i in range(lo, hi):
        tok = toks[i]
        ty = tok.type
        if ty == "LP":
            depth += 1
            in_from[depth] = False
            continue
        if ty == "RP":
            in_from.pop(depth, None)
            depth -= 1
            continue
        if ty == "FROM":
            in_from[depth] = True
            continue
        if ty in _FROM_END:
            in_from[depth] = False
        name = _name(tok)
        if name is None:
            continue
        prev = toks[i - 1].type if i > lo else ""
        nxt = toks[i + 1].type
        tablepos = prev in _TABLE_PREV or (prev == "COMMA" and in_from.get(depth)) or (
            prev in _CONFLICT and i - 2 >= lo and toks[i - 2].type == "OR"
            and toks[i - 3].type == "UPDATE")
        if prev == "DOT" and i - 3 >= lo and nxt != "DOT" and (
                toks[i - 3].type in _TABLE_PREV
                or (toks[i - 3].type == "COMMA" and in_from.get(depth))):
            tablepos = True  # schema.table
        if tablepos and nxt == "DOT":
            continue  # a schema name
        if tablepos:
            refs.append(_Ref(i, "table", name))
            last_table = i
            continue
        if prev == "AS" and last_table == i - 2 or (last_table == i - 1 and ty == "ID"):
            refs.append(_Ref(i, "alias", name, extra=_name(toks[last_table])))
            continue
        if prev == "AS":
            continue
        if ty != "ID":
            continue
        r = _expr_role(toks, i)
        if r is not None:
            refs.append(r)
    return refs


def _view_body(toks: list[Token]) -> tuple[int, int]:
    """Token range of a CREATE VIEW's SELECT (after the first depth-0 AS)."""
    depth = 0
    for k, t in enumerate(toks):
        if t.type == "LP":
            depth += 1
        elif t.type == "RP":
            depth -= 1
        elif t.type == "AS" and depth == 0:
            return k + 1, len(toks) - 1
    return len(toks) - 1, len(toks) - 1


class _Trigger:
    """The parts of a CREATE TRIGGER text: name, ON table, OF columns, WHEN, body statements."""

    def __init__(self, toks: list[Token]) -> None:
        self.name_i = 2
        while toks[self.name_i].type in ("IF", "NOT", "EXISTS"):
            self.name_i += 1
        if toks[self.name_i + 1].type == "DOT":
            self.name_i += 2
        begin = next(k for k, t in enumerate(toks) if t.type == "BEGIN")
        on = next(k for k in range(self.name_i + 1, begin) if toks[k].type == "ON")
        self.on = on + 1
        if toks[self.on + 1].type == "DOT":
            self.on += 2
        of = next((k for k in range(self.name_i + 1, on) if toks[k].type == "OF"), None)
        self.of_cols = [k for k in range(of + 1, on) if _name(toks[k]) is not None] \
            if of is not None else []
        when = next((k for k in range(self.on, begin) if toks[k].type == "WHEN"), None)
        self.when = (when + 1, begin) if when is not None else None
        self.stmts: list[tuple[int, int]] = []
        start = begin + 1
        depth = 0
        last = len(toks) - 2  # the END
        for k in range(begin + 1, last):
            t = toks[k].type
            if t == "LP":
                depth += 1
            elif t == "RP":
                depth -= 1
            elif t == "SEMI" and depth == 0:
                self.stmts.append((start, k))
                start = k + 1
        if start < last:
            self.stmts.append((start, last))


# -- ALTER TABLE -------------------------------------------------------------------


def alter_table(engine: Any, txn: Any, stmt: A.AlterTable, sql: str, params: list,
                conn: Any) -> int:
    """ALTER TABLE: checks in SQLite's order, then the rewrite for the action."""
    if stmt.schema is not None and stmt.schema.lower() != "main":
        raise OperationalError(f"no such table: {stmt.schema}.{stmt.table}")
    rows = _rows(engine, txn)
    hit = _find(rows, stmt.table, ("table", "view"))
    if hit is None and stmt.table.lower() in ("sqlite_master", "sqlite_schema"):
        raise OperationalError(f"table {stmt.table} may not be altered")
    if hit is None:
        raise OperationalError(f"no such table: {stmt.table}")
    rec = hit[1]
    tname = rec[1]
    if tname.lower().startswith("sqlite_"):
        raise OperationalError(f"table {tname} may not be altered")
    action = stmt.action
    if action == "RENAME TABLE":
        return _rename_table(engine, txn, rows, hit, stmt.new_name or "")
    raw = _raw_column(sql, action)
    is_view = rec[0] == "view"
    s = engine.schema(txn)
    if action == "ADD COLUMN":
        if is_view:
            raise OperationalError("Cannot add a column to a view")
        return _add_column(engine, txn, s, hit, stmt.column_def)
    if action == "RENAME COLUMN":
        if is_view:
            raise OperationalError(f'cannot rename columns of view "{tname}"')
        return _rename_column(engine, txn, s, rows, hit, stmt.column or "", stmt.new_name or "",
                              _new_name_quoted(sql), raw)
    if action == "DROP COLUMN":
        if is_view:
            raise OperationalError(f'cannot drop column from view "{tname}"')
        return _drop_column(engine, txn, s, rows, hit, stmt.column or "", raw)
    raise NotSupportedError(f"ALTER TABLE {action} is not supported")


def _raw_column(sql: str, action: str) -> str:
    """The column name token as written in the ALTER (SQLite's %T in 'no such column')."""
    toks = [t for t in tokenize(sql) if t.type not in ("SEMI", "EOF")]
    if action == "RENAME COLUMN":
        k = max(i for i, t in enumerate(toks) if t.type == "TO")
        return toks[k - 1].text
    return toks[-1].text if toks else ""


def _test_schema(rows: list, s: Any) -> None:
    """alter.c renameTestSchema, table part: every view and trigger must still name
    existing tables before RENAME runs ("error in view v: no such table: main.x")."""
    known = set(s.tables) | set(s.views) | {"sqlite_master", "sqlite_schema",
                                           "sqlite_temp_master", "sqlite_temp_schema"}
    for _rid, rec in rows:
        typ, name, _tbl, _root, text = rec
        if typ not in ("view", "trigger") or not isinstance(text, str):
            continue
        toks = tokenize(text)
        try:
            if typ == "view":
                ranges = [_view_body(toks)]
            else:
                tr = _Trigger(toks)
                ranges = list(tr.stmts)
        except (StopIteration, IndexError):
            continue
        for a, b in ranges:
            ctes = {(_name(toks[k]) or "").lower() for k in range(a, b - 1)
                    if _name(toks[k]) is not None and (
                        (toks[k + 1].type == "AS" and toks[k + 2].type in ("LP", "NOT",
                                                                            "MATERIALIZED"))
                        or (toks[k + 1].type == "LP" and toks[_match(toks, k + 1) + 1].type == "AS"
                            and k > a and toks[k - 1].type in ("WITH", "COMMA", "RECURSIVE")))}
            for r in _stmt_refs(toks, a, b):
                if r.role != "table" or toks[r.i + 1].type == "LP":
                    continue
                n = r.name.lower()
                if n not in known and n not in ctes:
                    raise OperationalError(f"error in {typ} {name}: no such table: main.{r.name}")


def _new_name_quoted(sql: str) -> bool:
    toks = [t for t in tokenize(sql) if t.type not in ("SEMI", "EOF")]
    return bool(toks) and toks[-1].text[:1] in "\"'`["


def _rename_table(engine: Any, txn: Any, rows: list, hit: tuple, new: str) -> int:
    old = hit[1][1]
    if _find(rows, new, ("table", "view", "index")) is not None:
        raise OperationalError(f"there is already another table or index with this name: {new}")
    if new.lower().startswith("sqlite_"):
        raise OperationalError(f"object name reserved for internal use: {new}")
    if hit[1][0] == "view":
        raise OperationalError(f"view {old} may not be altered")
    _test_schema(rows, engine.schema(txn))
    lo = old.lower()
    txn.begin_schema_change()
    stree = engine.db.table(SCHEMA_ROOT)
    for rowid, rec in rows:
        typ, name, tbl, root, text = rec
        if not isinstance(name, str):
            continue
        new_text = text
        if isinstance(text, str) and not name.lower().startswith("sqlite_") and (
                typ != "index" or (isinstance(tbl, str) and tbl.lower() == lo)):
            new_text = _rename_table_text(typ, text, lo, new, own=name.lower() == lo)
        new_name, new_tbl = name, tbl
        if isinstance(tbl, str) and tbl.lower() == lo and typ in ("table", "index", "trigger"):
            new_tbl = new
            if typ == "table":
                new_name = new
            elif name.lower().startswith("sqlite_autoindex_"):
                new_name = "sqlite_autoindex_" + new + name[17 + len(old):]
        nrec = (typ, new_name, new_tbl, root, new_text)
        if nrec != rec:
            txn.update(stree, rowid, nrec)
    seq = _find(rows, "sqlite_sequence", ("table",))
    if seq is not None and type(seq[1][3]) is int:
        tree = engine.db.table(seq[1][3])
        for rowid, r in list(txn.rows(tree)):
            if r and r[0] == old:
                txn.update(tree, rowid, (new,) + tuple(r[1:]))
                if getattr(engine.db, "_sequence", None) is not None:
                    engine.db._sequence = None  # re-read after commit
    return 0


def _rename_table_text(typ: str, text: str, lo: str, new: str, own: bool) -> str:
    """``text`` with every reference to table ``lo`` renamed (always double-quoted, as
    SQLite's sqlite_rename_table writes it)."""
    toks = tokenize(text)
    spans: list[tuple[int, int]] = []

    def add(i: int) -> None:
        spans.append((toks[i].pos, toks[i].end))
    try:
        if typ == "table":
            refs, _cols, _ = _table_def_refs(toks)
            for r in refs:
                if r.name.lower() != lo:
                    continue
                if r.role == "name" and own or r.role == "reftable" or (r.role == "qual" and own):
                    add(r.i)
        elif typ == "index":
            for r in _index_refs(toks):
                if r.role == "table" and r.name.lower() == lo:
                    add(r.i)
        elif typ == "view":
            b0, b1 = _view_body(toks)
            for r in _stmt_refs(toks, b0, b1):
                if r.role in ("table", "qual") and r.name.lower() == lo:
                    add(r.i)
        elif typ == "trigger":
            tr = _Trigger(toks)
            if (_name(toks[tr.on]) or "").lower() == lo:
                add(tr.on)
            for a, b in tr.stmts:
                for r in _stmt_refs(toks, a, b):
                    if r.role in ("table", "qual") and r.name.lower() == lo:
                        add(r.i)
    except (StopIteration, IndexError):
        return text
    return _edit(text, spans, new, True)


def _column_spans(typ: str, text: str, tname: str, old: str, s: Any,
                  own: bool) -> list[tuple[int, str]]:
    """Token indexes (with the reference as written) naming column ``old`` of ``tname``."""
    toks = tokenize(text)
    lt, lo = tname.lower(), old.lower()
    found: list[int] = []
    try:
        if typ == "table":
            refs, _cols, _ = _table_def_refs(toks)
            for r in refs:
                if r.name.lower() != lo:
                    continue
                if own and r.role in ("coldef", "col") and (r.qual is None or r.qual.lower() == lt):
                    found.append(r.i)
                elif r.role == "refcol" and (r.extra or "").lower() == lt:
                    found.append(r.i)
        elif typ == "index":
            refs = _index_refs(toks)
            if refs[0].name.lower() == lt:
                found += [r.i for r in refs[1:] if r.role == "col" and r.name.lower() == lo
                          and (r.qual is None or r.qual.lower() == lt)]
        elif typ == "view":
            b0, b1 = _view_body(toks)
            found += _segment_cols(toks, b0, b1, lt, lo, s, ())
        elif typ == "trigger":
            tr = _Trigger(toks)
            on_t = (_name(toks[tr.on]) or "").lower() == lt
            quals = ("new", "old") if on_t else ()
            if on_t:
                found += [k for k in tr.of_cols if (_name(toks[k]) or "").lower() == lo]
            if tr.when is not None and quals:
                for r in _stmt_refs(toks, tr.when[0], tr.when[1]):
                    if r.role == "col" and r.name.lower() == lo and r.qual \
                            and r.qual.lower() in quals:
                        found.append(r.i)
            for a, b in tr.stmts:
                found += _segment_cols(toks, a, b, lt, lo, s, quals)
    except (StopIteration, IndexError):
        return []
    out = []
    order = sorted(set(found))
    if typ == "trigger":  # SQLite resolves expressions before UPDATE's SET targets
        order.sort(key=lambda i: toks[i + 1].type == "EQ" and toks[i - 1].type in ("SET", "COMMA"))
    for i in order:
        q = toks[i - 2].text if toks[i - 1].type == "DOT" else None
        out.append((i, f"{_dequote(q)}.{_dequote(toks[i].text)}" if q else
                    _dequote(toks[i].text)))
    return out


def _segment_cols(toks: list[Token], a: int, b: int, lt: str, lo: str, s: Any,
                  quals: tuple[str, ...]) -> list[int]:
    refs = _stmt_refs(toks, a, b)
    tables = {r.name.lower() for r in refs if r.role == "table"}
    aliases = {lt} if lt in tables else set()
    aliases |= {r.name.lower() for r in refs if r.role == "alias" and (r.extra or "").lower() == lt}
    others = tables - {lt}
    shadowed = any(s is not None and s.table(o) is not None and s.table(o).column(lo) is not None
                   for o in others)
    out = []
    for r in refs:
        if r.role != "col" or r.name.lower() != lo:
            continue
        if r.qual is None:
            if lt in tables and not shadowed:
                out.append(r.i)
        elif r.qual.lower() in aliases or r.qual.lower() in quals:
            out.append(r.i)
    return out


def _rename_column(engine: Any, txn: Any, s: Any, rows: list, hit: tuple, old: str, new: str,
                   quoted: bool, raw: str) -> int:
    tname = hit[1][1]
    t = s.table(tname)
    col = t.column(old) if t is not None else None
    if col is None:
        raise OperationalError(f'no such column: "{raw}"')
    _test_schema(rows, s)
    names = [c.name for c in t.columns]
    names[col.index] = new
    seen: set[str] = set()
    for n in names:
        if n.lower() in seen:
            raise OperationalError(f"error in table {tname} after rename: "
                                   f"duplicate column name: {n}")
        seen.add(n.lower())
    txn.begin_schema_change()
    stree = engine.db.table(SCHEMA_ROOT)
    for rowid, rec in rows:
        typ, name, tbl, root, text = rec
        if not isinstance(text, str) or not isinstance(name, str) \
                or name.lower().startswith("sqlite_"):
            continue
        own = name.lower() == tname.lower() and typ == "table"
        spans = _column_spans(typ, text, tname, col.name, s, own)
        if not spans:
            continue
        toks = tokenize(text)
        new_text = _edit(text, [(toks[i].pos, toks[i].end) for i, _ in spans], new, quoted)
        txn.update(stree, rowid, (typ, name, tbl, root, new_text))
    return 0


def _is_constant(e: A.Expr | None) -> bool:
    """sqlite3ValueFromExpr's notion of a constant DEFAULT (literals, signs, CAST)."""
    while isinstance(e, (A.Unary, A.Cast)):
        if isinstance(e, A.Unary) and e.op not in ("+", "-"):
            return False
        e = e.operand if isinstance(e, A.Unary) else e.expr
    return e is None or isinstance(e, A.Literal)


def _add_column(engine: Any, txn: Any, s: Any, hit: tuple, cd: A.ColumnDef | None) -> int:
    assert cd is not None
    rowid, (typ, name, tbl, root, text) = hit
    t = s.table(name)
    if t.column(cd.name) is not None:
        raise OperationalError(f"duplicate column name: {cd.name}")
    default = None
    notnull = False
    generated = None
    for c in cd.constraints:
        if isinstance(c, A.PrimaryKeyConstraint):
            raise OperationalError("Cannot add a PRIMARY KEY column")
        if isinstance(c, A.UniqueConstraint):
            raise OperationalError("Cannot add a UNIQUE column")
        if isinstance(c, A.DefaultConstraint):
            default = c.expr
        elif isinstance(c, A.NotNullConstraint):
            notnull = True
        elif isinstance(c, A.GeneratedConstraint):
            generated = c
    if isinstance(default, A.Literal) and default.value is None:
        default = None
    has_rows = next(iter(txn.rows(engine.trees.table(t))), None) is not None
    if has_rows:
        if notnull and default is None:
            raise OperationalError("Cannot add a NOT NULL column with default value NULL")
        if default is not None and not _is_constant(default):
            raise OperationalError("Cannot add a column with non-constant default")
    if generated is not None:
        raise NotSupportedError("generated columns are not supported yet")
    toks = tokenize(text)
    _refs, _cols, add_at = _table_def_refs(toks)
    off = toks[add_at].pos
    coldef = cd.sql.rstrip().rstrip(";").rstrip()
    while coldef.endswith(";"):
        coldef = coldef[:-1].rstrip()
    new_text = text[:off] + ", " + coldef + text[off:]
    txn.begin_schema_change()
    txn.update(engine.db.table(SCHEMA_ROOT), rowid, (typ, name, tbl, root, new_text))
    if has_rows:
        _check_constraints(engine, txn, name)
    return 0


def _check_constraints(engine: Any, txn: Any, name: str) -> None:
    """After ADD COLUMN on a non-empty table SQLite runs quick_check's CHECK test
    over every row (alter.c): any CHECK that is false fails the statement."""
    from sql.compiler import compile_where_scan
    s = engine.schema(txn)
    t = s.table(name)
    stmt = _parse_create(t.sql) if t is not None else None
    if stmt is None:
        return
    checks = [c.expr for cd in stmt.columns for c in cd.constraints
              if isinstance(c, A.CheckConstraint)]
    checks += [c.expr for c in stmt.constraints if isinstance(c, A.TableCheck)]
    for e in checks:
        try:
            plan = compile_where_scan(t, (t.name.lower(),), A.Unary("NOT", e), [], s)
        except NotSupportedError:
            continue
        if plan.fn(txn, [], None):
            raise OperationalError("CHECK constraint failed")


def _parse_create(sql: str | None) -> Any:
    from sql.parser import parse_one
    try:
        stmt = parse_one(sql or "")
    except Exception:
        return None
    return stmt if isinstance(stmt, A.CreateTable) else None


def _drop_column(engine: Any, txn: Any, s: Any, rows: list, hit: tuple, cname: str,
                 raw: str) -> int:
    rowid, (typ, name, tbl, root, text) = hit
    t = s.table(name)
    col = t.column(cname)
    if col is None:
        raise OperationalError(f'no such column: "{raw}"')
    if col.pk or col.unique:
        kind = "PRIMARY KEY" if col.pk else "UNIQUE"
        raise OperationalError(f'cannot drop {kind} column: "{cname}"')
    if len(t.columns) <= 1:
        raise OperationalError(f'cannot drop column "{cname}": no other columns exist')
    if t.without_rowid:
        raise NotSupportedError("WITHOUT ROWID tables are not supported yet")
    toks = tokenize(text)
    _refs, cols, add_at = _table_def_refs(toks)
    ci = col.index
    start = toks[cols[ci][0]].pos
    if ci < len(cols) - 1:
        end = toks[cols[ci + 1][0]].pos
    else:
        end = toks[add_at].pos
        while start > 0 and text[start] != ",":
            start -= 1
    new_text = text[:start] + text[end:]
    # the schema must still make sense without the column (SQLite re-parses it)
    for _rid, rec in rows:
        rtyp, rname, rtbl, _root, rtext = rec
        if not isinstance(rtext, str) or not isinstance(rname, str):
            continue
        own = rtyp == "table" and rname.lower() == name.lower()
        check = new_text if own else rtext
        if rtyp == "table" and not own:
            continue
        if rtyp == "index" and (not isinstance(rtbl, str) or rtbl.lower() != name.lower()):
            continue
        found = _column_spans(rtyp, check, name, col.name, s, own)
        if found:
            raise OperationalError(f"error in {rtyp} {rname} after drop column: "
                                   f"no such column: {found[0][1]}")
    from sql.compiler import const_value
    defaults = []
    for c in t.columns:
        v = None
        if c.default is not None:
            try:
                v = V.apply_affinity(const_value(c.default), c.affinity)
            except Exception:
                v = None
        defaults.append(v)
    n = len(t.columns)
    txn.begin_schema_change()
    txn.update(engine.db.table(SCHEMA_ROOT), rowid, (typ, name, tbl, root, new_text))
    tree = engine.trees.table(t)
    for rid, rec in list(txn.rows(tree)):
        rec = tuple(rec)
        if len(rec) < n:
            rec = rec + tuple(defaults[len(rec):n])
        txn.update(tree, rid, rec[:ci] + rec[ci + 1:n])
    return 0


# -- REINDEX / ANALYZE / VACUUM -------------------------------------------------------


def reindex(engine: Any, txn: Any, stmt: A.Reindex, sql: str, params: list, conn: Any) -> int:
    """REINDEX [collation | table | index]: recompute index keys from the table rows."""
    s = engine.schema(txn)
    if stmt.name is None:
        _check_main(stmt.schema)
        todo = [ix for t in s.tables.values() for ix in t.indexes]
    else:
        _check_main(stmt.schema)
        todo = None
        if stmt.schema is None and _is_collation(engine, stmt.name):
            cn = stmt.name.upper()
            todo = [ix for t in s.tables.values() for ix in t.indexes
                    if any((c or "BINARY").upper() == cn for c in ix.collations)]
        elif s.table(stmt.name) is not None:
            todo = list(s.table(stmt.name).indexes)
        elif s.index(stmt.name) is not None:
            todo = [s.index(stmt.name)]
        if todo is None:
            raise OperationalError("unable to identify the object to be reindexed")
    rows = _rows(engine, txn)
    for ix in todo:
        t = s.table(ix.table)
        if t is None or t.without_rowid or not t.supported:
            continue
        _rebuild(engine, txn, s, t, ix, conn, rows)
    return 0


def _index_entries(engine: Any, txn: Any, s: Any, t: Any, ix: Any,
                   conn: Any) -> list[tuple] | None:
    """Every key (values..., rowid) the table's rows give ``ix``, partial and expression
    indexes included (their terms and WHERE run as a compiled scan); None if that
    cannot be compiled."""
    n = len(t.columns)
    if ix.supported and not ix.partial:
        out = []
        for rowid, rec in txn.rows(engine.trees.table(t)):
            if len(rec) < n:
                rec = tuple(rec) + (None,) * (n - len(rec))
            out.append(tuple(engine._index_key(t, ix, rec, rowid)))
        return out
    from sql.compiler import compile_where_scan
    from sql.parser import parse_one
    try:
        stmt = parse_one(ix.sql)
        plan = compile_where_scan(t, (t.name.lower(),), stmt.where,
                                  [term.expr for term in stmt.columns], s)
        return [tuple(vals) + (rowid,) for rowid, _rec, vals in plan.fn(txn, [], conn)]
    except NotSupportedError:
        return None


def _is_collation(engine: Any, name: str) -> bool:
    if name.upper() in ("BINARY", "NOCASE", "RTRIM"):
        return True
    reg = getattr(engine, "registry", None)
    colls = getattr(reg, "collations", None)
    return isinstance(colls, dict) and (name in colls or name.lower() in colls
                                         or name.upper() in colls)


def _rebuild(engine: Any, txn: Any, s: Any, t: Any, ix: Any, conn: Any, rows: list) -> None:
    """SQLite's sqlite3RefillIndex: a new tree filled from the table rows, ordered by the
    collations as they are defined now; the schema row points at it, the old tree is freed."""
    from sql.schema import keyinfo_for
    entries = _index_entries(engine, txn, s, t, ix, conn)
    hit = _find(rows, ix.name, ("index",))
    if entries is None or hit is None:
        return
    ki = keyinfo_for(ix.collations, ix.desc)
    sk = ki.sort_key
    entries.sort(key=sk)
    if ix.unique:
        k2 = 2 * len(ix.columns)
        prev = None
        for key in entries:
            if None in key[:-1]:
                continue
            p = sk(key)[:k2]
            if p == prev:
                names = ", ".join(f"{t.name}.{t.columns[c].name}" for c in ix.columns)
                raise IntegrityError(f"UNIQUE constraint failed: {names}")
            prev = p
    tree = txn.create_tree("index", keyinfo=ki, unique=ix.unique)
    for key in entries:
        txn.index_add(tree, key)
    rowid, rec = hit
    txn.update(engine.db.table(SCHEMA_ROOT), rowid, rec[:3] + (tree.root,) + rec[4:])
    txn.drop_tree(engine.trees.index(ix))


def _types(key: tuple) -> tuple:
    return tuple(type(v) for v in key)


def analyze(engine: Any, txn: Any, stmt: A.Analyze, sql: str, params: list, conn: Any) -> int:
    """ANALYZE [schema | table | index]: write sqlite_stat1 rows as SQLite does."""
    s = engine.schema(txn)
    only_table = only_index = None
    if stmt.schema is not None:
        _check_main(stmt.schema)
        name = stmt.name
    else:
        name = stmt.name
        if name is not None and name.lower() == "main":
            name = None
        elif name is not None and name.lower() == "temp":
            return 0
    if name is not None and name.lower() in ("sqlite_master", "sqlite_schema"):
        name = None
        only_table = False
    if name is not None:
        only_index = s.index(name)
        if only_index is None:
            only_table = s.table(name)
            if only_table is None:
                if name.lower() in s.views:
                    return 0
                raise OperationalError(f"no such table: {name}")
    rows = _rows(engine, txn)
    stat = _find(rows, "sqlite_stat1", ("table",))
    if stat is None:
        tree = txn.create_tree("table")
        txn.insert_auto(engine.db.table(SCHEMA_ROOT),
                        ("table", "sqlite_stat1", "sqlite_stat1", tree.root, _STAT1_SQL))
    else:
        tree = engine.db.table(stat[1][3])
    # which tables, in SQLite's order (its schema hash lists newest first)
    if only_index is not None:
        targets = [(s.table(only_index.table), [only_index])]
    elif only_table is False:
        targets = []
    elif only_table is not None:
        targets = [(only_table, None)]
    else:
        targets = [(s.table(rec[1]), None) for _r, rec in reversed(rows)
                   if rec[0] == "table" and isinstance(rec[1], str)
                   and s.table(rec[1]) is not None]
    for rowid, rec in list(txn.rows(tree)):
        tbl = rec[0] if rec else None
        idx = rec[1] if len(rec) > 1 else None
        if only_index is not None:
            hitrow = isinstance(idx, str) and idx.lower() == only_index.name.lower()
        elif only_table is False:
            hitrow = False
        elif only_table is not None:
            hitrow = isinstance(tbl, str) and tbl.lower() == only_table.name.lower()
        else:
            hitrow = True
        if hitrow:
            txn.delete(tree, rowid)
    for t, ixs in targets:
        if t is None or t.name.lower().startswith("sqlite_") or t.without_rowid \
                or not t.supported:
            continue
        for out in _stat_rows(engine, txn, s, t, ixs, conn):
            txn.insert_auto(tree, out)
    return 0


def _stat_rows(engine: Any, txn: Any, s: Any, t: Any, only: list | None,
               conn: Any) -> list[tuple]:
    nrow = sum(1 for _ in txn.rows(engine.trees.table(t)))
    if nrow == 0:
        return []
    out = []
    ixs = only if only is not None else list(reversed(t.indexes))
    need_count = only is None
    for ix in ixs:
        if not ix.partial:
            need_count = False
        entries = _index_entries(engine, txn, s, t, ix, conn)
        if not entries:
            continue
        sk = ix.keyinfo.sort_key
        keys = sorted(sk(k[:-1]) for k in entries)
        nidx = len(keys)
        parts = [str(nidx)]
        for k in range(1, len(ix.columns) + 1):
            distinct = 0
            prev = None
            for key in keys:  # a flat sort key holds two items per column
                p = key[:2 * k]
                if distinct == 0 or p != prev:
                    distinct += 1
                    prev = p
            v = (nidx + distinct - 1) // distinct
            if v == 2 and nidx * 10 <= distinct * 11:
                v = 1
            parts.append(str(v))
        out.append((t.name, ix.name, " ".join(parts)))
    if need_count:
        out.append((t.name, None, str(nrow)))
    return out


def vacuum(engine: Any, txn: Any, stmt: A.Vacuum, sql: str, params: list, conn: Any) -> int:
    """VACUUM: refused inside a transaction; otherwise ``sqlite_schema`` is rewritten in
    the order SQLite's VACUUM leaves it (tables with their automatic indexes, then the
    other indexes, then views and triggers, rowids from 1). Rows and pages are kept:
    commits and checkpoints already fold MVCC versions into the B-trees, and freed
    pages stay on the freelist (no file shrinking)."""
    if stmt.schema is not None and stmt.schema.lower() not in ("main", "temp"):
        raise OperationalError(f"unknown database {stmt.schema}")
    if getattr(conn, "in_transaction", False):
        raise OperationalError("cannot VACUUM from within a transaction")
    if stmt.into is not None:
        return _vacuum_into(engine, txn, stmt, params, conn)
    if stmt.schema is not None and stmt.schema.lower() == "temp":
        return 0
    rows = _rows(engine, txn)
    s = engine.schema(txn)
    autoinc = {n for n, t in s.tables.items() if t.autoincrement}
    order = _vacuum_order([rec for _r, rec in rows], autoinc)
    if order == [rec for _r, rec in rows] and [r for r, _ in rows] == list(range(1, len(rows) + 1)):
        return 0
    txn.begin_schema_change()
    stree = engine.db.table(SCHEMA_ROOT)
    old = {r for r, _ in rows}
    for n, rec in enumerate(order, 1):
        if n in old:
            txn.update(stree, n, rec)
        else:
            txn.insert(stree, n, rec)
    for r in old:
        if r > len(order):
            txn.delete(stree, r)
    return 0


def _vacuum_order(recs: list[tuple], autoinc: set[str]) -> list[tuple]:
    """sqlite_schema rows in the order vacuum.c recreates them."""
    out: list[tuple] = []
    seq = [r for r in recs if r[0] == "table" and r[1] == "sqlite_sequence"]
    done_seq = not seq
    for r in recs:
        if r[0] != "table" or r[1] == "sqlite_sequence" or r[3] == 0:
            continue
        out.append(r)
        lname = str(r[1]).lower()
        out += [x for x in recs if x[0] == "index" and x[4] is None
                and str(x[2]).lower() == lname]
        if not done_seq and lname in autoinc:
            out += seq
            done_seq = True
    out += [x for x in recs if x[0] == "index" and x[4] is not None]
    out += [x for x in recs if x[0] in ("view", "trigger") or (x[0] == "table" and x[3] == 0)]
    if not done_seq:
        out += seq
    out += [x for x in recs if x not in out]
    return out


def _vacuum_into(engine: Any, txn: Any, stmt: A.Vacuum, params: list, conn: Any) -> int:
    """VACUUM INTO file: a fresh database with the same schema rows, rows and index keys."""
    import os

    from mvcc.database import Database
    from sql.compiler import compile_exprs
    target = compile_exprs([stmt.into], engine.schema(txn)).fn(txn, params, conn)[0]
    if not isinstance(target, str):
        raise OperationalError("non-text filename")
    if target in ("", ":memory:"):
        return 0
    if os.path.exists(target) and os.path.getsize(target) > 0:
        raise OperationalError("output file already exists")
    s = engine.schema(txn)
    rows = _rows(engine, txn)
    autoinc = {n for n, t in s.tables.items() if t.autoincrement}
    order = _vacuum_order([rec for _r, rec in rows], autoinc)
    for rec in order:
        t = s.table(rec[1]) if rec[0] == "table" and isinstance(rec[1], str) else None
        if t is not None and t.without_rowid:
            raise NotSupportedError("VACUUM INTO with WITHOUT ROWID tables is not supported yet")
    db2 = Database.open(target)
    try:
        t2 = db2.begin("deferred")
        try:
            stree = db2.table(SCHEMA_ROOT)
            for n, rec in enumerate(order, 1):
                typ, name, _tbl, root, _sql = rec
                new_root = 0
                if typ == "table" and type(root) is int and root != 0:
                    tree = t2.create_tree("table")
                    for rowid, r in txn.rows(engine.db.table(root)):
                        t2.insert(tree, rowid, tuple(r))
                    new_root = tree.root
                elif typ == "index" and type(root) is int and root != 0:
                    ix = s.index(name)
                    if ix is None:
                        continue
                    src = engine.trees.index(ix)
                    tree = t2.create_tree("index", keyinfo=ix.keyinfo, unique=ix.unique)
                    for key in txn.index_keys(src):
                        t2.index_add(tree, tuple(key))
                    new_root = tree.root
                t2.insert(stree, n, (typ, name, rec[2], new_root if root else root, rec[4]))
            t2.commit()
        except BaseException:
            if t2.state == 0:
                t2.rollback()
            raise
    finally:
        db2.close()
    return 0
