"""Differential harness for the DDL tests (sql/ddl.py): mvlite vs stdlib sqlite3.

``run_both`` runs the same statements on an mvlite file and a sqlite3 file,
recording each statement's outcome (result rows, or error class + message);
``assert_same_files`` then opens both files with sqlite3 and compares the
``sqlite_schema`` rows (type, name, tbl_name, sql; rootpage only as zero or
not), every table's rows, and requires ``PRAGMA integrity_check`` = ok on
the file mvlite wrote. The tests at the bottom check the harness itself.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import mvlite


def _outcome(conn: Any, sql: str) -> tuple:
    try:
        cur = conn.execute(sql)
        rows = cur.fetchall() if cur.description else []
        return ("ok", [tuple(r) for r in rows])
    except Exception as exc:  # compared by class name and message
        return (type(exc).__name__, str(exc))


def run_both(tmp_path: Path, stmts: list[str], name: str = "db") -> tuple[Path, Path, list]:
    """Run ``stmts`` in autocommit on both engines; assert identical outcomes."""
    mpath = tmp_path / f"{name}_mv.db"
    spath = tmp_path / f"{name}_sq.db"
    m = mvlite.connect(str(mpath), autocommit=True)
    s = sqlite3.connect(str(spath), isolation_level=None)
    outs = []
    try:
        for sql in stmts:
            om = _outcome(m, sql)
            os_ = _outcome(s, sql)
            assert om == os_, f"{sql!r}: mvlite {om} != sqlite3 {os_}"
            outs.append(om)
    finally:
        m.close()
        s.close()
    return mpath, spath, outs


def schema_rows(path: Path) -> list[tuple]:
    c = sqlite3.connect(str(path))
    try:
        return [tuple(r) for r in c.execute(
            "SELECT type, name, tbl_name, rootpage > 0, sql FROM sqlite_schema ORDER BY rowid")]
    finally:
        c.close()


def table_data(path: Path) -> dict[str, list]:
    c = sqlite3.connect(str(path))
    try:
        out = {}
        names = [r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type='table'")]
        for n in names:
            q = n.replace('"', '""')
            if n == "sqlite_stat1":
                out[n] = sorted(c.execute(f'SELECT * FROM "{q}"'), key=repr)
            else:
                out[n] = [tuple(r) for r in c.execute(f'SELECT rowid, * FROM "{q}" ORDER BY rowid')]
        return out
    finally:
        c.close()


def integrity(path: Path) -> list:
    c = sqlite3.connect(str(path))
    try:
        return [r[0] for r in c.execute("PRAGMA integrity_check")]
    finally:
        c.close()


def assert_same_files(mpath: Path, spath: Path) -> None:
    assert integrity(mpath) == ["ok"]
    assert schema_rows(mpath) == schema_rows(spath)
    assert table_data(mpath) == table_data(spath)


def check(tmp_path: Path, stmts: list[str], name: str = "db") -> list:
    mpath, spath, outs = run_both(tmp_path, stmts, name)
    assert_same_files(mpath, spath)
    return outs


def test_harness_sees_a_difference(tmp_path: Path) -> None:
    mpath, spath, _ = run_both(tmp_path, ["CREATE TABLE t(a)"])
    c = sqlite3.connect(str(spath))
    c.execute("CREATE TABLE u(b)")
    c.commit()
    c.close()
    assert schema_rows(mpath) != schema_rows(spath)


def test_harness_compares_errors(tmp_path: Path) -> None:
    outs = check(tmp_path, ["CREATE TABLE t(a)", "CREATE TABLE t(a)"])
    assert outs[1] == ("OperationalError", "table t already exists")
