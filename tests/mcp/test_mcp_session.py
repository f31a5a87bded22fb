"""The SQL side of the MCP server (``DatabaseSession``), in process, against sqlite3.

Each tool's JSON result is compared with what stdlib sqlite3 reads from the
same file: query rows (blobs as ``{"hex"}``), describe_table against
sqlite3's ``PRAGMA table_info``/``index_list``, list_tables against
``sqlite_schema``, and the file's content after every write tool.
"""
import json
import math
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

import mvlite
from mvlite.mcp_server import DatabaseSession, ToolRefused, _dump

DDL = [
    "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'n/a', "
    "price REAL DEFAULT (1.5), data BLOB, code TEXT UNIQUE)",
    "CREATE INDEX items_name ON items(name, price DESC)",
    "CREATE TABLE pairs(a INT, b VARCHAR(10) NOT NULL, PRIMARY KEY (b, a))",
    "CREATE TABLE bare(x, y, z)",
]


def _json_rows(rows):
    """sqlite3 rows as the MCP server encodes them."""
    out = []
    for r in rows:
        row = []
        for v in r:
            if isinstance(v, bytes):
                v = {"hex": v.hex()}
            elif isinstance(v, float) and math.isinf(v):
                v = {"real": "Infinity" if v > 0 else "-Infinity"}
            row.append(v)
        out.append(row)
    return out


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "s.db"
    s = DatabaseSession(str(path))
    for stmt in DDL:
        kind = " ".join(w for w in stmt.split()[:3] if w.isupper() and w != "UNIQUE")
        assert s.run("schema_change", stmt) == {"ok": True, "statement": kind}
    yield s, path
    s.close()


def _oracle(s, path, sql, params=()):
    """Rows sqlite3 reads from ``path``; the session lets go of the file meanwhile
    (mvlite holds SQLite's lock bytes while a database is open)."""
    s.close()
    o = sqlite3.connect(path, timeout=0)
    try:
        return o.execute(sql, params).fetchall()
    finally:
        o.close()
        s.open(str(path))


def test_open_creates_and_reports(tmp_path):
    path = tmp_path / "new.db"
    s = DatabaseSession(str(path))
    info = s.current()
    assert info["path"] == str(path) and info["in_memory"] is False and info["tables"] == 0
    other = tmp_path / "other.db"
    sqlite3.connect(other).executescript("CREATE TABLE a(x); CREATE TABLE b(y);")
    info = s.open(str(other))
    assert info["created"] is False and info["tables"] == 2 and info["path"] == str(other)
    assert s.open(str(tmp_path / "third.db"))["created"] is True
    with pytest.raises(ToolRefused, match="is a directory"):
        s.open(str(tmp_path))
    assert s.current()["path"] == str(tmp_path / "third.db")  # a failed open keeps the old one
    s.run("schema_change", "CREATE TABLE k(v)")
    s.run("insert_data", "INSERT INTO k VALUES ('kept')")
    assert s.open(str(tmp_path / "third.db"))["created"] is False  # reopening the same file
    assert s.run("execute_query", "SELECT v FROM k")["rows"] == [["kept"]]
    s.close()
    assert sqlite3.connect(tmp_path / "third.db").execute("SELECT v FROM k").fetchall() == \
        [("kept",)]


def test_no_path_means_memory():
    s = DatabaseSession()
    assert s.current() == {"path": ":memory:", "in_memory": True, "tables": 0}
    s.run("schema_change", "CREATE TABLE m(x)")
    assert s.list_tables() == {"tables": [{"name": "m", "type": "table"}]}
    s.close()


def test_readonly_session_reads_only(tmp_path):
    path = tmp_path / "ro.db"
    sqlite3.connect(path).executescript("CREATE TABLE t(a); INSERT INTO t VALUES (1);")
    s = DatabaseSession(str(path), readonly=True)
    assert s.current()["readonly"] is True
    assert s.run("execute_query", "SELECT a FROM t")["rows"] == [[1]]
    for tool, sql in [("insert_data", "INSERT INTO t VALUES (2)"),
                      ("schema_change", "DROP TABLE t")]:
        with pytest.raises(ToolRefused, match=f"{tool} is not available: the server is read-only"):
            s.run(tool, sql)
    with pytest.raises(mvlite.OperationalError, match="attempt to write a readonly database"):
        s._conn.execute("DELETE FROM t")  # the connection itself is mode=ro too
    with pytest.raises(ToolRefused, match="does not exist"):
        s.open(str(tmp_path / "missing.db"))
    assert not (tmp_path / "missing.db").exists()
    s.close()
    assert sqlite3.connect(path).execute("SELECT a FROM t").fetchall() == [(1,)]


def test_not_a_database_is_an_error_and_keeps_the_open_one(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database at all" * 200)
    s = DatabaseSession(":memory:")
    with pytest.raises(mvlite.DatabaseError) as e:
        s.open(str(bad))
    with pytest.raises(sqlite3.DatabaseError) as oracle:
        sqlite3.connect(bad).execute("SELECT * FROM sqlite_schema")
    assert str(e.value) == str(oracle.value)
    assert s.current()["in_memory"] is True
    s.close()


def test_describe_and_list_match_sqlite(db):
    s, path = db
    s.close()
    o = sqlite3.connect(path, timeout=0)
    names = [r[0] for r in o.execute("SELECT name FROM sqlite_schema WHERE type='table' "
                                     "AND name NOT LIKE 'sqlite_%'")]
    info = {}
    for table in names:
        cur = o.execute(f"PRAGMA table_info({table})")
        cols = [c[0] for c in cur.description]
        info[table] = {
            "columns": [dict(zip(cols, r)) for r in cur.fetchall()],
            "indexes": {r[1]: (bool(r[2]), r[3],
                               [c[2] for c in o.execute(f"PRAGMA index_info({r[1]})")])
                        for r in o.execute(f"PRAGMA index_list({table})")},
            "sql": o.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (table,)).fetchone()[0],
        }
    o.close()
    s.open(str(path))
    assert s.list_tables() == {"tables": [{"name": n, "type": "table"} for n in names]}
    for table in names:
        d = s.describe_table(table.upper())
        assert d["name"] == table and d["type"] == "table"
        assert d["columns"] == info[table]["columns"]
        assert {ix["name"]: (ix["unique"], ix["origin"], ix["columns"])
                for ix in d["indexes"]} == info[table]["indexes"]
        assert d["sql"] == info[table]["sql"]
    with pytest.raises(mvlite.OperationalError, match="no such table: nope"):
        s.describe_table("nope")


_value = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.text(max_size=8),
                   st.binary(max_size=6),
                   st.floats(allow_nan=False).filter(lambda f: f == f))


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.tuples(_value, _value, _value), max_size=8))
def test_writes_and_queries_match_sqlite(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("w") / "w.db"
    s = DatabaseSession(str(path))
    s.run("schema_change", "CREATE TABLE bare(x, y, z)")
    enc = [[{"hex": v.hex()} if isinstance(v, bytes) else v for v in r] for r in rows]
    for i, r in enumerate(enc):
        res = s.run("insert_data", "INSERT INTO bare VALUES (?, ?, ?)", r)
        assert res == {"changes": 1, "last_insert_rowid": i + 1}
    got = s.run("execute_query", "SELECT rowid, * FROM bare ORDER BY rowid")
    expect = _oracle(s, path, "SELECT rowid, * FROM bare ORDER BY rowid")
    assert got["columns"] == ["rowid", "x", "y", "z"]
    assert got["rows"] == _json_rows(expect) and got["row_count"] == len(rows)
    json.loads(_dump(got))  # strict JSON (no NaN/Infinity literals)
    n = s.run("update_data", "UPDATE bare SET x = :v WHERE rowid % 2 = 0", {"v": "even"})
    assert n == {"changes": len(rows) // 2}
    n = s.run("delete_data", "DELETE FROM bare WHERE rowid > ?", [3])
    assert n == {"changes": max(len(rows) - 3, 0)}
    after = _oracle(s, path, "SELECT rowid, x FROM bare ORDER BY rowid")
    assert [r[0] for r in after] == list(range(1, min(len(rows), 3) + 1))
    assert all(x == "even" for rowid, x in after if rowid % 2 == 0)
    s.close()


def test_views_are_listed_and_described(db):
    s, path = db
    s.run("schema_change", "CREATE VIEW cheap AS SELECT name AS label, price FROM items "
                           "WHERE price < 2")
    assert {"name": "cheap", "type": "view"} in s.list_tables()["tables"]
    d = s.describe_table("cheap")
    expect = _oracle(s, path, "PRAGMA table_info(cheap)")
    assert d["type"] == "view" and [c["name"] for c in d["columns"]] == [r[1] for r in expect]
    assert d["sql"] == _oracle(s, path, "SELECT sql FROM sqlite_schema WHERE name='cheap'")[0][0]


def test_max_rows_truncates(db):
    s, _path = db
    for i in range(7):
        s.run("insert_data", "INSERT INTO bare VALUES (?, ?, ?)", [i, i * i, None])
    got = s.run("execute_query", "SELECT x, y FROM bare ORDER BY x", max_rows=3)
    assert got == {"columns": ["x", "y"], "rows": [[0, 0], [1, 1], [2, 4]], "row_count": 3,
                   "truncated": True}
    assert "truncated" not in s.run("execute_query", "SELECT x FROM bare", max_rows=7)
    assert s.run("execute_query", "SELECT x FROM bare", max_rows=0)["rows"] == []


def test_special_values_are_json(db):
    s, _path = db
    got = s.run("execute_query", "SELECT 1e999, -1e999, x'00ff', 9223372036854775807, NULL")
    assert got["rows"] == [[{"real": "Infinity"}, {"real": "-Infinity"}, {"hex": "00ff"},
                            9223372036854775807, None]]
    assert json.loads(_dump(got)) == got


def test_bad_params_are_refused(db):
    s, _path = db
    with pytest.raises(ToolRefused, match="invalid hex"):
        s.run("insert_data", "INSERT INTO bare VALUES (?, 1, 1)", [{"hex": "zz"}])
    with pytest.raises(ToolRefused, match="parameter value"):
        s.run("insert_data", "INSERT INTO bare VALUES (?, 1, 1)", [[1, 2]])
    with pytest.raises(mvlite.ProgrammingError, match="Incorrect number of bindings"):
        s.run("insert_data", "INSERT INTO bare VALUES (?, ?, ?)", [1])
    assert s.run("execute_query", "SELECT count(*) FROM bare")["rows"] == [[0]]


def test_refused_statements_change_nothing(db):
    s, path = db
    s.run("insert_data", "INSERT INTO bare VALUES (1, 2, 3)")
    for tool, sql in [("execute_query", "DELETE FROM bare"),
                      ("execute_query", "SELECT 1; DROP TABLE bare"),
                      ("insert_data", "DROP TABLE bare"),
                      ("delete_data", "DELETE FROM bare; DROP TABLE items"),
                      ("schema_change", "DELETE FROM bare")]:
        with pytest.raises(ToolRefused):
            s.run(tool, sql)
    assert _oracle(s, path, "SELECT * FROM bare") == [(1, 2, 3)]
    assert _oracle(s, path, "SELECT count(*) FROM sqlite_schema WHERE name='items'") == [(1,)]


def test_sql_errors_leave_the_session_usable(db):
    s, _path = db
    s.run("insert_data", "INSERT INTO items(id, name, code) VALUES (1, 'a', 'c1')")
    with pytest.raises(mvlite.IntegrityError) as e:
        s.run("insert_data", "INSERT INTO items(name, code) VALUES ('b', 'c1')")
    o = sqlite3.connect(":memory:")
    o.execute(DDL[0])
    o.execute("INSERT INTO items(id, name, code) VALUES (1, 'a', 'c1')")
    with pytest.raises(sqlite3.IntegrityError) as oracle:
        o.execute("INSERT INTO items(name, code) VALUES ('b', 'c1')")
    assert str(e.value) == str(oracle.value)
    assert s.run("execute_query", "SELECT id, name, price FROM items")["rows"] == [[1, "a", 1.5]]
