"""PRAGMAs against stdlib sqlite3: the same columns, rows, value parsing and errors
(sqlite3 is put in WAL mode so journal_mode agrees), plus header fields read back by sqlite3."""
from __future__ import annotations

import os
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mvlite

SCHEMA = """
CREATE TABLE t(a integer PRIMARY KEY, b text NOT NULL DEFAULT 'x', c UNIQUE,
               d Real DEFAULT (1+2), e COLLATE nocase, f DEFAULT -1, g "my type" DEFAULT +2.5,
               h DEFAULT CURRENT_TIMESTAMP, UNIQUE(b, c));
CREATE INDEX ib ON t(b DESC, e);
CREATE UNIQUE INDEX ie ON t(e COLLATE rtrim);
CREATE TABLE p(x, y, PRIMARY KEY(y, x));
CREATE TABLE w(q);
CREATE VIEW v AS SELECT a, b AS bb, c + 1, t.*, a, a AS "a:1" FROM t;
CREATE VIEW v2(x, y) AS SELECT q, 1 FROM w;
CREATE VIEW v3 AS SELECT d FROM t UNION SELECT q FROM w;
"""

QUERIES = [
    # introspection
    "table_info(t)", "table_xinfo(t)", "index_list(t)", "index_info(ib)", "index_xinfo(ib)",
    "index_xinfo(ie)", "index_list(p)", "index_info(sqlite_autoindex_p_1)",
    "index_xinfo(sqlite_autoindex_t_1)", "table_info(p)", "table_info('w')", "table_info(nope)",
    "index_info(nope)", "index_list(nope)", "table_info", "index_list", "table_info=t",
    "main.table_info(w)", "x.table_info(t)", "table_info(v)", "table_xinfo(v2)",
    "table_info(v3)", "index_list(v)", "collation_list", "collation_list=3",
    # header fields and settings, with SQLite's value parsing
    "main.user_version", "x.user_version", "page_size", "freelist_count", "cache_size",
    "synchronous", "journal_mode", "wal_autocheckpoint", "busy_timeout", "foreign_keys",
    "recursive_triggers", "application_id", "integrity_check", "quick_check",
    "integrity_check(t)", "integrity_check(3)", "quick_check(nope)",
    "user_version=5", "user_version", "user_version=-1", "user_version", "user_version='12'",
    "user_version", "user_version=abc", "user_version", "user_version=1.9", "user_version",
    "user_version = 4294967296", "user_version", "user_version(77)", "user_version",
    "application_id=7", "application_id", "application_id=-2147483648", "application_id",
    "synchronous=3", "synchronous", "synchronous=off", "synchronous", "synchronous=NORMAL",
    "synchronous", "synchronous=9", "synchronous", "synchronous=bogus", "synchronous",
    "synchronous=-1", "synchronous", "synchronous=EXTRA", "synchronous", "synchronous=full",
    "synchronous",
    "cache_size=100", "cache_size", "cache_size=-50", "cache_size", "cache_size=abc",
    "cache_size", "cache_size=-2000",
    "busy_timeout=100", "busy_timeout", "busy_timeout=-5", "busy_timeout", "busy_timeout(2500)",
    "foreign_keys=on", "foreign_keys", "foreign_keys=yes", "foreign_keys", "foreign_keys=bogus",
    "foreign_keys", "foreign_keys=1", "foreign_keys", "recursive_triggers=1",
    "recursive_triggers", "recursive_triggers=OFF", "recursive_triggers",
    "page_size=8192", "page_size", "wal_autocheckpoint=10", "wal_autocheckpoint",
    "wal_autocheckpoint=-3", "wal_autocheckpoint", "wal_autocheckpoint=1000",
    "journal_mode=WAL", "journal_mode",
    "wal_checkpoint(truncate)", "wal_checkpoint(bogus)", "main.wal_checkpoint",
    "nosuch", "nosuch=3", "nosuch(x)",
]


def run_all(m, path):
    # mvlite's default cache is bigger than SQLite's (a deliberate difference, tested
    # below); start both from SQLite's default so every read compares
    c = m.connect(path, isolation_level=None) if m is sqlite3 else \
        m.connect(path, isolation_level=None, cache_size=-2000)
    if m is sqlite3:
        c.execute("PRAGMA journal_mode=wal")
    c.executescript(SCHEMA)
    out = []
    for q in QUERIES:
        try:
            cur = c.execute("PRAGMA " + q)
            desc = [d[0] for d in cur.description] if cur.description else None
            out.append((q, desc, cur.fetchall()))
        except (sqlite3.Error, mvlite.Error) as exc:
            out.append((q, "OperationalError" if isinstance(
                exc, (sqlite3.OperationalError, mvlite.OperationalError)) else
                type(exc).__name__, str(exc)))
    c.close()
    return out


def test_pragmas_match_sqlite3(tmp_path):
    a = run_all(sqlite3, str(tmp_path / "s.db"))
    b = run_all(mvlite, str(tmp_path / "m.db"))
    for x, y in zip(a, b):
        assert x == y


def test_memory_database_pragmas():
    def run(m):
        c = m.connect(":memory:")
        return [c.execute(f"PRAGMA {q}").fetchall() for q in (
            "journal_mode", "journal_mode=wal", "database_list", "wal_checkpoint",
            "wal_checkpoint(FULL)", "user_version")]
    assert run(mvlite) == run(sqlite3)


def test_journal_mode_stays_wal(tmp_path):
    c = mvlite.connect(str(tmp_path / "j.db"))
    for mode in ("delete", "truncate", "persist", "off", "memory", "wal", "bogus"):
        assert c.execute(f"PRAGMA journal_mode = {mode}").fetchall() == [("wal",)]
    c.close()


def test_header_fields_are_in_the_file(tmp_path):
    path = str(tmp_path / "h.db")
    c = mvlite.connect(path)
    c.execute("PRAGMA user_version = 42")
    c.execute("PRAGMA application_id = 0x1234") if False else c.execute(
        "PRAGMA application_id = 4660")
    c.execute("CREATE TABLE t(x)")
    c.execute("CREATE INDEX tx ON t(x)")
    c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(500)])
    c.commit()
    c.execute("DROP INDEX tx")
    mine = {q: c.execute(f"PRAGMA {q}").fetchall() for q in (
        "user_version", "application_id", "schema_version", "freelist_count", "page_count",
        "page_size")}
    assert c.execute("PRAGMA database_list").fetchall() == [(0, "main", os.path.realpath(path))]
    assert c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall() == [(0, 0, 0)]
    assert os.path.getsize(path + "-wal") == 0
    c.close()
    s = sqlite3.connect(path)
    theirs = {q: s.execute(f"PRAGMA {q}").fetchall() for q in mine}
    assert mine == theirs
    assert mine["user_version"] == [(42,)] and mine["freelist_count"][0][0] > 0
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    s.close()


def test_wal_checkpoint_modes(tmp_path):
    path = str(tmp_path / "w.db")
    c = mvlite.connect(path)
    c.execute("CREATE TABLE t(x)")
    c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(50)])
    c.commit()
    busy, log, done = c.execute("PRAGMA wal_checkpoint").fetchone()
    assert busy == 0 and log > 0 and done == log
    assert c.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0] == 0
    c.execute("INSERT INTO t VALUES (99)")
    c.commit()
    assert c.execute("PRAGMA wal_checkpoint(FULL)").fetchone()[0] == 0
    c.close()


def test_settings_reach_the_pager(tmp_path):
    c = mvlite.connect(str(tmp_path / "p.db"))
    pager = c._db.pager
    c.execute("PRAGMA synchronous = OFF")
    assert pager.synchronous == 0
    c.execute("PRAGMA synchronous = NORMAL")
    assert pager.synchronous == 1
    c.execute("PRAGMA cache_size = 77")
    assert pager.cache_size == 77
    c.execute("PRAGMA wal_autocheckpoint = 5")
    assert pager.wal_autocheckpoint == 5
    c.execute("PRAGMA busy_timeout = 1500")
    assert c._timeout == 1.5
    c.execute("PRAGMA recursive_triggers = ON")
    assert c.recursive_triggers is True
    c.close()


def test_integrity_check_reports_damage(tmp_path):
    path = str(tmp_path / "bad.db")
    s = sqlite3.connect(path)
    s.execute("CREATE TABLE t(x)")
    s.executemany("INSERT INTO t VALUES (?)", [("v" * 50,) for _ in range(200)])
    s.commit()
    s.close()
    with open(path, "r+b") as f:      # point page 2's first cell far outside the page
        f.seek(4096 + 8)
        f.write(b"\xff\xf0")
    c = mvlite.connect(path)
    rows = c.execute("PRAGMA integrity_check").fetchall()
    assert rows and rows != [("ok",)]
    assert c.execute("PRAGMA integrity_check(1)").fetchall() == rows[:1]
    c.close()


def test_function_and_collation_lists():
    c = mvlite.connect(":memory:")
    c.create_function("myf", 2, lambda a, b: 1)
    c.create_function("myd", -1, lambda *a: 1, deterministic=True)

    class Agg:
        def step(self, x):
            pass

        def finalize(self):
            return 1
    c.create_aggregate("mya", 1, Agg)
    c.create_collation("zeta", lambda a, b: 0)
    c.create_collation("alpha", lambda a, b: 0)
    s = sqlite3.connect(":memory:")
    s.create_function("myf", 2, lambda a, b: 1)
    s.create_function("myd", -1, lambda *a: 1, deterministic=True)
    s.create_aggregate("mya", 1, Agg)
    s.create_collation("zeta", lambda a, b: 0)
    s.create_collation("alpha", lambda a, b: 0)
    cols = [d[0] for d in c.execute("PRAGMA function_list").description]
    assert cols == [d[0] for d in s.execute("PRAGMA function_list").description]
    mine = set(c.execute("PRAGMA function_list").fetchall())
    theirs = set(s.execute("PRAGMA function_list").fetchall())
    user = {r for r in theirs if r[1] == 0 and r[0].startswith("my")}
    assert user == {r for r in mine if r[1] == 0}
    # every built-in we list is one SQLite lists too, with the same type and flags
    for name in ("abs", "substr", "max", "count", "group_concat", "round", "coalesce"):
        assert {r for r in mine if r[0] == name} == {r for r in theirs if r[0] == name}, name
    assert c.execute("PRAGMA collation_list").fetchall() == \
        s.execute("PRAGMA collation_list").fetchall()
    c.create_collation("zeta", None)
    s.create_collation("zeta", None)
    assert c.execute("PRAGMA collation_list").fetchall() == \
        s.execute("PRAGMA collation_list").fetchall()


def test_register_pragma_extension_point():
    from sql.engine import Result
    from sql.pragma import PRAGMAS, register_pragma

    @register_pragma("mvlite_test_echo")
    def _echo(conn, stmt):
        return Result(["v"], [(stmt.value,)])
    try:
        c = mvlite.connect(":memory:")
        assert c.execute("PRAGMA mvlite_test_echo('hi')").fetchall() == [("hi",)]
        assert c.execute("PRAGMA MVLITE_TEST_ECHO = 3").fetchall() == [("3",)]
    finally:
        del PRAGMAS["mvlite_test_echo"]


@pytest.mark.parametrize("sql", ["PRAGMA user_version = 9", "PRAGMA application_id = 3"])
def test_header_write_inside_transaction_is_visible(tmp_path, sql):
    c = mvlite.connect(str(tmp_path / "x.db"))
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES (1)")       # implicit BEGIN: a transaction is open
    c.execute(sql)
    name = sql.split()[1]
    assert c.execute(f"PRAGMA {name}").fetchone()[0] == int(sql.split()[-1])
    c.commit()
    c.close()


_TYPES = ["", "INTEGER", "int", "Text", "REAL", "blob", "VARCHAR(10)", "numeric", "any",
          "DOUBLE PRECISION", "decimal(5, 2)"]
_DEFAULTS = ["", " DEFAULT 0", " DEFAULT -7", " DEFAULT 'a b'", " DEFAULT NULL",
             " DEFAULT (1 + 2)", " DEFAULT x'ff'", " DEFAULT 1.5e3", " DEFAULT CURRENT_DATE",
             " DEFAULT +3"]
_EXTRAS = ["", " NOT NULL", " UNIQUE", " COLLATE NOCASE", " COLLATE rtrim",
           " NOT NULL COLLATE binary"]


@st.composite
def table_defs(draw):
    n = draw(st.integers(1, 5))
    cols = []
    for i in range(n):
        cols.append(f"c{i} {draw(st.sampled_from(_TYPES))}"
                    f"{draw(st.sampled_from(_EXTRAS))}{draw(st.sampled_from(_DEFAULTS))}")
    names = [f"c{i}" for i in range(n)]
    cons = []
    pk = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    if pk:
        cons.append(f"PRIMARY KEY({', '.join(pk)})")
    uq = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    if uq:
        cons.append(f"UNIQUE({', '.join(uq)})")
    idx = []
    for j in range(draw(st.integers(0, 3))):
        terms = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        terms = [t + draw(st.sampled_from(["", " DESC", " ASC", " COLLATE nocase"]))
                 for t in terms]
        uniq = draw(st.sampled_from(["", "UNIQUE "]))
        idx.append(f"CREATE {uniq}INDEX i{j} ON t({', '.join(terms)})")
    return f"CREATE TABLE t({', '.join(cols + cons)})", idx


@settings(max_examples=40, deadline=None)
@given(table_defs())
def test_introspection_pragmas_on_random_schemas(defn):
    create, indexes = defn
    res = []
    for m in (sqlite3, mvlite):
        c = m.connect(":memory:")
        c.execute(create)
        for ix in indexes:
            c.execute(ix)
        out = [c.execute("PRAGMA table_info(t)").fetchall(),
               c.execute("PRAGMA table_xinfo(t)").fetchall(),
               c.execute("PRAGMA index_list(t)").fetchall()]
        for row in out[-1]:
            out.append(c.execute(f"PRAGMA index_xinfo({row[1]})").fetchall())
            out.append(c.execute(f"PRAGMA index_info({row[1]})").fetchall())
        res.append(out)
        c.close()
    assert res[0] == res[1], (create, indexes)


def test_pragma_table_helper_for_table_valued_functions():
    """``sql.pragma.pragma_table`` gives the rows of ``pragma_<name>(arg)`` (the SELECT
    compiler's hook); they are those of the PRAGMA statement."""
    from sql.pragma import PRAGMA_COLUMNS, pragma_table
    c = mvlite.connect(":memory:")
    c.executescript(SCHEMA)
    for name, arg in (("table_info", "t"), ("index_list", "t"), ("index_xinfo", "ib"),
                      ("database_list", None), ("collation_list", None)):
        r = pragma_table(c, "PRAGMA_" + name.upper(), [arg] if arg else [])
        cur = c.execute(f"PRAGMA {name}({arg})" if arg else f"PRAGMA {name}")
        assert r.columns == [d[0] for d in cur.description] == PRAGMA_COLUMNS[name]
        assert r.rows == cur.fetchall()
    assert pragma_table(c, "pragma_user_version", []) is None
    assert pragma_table(c, "json_each", ["[]"]) is None
    c.close()


def test_default_cache_size_is_16_mib(tmp_path):
    c = mvlite.connect(str(tmp_path / "c.db"))
    assert c.execute("PRAGMA cache_size").fetchone() == (-16384,)
    c.close()
