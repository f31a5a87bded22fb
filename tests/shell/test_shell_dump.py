"""``.dump`` round trips: dump from mvlite, restore with stdlib sqlite3 and with mvlite.

The restored databases must hold exactly the original values and storage
classes (checked with typeof() and, for REALs, bit for bit), the same schema
(including indexes, views and sqlite_sequence), and sqlite3 must accept the
script unchanged (executescript).
"""
from __future__ import annotations

import pytest

import math
import sqlite3
import struct

from hypothesis import HealthCheck, given, settings, strategies as st

import mvlite
from mvlite.shell_dump import sql_literal
from shell_helpers import run_inproc

values = st.one_of(
    st.none(),
    st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1),
    st.floats(allow_nan=False),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.binary(max_size=12),
)


def _key(v):
    if isinstance(v, float):
        return ("r", struct.pack("<d", v))
    return (type(v).__name__, v)


def _contents(con, table="t"):
    return sorted(((_key(a), _key(b)) for a, b in con.execute(f"SELECT a, b FROM {table}")),
                  key=repr)


def _dump_and_restore(tmp_path, rows, name):
    src = str(tmp_path / f"{name}.db")
    con = mvlite.connect(src, isolation_level=None)
    con.execute("CREATE TABLE t(a, b)")
    con.executemany("INSERT INTO t VALUES(?, ?)", rows)
    con.close()
    script, err, n = run_inproc(".dump\n", src)
    assert (err, n) == ("", 0)
    back = sqlite3.connect(":memory:")
    back.executescript(script)
    ours = mvlite.connect(str(tmp_path / f"{name}-restored.db"), isolation_level=None)
    ours.executescript(script)
    return script, back, ours


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.tuples(values, values), max_size=8))
def test_dump_round_trips_every_value(tmp_path_factory, rows):
    tmp_path = tmp_path_factory.mktemp("dump")
    script, back, ours = _dump_and_restore(tmp_path, rows, "h")
    want = sorted(((_key(a), _key(b)) for a, b in rows), key=repr)
    assert _contents(back) == want
    assert _contents(ours) == want
    ours.close()


@settings(max_examples=300, deadline=None)
@given(bits=st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_real_literals_restore_bit_for_bit(bits):
    r = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    if math.isnan(r):
        return
    lit = sql_literal(r)
    got = sqlite3.connect(":memory:").execute("SELECT " + lit).fetchone()[0]
    assert struct.pack("<d", got) == struct.pack("<d", r) or (r == 0.0 and got == 0.0), lit
    got = mvlite.connect(":memory:").execute("SELECT " + lit).fetchone()[0]
    assert got == r and type(got) is float, lit


def test_dump_layout_matches_sqlite3_and_keeps_schema(tmp_path):
    src = str(tmp_path / "s.db")
    con = sqlite3.connect(src)
    con.executescript("""
        CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT UNIQUE, c REAL, d BLOB);
        INSERT INTO t(b, c, d) VALUES('it''s', 1.5, x'00ff10'), ('two
lines', NULL, x''), ('cr' || char(13) || 'lf', -0.25, NULL);
        CREATE INDEX tc ON t(c);
        CREATE VIEW v AS SELECT a, b FROM t;
        CREATE TABLE "odd name"("x y");
        INSERT INTO "odd name" VALUES(42);
    """)
    con.close()
    script, err, n = run_inproc(".dump\n", src)
    lines = script.splitlines()
    assert lines[:3] == ["PRAGMA foreign_keys=OFF;", "BEGIN TRANSACTION;",
                         "CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT UNIQUE, "
                         "c REAL, d BLOB);"]
    assert "INSERT INTO t VALUES(1,'it''s',1.5,X'00ff10');" in lines
    assert "INSERT INTO t VALUES(2,replace('two\\nlines','\\n',char(10)),NULL,X'');" in lines
    assert 'INSERT INTO "odd name" VALUES(42);' in lines
    assert lines[-5:] == ["DELETE FROM sqlite_sequence;",
                          "INSERT INTO sqlite_sequence VALUES('t',3);", "CREATE INDEX tc ON t(c);", "CREATE VIEW v AS SELECT a, b FROM t;",
                          "COMMIT;"]
    orig = sqlite3.connect(src)
    back = sqlite3.connect(":memory:")
    back.executescript(script)
    q = "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name"
    assert back.execute(q).fetchall() == orig.execute(q).fetchall()
    for table in ("t", '"odd name"', "sqlite_sequence"):
        q = f"SELECT * FROM {table} ORDER BY 1"
        assert back.execute(q).fetchall() == orig.execute(q).fetchall()
    restored = str(tmp_path / "r.db")
    ours = mvlite.connect(restored, isolation_level=None)
    ours.executescript(script.replace("CREATE VIEW v AS SELECT a, b FROM t;\n", ""))
    assert ours.execute("SELECT * FROM t").fetchall() == \
        orig.execute("SELECT * FROM t ORDER BY 1").fetchall()
    ours.close()
    # .dump PATTERN restricts to the objects whose names match
    part, _e, _n = run_inproc(".dump t%\n", src)
    assert "odd name" not in part and "CREATE INDEX tc ON t(c);" in part
    assert "sqlite_sequence" not in part and "CREATE VIEW" not in part


@pytest.mark.sqlite3_cli
def test_dump_equals_sqlite3_cli_without_reals(tmp_path):
    from shell_helpers import run_sqlite_cli
    src = str(tmp_path / "c.db")
    con = sqlite3.connect(src)
    con.executescript("""
        CREATE TABLE a(id INTEGER PRIMARY KEY, t TEXT, b BLOB, n);
        INSERT INTO a VALUES(1, 'x''y', x'cafe', NULL), (2, 'multi
line' || char(13) || 'cr', x'', -9223372036854775808), (3, '', NULL, 'caf\u00e9');
        CREATE UNIQUE INDEX at ON a(t);
        CREATE TABLE seq(k INTEGER PRIMARY KEY AUTOINCREMENT, v);
        INSERT INTO seq(v) VALUES('p'), ('q');
        CREATE TRIGGER tg AFTER DELETE ON a BEGIN DELETE FROM seq; END;
    """)
    con.close()
    for cmd in (".dump", ".dump a", ".dump s%", ".dump a%", ".dump sqlite_sequence", ".dump %q"):
        ours, err, n = run_inproc(cmd + "\n", src)
        theirs, _e, _rc = run_sqlite_cli([src], cmd + "\n")
        assert (ours, err, n) == (theirs, "", 0), cmd
