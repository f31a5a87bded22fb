"""ALTER TABLE (sql/ddl.py) against stdlib sqlite3: RENAME TO, RENAME COLUMN, ADD COLUMN,
DROP COLUMN. Each case runs the same statements on both engines and compares every
outcome (rows or error message), the sqlite_schema rows byte for byte, all table data,
and integrity_check; hypothesis drives random sequences of column operations; files
altered by sqlite3 are read and altered further by mvlite."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mvlite
from test_ddl_support import assert_same_files, check, run_both, schema_rows

# -- RENAME TO ----------------------------------------------------------------------


def test_rename_table_rewrites_every_reference(tmp_path: Path) -> None:
    check(tmp_path, [
        "CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT, b UNIQUE, c CHECK(t.c > 0))",
        "CREATE INDEX i ON t(c)", "CREATE INDEX [j] ON [t](b, c)",
        "CREATE VIEW v AS SELECT t.a, b FROM t WHERE t.c > 0",
        "CREATE VIEW w AS SELECT * FROM main.t AS y, t AS x JOIN t ON t.a = x.a",
        "CREATE TRIGGER tr AFTER DELETE ON t BEGIN INSERT INTO p(x) VALUES (old.b); "
        "UPDATE OR IGNORE t SET c = 1 WHERE t.a = 0; DELETE FROM t WHERE a < 0; END",
        "CREATE TABLE p(x REFERENCES t(a), y, FOREIGN KEY(y) REFERENCES \"t\")",
        "CREATE TABLE other(t, tt)",
        "INSERT INTO t(b, c) VALUES (1, 2), (2, 3), (3, 4)",
        "DELETE FROM t WHERE a = 3",
        "ALTER TABLE t RENAME TO u",
        "INSERT INTO u(b, c) VALUES (7, 8)",
        "SELECT * FROM u ORDER BY a",
        "ALTER TABLE U RENAME TO \"n e w\"",
        "ALTER TABLE \"n e w\" RENAME TO [t]",
    ])


@pytest.mark.parametrize("stmt", [
    "ALTER TABLE t RENAME TO sqlite_x", "ALTER TABLE t RENAME TO t", "ALTER TABLE t RENAME TO T",
    "ALTER TABLE t RENAME TO u", "ALTER TABLE t RENAME TO i", "ALTER TABLE t RENAME TO v",
    "ALTER TABLE zz RENAME TO q", "ALTER TABLE sqlite_master RENAME TO q",
    "ALTER TABLE nosuch.t RENAME TO q", "ALTER TABLE v RENAME TO v2", "ALTER TABLE t RENAME TO tr",
])
def test_rename_table_errors(tmp_path: Path, stmt: str) -> None:
    check(tmp_path, ["CREATE TABLE t(a, b)", "CREATE TABLE u(a)", "CREATE INDEX i ON t(a)",
                     "CREATE VIEW v AS SELECT a FROM t", "CREATE VIEW vv AS SELECT * FROM v",
                     "CREATE TRIGGER tr AFTER INSERT ON u BEGIN SELECT 1; END",
                     "INSERT INTO t VALUES (1, 2)", stmt])


@pytest.mark.parametrize("setup", [
    "CREATE VIEW v4 AS SELECT * FROM nosuch", "CREATE VIEW v4 AS SELECT b FROM z, nosuch",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO nosuch VALUES (1); END",
    "CREATE VIEW v AS WITH c AS (SELECT 1) SELECT * FROM c",
    "CREATE VIEW v AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3), "
    "d AS (SELECT 2) SELECT * FROM c, d, main.t",
    "CREATE VIEW v AS SELECT * FROM json_each('[1]'), sqlite_master, (SELECT 1) AS q",
])
@pytest.mark.parametrize("alter", [
    "ALTER TABLE t RENAME TO u", "ALTER TABLE t RENAME COLUMN a TO b", "ALTER TABLE t ADD COLUMN q",
    "ALTER TABLE t DROP COLUMN a",
])
def test_rename_checks_views_and_triggers_first(tmp_path: Path, setup: str, alter: str) -> None:
    check(tmp_path, ["CREATE TABLE t(a)", "CREATE TABLE z(b)", setup, alter])


# -- RENAME COLUMN --------------------------------------------------------------------


def test_rename_column_rewrites_table_indexes_views_triggers(tmp_path: Path) -> None:
    check(tmp_path, [
        "CREATE TABLE t(a text, text int, \"b\" check(b>0 and t.b<9), c collate nocase, "
        "primary key(a, b), unique(\"text\"), foreign key(c) references t(a))",
        "CREATE INDEX i ON t(text, b DESC, c COLLATE binary)",
        "CREATE VIEW v AS SELECT a, t.b, text FROM t",
        "CREATE VIEW v2(x,y) AS SELECT b, c FROM t",
        "CREATE VIEW v3 AS SELECT x.b AS b FROM t AS x",
        "CREATE TABLE o(x REFERENCES t(b), y)",
        "CREATE TRIGGER tr AFTER UPDATE OF b ON t WHEN new.b>0 BEGIN "
        "UPDATE t SET b=new.b+old.b WHERE b=1; END",
        "INSERT INTO t VALUES ('x', 1, 2, 'C')",
        "ALTER TABLE t RENAME COLUMN b TO bb",
        "ALTER TABLE t RENAME COLUMN text TO \"Q\"",
        "ALTER TABLE t RENAME a TO [z z]",
        "SELECT * FROM t",
        "INSERT INTO t(\"z z\", bb, c) VALUES ('y', 3, 'd')",
        "SELECT \"z z\", bb FROM t ORDER BY bb",
    ])


def test_rename_column_with_joins_and_other_tables(tmp_path: Path) -> None:
    check(tmp_path, [
        "CREATE TABLE t(a, b, c)", "INSERT INTO t VALUES (1, 2, 3)", "CREATE TABLE u(b, d)",
        "CREATE VIEW v AS SELECT t.a, u.b, d FROM t JOIN u ON t.a = u.d",
        "CREATE VIEW w AS SELECT x.b FROM t AS x",
        "CREATE VIEW w2 AS SELECT b FROM t", "CREATE VIEW w3 AS SELECT (SELECT b FROM u) FROM t",
        "ALTER TABLE t RENAME COLUMN b TO bx", "ALTER TABLE t RENAME TO tt",
        "ALTER TABLE u RENAME COLUMN d TO dd", "SELECT * FROM tt",
    ])


@pytest.mark.parametrize("stmt", [
    "ALTER TABLE t RENAME COLUMN x TO y", "ALTER TABLE t RENAME COLUMN a TO b",
    "ALTER TABLE t RENAME COLUMN a TO B", "ALTER TABLE t RENAME COLUMN b TO A",
    "ALTER TABLE t RENAME COLUMN a TO rowid", "ALTER TABLE t RENAME COLUMN A TO a",
    "ALTER TABLE vv RENAME COLUMN x TO y", "ALTER TABLE sqlite_master RENAME COLUMN name TO x",
    "ALTER TABLE nosuch RENAME COLUMN a TO b", "ALTER TABLE t RENAME COLUMN \"a\" TO \"x\"\"y\"",
])
def test_rename_column_errors(tmp_path: Path, stmt: str) -> None:
    check(tmp_path, ["CREATE TABLE t(a, b)", "CREATE VIEW vv AS SELECT 1", stmt])


# -- ADD COLUMN ---------------------------------------------------------------------

ADDS = [
    "ALTER TABLE t ADD COLUMN c", "ALTER TABLE t ADD d int default 3 ;",
    "ALTER TABLE t ADD COLUMN e PRIMARY KEY", "ALTER TABLE t ADD COLUMN f UNIQUE",
    "ALTER TABLE t ADD COLUMN g NOT NULL", "ALTER TABLE t ADD COLUMN h NOT NULL DEFAULT 4",
    "ALTER TABLE t ADD COLUMN i DEFAULT (1+1)", "ALTER TABLE t ADD COLUMN j DEFAULT current_time",
    "ALTER TABLE t ADD COLUMN k DEFAULT (abs(-1))", "ALTER TABLE t ADD COLUMN a int",
    "ALTER TABLE t ADD COLUMN \"A\" int", "ALTER TABLE t ADD COLUMN l REFERENCES t(a) DEFAULT 3",
    "ALTER TABLE t ADD COLUMN o DEFAULT NULL NOT NULL",
    "ALTER TABLE t ADD COLUMN p CHECK(p>0) COLLATE nocase  ",
    "ALTER TABLE t ADD COLUMN p3 DEFAULT 5 CHECK(p3 < 0)", "ALTER TABLE t ADD p4 DEFAULT -1 CHECK(p4 + a >= 0)",
    "ALTER TABLE t ADD COLUMN q DEFAULT -1", "ALTER TABLE t ADD COLUMN r DEFAULT +1.5",
    "ALTER TABLE t ADD COLUMN s DEFAULT (-1)", "ALTER TABLE t ADD COLUMN u DEFAULT true",
    "ALTER TABLE t ADD COLUMN v TEXT DEFAULT 'x' COLLATE nocase", "ALTER TABLE t ADD w BLOB DEFAULT x'00ff'",
    "ALTER TABLE t ADD COLUMN z REAL DEFAULT 2", "ALTER TABLE t ADD COLUMN y INTEGER DEFAULT '12'",
    "ALTER TABLE vv ADD COLUMN x", "ALTER TABLE sqlite_master ADD COLUMN x",
    "ALTER TABLE nosuch ADD COLUMN x",
]


@pytest.mark.parametrize("rows", [False, True])
def test_add_column_texts_errors_and_defaults(tmp_path: Path, rows: bool) -> None:
    stmts = ["CREATE TABLE t(a,b)", "CREATE VIEW vv AS SELECT 1"]
    if rows:
        stmts += ["INSERT INTO t VALUES (1, 2)", "INSERT INTO t VALUES (3, NULL)"]
    stmts += ADDS
    stmts += ["SELECT * FROM t", "INSERT INTO t(a) VALUES (5)", "SELECT * FROM t ORDER BY rowid",
              "UPDATE t SET b = 9 WHERE a = 1", "SELECT * FROM t ORDER BY rowid"]
    check(tmp_path, stmts)


@pytest.mark.parametrize("create", [
    "CREATE TABLE w(a, b )", "CREATE TABLE w(a, b, CONSTRAINT x PRIMARY KEY(a))",
    "CREATE TABLE w(a, b, UNIQUE(b), CHECK(a > 0))", "CREATE TABLE w (a)  ",
    "CREATE TABLE \"w\"(\"a\" INTEGER PRIMARY KEY, b)",
    "CREATE TABLE w(a, b) /* comment */", "CREATE TABLE w(a VARCHAR(10, 2), b DEFAULT (1))",
])
def test_add_column_position(tmp_path: Path, create: str) -> None:
    check(tmp_path, [create, "ALTER TABLE w ADD COLUMN c INT DEFAULT 7",
                     "ALTER TABLE w ADD d", "INSERT INTO w(b) VALUES (1)"])


# -- DROP COLUMN --------------------------------------------------------------------


def test_drop_column_restrictions(tmp_path: Path) -> None:
    outs = check(tmp_path, [
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b UNIQUE, c CHECK(c>0), d, e REFERENCES t(a), "
        "f, g, h COLLATE nocase, UNIQUE(f,g), CHECK(d>0), FOREIGN KEY(g) REFERENCES t(a))",
        "CREATE INDEX i ON t(f)", "CREATE INDEX j ON t(a, h)",
        "CREATE VIEW v AS SELECT d FROM t", "CREATE VIEW w AS SELECT t.b FROM t",
        "INSERT INTO t VALUES (1,2,3,4,5,6,7,'x')", "INSERT INTO t VALUES (2,3,4,5,6,7,8,'y')",
        "ALTER TABLE t DROP COLUMN x", "ALTER TABLE t DROP COLUMN a", "ALTER TABLE t DROP COLUMN b",
        "ALTER TABLE t DROP COLUMN c", "ALTER TABLE t DROP COLUMN d", "ALTER TABLE t DROP COLUMN e",
        "ALTER TABLE t DROP COLUMN f", "ALTER TABLE t DROP COLUMN g", "ALTER TABLE t DROP COLUMN h",
        "ALTER TABLE v DROP COLUMN d", "ALTER TABLE sqlite_master DROP COLUMN name",
        "CREATE TABLE one(a)", "ALTER TABLE one DROP COLUMN a", "SELECT * FROM t",
    ])
    assert outs[-1][1] == [(1, 2, 4, 6, 7, "x"), (2, 3, 5, 7, 8, "y")]


def test_drop_column_rewrites_rows_and_text(tmp_path: Path) -> None:
    check(tmp_path, [
        "CREATE TABLE t(a, b, c, PRIMARY KEY(a))", "INSERT INTO t VALUES (1, 2, 3)",
        "ALTER TABLE t DROP COLUMN c", "ALTER TABLE t DROP COLUMN b",
        "CREATE TABLE u(x int default 3, y ,  z  )", "INSERT INTO u(y) VALUES (1)",
        "ALTER TABLE u ADD COLUMN w DEFAULT 'q'", "ALTER TABLE u ADD COLUMN r REAL DEFAULT 1",
        "INSERT INTO u VALUES (4, 5, 6, 'k', 2.0)",
        "ALTER TABLE u DROP COLUMN z", "ALTER TABLE u DROP COLUMN x", "SELECT * FROM u",
        "CREATE TABLE k(a, b)", "CREATE INDEX kb ON k(b)", "INSERT INTO k VALUES (1, 'x'), (2, 'y')",
        "ALTER TABLE k DROP COLUMN a", "SELECT * FROM k WHERE b = 'y'",
    ])


def test_drop_column_checks_views_and_triggers(tmp_path: Path) -> None:
    check(tmp_path, [
        "CREATE TABLE t(a, b, c, d)", "INSERT INTO t VALUES (1, 2, 3, 4)",
        "CREATE VIEW v AS SELECT c FROM t", "CREATE VIEW w AS SELECT t.b FROM t",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a=new.a; END",
        "ALTER TABLE t DROP COLUMN b", "ALTER TABLE t DROP COLUMN c", "ALTER TABLE t DROP COLUMN a",
        "ALTER TABLE t DROP COLUMN d", "SELECT * FROM t",
    ])


def test_alter_rolls_back_with_its_transaction(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    c = mvlite.connect(str(path), autocommit=True)
    c.execute("CREATE TABLE t(a, b)")
    c.execute("INSERT INTO t VALUES (1, 2)")
    c.close()
    before = schema_rows(path)
    c = mvlite.connect(str(path), autocommit=True)
    c.execute("BEGIN")
    c.execute("ALTER TABLE t ADD COLUMN c DEFAULT 5")
    assert c.execute("SELECT * FROM t").fetchall() == [(1, 2, 5)]
    c.execute("ALTER TABLE t DROP COLUMN a")
    c.execute("ALTER TABLE t RENAME TO u")
    assert c.execute("SELECT * FROM u").fetchall() == [(2, 5)]
    c.execute("ROLLBACK")
    assert c.execute("SELECT * FROM t").fetchall() == [(1, 2)]
    c.close()
    assert schema_rows(path) == before


def test_files_altered_by_sqlite3_then_by_mvlite(tmp_path: Path) -> None:
    """Reverse direction: sqlite3 alters (short records, rewritten texts), mvlite reads
    and alters further; the same steps on a pure sqlite3 file must agree."""
    first = ["CREATE TABLE t(a INTEGER PRIMARY KEY, b)", "INSERT INTO t VALUES (1, 'x'), (2, 'y')",
             "ALTER TABLE t ADD COLUMN c DEFAULT 42", "ALTER TABLE t RENAME COLUMN b TO bb",
             "CREATE INDEX tc ON t(c)", "ALTER TABLE t RENAME TO u"]
    second = ["SELECT * FROM u ORDER BY a", "SELECT a FROM u WHERE c = 42",
              "ALTER TABLE u ADD COLUMN d TEXT DEFAULT 'z'", "ALTER TABLE u DROP COLUMN bb",
              "ALTER TABLE u RENAME COLUMN c TO cc", "INSERT INTO u(a) VALUES (3)",
              "SELECT * FROM u ORDER BY a"]
    mpath, spath = tmp_path / "m.db", tmp_path / "s.db"
    for p in (mpath, spath):
        s = sqlite3.connect(str(p), isolation_level=None)
        for q in first:
            s.execute(q)
        s.close()
    m = mvlite.connect(str(mpath), autocommit=True)
    s = sqlite3.connect(str(spath), isolation_level=None)
    for q in second:
        assert m.execute(q).fetchall() == s.execute(q).fetchall(), q
    m.close()
    s.close()
    assert_same_files(mpath, spath)


# -- random sequences -----------------------------------------------------------------

_NAMES = ["a", "b", "c", "d", "B", "x y", "t"]
_op = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(_NAMES),
              st.sampled_from(["", " INT", " TEXT DEFAULT 'q'", " DEFAULT 7", " NOT NULL DEFAULT 1",
                               " REAL DEFAULT 1", " UNIQUE"])),
    st.tuples(st.just("drop"), st.sampled_from(_NAMES), st.just("")),
    st.tuples(st.just("rename"), st.sampled_from(_NAMES), st.sampled_from(_NAMES)),
    st.tuples(st.just("insert"), st.integers(0, 3), st.just("")),
    st.tuples(st.just("retable"), st.sampled_from(["t", "u", "T2"]), st.just("")),
)


def _q(n: str) -> str:
    return '"' + n + '"' if " " in n else n


def _random_case(tmp: Path, ops: list) -> None:
    stmts = ["CREATE TABLE t(a INTEGER PRIMARY KEY, b, c DEFAULT 'z')", "CREATE INDEX tb ON t(b)",
             "CREATE VIEW v AS SELECT b FROM t", "INSERT INTO t VALUES (1, 2, 3), (2, 'x', NULL)"]
    table = "t"
    for kind, x, y in ops:
        if kind == "add":
            stmts.append(f"ALTER TABLE {table} ADD COLUMN {_q(x)}{y}")
        elif kind == "drop":
            stmts.append(f"ALTER TABLE {table} DROP COLUMN {_q(x)}")
        elif kind == "rename":
            stmts.append(f"ALTER TABLE {table} RENAME COLUMN {_q(x)} TO {_q(y)}")
        elif kind == "insert":
            stmts.append(f"INSERT INTO {table} DEFAULT VALUES" if x == 0 else
                         f"INSERT INTO {table}(b) VALUES ({x})")
        else:
            stmts.append(f"ALTER TABLE {table} RENAME TO {x}")
            table = x
    stmts.append(f"SELECT * FROM {table} ORDER BY rowid")
    mpath, spath, _ = run_both(tmp, stmts)
    assert_same_files(mpath, spath)


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(_op, min_size=1, max_size=8))
def test_random_alter_sequences(tmp_path_factory: pytest.TempPathFactory, ops: list) -> None:
    _random_case(tmp_path_factory.mktemp("alt"), ops)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(_op, min_size=1, max_size=12))
def test_random_alter_sequences_long(tmp_path_factory: pytest.TempPathFactory, ops: list) -> None:
    _random_case(tmp_path_factory.mktemp("alt"), ops)


def test_alter_is_isolated_from_an_open_snapshot(tmp_path: Path) -> None:
    """A reader that began before ALTER keeps its old schema and rows; its write then
    fails with a retryable conflict; afterwards it sees the altered table."""
    path = str(tmp_path / "iso.db")
    a = mvlite.connect(path, autocommit=True)
    b = mvlite.connect(path, autocommit=True)
    a.execute("CREATE TABLE t(x, y)")
    a.execute("INSERT INTO t VALUES (1, 2)")
    b.execute("BEGIN")
    assert b.execute("SELECT * FROM t").fetchall() == [(1, 2)]
    a.execute("ALTER TABLE t ADD COLUMN z DEFAULT 9")
    a.execute("ALTER TABLE t DROP COLUMN x")
    assert a.execute("SELECT * FROM t").fetchall() == [(2, 9)]
    assert b.execute("SELECT * FROM t").fetchall() == [(1, 2)]
    with pytest.raises(mvlite.OperationalError):
        b.execute("INSERT INTO t VALUES (5, 6)")
        b.execute("COMMIT")
    assert not b.in_transaction
    assert b.execute("SELECT * FROM t").fetchall() == [(2, 9)]
    a.close()
    b.close()
