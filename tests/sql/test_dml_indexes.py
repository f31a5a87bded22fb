"""Partial (partialindex.html) and expression (expridx.html) indexes on the write side.

Every write keeps them in step: a partial index holds exactly the rows whose
WHERE is true, an expression index is keyed by its expressions, UNIQUE on
either is enforced (SQLite's messages: "UNIQUE constraint failed: t.a" for
column keys, "... index 'name'" for expression keys), CREATE INDEX builds them
over existing rows; the resulting files pass sqlite3's PRAGMA integrity_check
(checked by ``dml_oracle.assert_same``), which compares every index entry
with the table.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dml_oracle import assert_same

SCRIPTS = {
    "partial": [
        "CREATE TABLE t(a, b, c)",
        "INSERT INTO t VALUES(1,1,1),(2,2,-2),(3,NULL,3)",
        "CREATE INDEX tp ON t(b) WHERE c > 0",
        "CREATE UNIQUE INDEX tu ON t(a) WHERE b IS NOT NULL",
        "INSERT INTO t VALUES(1, NULL, 5)",
        "INSERT INTO t VALUES(1, 7, 5)",
        "INSERT INTO t VALUES(4, 4, -4)",
        "UPDATE t SET c = -c",
        "UPDATE t SET b = 9 WHERE a = 3",
        "UPDATE t SET b = NULL WHERE +a = 1 AND b = 1",
        "INSERT OR REPLACE INTO t VALUES(2, 20, 20)",
        "DELETE FROM t WHERE c < -3",
        "SELECT * FROM t ORDER BY rowid",
    ],
    "expression": [
        "CREATE TABLE e(id INTEGER PRIMARY KEY, s TEXT, n)",
        "INSERT INTO e VALUES(1,'Abc',1),(2,'xyz',2)",
        "CREATE UNIQUE INDEX el ON e(lower(s))",
        "CREATE INDEX en ON e(n * 2 + id, s COLLATE NOCASE DESC)",
        "INSERT INTO e VALUES(3,'ABC',3)",
        "INSERT INTO e VALUES(3,'abd',3)",
        "INSERT OR IGNORE INTO e VALUES(4,'XYZ',4),(5,'q',5)",
        "REPLACE INTO e VALUES(6,'XyZ',6)",
        "UPDATE e SET s = 'Q' WHERE id = 1",
        "UPDATE e SET id = id + 10, n = n - 1",
        "UPDATE OR REPLACE e SET s = 'abd' WHERE id = 16",
        "DELETE FROM e WHERE n = 4",
        "SELECT * FROM e ORDER BY id",
    ],
    "create_unique_fails": [
        "CREATE TABLE f(a, b)",
        "INSERT INTO f VALUES(1, 'x'),(2, 'X'),(3, NULL),(4, NULL)",
        "CREATE UNIQUE INDEX fu ON f(upper(b))",
        "CREATE UNIQUE INDEX fv ON f(b COLLATE NOCASE)",
        "CREATE UNIQUE INDEX fw ON f(b) WHERE a > 1",
        "CREATE UNIQUE INDEX fx ON f(upper(b)) WHERE a < 2",
        "INSERT INTO f VALUES(0, 'x')",
        "INSERT INTO f VALUES(5, 'x')",
        "SELECT * FROM f ORDER BY rowid",
    ],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_index_scripts(tmp_path, name):
    assert_same(str(tmp_path / name), SCRIPTS[name])


_STMT = st.one_of(
    st.builds(lambda a, b, c: f"INSERT OR IGNORE INTO t VALUES({a}, {b}, {c})",
              st.integers(0, 6), st.sampled_from(["'a'", "'A'", "'b'", "NULL", "1"]),
              st.integers(-3, 3)),
    st.builds(lambda a, c: f"REPLACE INTO t VALUES({a}, 'z', {c})", st.integers(0, 6),
              st.integers(-3, 3)),
    st.builds(lambda c, a: f"UPDATE OR IGNORE t SET c = {c} WHERE +a >= {a}",
              st.integers(-3, 3), st.integers(0, 6)),
    st.builds(lambda a: f"UPDATE OR REPLACE t SET a = a + 1 WHERE +a = {a}", st.integers(0, 6)),
    st.builds(lambda c: f"DELETE FROM t WHERE c = {c}", st.integers(-3, 3)),
)


@settings(max_examples=int(__import__("os").environ.get("DML_EXAMPLES", "25")), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_STMT, min_size=1, max_size=8))
def test_random_partial_expression(tmp_path_factory, stmts):
    d = tmp_path_factory.mktemp("pix")
    script = ["CREATE TABLE t(a, b, c)",
              "CREATE UNIQUE INDEX t1 ON t(lower(b)) WHERE c > 0",
              "CREATE INDEX t2 ON t(c * 2, b) WHERE b IS NOT NULL",
              "CREATE UNIQUE INDEX t3 ON t(a) WHERE c <= 0"] + stmts + \
        ["SELECT * FROM t ORDER BY rowid"]
    assert_same(str(d / "s"), script)
