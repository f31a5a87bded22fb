"""The PRAGMAs mvlite implements, each with SQLite 3.40's columns, rows and value parsing.

Single job: one handler per pragma of pragma.html that mvlite supports
(schema introspection, header fields, pager settings, checks, checkpoints
and per-connection flags), registered in ``sql.pragma``. Value parsing
follows SQLite's pragma.c: integers through ``sqlite3Atoi`` (leading digits,
32-bit, else 0), booleans through ``sqlite3GetBoolean``, ``synchronous``
through ``getSafetyLevel``. Deliberate differences are listed in
docs/api.md (journal_mode is always "wal"/"memory"; foreign_keys is stored,
not enforced; user_version / application_id writes go straight to the
header, outside the connection's transaction).
"""
from __future__ import annotations

from typing import Any

from sql import aggregates as AG
from sql import ast as A
from sql import functions as F
from sql.engine import Result
from sql.pragma import register_pragma
from storage.errors import OperationalError

_STD_TYPES = ("ANY", "BLOB", "INT", "INTEGER", "REAL", "TEXT")
_UV_OFFSET = {"user_version": 60, "application_id": 68}


# -- value parsing (SQLite's util.c) ---------------------------------------------

def _atoi(z: str | None) -> int:
    """sqlite3Atoi: optional sign and leading digits; 0 unless it fits 32 bits."""
    if z is None:
        return 0
    s = z.strip()
    i = 0
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        i = 1
    j = i
    while j < len(s) and s[j].isascii() and s[j].isdigit():
        j += 1
    if j == i or j - i > 10:
        return 0
    v = int(s[i:j])
    v = -v if neg else v
    return v if -(1 << 31) <= v < (1 << 31) else 0


def _boolean(z: str | None, dflt: bool = False) -> bool:
    """sqlite3GetBoolean: on/yes/true, off/no/false, or a number."""
    if z is None:
        return dflt
    s = z.strip().lower()
    if s in ("on", "yes", "true"):
        return True
    if s in ("off", "no", "false"):
        return False
    if s[:1].isdigit():
        return _atoi(s) != 0
    return dflt


def _safety(z: str) -> int:
    """getSafetyLevel + the pragma's masking: the stored synchronous level 0..7."""
    s = z.strip().lower()
    if s[:1].isdigit():
        lvl = _atoi(s) & 0xFF
    else:
        lvl = {"off": 0, "no": 0, "false": 0, "normal": 1, "full": 2, "on": 2, "yes": 2,
               "true": 2, "extra": 3}.get(s, 1)
    level = (lvl + 1) & 7
    return (level or 1) - 1


def _one(name: str, value: Any) -> Result:
    return Result([name], [(value,)])


def _none() -> Result:
    return Result(None, [])


# -- schema introspection -----------------------------------------------------------

def _schema(conn: Any) -> Any:
    with conn._pragma_txn() as txn:
        return conn._engine.schema(txn)


def _written_collations(sql: str | None) -> dict[str, str]:
    """Column name (lower) -> collation name as written in CREATE TABLE."""
    out: dict[str, str] = {}
    if not sql:
        return out
    try:
        from sql.parser import parse_one
        st = parse_one(sql)
    except Exception:
        return out
    for cd in getattr(st, "columns", ()):
        for c in cd.constraints:
            if isinstance(c, A.CollateConstraint):
                out[cd.name.lower()] = c.collation
    return out


def _default_text(sql: str | None, e: Any, expr_text: Any) -> str | None:
    """A column default as SQLite shows it: the literal as written, or (expr) unwrapped."""
    if sql is None or getattr(e, "pos", -1) < 0:
        return None
    from sql.tokenizer import scan
    toks = [t for t in scan(sql) if t.type not in ("SPACE", "COMMENT")]
    for i, tok in enumerate(toks):
        if tok.pos >= e.pos:
            break
    else:
        return None
    if i > 0 and toks[i - 1].type == "LP":
        return expr_text(sql, e) or None
    end = i + 1
    if tok.text in ("-", "+") and end < len(toks):
        end += 1
    elif i > 1 and toks[i - 1].text in ("-", "+") and toks[i - 2].text.upper() == "DEFAULT":
        tok = toks[i - 1]
    last = toks[end - 1]
    return sql[tok.pos:last.pos + len(last.text)]


def _type_text(col: Any) -> str:
    t = col.type_name or ""
    return t.upper() if t.upper() in _STD_TYPES else t


def select_decltypes(stmt: Any, schema: Any, leftmost: bool = False) -> list | None:
    """Declared types of a SELECT's result columns where they are plain table columns
    (or ``*``) of tables in a simple FROM; None entries elsewhere, None for the whole
    query when it has CTEs, subqueries in FROM or (unless ``leftmost``) compounds."""
    if not isinstance(stmt, A.Select) or stmt.with_ is not None \
            or (stmt.compound and not leftmost):
        return None
    core = stmt.core
    if not isinstance(core, A.SelectCore):
        return None
    if core.from_ is None:
        return [None] * len(core.columns)
    sources = [core.from_.first] + [j.source for j in core.from_.joins]
    tables = []
    for src in sources:
        if not isinstance(src, A.TableName) or schema.table(src.name) is None:
            return None
        tables.append(((src.alias or src.name).lower(), schema.table(src.name)))
    out: list = []
    for rc in core.columns:
        if isinstance(rc, A.Star):
            for alias, t in tables:
                if rc.table is None or rc.table.lower() == alias:
                    out.extend(c.type_name for c in t.columns)
            continue
        e = rc.expr
        typ = None
        if isinstance(e, A.ColumnRef):
            for alias, t in tables:
                if e.table is None or e.table.lower() == alias:
                    col = t.column(e.name)
                    if col is not None:
                        typ = col.type_name
                        break
        out.append(typ)
    return out


def _unique_names(names: list[str]) -> list[str]:
    """sqlite3ColumnsFromExprList: a repeated name gets ":N" (N = 1, 2, ...) appended."""
    seen: set[str] = set()
    out = []
    for name in names:
        cnt = 0
        while name.lower() in seen:
            base = name
            j = len(base) - 1
            while j > 0 and base[j].isdigit():
                j -= 1
            if base[j] == ":":
                base = base[:j]
            cnt += 1
            name = f"{base}:{cnt}"
        seen.add(name.lower())
        out.append(name)
    return out


def _view_rows(conn: Any, s: Any, view: Any, hidden: bool) -> list[tuple]:
    """table_info of a view: its result column names and declared types."""
    from sql.compiler import compile_select
    names = list(view.columns) if view.columns else \
        list(compile_select(view.select, view.sql or "", s).columns)
    types = select_decltypes(view.select, s, leftmost=True) or []
    names = _unique_names(names)
    rows = []
    for i, name in enumerate(names):
        typ = types[i] if i < len(types) and types[i] else ""
        t = typ.upper() if typ.upper() in _STD_TYPES else typ
        row = (i, name, t, 0, None, 0)
        rows.append(row + (0,) if hidden else row)
    return rows


def _table_rows(conn: Any, stmt: A.Pragma, hidden: bool) -> list[tuple]:
    if stmt.value is None:
        return []
    s = _schema(conn)
    t = s.table(stmt.value)
    if t is None:
        view = s.views.get(stmt.value.lower())
        return _view_rows(conn, s, view, hidden) if view is not None else []
    from sql.schema import _expr_text
    pk = {c: n + 1 for n, c in enumerate(t.pk_columns)}
    rows = []
    for col in t.columns:
        dflt = None
        if col.default is not None:
            dflt = _default_text(t.sql, col.default, _expr_text)
        row = (col.index, col.name, _type_text(col), int(bool(col.notnull)), dflt,
               pk.get(col.index, 0))
        rows.append(row + (0,) if hidden else row)
    return rows


@register_pragma("table_info", ["cid", "name", "type", "notnull", "dflt_value", "pk"])
def _table_info(conn: Any, stmt: A.Pragma) -> Result:
    return Result(["cid", "name", "type", "notnull", "dflt_value", "pk"],
                  _table_rows(conn, stmt, False))


@register_pragma("table_xinfo", ["cid", "name", "type", "notnull", "dflt_value", "pk",
                                  "hidden"])
def _table_xinfo(conn: Any, stmt: A.Pragma) -> Result:
    return Result(["cid", "name", "type", "notnull", "dflt_value", "pk", "hidden"],
                  _table_rows(conn, stmt, True))


@register_pragma("index_list", ["seq", "name", "unique", "origin", "partial"])
def _index_list(conn: Any, stmt: A.Pragma) -> Result:
    cols = ["seq", "name", "unique", "origin", "partial"]
    if stmt.value is None:
        return Result(cols, [])
    t = _schema(conn).table(stmt.value)
    if t is None:
        return Result(cols, [])
    rows = []
    # SQLite keeps a table's indexes newest first
    for seq, ix in enumerate(reversed(t.indexes)):
        if ix.auto:
            # an INTEGER PRIMARY KEY owns no index: an autoindex on it is a UNIQUE's
            origin = "pk" if list(ix.columns) == list(t.pk_columns) and \
                t.rowid_alias is None else "u"
        else:
            origin = "c"
        rows.append((seq, ix.name, int(bool(ix.unique)), origin, int(bool(ix.partial))))
    return Result(cols, rows)


def _index_terms(conn: Any, stmt: A.Pragma) -> tuple[Any, Any, list] | None:
    if stmt.value is None:
        return None
    s = _schema(conn)
    ix = s.index(stmt.value)
    if ix is None:
        return None
    t = s.table(ix.table)
    written = _written_collations(t.sql if t is not None else None)
    colls: list[str] = []
    terms = None
    if ix.sql:
        try:
            from sql.parser import parse_one
            terms = parse_one(ix.sql).columns
        except Exception:
            terms = None
    for k, cno in enumerate(ix.columns):
        name = None
        if terms is not None and k < len(terms) and isinstance(terms[k].expr, A.Collate):
            name = terms[k].expr.collation
        if name is None and t is not None and cno is not None and cno >= 0:
            name = written.get(t.columns[cno].name.lower())
        colls.append(name or "BINARY")
    return ix, t, colls


def _col_name(t: Any, cno: Any) -> Any:
    if t is None or cno is None or cno < 0:
        return None
    return t.columns[cno].name


@register_pragma("index_info", ["seqno", "cid", "name"])
def _index_info(conn: Any, stmt: A.Pragma) -> Result:
    cols = ["seqno", "cid", "name"]
    got = _index_terms(conn, stmt)
    if got is None:
        return Result(cols, [])
    ix, t, _c = got
    return Result(cols, [(k, c if c is not None else -2, _col_name(t, c))
                         for k, c in enumerate(ix.columns)])


@register_pragma("index_xinfo", ["seqno", "cid", "name", "desc", "coll", "key"])
def _index_xinfo(conn: Any, stmt: A.Pragma) -> Result:
    cols = ["seqno", "cid", "name", "desc", "coll", "key"]
    got = _index_terms(conn, stmt)
    if got is None:
        return Result(cols, [])
    ix, t, colls = got
    rows = [(k, c if c is not None else -2, _col_name(t, c), int(bool(ix.desc[k])), colls[k], 1)
            for k, c in enumerate(ix.columns)]
    rows.append((len(rows), -1, None, 0, "BINARY", 0))
    return Result(cols, rows)


@register_pragma("database_list", ["seq", "name", "file"])
def _database_list(conn: Any, stmt: A.Pragma) -> Result:
    return Result(["seq", "name", "file"], [(0, "main", conn._path)])


@register_pragma("function_list", ["name", "builtin", "type", "enc", "narg", "flags"])
def _function_list(conn: Any, stmt: A.Pragma) -> Result:
    rows: list[tuple] = []
    reg = conn._engine.registry
    for name, defs in reg.functions.items():
        for narg, d in defs.items():
            if isinstance(d, AG.AggregateDef):
                rows.append((name, 0, "a", "utf8", narg, 0))
            else:
                rows.append((name, 0, "s", "utf8", narg, 2048 if d.deterministic else 0))
    for name, d in F.SCALAR.items():
        flags = 2099200 if d.deterministic else 2097152
        if d.nargs >= 0:
            rows.append((name, 1, "s", "utf8", d.nargs, flags))
        elif d.max_args >= 127:
            rows.append((name, 1, "s", "utf8", -1, flags))
        else:
            for n in range(d.min_args, d.max_args + 1):
                rows.append((name, 1, "s", "utf8", n, flags))
    for name, d in AG.AGGREGATES.items():
        for n in range(d.min_args, d.max_args + 1):
            rows.append((name, 1, "w", "utf8", n, 2097152))
    return Result(["name", "builtin", "type", "enc", "narg", "flags"], rows)


@register_pragma("collation_list", ["seq", "name"])
def _collation_list(conn: Any, stmt: A.Pragma) -> Result:
    names = conn._engine.registry.collation_names()
    return Result(["seq", "name"], list(enumerate(names)))


# -- header fields ------------------------------------------------------------------

def _header(conn: Any, lo: int, hi: int) -> int:
    pager = conn._db.pager
    if pager.db_size == 0:
        return 0
    r = pager.begin_read()
    try:
        return int.from_bytes(bytes(r.page(1).data[lo:hi]), "big")
    finally:
        r.end()


def _signed32(v: int) -> int:
    return v - (1 << 32) if v >= (1 << 31) else v


@register_pragma("user_version")
@register_pragma("application_id")
def _user_version(conn: Any, stmt: A.Pragma) -> Result:
    name = stmt.name.lower()
    off = _UV_OFFSET[name]
    if stmt.value is None:
        return _one(name, _signed32(_header(conn, off, off + 4)))
    v = _atoi(stmt.value) & 0xFFFFFFFF
    _write_header(conn, off, v.to_bytes(4, "big"))
    return _none()


def _write_header(conn: Any, off: int, data: bytes) -> None:
    """Write header bytes in a pager write transaction of their own (page 1)."""
    pager = conn._db.pager  # a writable pager always has page 1 (written on create)
    w = pager.begin_write(timeout=conn._timeout)
    try:
        page = w.writable(1)
        page.data[off:off + len(data)] = data
        page.cells = None
        w.commit()
    except BaseException:
        w.rollback()
        raise


@register_pragma("schema_version")
def _schema_version(conn: Any, stmt: A.Pragma) -> Result:
    if stmt.value is not None:
        return _none()  # writing the cookie is refused (documented)
    return _one("schema_version", _signed32(_header(conn, 40, 44)))


@register_pragma("freelist_count")
def _freelist_count(conn: Any, stmt: A.Pragma) -> Result:
    return _one("freelist_count", _header(conn, 36, 40))


@register_pragma("page_count")
def _page_count(conn: Any, stmt: A.Pragma) -> Result:
    return _one("page_count", conn._db.pager.db_size)


@register_pragma("page_size")
def _page_size(conn: Any, stmt: A.Pragma) -> Result:
    if stmt.value is not None:
        return _none()  # WAL databases keep their page size, as in SQLite
    return _one("page_size", conn._db.pager.page_size)


# -- pager settings -------------------------------------------------------------------

@register_pragma("journal_mode")
def _journal_mode(conn: Any, stmt: A.Pragma) -> Result:
    return _one("journal_mode", "memory" if conn._memory else "wal")


@register_pragma("synchronous")
def _synchronous(conn: Any, stmt: A.Pragma) -> Result:
    if stmt.value is None:
        lvl = getattr(conn, "_synchronous", None)
        return _one("synchronous", conn._db.pager.synchronous if lvl is None else lvl)
    lvl = _safety(stmt.value)
    conn._synchronous = lvl
    conn._db.pager.synchronous = min(lvl, 3)
    return _none()


@register_pragma("cache_size")
def _cache_size(conn: Any, stmt: A.Pragma) -> Result:
    pager = conn._db.pager
    if stmt.value is None:
        return _one("cache_size", pager.cache_size)
    pager.cache_size = _atoi(stmt.value)
    return _none()


@register_pragma("wal_autocheckpoint")
def _wal_autocheckpoint(conn: Any, stmt: A.Pragma) -> Result:
    pager = conn._db.pager
    if stmt.value is not None:
        pager.wal_autocheckpoint = max(_atoi(stmt.value), 0)
    return _one("wal_autocheckpoint", max(pager.wal_autocheckpoint, 0))


@register_pragma("wal_checkpoint")
def _wal_checkpoint(conn: Any, stmt: A.Pragma) -> Result:
    cols = ["busy", "log", "checkpointed"]
    mode = (stmt.value or "PASSIVE").upper()
    if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
        mode = "PASSIVE"
    if conn._memory:
        return Result(cols, [(0, -1, -1)])
    return Result(cols, [tuple(conn._db.pager.checkpoint(mode))])


@register_pragma("busy_timeout")
def _busy_timeout(conn: Any, stmt: A.Pragma) -> Result:
    if stmt.value is not None:
        conn._timeout = max(_atoi(stmt.value), 0) / 1000.0
    return _one("timeout", int(round(conn._timeout * 1000)))


@register_pragma("foreign_keys")
@register_pragma("recursive_triggers")
def _flag(conn: Any, stmt: A.Pragma) -> Result:
    name = stmt.name.lower()
    if stmt.value is None:
        return _one(name, int(bool(getattr(conn, name, False))))
    setattr(conn, name, _boolean(stmt.value))
    return _none()


# -- checks -----------------------------------------------------------------------------

@register_pragma("integrity_check")
@register_pragma("quick_check")
def _integrity_check(conn: Any, stmt: A.Pragma) -> Result:
    name = stmt.name.lower()
    limit = 100
    if stmt.value is not None:
        v = stmt.value.strip()
        if v[:1].isdigit() or v[:1] in "+-":
            limit = _atoi(v)
            if limit <= 0:
                limit = 100
        elif _schema(conn).table(v) is None:
            raise OperationalError(f"no such table: {v}")
    from storage.integrity import check
    pager = conn._db.pager
    if pager.db_size == 0:
        return _one(name, "ok")
    r = pager.begin_read()
    try:
        errors = check(r, max_errors=limit)
    finally:
        r.end()
    if not errors:
        return _one(name, "ok")
    return Result([name], [(e,) for e in errors])
