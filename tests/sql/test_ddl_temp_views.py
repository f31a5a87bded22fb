"""CREATE TEMP VIEW: private to the connection, never in the file, dropped on close — vs sqlite3."""
from __future__ import annotations

import sqlite3

import mvlite

SCRIPT = [
    "CREATE TABLE t1(x)", "INSERT INTO t1 VALUES (1), (-2), (3)",
    "CREATE TEMP VIEW v2 AS SELECT x FROM t1 WHERE x > 0",
    "CREATE TEMPORARY VIEW v3(y) AS SELECT x * 2 FROM t1 WHERE x > 0",
    "SELECT * FROM v2, v3 ORDER BY 1, 2",
    "CREATE TEMP VIEW v2 AS SELECT 1",
    "CREATE TEMP VIEW IF NOT EXISTS v2 AS SELECT 1",
    "SELECT y FROM v3 WHERE y > 2",
    "SELECT name FROM sqlite_schema",
    "DROP VIEW v2", "DROP VIEW v2", "SELECT * FROM v2", "DROP VIEW temp.v3", "SELECT * FROM v3",
]


def _run(mod, path):
    con = mod.connect(path)
    out = []
    for sql in SCRIPT:
        try:
            out.append(con.execute(sql).fetchall())
        except mod.Error as e:
            out.append((type(e).__name__, str(e)))
    con.commit()
    con.close()
    return out


def test_temp_views_like_sqlite3(tmp_path):
    ours = _run(mvlite, str(tmp_path / "a.db"))
    assert ours == _run(sqlite3, str(tmp_path / "b.db"))
    assert ours[4] == [(1, 2), (1, 6), (3, 2), (3, 6)]


def test_temp_view_is_invisible_to_other_connections_and_the_file(tmp_path):
    path = str(tmp_path / "c.db")
    a = mvlite.connect(path, isolation_level=None)
    a.execute("CREATE TABLE t(x)")
    a.execute("CREATE TEMP VIEW tv AS SELECT x FROM t")
    assert a.execute("SELECT count(*) FROM tv").fetchone() == (0,)
    b = mvlite.connect(path, isolation_level=None)
    try:
        b.execute("SELECT * FROM tv")
        raise AssertionError("the other connection saw a TEMP view")
    except mvlite.OperationalError as e:
        assert str(e) == "no such table: tv"
    b.close()
    a.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT type, name FROM sqlite_schema").fetchall() == [("table", "t")]
    con.close()
