"""mvlite.connect(): PEP 249 surface, transactions, constraints, and file interop with sqlite3."""
from __future__ import annotations

import sqlite3

import pytest

import mvlite


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "app.db")


def test_module_attributes():
    assert mvlite.apilevel == "2.0" and mvlite.paramstyle == "qmark"
    assert mvlite.sqlite_version_info == (3, 40, 1)


def test_roundtrip_readable_by_sqlite3(path):
    con = mvlite.connect(path)
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL, b REAL, c UNIQUE)")
    con.execute("CREATE INDEX ta ON t(a)")
    con.execute("INSERT INTO t(a, b, c) VALUES ('x', 1, 'u1'), ('y', '2.5', 'u2')")
    cur = con.execute("INSERT INTO t VALUES (10, ?, ?, ?)", ("z", 3, None))
    assert cur.lastrowid == 10 and cur.rowcount == 1
    con.commit()
    con.execute("UPDATE t SET b = b + 1 WHERE id > 1")
    con.execute("DELETE FROM t WHERE a = ?", ("x",))
    con.commit()
    con.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT * FROM t").fetchall() == [(2, "y", 3.5, "u2"), (10, "z", 4.0, None)]
    assert s.execute("SELECT id FROM t INDEXED BY ta WHERE a = 'z'").fetchall() == [(10,)]
    s.close()


def test_reads_sqlite3_file_and_its_index(path):
    s = sqlite3.connect(path)
    s.execute("CREATE TABLE t(a INTEGER, b TEXT COLLATE NOCASE, UNIQUE(b))")
    s.execute("CREATE INDEX ia ON t(a DESC)")
    s.executemany("INSERT INTO t VALUES (?, ?)", [(i % 7, f"N{i}") for i in range(300)])
    s.commit()
    s.close()
    con = mvlite.connect(path)
    assert con.execute("SELECT count(*) FROM t WHERE a = 3").fetchone() == (
        sum(1 for i in range(300) if i % 7 == 3),)
    assert con.execute("SELECT a FROM t WHERE b = 'n5'").fetchall() == [(5,)]
    with pytest.raises(mvlite.IntegrityError, match="UNIQUE constraint failed: t.b"):
        con.execute("INSERT INTO t VALUES (1, 'n7')")
    con.execute("INSERT INTO t VALUES (99, 'new')")
    con.commit()
    con.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT b FROM t WHERE a = 99").fetchall() == [("new",)]
    s.close()


def test_constraints_and_statement_atomicity(path):
    con = mvlite.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a NOT NULL, b UNIQUE)")
    with pytest.raises(mvlite.IntegrityError, match=r"NOT NULL constraint failed: t\.a"):
        con.execute("INSERT INTO t(b) VALUES (1)")
    con.execute("INSERT INTO t VALUES (1, 1, 1)")
    with pytest.raises(mvlite.IntegrityError, match=r"UNIQUE constraint failed: t\.id"):
        con.execute("INSERT INTO t VALUES (1, 2, 2)")
    with pytest.raises(mvlite.IntegrityError, match=r"UNIQUE constraint failed: t\.b"):
        con.execute("INSERT INTO t VALUES (2, 2, 2), (3, 3, 1)")
    assert con.execute("SELECT * FROM t").fetchall() == [(1, 1, 1)]
    with pytest.raises(mvlite.IntegrityError, match="datatype mismatch"):
        con.execute("INSERT INTO t VALUES ('abc', 1, 5)")


def test_transactions_and_functions(path):
    con = mvlite.connect(path)
    con.execute("CREATE TABLE t(x)")
    con.execute("INSERT INTO t VALUES (1)")
    assert con.in_transaction
    con.rollback()
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with con:
        con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    assert not con.in_transaction
    # the oracle: the same steps on stdlib sqlite3 (the rolled-back row counts in total_changes)
    o = sqlite3.connect(":memory:")
    o.execute("CREATE TABLE t(x)")
    o.execute("INSERT INTO t VALUES (1)")
    o.rollback()
    with o:
        o.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    q = "SELECT changes(), total_changes(), last_insert_rowid()"
    assert con.execute(q).fetchone() == o.execute(q).fetchone() == (1, 6, 5)
    con.executescript("BEGIN; INSERT INTO t VALUES (100); SAVEPOINT s; DELETE FROM t; "
                      "ROLLBACK TO s; COMMIT;")
    assert con.execute("SELECT max(x), count(*) FROM t").fetchone() == (100, 6)
    con.row_factory = mvlite.Row
    row = con.execute("SELECT x AS val FROM t WHERE x = :v", {"v": 3}).fetchone()
    assert row["VAL"] == 3 and row.keys() == ["val"]
    con.close()
    with pytest.raises(mvlite.ProgrammingError, match="Cannot operate on a closed database."):
        con.execute("SELECT 1")


def test_memory_and_unsupported():
    con = mvlite.connect(":memory:")
    assert con.execute("SELECT 1 + 1, 'a' || 'b'").fetchall() == [(2, "ab")]
    con.execute("CREATE TABLE a(x)")
    with pytest.raises(mvlite.NotSupportedError):
        con.execute("SELECT x, row_number() OVER () FROM a")
    with pytest.raises(mvlite.OperationalError, match="no such table: nope"):
        con.execute("SELECT * FROM nope")
    with pytest.raises(mvlite.ProgrammingError, match="one statement"):
        con.execute("SELECT 1; SELECT 2")


def test_drop_and_if_not_exists(path):
    con = mvlite.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t(a UNIQUE)")
    con.execute("CREATE TABLE IF NOT EXISTS t(b)")
    con.execute("CREATE INDEX i ON t(a)")
    with pytest.raises(mvlite.OperationalError, match="already exists"):
        con.execute("CREATE TABLE t(c)")
    con.execute("INSERT INTO t VALUES (1), (2)")
    con.execute("DROP INDEX i")
    con.execute("DROP TABLE t")
    con.execute("DROP TABLE IF EXISTS t")
    con.execute("CREATE TABLE u(x)")
    con.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT name FROM sqlite_master").fetchall() == [("u",)]
    s.close()
