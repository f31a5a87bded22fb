"""CREATE VIEW / DROP VIEW / DROP TRIGGER and DROP TABLE's side effects (sql/ddl.py),
differential against stdlib sqlite3: same outcomes, same sqlite_schema rows, same data,
integrity_check ok; plus files made by sqlite3 and changed by mvlite (and back)."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

import mvlite
from test_ddl_support import assert_same_files, check, integrity, schema_rows

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
import slt  # noqa: E402

EVIDENCE = Path("/work/shared/conformance/sqllogictest/evidence")


def test_create_view_rows_and_texts(tmp_path: Path) -> None:
    outs = check(tmp_path, [
        "CREATE TABLE t(a, b)",
        "CREATE VIEW v AS SELECT a FROM t",
        "create  view   \"w\"  ( x )  AS  select 2 ;",
        "CREATE VIEW IF NOT EXISTS v2(a, b) AS SELECT b, a FROM t WHERE a > 0",
        "CREATE VIEW main.v3 AS SELECT 1",
        "CREATE VIEW v4 AS SELECT nosuch FROM nosuch",   # not checked at CREATE time
        "CREATE VIEW v5(a, a) AS SELECT 1, 2",
    ])
    assert all(o == ("ok", []) for o in outs)
    views = [r for r in schema_rows(tmp_path / "db_mv.db") if r[0] == "view"]
    assert [r[1] for r in views] == ["v", "w", "v2", "v3", "v4", "v5"]
    assert views[1][4] == 'CREATE VIEW "w"  ( x )  AS  select 2'
    assert all(r[3] is False or r[3] == 0 for r in views)


@pytest.mark.parametrize("stmt", [
    "CREATE VIEW v AS SELECT 1", "CREATE VIEW V AS SELECT 1", "CREATE VIEW \"v\" AS SELECT 1",
    "CREATE VIEW t AS SELECT 1", "CREATE VIEW i AS SELECT 1", "CREATE VIEW sqlite_x AS SELECT 1",
    "CREATE VIEW IF NOT EXISTS t AS SELECT 1", "CREATE VIEW IF NOT EXISTS v AS SELECT 2",
    "CREATE VIEW IF NOT EXISTS i AS SELECT 1", "CREATE VIEW tr AS SELECT 1",
    "CREATE VIEW nosuch.v9 AS SELECT 1",
    "DROP TABLE v", "DROP VIEW t", "DROP VIEW i", "DROP VIEW nosuch", "DROP VIEW IF EXISTS nosuch",
    "DROP VIEW main.nosuch", "DROP INDEX v", "DROP TRIGGER nosuch", "DROP TRIGGER IF EXISTS nosuch",
    "DROP TRIGGER v", "DROP VIEW V", "DROP TRIGGER TR", "DROP VIEW IF EXISTS v",
])
def test_view_errors_and_names(tmp_path: Path, stmt: str) -> None:
    check(tmp_path, [
        "CREATE TABLE t(a, b)", "CREATE INDEX i ON t(a)", "CREATE VIEW v AS SELECT a FROM t",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
        stmt,
    ])


def test_drop_table_drops_its_triggers_sequence_and_stats(tmp_path: Path) -> None:
    outs = check(tmp_path, [
        "CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT, b)",
        "CREATE TABLE u(x INTEGER PRIMARY KEY AUTOINCREMENT)",
        "CREATE INDEX tb ON t(b)",
        "INSERT INTO t(b) VALUES (1), (2), (3)",
        "INSERT INTO u DEFAULT VALUES",
        "ANALYZE",
        "CREATE TRIGGER tr1 AFTER DELETE ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER tr2 AFTER DELETE ON u BEGIN SELECT 1; END",
        "CREATE VIEW v AS SELECT * FROM t",
        "DROP TABLE t",
        "SELECT * FROM sqlite_sequence",
        "SELECT * FROM sqlite_stat1",
        "DROP INDEX IF EXISTS tb",
    ])
    names = sorted(r[1] for r in schema_rows(tmp_path / "db_mv.db"))
    assert names == ["sqlite_sequence", "sqlite_stat1", "tr2", "u", "v"]
    assert outs[-3][1] == [("u", 1)]
    assert outs[-2][1] == [("u", None, "1")]


def test_drop_table_keeps_a_view_named_like_its_trigger(tmp_path: Path) -> None:
    """Triggers live in their own namespace: a view may share a trigger's name."""
    check(tmp_path, ["CREATE TABLE t(a)", "CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END",
                     "CREATE VIEW x AS SELECT 2", "DROP TABLE t", "SELECT * FROM x"])


def test_drop_view_drops_its_instead_of_triggers(tmp_path: Path) -> None:
    check(tmp_path, ["CREATE TABLE t(a)", "CREATE VIEW v AS SELECT a FROM t",
                     "CREATE TRIGGER tv INSTEAD OF INSERT ON v BEGIN INSERT INTO t VALUES (new.a); END",
                     "CREATE TRIGGER tt AFTER INSERT ON t BEGIN SELECT 1; END",
                     "DROP VIEW v", "INSERT INTO t VALUES (1)", "DROP TRIGGER tv"])


def test_view_ddl_in_a_transaction_rolls_back(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    c = mvlite.connect(str(path), autocommit=True)
    c.execute("CREATE TABLE t(a)")
    c.execute("CREATE VIEW keep AS SELECT a FROM t")
    c.execute("BEGIN")
    c.execute("CREATE VIEW v AS SELECT 1")
    c.execute("DROP VIEW keep")
    c.execute("ROLLBACK")
    c.close()
    assert [r[1] for r in schema_rows(path)] == ["t", "keep"]
    assert integrity(path) == ["ok"]


def test_views_made_by_sqlite3_dropped_by_mvlite(tmp_path: Path) -> None:
    spath = tmp_path / "s.db"
    mpath = tmp_path / "m.db"
    setup = ["CREATE TABLE t(a, b)", "CREATE VIEW v1 AS SELECT a FROM t",
             "CREATE VIEW v2 AS SELECT b FROM t",
             "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END"]
    for p in (spath, mpath):
        s = sqlite3.connect(str(p))
        for q in setup:
            s.execute(q)
        s.commit()
        s.close()
    m = mvlite.connect(str(mpath), autocommit=True)
    with pytest.raises(mvlite.OperationalError, match="view v1 already exists"):
        m.execute("CREATE VIEW v1 AS SELECT 2")
    m.execute("DROP VIEW v1")
    m.execute("DROP TRIGGER tr")
    m.close()
    s = sqlite3.connect(str(spath))
    s.execute("DROP VIEW v1")
    s.execute("DROP TRIGGER tr")
    s.commit()
    s.close()
    assert_same_files(mpath, spath)
    # and sqlite3 keeps working on the file mvlite changed
    s = sqlite3.connect(str(mpath))
    s.execute("CREATE VIEW v3 AS SELECT 3")
    s.commit()
    assert s.execute("SELECT * FROM v3").fetchall() == [(3,)]
    s.close()


@pytest.mark.parametrize("name,wait", [
    ("slt_lang_dropview.test", set()),
    ("slt_lang_createview.test", set()),
])
def test_view_corpus_files(name: str, wait: set[int]) -> None:
    res = slt.run_file(EVIDENCE / name, engine="mvlite")
    assert set(res.failures) == wait, res.failures
