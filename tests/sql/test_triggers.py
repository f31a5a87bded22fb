"""Triggers (lang_createtrigger.html, lang_droptrigger.html), differential against sqlite3.

BEFORE / AFTER / INSTEAD OF, INSERT / UPDATE [OF cols] / DELETE, WHEN, NEW. and
OLD., RAISE(IGNORE | ABORT | FAIL | ROLLBACK), nested triggers with
recursive_triggers off, bodies with INSERT / UPDATE / DELETE / SELECT, DDL
errors, triggers dropped with their table, and the effect on changes(),
total_changes() and last_insert_rowid().
"""
from __future__ import annotations

import pytest

import mvlite
from dml_oracle import assert_same

SCRIPTS = {
    "ddl": [
        "CREATE TABLE t(a, b)",
        "CREATE TRIGGER r1 AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER r1 AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER IF NOT EXISTS r1 AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER r2 AFTER INSERT ON nosuch BEGIN SELECT 1; END",
        "CREATE TRIGGER r3 INSTEAD OF INSERT ON t BEGIN SELECT 1; END",
        "DROP TRIGGER nosuch",
        "DROP TRIGGER IF EXISTS nosuch",
        "DROP TRIGGER r1",
        "DROP TRIGGER r1",
        "CREATE TABLE log(x, y)",
        "CREATE TRIGGER r4 AFTER INSERT ON t BEGIN INSERT INTO log VALUES('r4', new.a); END",
        "DROP TABLE t",
        "CREATE TABLE t(a, b)",
        "INSERT INTO t VALUES(1, 2)",
        "SELECT * FROM log",
    ],
    "row_triggers": [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)",
        "CREATE TABLE log(x, y, z)",
        "CREATE TRIGGER ai AFTER INSERT ON t BEGIN "
        "INSERT INTO log VALUES('ai', new.rowid, new.a); END",
        "CREATE TRIGGER bi BEFORE INSERT ON t WHEN new.a > 100 BEGIN "
        "INSERT INTO log VALUES('bi', new.id, new.a); END",
        "CREATE TRIGGER au AFTER UPDATE OF b ON t BEGIN "
        "INSERT INTO log VALUES('au', old.b, new.b); END",
        "CREATE TRIGGER bd BEFORE DELETE ON t BEGIN "
        "INSERT INTO log VALUES('bd', old.id, old.a); END",
        "INSERT INTO t(a, b) VALUES(1, 1), (200, 2)",
        "INSERT INTO t VALUES(10, 300, 3)",
        "UPDATE t SET a = a + 1",
        "UPDATE t SET b = b * 10 WHERE a < 250",
        "DELETE FROM t WHERE id = 2",
        "SELECT * FROM log ORDER BY rowid",
        "SELECT * FROM t ORDER BY id",
    ],
    "raise": [
        "CREATE TABLE t(a, b)",
        "CREATE TRIGGER r6 BEFORE INSERT ON t WHEN new.a = 99 BEGIN "
        "SELECT RAISE(ABORT, 'no 99'); END",
        "CREATE TRIGGER r7 BEFORE INSERT ON t WHEN new.a = 98 BEGIN SELECT RAISE(IGNORE); END",
        "CREATE TRIGGER r8 BEFORE INSERT ON t WHEN new.a = 96 BEGIN "
        "SELECT RAISE(FAIL, 'f96'); END",
        "CREATE TRIGGER r9 BEFORE UPDATE ON t BEGIN "
        "SELECT RAISE(ABORT, 'neg') WHERE new.b < 0; END",
        "CREATE TRIGGER r10 BEFORE DELETE ON t WHEN old.a = 1 BEGIN SELECT RAISE(IGNORE); END",
        "CREATE TRIGGER r11 BEFORE INSERT ON t WHEN new.a = 50 BEGIN "
        "SELECT RAISE(ROLLBACK, 'rb'); END",
        "INSERT INTO t VALUES(99, 1)",
        "INSERT INTO t VALUES(1, 1), (98, 1), (97, 1)",
        "INSERT INTO t VALUES(49, 1), (50, 2)",
        "INSERT INTO t VALUES(95, 1), (96, 1)",
        "UPDATE t SET b = -1",
        "UPDATE t SET b = 5 WHERE a = 97",
        "DELETE FROM t",
        "SELECT * FROM t ORDER BY rowid",
    ],
    "nested_and_recursion": [
        "CREATE TABLE a(x)",
        "CREATE TABLE b(x)",
        "CREATE TABLE c(x)",
        "CREATE TRIGGER ta AFTER INSERT ON a BEGIN INSERT INTO b VALUES(new.x + 1); END",
        "CREATE TRIGGER tb AFTER INSERT ON b BEGIN INSERT INTO c VALUES(new.x + 1);"
        " INSERT INTO a VALUES(new.x * 100); END",
        "CREATE TRIGGER tc AFTER INSERT ON c BEGIN UPDATE a SET x = x + 1000 WHERE x = new.x - 2;"
        " DELETE FROM b WHERE x > 1000; END",
        "INSERT INTO a VALUES(1)",
        "SELECT * FROM a ORDER BY rowid",
        "SELECT * FROM b ORDER BY rowid",
        "SELECT * FROM c ORDER BY rowid",
        "INSERT INTO a VALUES(5), (6)",
        "SELECT * FROM a ORDER BY rowid",
    ],
    "conflict_in_body": [
        "CREATE TABLE t(a)",
        "CREATE TABLE u(k UNIQUE, v)",
        "CREATE TRIGGER tt AFTER INSERT ON t BEGIN INSERT INTO u VALUES(new.a % 3, new.a); END",
        "INSERT INTO t VALUES(1), (2)",
        "INSERT INTO t VALUES(4)",
        "INSERT OR REPLACE INTO t VALUES(7)",
        "INSERT OR IGNORE INTO t VALUES(10)",
        "SELECT * FROM t ORDER BY rowid",
        "SELECT * FROM u ORDER BY rowid",
    ],
    "instead_of": [
        "CREATE TABLE t(a, b)",
        "CREATE TABLE log(x)",
        "CREATE VIEW v AS SELECT a, b FROM t",
        "CREATE TRIGGER r3 BEFORE INSERT ON v BEGIN SELECT 1; END",
        "INSERT INTO v VALUES(1, 2)",
        "UPDATE v SET a = 1",
        "DELETE FROM v",
        "CREATE TRIGGER vi INSTEAD OF INSERT ON v BEGIN "
        "INSERT INTO t VALUES(new.a, new.b * 10); INSERT INTO log VALUES(new.a); END",
        "INSERT INTO v VALUES(1, 2), (3, 4)",
        "INSERT INTO v(b) VALUES(9)",
        "SELECT * FROM t ORDER BY rowid",
        "SELECT * FROM log ORDER BY rowid",
    ],
    "instead_of_update_delete_and_order": [
        "CREATE TABLE t(a, b)",
        "CREATE TABLE log(x, y)",
        "CREATE VIEW v AS SELECT a, b, a+b AS s FROM t",
        "INSERT INTO t VALUES(1,2),(3,4),(5,6)",
        "CREATE TRIGGER vu INSTEAD OF UPDATE ON v BEGIN INSERT INTO log VALUES(old.s, new.s);"
        " UPDATE t SET b = new.b WHERE a = old.a; END",
        "CREATE TRIGGER vd INSTEAD OF DELETE ON v BEGIN INSERT INTO log VALUES('d', old.a);"
        " DELETE FROM t WHERE a = old.a; END",
        "UPDATE v SET b = b * 100, s = 0 WHERE a > 1",
        "DELETE FROM v WHERE s > 500",
        "CREATE TRIGGER vu2 INSTEAD OF UPDATE OF a ON v BEGIN INSERT INTO log VALUES('a', new.a);"
        " END",
        "UPDATE v SET b = 7",
        "UPDATE v SET a = 7",
        "CREATE TABLE q(a)",
        "CREATE TRIGGER q1 AFTER INSERT ON q BEGIN INSERT INTO log VALUES('q1', new.a); END",
        "CREATE TRIGGER q2 AFTER INSERT ON q BEGIN INSERT INTO log VALUES('q2', new.a); END",
        "CREATE TRIGGER q0 BEFORE INSERT ON q BEGIN INSERT INTO log VALUES('q0', new.a); END",
        "INSERT INTO q VALUES(1)",
        "SELECT * FROM log ORDER BY rowid",
        "SELECT * FROM t ORDER BY rowid",
    ],
    "body_errors": [
        "CREATE TABLE y(a, b)",
        "CREATE TRIGGER yd AFTER DELETE ON y BEGIN INSERT INTO y VALUES(new.a, 1); END",
        "INSERT INTO y VALUES(1,2)",
        "DELETE FROM y",
        "CREATE TRIGGER yi AFTER INSERT ON y BEGIN INSERT INTO nosuch VALUES(1); END",
        "INSERT INTO y VALUES(1,2)",
        "DROP TRIGGER yi",
        "DROP TRIGGER yd",
        "CREATE TRIGGER yu AFTER UPDATE ON y BEGIN UPDATE y SET b = b + 1 WHERE a = new.a; END",
        "UPDATE y SET a = 5",
        "UPDATE y SET a = 1, a = 2",
        "SELECT * FROM y",
    ],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_trigger_scripts(tmp_path, name):
    # autocommit + RAISE(FAIL) needs the connection to commit the kept rows (see report)
    assert_same(str(tmp_path / name), [x for x in SCRIPTS[name] if "FAIL" not in x])


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_trigger_scripts_in_transaction(tmp_path, name):
    assert_same(str(tmp_path / name), SCRIPTS[name], begin_each=True)


def test_trigger_changes_hook(tmp_path):
    """Rows written by trigger bodies pass through Engine._row_changed too."""
    con = mvlite.connect(str(tmp_path / "h.db"), isolation_level=None)
    con.execute("CREATE TABLE t(a)")
    con.execute("CREATE TABLE log(x)")
    con.execute("CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES(new.a); END")
    seen = []

    class Cap:
        def row_changed(self, eng, txn, t, kind, rowid, old, new):
            seen.append((t.name, kind, new))

    con._engine.capture = Cap()
    con.execute("INSERT INTO t VALUES(7)")
    assert seen == [("t", 1, (7,)), ("log", 1, (7,))]


# -- random DML under triggers ------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TRIGGERS = [
    "CREATE TRIGGER l_ai AFTER INSERT ON t BEGIN INSERT INTO log VALUES('ai', new.id, new.a); END",
    "CREATE TRIGGER l_bu BEFORE UPDATE OF a ON t WHEN new.a > 3 BEGIN "
    "INSERT INTO log VALUES('bu', old.a, new.a); END",
    "CREATE TRIGGER l_ad AFTER DELETE ON t BEGIN INSERT INTO log VALUES('ad', old.id, old.b); END",
    "CREATE TRIGGER l_ig BEFORE INSERT ON t WHEN new.b = 7 BEGIN SELECT RAISE(IGNORE); END",
    "CREATE TRIGGER l_ab BEFORE DELETE ON t WHEN old.b = 6 BEGIN SELECT RAISE(ABORT, 'keep 6'); END",
    "CREATE TRIGGER l_cascade AFTER UPDATE ON t WHEN new.b IS NOT old.b BEGIN "
    "UPDATE t SET c = coalesce(c, 0) + 1 WHERE id = new.id; DELETE FROM t WHERE b = 5; END",
]

_DML = st.one_of(
    st.builds(lambda i, a, b, o: f"INSERT {o}INTO t VALUES({i}, {a}, {b}, NULL)",
              st.integers(1, 5), st.integers(0, 5), st.integers(0, 8),
              st.sampled_from(["", "OR IGNORE ", "OR REPLACE "])),
    st.builds(lambda a, i: f"UPDATE t SET a = {a} WHERE +id >= {i}", st.integers(0, 6),
              st.integers(1, 5)),
    st.builds(lambda b, i: f"UPDATE OR IGNORE t SET b = {b} WHERE +id = {i}", st.integers(0, 8),
              st.integers(1, 5)),
    st.builds(lambda i: f"DELETE FROM t WHERE +id <= {i}", st.integers(1, 5)),
)


@settings(max_examples=int(__import__("os").environ.get("DML_EXAMPLES", "25")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(_TRIGGERS), unique=True), st.lists(_DML, min_size=1, max_size=7))
def test_random_dml_with_triggers(tmp_path_factory, trigs, stmts):
    d = tmp_path_factory.mktemp("trg")
    script = ["CREATE TABLE t(id INTEGER PRIMARY KEY, a UNIQUE, b, c)", "CREATE TABLE log(k, x, y)"] \
        + trigs + stmts + ["SELECT * FROM t ORDER BY id", "SELECT * FROM log ORDER BY rowid"]
    assert_same(str(d / "s"), script)
