"""Conflict resolution (lang_conflict.html), differential against stdlib sqlite3.

INSERT OR ROLLBACK/ABORT/FAIL/IGNORE/REPLACE, REPLACE INTO, UPDATE OR ...,
ON CONFLICT clauses of NOT NULL / UNIQUE / PRIMARY KEY constraints (the
statement's OR wins), changes() / total_changes() / last_insert_rowid(),
and the files passing sqlite3's integrity_check. A hypothesis test runs
random sequences on a table with two UNIQUE indexes on both engines.
"""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mvlite
from dml_oracle import assert_same

_n = itertools.count()

SCRIPTS = {
    "or_each": [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, a UNIQUE, b UNIQUE, c NOT NULL)",
        "INSERT INTO t VALUES(1,1,1,'x'),(2,2,2,'y'),(3,3,3,'z')",
        "INSERT INTO t VALUES(4,1,9,'q')",
        "INSERT OR IGNORE INTO t VALUES(4,1,9,'q'),(5,5,5,'w')",
        "INSERT OR REPLACE INTO t VALUES(6,1,2,'r')",
        "REPLACE INTO t VALUES(3,7,7,'s')",
        "INSERT OR ABORT INTO t VALUES(7,8,8,'a'),(8,7,1,'b')",
        "INSERT OR FAIL INTO t VALUES(9,9,9,'a'),(10,7,1,'b'),(11,11,11,'c')",
        "INSERT OR ROLLBACK INTO t VALUES(12,12,12,'a'),(13,7,1,'b')",
        "INSERT OR IGNORE INTO t VALUES(14,14,14,NULL)",
        "INSERT OR REPLACE INTO t VALUES(15,15,15,NULL)",
        "INSERT INTO t(a,b,c) VALUES(20,20,'auto')",
        "INSERT OR REPLACE INTO t(id,a,b,c) VALUES(NULL,20,21,'auto2')",
        "SELECT * FROM t ORDER BY id",
    ],
    "update_or": [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, a UNIQUE, b)",
        "INSERT INTO t VALUES(1,1,1),(2,2,2),(3,3,3),(4,4,4)",
        "UPDATE t SET a=a+1",
        "UPDATE OR IGNORE t SET a=a+1",
        "UPDATE OR REPLACE t SET a=3 WHERE id=1",
        "UPDATE OR REPLACE t SET id=4 WHERE id=2",
        "UPDATE OR FAIL t SET a=10 WHERE id>=1",
        "UPDATE OR ROLLBACK t SET a=10",
        "UPDATE t SET id=NULL WHERE id=1",
        "SELECT * FROM t ORDER BY id",
    ],
    "constraint_clauses": [
        "CREATE TABLE t(a UNIQUE ON CONFLICT IGNORE, b NOT NULL ON CONFLICT REPLACE DEFAULT 5,"
        " c UNIQUE ON CONFLICT REPLACE, d NOT NULL ON CONFLICT IGNORE)",
        "INSERT INTO t VALUES(1,NULL,1,1)",
        "INSERT INTO t VALUES(1,2,2,2)",
        "INSERT INTO t VALUES(3,3,1,3)",
        "INSERT INTO t VALUES(4,4,4,NULL)",
        "INSERT OR ABORT INTO t VALUES(3,9,9,9)",
        "INSERT OR FAIL INTO t VALUES(5,5,5,5),(6,6,5,6)",
        "UPDATE t SET a=5 WHERE +a=3",
        "UPDATE t SET c=5 WHERE +a=3",
        "SELECT rowid, * FROM t ORDER BY rowid",
    ],
    "ipk_replace_order": [
        "CREATE TABLE t(id INTEGER PRIMARY KEY ON CONFLICT REPLACE, u UNIQUE)",
        "INSERT INTO t VALUES(1,1),(2,2)",
        "INSERT INTO t VALUES(1,2)",
        "INSERT INTO t VALUES(1,3)",
        "INSERT OR IGNORE INTO t VALUES(1,3)",
        "SELECT * FROM t ORDER BY id",
    ],
    "notnull_replace_default": [
        "CREATE TABLE t(a NOT NULL DEFAULT 'd', b NOT NULL, c INTEGER NOT NULL DEFAULT '7')",
        "INSERT OR REPLACE INTO t VALUES(NULL, 1, NULL)",
        "INSERT OR REPLACE INTO t VALUES('x', NULL, 1)",
        "INSERT OR IGNORE INTO t VALUES('x', NULL, 1)",
        "INSERT INTO t VALUES(NULL, 1, 1)",
        "UPDATE OR REPLACE t SET a=NULL, c=NULL",
        "SELECT a, b, c, typeof(c) FROM t",
    ],
    "collate_unique": [
        "CREATE TABLE t(x TEXT COLLATE NOCASE UNIQUE, y TEXT UNIQUE)",
        "INSERT INTO t VALUES('abc','abc')",
        "INSERT INTO t VALUES('ABC','x')",
        "INSERT INTO t VALUES('q','ABC')",
        "INSERT OR REPLACE INTO t VALUES('Abc','z')",
        "CREATE UNIQUE INDEX ti ON t(y COLLATE NOCASE)",
        "INSERT INTO t VALUES('k','Z')",
        "SELECT * FROM t",
    ],
    "multi_column_unique": [
        "CREATE TABLE t(a, b, c, UNIQUE(a,b), UNIQUE(c))",
        "INSERT INTO t VALUES(1,1,1),(1,2,2),(NULL,1,3),(NULL,1,4)",
        "INSERT INTO t VALUES(1,1,9)",
        "REPLACE INTO t VALUES(1,2,1)",
        "SELECT * FROM t ORDER BY rowid",
    ],
    "rowid_and_datatype": [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v)",
        "INSERT INTO t VALUES('abc', 1)",
        "INSERT INTO t VALUES('12', 1)",
        "INSERT INTO t VALUES(12.0, 1)",
        "INSERT INTO t(rowid, v) VALUES(5, 5)",
        "INSERT INTO t(oid, v) VALUES(5, 6)",
        "REPLACE INTO t(_rowid_, v) VALUES(5, 7)",
        "SELECT * FROM t",
    ],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_conflict_scripts(tmp_path, name):
    assert_same(str(tmp_path / name), SCRIPTS[name], begin_each=True)


def test_conflict_scripts_autocommit(tmp_path):
    """The same scripts without explicit transactions (OR FAIL excluded: see report)."""
    for name, script in SCRIPTS.items():
        stmts = [s for s in script if "OR FAIL" not in s]
        assert_same(str(tmp_path / name), stmts)


def test_or_rollback_ends_transaction(tmp_path):
    con = mvlite.connect(str(tmp_path / "r.db"), isolation_level=None)
    con.execute("CREATE TABLE t(a UNIQUE)")
    con.execute("BEGIN")
    con.execute("INSERT INTO t VALUES(1)")
    with pytest.raises(mvlite.IntegrityError, match="UNIQUE constraint failed: t.a"):
        con.execute("INSERT OR ROLLBACK INTO t VALUES(1)")
    assert not con.in_transaction
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    with pytest.raises(mvlite.OperationalError, match="no transaction is active"):
        con.execute("COMMIT")


def test_replace_row_changed_hook(tmp_path):
    """REPLACE's deletions pass through Engine._row_changed (change capture needs them)."""
    con = mvlite.connect(str(tmp_path / "h.db"), isolation_level=None)
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a UNIQUE, b UNIQUE)")
    con.execute("INSERT INTO t VALUES(1,1,1),(2,2,2)")
    seen = []

    class Cap:
        def row_changed(self, eng, txn, t, kind, rowid, old, new):
            seen.append((t.name, kind, rowid))

    con._engine.capture = Cap()
    con.execute("REPLACE INTO t VALUES(3,1,2)")
    assert sorted(seen) == [("t", -1, 1), ("t", -1, 2), ("t", 1, 3)]


# -- random sequences ----------------------------------------------------------------

_OR = st.sampled_from(["", "OR IGNORE ", "OR REPLACE ", "OR ABORT ", "OR FAIL ",
                       "OR ROLLBACK "])
_V = st.one_of(st.none(), st.integers(0, 4))
# explicit ids only: after the table's largest rowid is deleted in the same
# transaction, the MVCC allocator does not hand it out again (SQLite does)
_ROW = st.tuples(st.integers(0, 6), _V, _V, _V)


def _ins(orc: str, rows: list) -> str:
    vals = ",".join("(" + ",".join("NULL" if v is None else str(v) for v in r) + ")"
                    for r in rows)
    verb = "REPLACE" if orc == "REPLACE" else f"INSERT {orc}"
    return f"{verb} INTO t VALUES{vals}"


# "+col" keeps both engines on a rowid-order scan: which rows an UPDATE meets
# first (and so which ones REPLACE deletes) follows the plan, the planner's business
_STMT = st.one_of(
    st.builds(_ins, st.one_of(_OR, st.just("REPLACE")), st.lists(_ROW, min_size=1, max_size=3)),
    st.builds(lambda o, col, v, w: f"UPDATE {o}t SET {col}={v} WHERE +b>={w}",
              _OR, st.sampled_from(["a", "b", "c", "id"]), st.integers(0, 5), st.integers(0, 4)),
    st.builds(lambda o, v: f"UPDATE {o}t SET a=a+{v}, b=c", _OR, st.integers(-2, 2)),
    st.builds(lambda v: f"DELETE FROM t WHERE +a={v}", st.integers(0, 4)),
)


@settings(max_examples=int(__import__("os").environ.get("DML_EXAMPLES", "40")), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_STMT, min_size=1, max_size=8))
def test_random_conflict_sequences(tmp_path_factory, stmts):
    d = tmp_path_factory.mktemp("rnd")
    script = ["CREATE TABLE t(id INTEGER PRIMARY KEY, a UNIQUE, b NOT NULL ON CONFLICT IGNORE,"
              " c, UNIQUE(c, a))", "CREATE UNIQUE INDEX tb ON t(b)"] + stmts + \
        ["SELECT * FROM t ORDER BY id"]
    assert_same(str(d / f"s{next(_n)}"), script, begin_each=True, integrity=False)
