"""Object-name clashes in CREATE statements: the same message as sqlite3, or the same success.

Tables, views and indexes share one namespace; triggers have their own.
"""
from __future__ import annotations

import sqlite3

import pytest

import mvlite

SETUP = ["CREATE TABLE t(a)", "CREATE VIEW v AS SELECT 1", "CREATE INDEX i ON t(a)",
         "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END"]
STATEMENTS = [
    "CREATE TABLE t(x)", "CREATE TABLE v(x)", "CREATE TABLE i(x)", "CREATE TABLE tr(x)",
    "CREATE TABLE IF NOT EXISTS v(x)", "CREATE VIEW t AS SELECT 2", "CREATE VIEW v AS SELECT 2",
    "CREATE VIEW i AS SELECT 2", "CREATE VIEW tr AS SELECT 2", "CREATE INDEX t ON t(a)",
    "CREATE INDEX v ON t(a)", "CREATE INDEX i ON t(a)", "CREATE INDEX tr ON t(a)",
    "CREATE TRIGGER tr AFTER DELETE ON t BEGIN SELECT 1; END",
    "CREATE TRIGGER t AFTER DELETE ON t BEGIN SELECT 1; END",
    "CREATE TABLE T(x)", "CREATE VIEW V AS SELECT 2",
]


def _outcome(mod, stmt):
    con = mod.connect(":memory:")
    for s in SETUP:
        con.execute(s)
    try:
        con.execute(stmt)
        result = "ok"
    except mod.Error as e:
        result = (type(e).__name__, str(e))
    names = con.execute("SELECT type, name FROM sqlite_schema ORDER BY rowid").fetchall()
    con.close()
    return result, names


@pytest.mark.parametrize("stmt", STATEMENTS)
def test_name_clash_like_sqlite3(stmt):
    assert _outcome(mvlite, stmt) == _outcome(sqlite3, stmt)


SCHEMA_QUERIES = [
    "SELECT * FROM sqlite_schema ORDER BY name",
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type = 'index'",
    "SELECT name FROM sqlite_schema WHERE tbl_name = 't' ORDER BY rowid",
    "SELECT count(*), max(rootpage) > 0 FROM main.sqlite_master",
    "SELECT s.name FROM sqlite_schema AS s WHERE s.sql LIKE '%AFTER%'",
]
SCHEMA_WRITES = [
    "INSERT INTO sqlite_master VALUES ('table', 'x', 'x', 0, NULL)",
    "DELETE FROM sqlite_schema", "UPDATE sqlite_schema SET name = 'y'",
    "DROP TABLE sqlite_master",
]


@pytest.mark.parametrize("sql", SCHEMA_QUERIES + SCHEMA_WRITES)
def test_schema_table_reads_and_refuses_writes_like_sqlite3(sql):
    def run(mod):
        con = mod.connect(":memory:")
        for s in SETUP:
            con.execute(s)
        try:
            out = con.execute(sql).fetchall()
        except mod.Error as e:
            out = (type(e).__name__, str(e))
        con.close()
        return out
    assert run(mvlite) == run(sqlite3)
