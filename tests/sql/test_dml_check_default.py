"""CHECK constraints, DEFAULT values, column COLLATE and CREATE TABLE ... AS SELECT.

Differential against stdlib sqlite3 (``dml_oracle``): the error text SQLite
uses for CHECK ("CHECK constraint failed: <name or expression text>"), the
DEFAULT forms of lang_createtable.html (literals, signed numbers, strings,
``(expr)``, CURRENT_*), and the CREATE text SQLite generates for CTAS
(declared types from expression affinity: INT, REAL, TEXT, NUM or none).
"""
from __future__ import annotations

import sqlite3

import pytest

import mvlite
from dml_oracle import assert_same

SCRIPTS = {
    "check": [
        "CREATE TABLE t(a CHECK( a > 0 ), b CONSTRAINT bb CHECK(b<10), c CHECK (c!=5),"
        " d CHECK(d IS NULL OR length(d) < 3), CHECK(a+b <100), CONSTRAINT tc CHECK(c<>6))",
        "INSERT INTO t VALUES(0,1,1,NULL)",
        "INSERT INTO t VALUES(1,11,1,NULL)",
        "INSERT INTO t VALUES(1,1,5,NULL)",
        "INSERT INTO t VALUES(1,1,6,NULL)",
        "INSERT INTO t VALUES(1,1,1,'abcd')",
        "INSERT INTO t VALUES(NULL,NULL,NULL,NULL)",
        "INSERT INTO t VALUES('x',1,1,'ab')",
        "INSERT OR IGNORE INTO t VALUES(0,1,1,NULL),(2,2,2,NULL)",
        "INSERT OR REPLACE INTO t VALUES(0,1,1,NULL)",
        "INSERT INTO t VALUES(3,3,3,NULL),(4,4,4,NULL),(0,0,0,NULL)",
        "UPDATE t SET b = b + 8",
        "UPDATE OR IGNORE t SET b = b + 8",
        "UPDATE t SET a = -a WHERE a = 2",
        "SELECT * FROM t ORDER BY rowid",
    ],
    "check_rowid": [
        "CREATE TABLE r(id INTEGER PRIMARY KEY CHECK(id < 10), v)",
        "INSERT INTO r VALUES(5, 1)",
        "INSERT INTO r VALUES(50, 1)",
        "UPDATE r SET id = 11",
        "SELECT * FROM r",
    ],
    "defaults": [
        "CREATE TABLE d(a DEFAULT 5, b DEFAULT (1+2), c DEFAULT -3, e DEFAULT 'x',"
        " f DEFAULT -2.5, g INTEGER DEFAULT '12', h TEXT DEFAULT 7, i DEFAULT NULL,"
        " j DEFAULT (upper('q') || 'z'), k DEFAULT x'0102', l DEFAULT +4, m DEFAULT TRUE)",
        "INSERT INTO d DEFAULT VALUES",
        "INSERT INTO d(a) VALUES(1)",
        "INSERT INTO d(b, e) VALUES(NULL, NULL)",
        "SELECT *, typeof(g), typeof(h) FROM d",
    ],
    "current_time_default": [
        "CREATE TABLE c(a, t DEFAULT CURRENT_TIMESTAMP, d DEFAULT CURRENT_DATE,"
        " u DEFAULT CURRENT_TIME)",
        "INSERT INTO c(a) VALUES(1)",
        "SELECT a, length(t), length(d), length(u), t LIKE '____-__-__ __:__:__' FROM c",
    ],
    "collate": [
        "CREATE TABLE w(x TEXT COLLATE NOCASE UNIQUE, y COLLATE RTRIM UNIQUE, z)",
        "INSERT INTO w VALUES('a', 'b ', 1)",
        "INSERT INTO w VALUES('A', 'c', 2)",
        "INSERT INTO w VALUES('q', 'b', 3)",
        "INSERT INTO w VALUES('q', 'b  ', 3)",
        "INSERT OR REPLACE INTO w VALUES('A', 'z', 4)",
        "SELECT * FROM w WHERE x = 'A'",
        "SELECT * FROM w ORDER BY rowid",
    ],
    "create_errors": [
        "CREATE TABLE x(a CHECK(b>0))",
        "CREATE TABLE x2(a DEFAULT (a+1))",
        "CREATE TABLE x4(a DEFAULT \"abc\", b DEFAULT (1 + 2), c CHECK(c > 0 AND x4.c < 10))",
        "INSERT INTO x4(c) VALUES(5)",
        "INSERT INTO x4(c) VALUES(50)",
        "SELECT * FROM x4",
    ],
    "ctas": [
        "CREATE TABLE u(a int, b real, c text, d numeric, e blob, f, \"my col\" varchar)",
        "INSERT INTO u VALUES(1,2,'3',4,x'05',6,7),(8,'9.5','x',NULL,NULL,'y',NULL)",
        "CREATE TABLE ct AS SELECT 1 AS a, 'x' b, 1.5 c, x'00' d, NULL e, a+1 f,"
        " CAST(a AS NUM) g, a, b, c, d, e, f, \"my col\", rowid, u.c AS \"select\" FROM u",
        "CREATE TABLE ct2 AS SELECT * FROM u WHERE a > 1",
        "CREATE TABLE ct2 AS SELECT * FROM u",
        "CREATE TABLE IF NOT EXISTS ct2 AS SELECT * FROM u",
        "CREATE TABLE ct3 AS SELECT a AS x, a AS x, a AS X FROM u",
        "SELECT * FROM ct",
        "SELECT *, typeof(b) FROM ct2",
        "SELECT * FROM ct3",
    ],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_check_default_scripts(tmp_path, name):
    assert_same(str(tmp_path / name), SCRIPTS[name])


def test_ctas_create_text(tmp_path):
    """The stored CREATE TABLE text is SQLite's generated one, byte for byte."""
    script = SCRIPTS["ctas"]
    texts = []
    for mod in (sqlite3, mvlite):
        p = str(tmp_path / f"{mod.__name__}.db")
        con = mod.connect(p, isolation_level=None)
        for sql in script:
            try:
                con.execute(sql)
            except Exception:
                pass
        con.close()
        con = sqlite3.connect(p)
        texts.append(con.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall())
        con.close()
    assert texts[0] == texts[1]
    assert any('"my col" TEXT' in (sql or "") for _, sql in texts[1])
