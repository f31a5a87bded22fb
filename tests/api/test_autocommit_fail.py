"""OR FAIL and RAISE(FAIL) in autocommit mode keep the rows changed before the failure.

SQLite's FAIL resolution stops the statement without undoing its earlier
changes, and with no explicit transaction those changes are committed.
"""
from __future__ import annotations

import sqlite3

import pytest

import mvlite

CASES = [
    ("CREATE TABLE t(a UNIQUE); INSERT INTO t VALUES(3)",
     "INSERT OR FAIL INTO t VALUES (1),(2),(3),(4)"),
    ("CREATE TABLE t(a UNIQUE); INSERT INTO t VALUES(1),(2),(3)",
     "UPDATE OR FAIL t SET a = 3 WHERE a < 3"),
    ("CREATE TABLE t(a); CREATE TRIGGER tr BEFORE INSERT ON t WHEN new.a = 3 "
     "BEGIN SELECT RAISE(FAIL, 'no threes'); END",
     "INSERT INTO t VALUES (1),(2),(3),(4)"),
    ("CREATE TABLE t(a NOT NULL ON CONFLICT FAIL)",
     "INSERT INTO t VALUES (1),(NULL),(2)"),
]


def _run(mod, tmp_path, setup, stmt):
    path = str(tmp_path / f"{mod.__name__}.db")
    con = mod.connect(path, isolation_level=None)
    con.executescript(setup)
    try:
        con.execute(stmt)
        err = None
    except mod.Error as e:
        err = (type(e).__name__, str(e))
    rows = con.execute("SELECT * FROM t ORDER BY rowid").fetchall()
    con.close()
    con = sqlite3.connect(path)           # what reached the file
    on_disk = con.execute("SELECT * FROM t ORDER BY rowid").fetchall()
    con.close()
    return err, rows, on_disk


@pytest.mark.parametrize("setup,stmt", CASES)
def test_fail_keeps_earlier_rows_in_autocommit(tmp_path, setup, stmt):
    ours = _run(mvlite, tmp_path, setup, stmt)
    theirs = _run(sqlite3, tmp_path, setup, stmt)
    assert ours == theirs
    assert theirs[0] is not None and theirs[1]      # the cases do fail, after some rows
