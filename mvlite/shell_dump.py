"""``.dump`` for the ``mvlite`` shell: a database rendered as SQL text.

Single job: write the schema and rows of a connection as a script that both
stdlib ``sqlite3`` (``executescript``) and mvlite restore to the same
contents, in the layout of the sqlite3 CLI's ``.dump`` (https://sqlite.org/
cli.html section 11 "Converting An Entire Database To A Text File"):
``PRAGMA foreign_keys=OFF;``, ``BEGIN TRANSACTION;``, each table's CREATE
then one ``INSERT INTO t VALUES(...)`` per row, ``sqlite_sequence`` as
``DELETE`` + ``INSERT``, then indexes, views and triggers, ``COMMIT;``.
Literals follow SQLite's quoting (lang_expr "Literal Values"): text in
single quotes with ``''``, newlines spelled through ``replace(..., char(10))``
as the CLI does, NUL characters through ``char(0)``, blobs as ``X'..'``,
REALs in the shortest form that SQLite's own text-to-float conversion reads
back as the same double (infinities as ``1e999``), NULL.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

from sql.printf import format_float
from sql.tokenizer import KEYWORDS
from sql.values import sqlite_atof

__all__ = ["dump", "sql_literal", "quote_ident", "like_match"]


def quote_ident(name: str) -> str:
    """An identifier as SQL: bare when it is a plain word that is not a keyword."""
    if name and (name[0].isalpha() or name[0] == "_") and name.isascii() and \
            all(c.isalnum() or c == "_" for c in name) and name.upper() not in KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _real_literal(r: float) -> str:
    if r != r:
        return "NULL"
    if r == float("inf"):
        return "1e999"
    if r == float("-inf"):
        return "-1e999"
    for s in (repr(r), format_float(r, "g", 17, altform2=True),
              format_float(r, "g", 20, altform2=True)):
        if sqlite_atof(s)[1] == r:
            return s
    return _exact_product(r)


#: 2**-64 and 2**64 as literals SQLite's text-to-float conversion reads exactly
_POW2 = {-64: "5.421010862427522170037264e-20", 64: "18446744073709551616.0"}


def _exact_product(r: float) -> str:
    """``(m*f*f...)``: r as a 53-bit integer times exact powers of two.

    For the few doubles (tiny magnitudes) that SQLite 3.40's ``sqlite3AtoF``
    cannot reach from any decimal text; every product is exact in binary64,
    so the value restores bit for bit in SQLite and mvlite alike.
    """
    f, e = math.frexp(r)
    m = int(f * (1 << 53))
    e -= 53
    parts = [f"{m}.0"]
    step = -64 if e < 0 else 64
    while abs(e) >= 64:
        parts.append(_POW2[step])
        e -= step
    if e:
        parts.append(repr(2.0 ** e))
    return "(" + "*".join(parts) + ")"


def _unused(s: str, a: str, b: str) -> str:
    """A marker that does not occur in ``s``: ``a``, ``b``, then ``(a1)``, ``(a2)``..."""
    if a not in s:
        return a
    if b not in s:
        return b
    i = 1
    while f"({a}{i})" in s:
        i += 1
    return f"({a}{i})"


def _text_literal(s: str) -> str:
    body = "'" + s.replace("'", "''") + "'"
    for ch, code, a, b in (("\r", 13, "\\r", "\\015"), ("\n", 10, "\\n", "\\012")):
        if ch in s:
            marker = _unused(s, a, b)
            body = f"replace({body.replace(ch, marker)},'{marker}',char({code}))"
    if "\0" in s:
        body = body.replace("\0", "'||char(0)||'")
    return body


def sql_literal(v: Any) -> str:
    """A value as an SQL literal that reads back as exactly the same value and type."""
    t = type(v)
    if v is None:
        return "NULL"
    if t is int:
        return str(v)
    if t is float:
        return _real_literal(v)
    if t is bytes:
        return "X'" + v.hex() + "'"
    return _text_literal(v)


def like_match(pattern: str, text: str) -> bool:
    """SQL LIKE (case-insensitive for ASCII, ``%`` and ``_``), as ``.tables PATTERN`` uses."""
    from sql.like import like
    try:
        return bool(like(pattern, text))
    except Exception:
        return pattern.lower() == text.lower()


def dump(schema_rows: Iterable[tuple], table_rows: Callable[[str], tuple[list, list]],
         write: Callable[[str], Any], patterns: list[str] | None = None) -> None:
    """Write the dump of the objects in ``schema_rows`` (type, name, tbl_name, rootpage, sql).

    ``table_rows(name)`` returns (column names, rows) of a table; ``patterns``
    (LIKE patterns on object names, sqlite_sequence included) restricts the
    dump as sqlite3 3.40's ``.dump PATTERN`` does.
    """
    rows = list(schema_rows)

    def wanted(name: str) -> bool:
        return not patterns or any(like_match(p, name) for p in patterns)

    write("PRAGMA foreign_keys=OFF;\n")
    write("BEGIN TRANSACTION;\n")
    seq = False
    for typ, name, _tbl, _root, sql in rows:
        if typ != "table" or sql is None or not wanted(name):
            continue
        low = name.lower()
        if low == "sqlite_sequence":
            seq = True  # its rows go last, after the tables they number
            continue
        if low.startswith("sqlite_"):
            continue
        if sql.upper().startswith('CREATE TABLE "') or sql.upper().startswith("CREATE TABLE '"):
            sql = "CREATE TABLE IF NOT EXISTS " + sql[13:]
        write(sql + ";\n")
        _cols, data = table_rows(name)
        prefix = "INSERT INTO " + quote_ident(name) + " VALUES("
        for r in data:
            write(prefix + ",".join([sql_literal(v) for v in r]) + ");\n")
    if seq:
        write("DELETE FROM sqlite_sequence;\n")
        for r in table_rows("sqlite_sequence")[1]:
            write("INSERT INTO sqlite_sequence VALUES(" + ",".join(sql_literal(v) for v in r)
                  + ");\n")
    for typ, name, _tbl, _root, sql in rows:
        if typ in ("index", "trigger", "view") and sql is not None and wanted(name):
            write(sql + ";\n")
    write("COMMIT;\n")
