"""Subqueries inside writes: VALUES rows, SET, WHERE, trigger WHEN clauses — vs sqlite3."""
from __future__ import annotations

import sqlite3

import pytest

import mvlite

SETUP = """
CREATE TABLE t(a, b);
INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, NULL);
CREATE TABLE u(k INTEGER PRIMARY KEY, v);
INSERT INTO u VALUES (1, 10), (2, 20);
CREATE TABLE log(x);
CREATE TRIGGER tr AFTER INSERT ON t WHEN (SELECT count(*) FROM t) > 4
BEGIN INSERT INTO log VALUES (new.a); END;
"""
STATEMENTS = [
    "INSERT INTO t VALUES ((SELECT max(a) + 1 FROM t), (SELECT count(*) FROM u))",
    "INSERT INTO t VALUES ((SELECT v FROM u WHERE k = 2), 'z'), ((SELECT 7), (SELECT b FROM t WHERE a = 1))",
    "UPDATE t SET b = (SELECT v FROM u WHERE u.k = t.a) WHERE a IN (SELECT k FROM u)",
    "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.a AND u.v > 10)",
    "UPDATE u SET v = v + (SELECT count(*) FROM t WHERE b IS NOT NULL)",
    "INSERT INTO t SELECT k * 10, v FROM u WHERE v > (SELECT min(v) FROM u)",
    "INSERT INTO t VALUES ((SELECT a, b FROM t), 1)",
]


def _run(mod, stmt):
    con = mod.connect(":memory:")
    con.executescript(SETUP)
    out = []
    for _ in range(3):  # the trigger's WHEN becomes true on the later runs
        try:
            con.execute(stmt)
            out.append("ok")
        except mod.Error as e:
            out.append((type(e).__name__, str(e)))
    for table in ("t", "u", "log"):
        out.append(con.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall())
    con.close()
    return out


@pytest.mark.parametrize("stmt", STATEMENTS)
def test_subqueries_in_writes_like_sqlite3(stmt):
    assert _run(mvlite, stmt) == _run(sqlite3, stmt)
