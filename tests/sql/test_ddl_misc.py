"""REINDEX, ANALYZE and VACUUM (sql/ddl.py) against stdlib sqlite3: same outcomes, same
sqlite_stat1 contents (exact order for small schemas), same sqlite_schema rows and data,
integrity_check ok; REINDEX repairs a damaged index; the reindex corpus file passes."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mvlite
from test_ddl_support import check, integrity, run_both, assert_same_files, schema_rows

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
import slt  # noqa: E402

EVIDENCE = Path("/work/shared/conformance/sqllogictest/evidence")

SETUP = [
    "CREATE TABLE t(a INTEGER PRIMARY KEY, b, c, d UNIQUE)", "CREATE INDEX tb ON t(b)",
    "CREATE INDEX tbc ON t(b, c)", "CREATE TABLE e(x)", "CREATE INDEX ex ON e(x)",
    "CREATE TABLE n(y)", "CREATE TABLE p(z TEXT COLLATE nocase)", "CREATE INDEX pz ON p(z)",
    "CREATE INDEX pz2 ON p(z COLLATE binary DESC)",
    "INSERT INTO t(b, c, d) VALUES (1,1,1), (1,2,2), (1,2,3), (2,NULL,4), (3,3,NULL), (3,3,NULL)",
    "INSERT INTO n VALUES (1), (2)", "INSERT INTO p VALUES ('a'), ('A'), ('b'), (NULL), (NULL)",
]


def test_analyze_writes_sqlite_stat1_like_sqlite(tmp_path: Path) -> None:
    outs = check(tmp_path, SETUP + [
        "ANALYZE", "SELECT * FROM sqlite_stat1",
        "INSERT INTO e VALUES (5)", "ANALYZE e", "SELECT * FROM sqlite_stat1",
        "ANALYZE tbc", "SELECT * FROM sqlite_stat1",
        "ANALYZE nosuch", "ANALYZE main", "ANALYZE main.t", "ANALYZE sqlite_master",
        "ANALYZE sqlite_stat1", "SELECT * FROM sqlite_stat1",
        "DROP INDEX tb", "SELECT * FROM sqlite_stat1",
    ])
    stat = outs[len(SETUP) + 1][1]
    assert ("t", "tbc", "6 2 2") in stat and ("n", None, "2") in stat


def test_analyze_partial_and_expression_indexes(tmp_path: Path) -> None:
    check(tmp_path, [
        "CREATE TABLE p(z, w)", "CREATE INDEX pz ON p(z) WHERE z > 0",
        "CREATE INDEX pe ON p(z + w, lower(w))", "CREATE INDEX pw ON p(w) WHERE w IS NOT NULL",
        "INSERT INTO p VALUES (1, 'a'), (-1, 'A'), (2, 'b'), (2, NULL), (3, 'b')",
        "CREATE TABLE q(a)", "CREATE INDEX qa ON q(a) WHERE a > 100", "INSERT INTO q VALUES (1)",
        "ANALYZE", "SELECT * FROM sqlite_stat1", "REINDEX p", "REINDEX pz",
        "SELECT z FROM p WHERE z > 0 ORDER BY z",
    ])


def test_statistics_table_can_be_dropped(tmp_path: Path) -> None:
    check(tmp_path, ["CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT)", "CREATE INDEX ta ON t(a)",
                     "INSERT INTO t VALUES (1)", "ANALYZE", "DROP TABLE sqlite_sequence",
                     "DROP TABLE sqlite_master", "DROP TABLE sqlite_stat1", "ANALYZE",
                     "DROP TABLE SQLITE_STAT1", "DROP TABLE IF EXISTS sqlite_stat4", "ANALYZE"])


def test_analyze_on_an_empty_database_creates_the_table(tmp_path: Path) -> None:
    check(tmp_path, ["ANALYZE", "CREATE TABLE q(a)", "ANALYZE", "SELECT * FROM sqlite_stat1"])


_value = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(["a", "A", "b", "B ", "b"]),
                   st.sampled_from([1.0, 2.5]))


@settings(max_examples=8, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(_value, _value, _value), max_size=25))
def test_analyze_random_data(tmp_path_factory: pytest.TempPathFactory, rows: list) -> None:
    tmp = tmp_path_factory.mktemp("an")
    stmts = ["CREATE TABLE r(a, b TEXT COLLATE nocase, c)", "CREATE INDEX ra ON r(a)",
             "CREATE INDEX rbc ON r(b, c DESC)", "CREATE INDEX rcba ON r(c, b COLLATE rtrim, a)"]
    stmts += [f"INSERT INTO r VALUES ({', '.join(_lit(v) for v in row)})" for row in rows]
    stmts += ["ANALYZE", "SELECT * FROM sqlite_stat1"]
    mpath, spath, _ = run_both(tmp, stmts)
    assert_same_files(mpath, spath)


def _lit(v: object) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return "'" + v + "'"
    return repr(v)


@pytest.mark.parametrize("stmt", [
    "REINDEX", "REINDEX nosuch", "REINDEX nocase", "REINDEX binary", "REINDEX t", "REINDEX tb",
    "REINDEX main.t", "REINDEX main.tb", "REINDEX main.nocase", "REINDEX nosuch.t", "REINDEX n",
])
def test_reindex_outcomes(tmp_path: Path, stmt: str) -> None:
    check(tmp_path, SETUP + [stmt, "SELECT a FROM t WHERE b = 1 ORDER BY a",
                             "SELECT z FROM p WHERE z = 'a' ORDER BY z"])


def test_reindex_repairs_a_damaged_index(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    c = mvlite.connect(str(path), autocommit=True)
    for q in ["CREATE TABLE t(a, b)", "CREATE INDEX tb ON t(b)", "CREATE UNIQUE INDEX ta ON t(a)",
              "INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z')"]:
        c.execute(q)
    # damage: drop one entry of each index behind the engine's back
    eng, db = c._engine, c._db
    txn = db.begin("deferred")
    s = eng.schema(txn)
    for name in ("tb", "ta"):
        ix = s.index(name)
        tree = eng.trees.index(ix)
        key = next(iter(txn.index_keys(tree)))
        txn.index_remove(tree, key)
    txn.commit()
    c.close()
    assert integrity(path) != ["ok"]
    c = mvlite.connect(str(path), autocommit=True)
    c.execute("REINDEX tb")
    c.close()
    assert any("ta" in line for line in integrity(path))
    assert not any("tb" in line for line in integrity(path))
    c = mvlite.connect(str(path), autocommit=True)
    c.execute("REINDEX")
    assert c.execute("SELECT a FROM t WHERE b = 'x'").fetchall() == [(1,)]
    c.close()
    assert integrity(path) == ["ok"]


def _fwd(a: str, b: str) -> int:
    return (a > b) - (a < b)


def _rev(a: str, b: str) -> int:
    return (a < b) - (a > b)


def test_reindex_after_a_collation_changes(tmp_path: Path) -> None:
    """REINDEX's purpose: a collation's order changed, so its indexes are rebuilt in the
    new order (checked by sqlite3's integrity_check with the new collation)."""
    results = []
    for mod, path in ((mvlite, tmp_path / "m.db"), (sqlite3, tmp_path / "s.db")):
        c = mod.connect(str(path), isolation_level=None)
        c.create_collation("c1", _fwd)
        for q in ["CREATE TABLE t(a TEXT COLLATE c1, b)", "CREATE INDEX ta ON t(a)",
                  "CREATE UNIQUE INDEX tab ON t(b, a)", "CREATE INDEX tb ON t(b)",
                  "INSERT INTO t VALUES ('a', 1), ('c', 2), ('b', 3)"]:
            c.execute(q)
        c.create_collation("c1", _rev)
        c.execute("REINDEX c1")
        results.append((c.execute("SELECT a FROM t WHERE a > 'b'").fetchall(),
                        c.execute("SELECT a FROM t ORDER BY a").fetchall()))
        c.close()
        check = sqlite3.connect(str(path))
        check.create_collation("c1", _rev)
        assert [r[0] for r in check.execute("PRAGMA integrity_check")] == ["ok"]
        check.close()
    assert results[0] == results[1] == ([("a",)], [("c",), ("b",), ("a",)])
    assert schema_rows(tmp_path / "m.db") == schema_rows(tmp_path / "s.db")


def test_reindex_unique_violation_is_reported(tmp_path: Path) -> None:
    """Rebuilding a UNIQUE index over duplicate values fails like SQLite and changes nothing."""
    path = tmp_path / "u.db"
    c = mvlite.connect(str(path), autocommit=True)
    for q in ["CREATE TABLE t(a)", "CREATE UNIQUE INDEX ta ON t(a)", "INSERT INTO t VALUES (1), (2)"]:
        c.execute(q)
    eng, db = c._engine, c._db
    txn = db.begin("deferred")
    s = eng.schema(txn)
    txn.update(eng.trees.table(s.table("t")), 2, (1,))  # table now holds a duplicate
    txn.commit()
    with pytest.raises(mvlite.IntegrityError, match="UNIQUE constraint failed: t.a"):
        c.execute("REINDEX ta")
    c.close()


def test_reindex_corpus_file() -> None:
    res = slt.run_file(EVIDENCE / "slt_lang_reindex.test", engine="mvlite")
    assert res.failures == {} and res.records == len(res.passed) > 0


def test_vacuum_outcomes_and_schema_order(tmp_path: Path) -> None:
    outs = check(tmp_path, [
        "CREATE TABLE a1(x)", "CREATE INDEX a1x ON a1(x)", "CREATE VIEW v AS SELECT 1",
        "CREATE TABLE b1(y INTEGER PRIMARY KEY AUTOINCREMENT, z UNIQUE)",
        "CREATE TRIGGER tr AFTER INSERT ON a1 BEGIN SELECT 1; END",
        "CREATE TABLE c1(w)", "DROP TABLE c1", "CREATE TABLE d1(k PRIMARY KEY, l)",
        "INSERT INTO a1 VALUES (1), (2)", "INSERT INTO b1(z) VALUES ('p'), ('q')",
        "DELETE FROM a1 WHERE x = 1", "ANALYZE",
        "VACUUM", "VACUUM main", "VACUUM temp", "VACUUM nosuch",
        "BEGIN", "VACUUM", "COMMIT",
        "INSERT INTO b1(z) VALUES ('r')", "SELECT * FROM b1",
    ])
    assert outs[-4] == ("OperationalError", "cannot VACUUM from within a transaction")
    names = [r[1] for r in schema_rows(tmp_path / "db_mv.db")]
    assert names.index("a1x") > names.index("d1") and names[-2:] == ["v", "tr"]


def test_vacuum_into_copies_schema_rows_and_keys(tmp_path: Path) -> None:
    """mvlite's VACUUM INTO and sqlite3's, from files built by the same statements, agree."""
    setup = ["CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT, b UNIQUE, c)",
             "CREATE INDEX tc ON t(c COLLATE nocase DESC)", "CREATE VIEW v AS SELECT * FROM t",
             "INSERT INTO t(b, c) VALUES (1, 'x'), (2, 'Y'), (3, 'z')", "DELETE FROM t WHERE a = 3",
             "ALTER TABLE t ADD COLUMN d DEFAULT 5", "ANALYZE", "CREATE TABLE u(x)",
             "INSERT INTO u VALUES (zeroblob(5000)), (NULL)",
             "CREATE TRIGGER tr AFTER INSERT ON u BEGIN SELECT 1; END"]
    mpath, spath, _ = run_both(tmp_path, setup)
    c = mvlite.connect(str(mpath), autocommit=True)
    c.execute(f"VACUUM INTO '{tmp_path / 'm_copy.db'}'")
    with pytest.raises(mvlite.OperationalError, match="output file already exists"):
        c.execute(f"VACUUM INTO '{tmp_path / 'm_copy.db'}'")
    c.execute("VACUUM INTO ?", (str(tmp_path / "m_copy2.db"),))
    c.execute("BEGIN")
    with pytest.raises(mvlite.OperationalError, match="cannot VACUUM from within a transaction"):
        c.execute(f"VACUUM INTO '{tmp_path / 'm_copy3.db'}'")
    c.execute("ROLLBACK")
    c.close()
    s = sqlite3.connect(str(spath))
    s.execute(f"VACUUM INTO '{tmp_path / 's_copy.db'}'")
    s.close()
    assert not (tmp_path / "m_copy3.db").exists()
    assert_same_files(tmp_path / "m_copy.db", tmp_path / "s_copy.db")
    assert_same_files(tmp_path / "m_copy2.db", tmp_path / "s_copy.db")
    c = mvlite.connect(str(tmp_path / "m_copy.db"), autocommit=True)
    c.execute("INSERT INTO t(b) VALUES (9)")  # sqlite_sequence came along: rowid 4
    assert c.execute("SELECT a, d FROM t WHERE b = 9").fetchall() == [(4, 5)]
    c.close()


def test_vacuum_on_a_file_written_by_sqlite3(tmp_path: Path) -> None:
    mpath, spath = tmp_path / "m.db", tmp_path / "s.db"
    for p in (mpath, spath):
        s = sqlite3.connect(str(p), isolation_level=None)
        for q in ["CREATE TABLE t(a)", "CREATE VIEW v AS SELECT a FROM t", "CREATE INDEX ta ON t(a)",
                  "CREATE TABLE u(b UNIQUE)", "INSERT INTO t VALUES (1), (2)"]:
            s.execute(q)
        s.close()
    c = mvlite.connect(str(mpath), autocommit=True)
    c.execute("VACUUM")
    c.close()
    s = sqlite3.connect(str(spath), isolation_level=None)
    s.execute("VACUUM")
    s.close()
    assert_same_files(mpath, spath)
