"""Cursor and Connection surface against stdlib sqlite3: description, rowcount, lastrowid,
fetchmany, Row, text_factory, row_factory, executescript, autocommit, module attributes."""
from __future__ import annotations

import sqlite3

import pytest

import mvlite

MODS = (sqlite3, mvlite)


PEP249 = {"Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
          "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
          "NotSupportedError"}


def kind(exc):
    """The PEP 249 class name of ``exc`` (our subclasses, e.g. SqlSyntaxError, map up)."""
    for k in type(exc).__mro__:
        if k.__name__ in PEP249:
            return k.__name__
    return type(exc).__name__


def outcome(fn):
    """(kind, value) where errors compare by PEP 249 class name and message."""
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - we compare whatever is raised
        return (kind(exc), str(exc))


def both(script, **kw):
    """Run ``script(module, connection)`` on both engines; return the two results."""
    out = []
    for m in MODS:
        c = m.connect(":memory:", **kw)
        try:
            out.append(script(m, c))
        finally:
            c.close()
    return out


def test_description_rowcount_lastrowid():
    def script(m, c):
        r = []
        cur = c.cursor()
        r.append((cur.description, cur.rowcount, cur.lastrowid, cur.arraysize))
        c.execute("CREATE TABLE t(x INTEGER PRIMARY KEY, y)")
        for sql in ["INSERT INTO t(y) VALUES (1), (2)", "UPDATE t SET y = y + 1",
                    "SELECT * FROM t", "SELECT x AS a, y + 1 FROM t", "DELETE FROM t WHERE x > 100",
                    "PRAGMA user_version", "PRAGMA user_version = 5", "SELECT 1 WHERE 0",
                    "INSERT INTO t(y) VALUES (9) RETURNING x, y * 2 AS z"]:
            cur = c.execute(sql)
            rows = cur.fetchall()
            r.append((sql, cur.description, cur.rowcount, cur.lastrowid, rows))
        cur = c.executemany("INSERT INTO t(y) VALUES (?)", [(1,), (2,), (3,)])
        r.append((cur.rowcount, cur.lastrowid, cur.description))
        cur = c.executemany("UPDATE t SET y = ? WHERE x = ?", [(1, 1), (2, 99), (3, 2)])
        r.append((cur.rowcount, cur.description))
        cur = c.cursor()
        cur.execute("SELECT 1")
        r.append(cur.lastrowid)
        return r
    a, b = both(script)
    assert a == b


def test_fetchmany_arraysize_iteration_close():
    def script(m, c):
        r = []
        q = "SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4"
        cur = c.execute(q)
        r.append((cur.fetchmany(), cur.fetchmany(2), cur.fetchmany(5), cur.fetchmany()))
        cur.arraysize = 3
        cur.execute(q)
        r.append((cur.fetchmany(), cur.fetchone(), cur.fetchone()))
        r.append([row for row in c.execute(q)])
        cur.setinputsizes([1])
        cur.setoutputsize(3)
        cur.close()
        r.append(outcome(cur.fetchall))
        r.append(outcome(lambda: cur.execute("SELECT 1")))
        return r
    a, b = both(script)
    assert a == b


def test_statement_errors():
    def script(m, c):
        return [outcome(lambda: c.execute("SELECT 1; SELECT 2")),
                outcome(lambda: c.executemany("SELECT ?", [(1,)])),
                outcome(lambda: c.execute("SELECT ?", (1, 2))),
                outcome(lambda: c.execute(5)),
                outcome(lambda: c.executescript(5)),
                outcome(lambda: c.execute("SELECT :a", {"b": 1})),
                outcome(lambda: c.execute("SELECT ?", [object()])),
                c.execute("  ").description]
    a, b = both(script)
    assert a == b


def test_row_factory_and_row():
    def script(m, c):
        c.row_factory = m.Row
        cur = c.cursor()        # takes the connection's row_factory now
        c.row_factory = None
        r = c.execute("SELECT 1 AS a, 'x' AS B").fetchone()
        row = cur.execute("SELECT 1 AS a, 'x' AS B").fetchone()
        row2 = cur.execute("SELECT 1 AS a, 'x' AS B").fetchone()
        other = cur.execute("SELECT 1 AS a, 'x' AS C").fetchone()
        return [r, type(row).__name__, row.keys(), row["b"], row["A"], row[1], row[-1],
                row[0:2], len(row), list(row), row == row2, row != other, row == (1, "x"),
                hash(row) == hash(row2), outcome(lambda: row["zz"]), outcome(lambda: row[5]),
                outcome(lambda: row[1.5])]
    a, b = both(script)
    assert a == b


def test_text_factory():
    def script(m, c):
        r = []
        c.execute("CREATE TABLE t(a, b, c)")
        c.execute("INSERT INTO t VALUES ('é', 1, x'00ff')")
        for tf in (str, bytes, lambda b: b.decode() + "!", bytearray):
            c.text_factory = tf
            r.append(c.execute("SELECT a, b, c, upper(a) FROM t").fetchall())
        return r
    a, b = both(script)
    assert a == b


def test_executescript_commits_first_and_stops_at_error():
    def script(m, c):
        r = []
        c.execute("CREATE TABLE t(x)")
        c.execute("INSERT INTO t VALUES (1)")
        r.append(c.in_transaction)
        c.executescript("SELECT 1")
        r.append(c.in_transaction)
        r.append(outcome(lambda: c.executescript(
            "INSERT INTO t VALUES (2); SELECT * FROM nope; INSERT INTO t VALUES (3);")))
        r.append(outcome(lambda: c.executescript("INSERT INTO t VALUES (4); SELEC 1;")))
        r.append(c.execute("SELECT * FROM t ORDER BY x").fetchall())
        c.executescript("BEGIN; INSERT INTO t VALUES (5);")
        r.append(c.in_transaction)
        c.rollback()
        r.append(c.execute("SELECT count(*) FROM t").fetchall())
        return r
    a, b = both(script)
    assert a == b
    a, b = both(script, isolation_level=None)
    assert a == b


def test_isolation_level_and_in_transaction():
    def script(m, c):
        r = [c.isolation_level, c.in_transaction]
        c.execute("CREATE TABLE t(x)")
        r.append(c.in_transaction)
        c.execute("INSERT INTO t VALUES (1)")
        r.append(c.in_transaction)
        c.isolation_level = None      # commits the pending transaction
        r.append(c.in_transaction)
        c.execute("INSERT INTO t VALUES (2)")
        r.append(c.in_transaction)
        c.execute("BEGIN")
        r.append(c.in_transaction)
        c.execute("ROLLBACK")
        c.isolation_level = "IMMEDIATE"
        c.execute("INSERT INTO t VALUES (3)")
        c.rollback()
        r.append(c.execute("SELECT * FROM t").fetchall())
        r.append(outcome(lambda: setattr(c, "isolation_level", 5)))
        return r
    a, b = both(script)
    assert a == b


def test_autocommit_attribute_py312_semantics(tmp_path):
    p = str(tmp_path / "a.db")
    c = mvlite.connect(p, autocommit=False)
    assert c.autocommit is False and c.in_transaction      # always inside a transaction
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES (1)")
    c.rollback()
    assert c.in_transaction
    assert c.execute("PRAGMA table_info(t)").fetchall() == []
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES (1)")
    c.commit()
    assert c.in_transaction
    c.autocommit = True                                     # commits what is pending
    assert not c.in_transaction
    c.execute("INSERT INTO t VALUES (2)")                   # no implicit BEGIN
    assert not c.in_transaction
    c.commit()                                              # a no-op now
    c.autocommit = mvlite.LEGACY_TRANSACTION_CONTROL
    c.execute("INSERT INTO t VALUES (3)")
    assert c.in_transaction
    with pytest.raises(ValueError):
        c.autocommit = "yes"
    c.close()                                               # rolls back row 3
    s = sqlite3.connect(p)
    assert s.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    s.close()


def test_closed_connection_errors():
    def script(m, c):
        c.close()
        return [outcome(lambda: c.execute("SELECT 1")), outcome(c.cursor), outcome(c.commit),
                outcome(c.interrupt), outcome(lambda: c.in_transaction),
                outcome(lambda: c.total_changes), outcome(c.close),
                outcome(lambda: c.create_function("f", 1, len))]
    a, b = both(script)
    assert a == b


def test_iterdump_loads_in_sqlite3():
    c = mvlite.connect(":memory:")
    c.executescript("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB, d REAL);"
                    "CREATE INDEX tb ON t(b);"
                    "INSERT INTO t VALUES (1, 'it''s', x'00ff', 1.5), (2, NULL, NULL, -3.25e100);")
    script = "\n".join(c.iterdump())
    s = sqlite3.connect(":memory:")
    s.executescript(script)
    assert s.execute("SELECT * FROM t ORDER BY a").fetchall() == \
        c.execute("SELECT * FROM t ORDER BY a").fetchall()
    assert s.execute("SELECT name FROM sqlite_schema WHERE type = 'index'").fetchall() == \
        [("tb",)]
    with pytest.raises(mvlite.NotSupportedError):
        c.blobopen("t", "c", 1)
    c.close()


def test_iterdump_matches_sqlite3():
    def run(m):
        c = m.connect(":memory:")
        c.executescript("CREATE TABLE zz(a INTEGER PRIMARY KEY AUTOINCREMENT, b);"
                        "CREATE TABLE aa(x TEXT, y REAL);"
                        "CREATE INDEX aax ON aa(x);"
                        "INSERT INTO zz(b) VALUES ('q'), (x'0001'), (NULL), (2.5);"
                        "INSERT INTO aa VALUES ('it''s', 1e300), (NULL, -0.5);"
                        "CREATE INDEX zzb ON zz(b);")
        return list(c.iterdump())
    assert run(mvlite) == run(sqlite3)


def test_backup_to_sqlite3_and_mvlite():
    src = mvlite.connect(":memory:")
    src.executescript("CREATE TABLE t(x, y); INSERT INTO t VALUES (1, 'a'), (2, 'b');")
    for dst in (sqlite3.connect(":memory:"), mvlite.connect(":memory:")):
        src.backup(dst)
        assert dst.execute("SELECT * FROM t ORDER BY x").fetchall() == [(1, "a"), (2, "b")]
        dst.close()
    src.close()


def test_module_attributes_and_helpers():
    for name in ("apilevel", "threadsafety", "paramstyle", "sqlite_version",
                 "sqlite_version_info", "PARSE_DECLTYPES", "PARSE_COLNAMES"):
        assert hasattr(mvlite, name)
    assert (mvlite.PARSE_DECLTYPES, mvlite.PARSE_COLNAMES) == \
        (sqlite3.PARSE_DECLTYPES, sqlite3.PARSE_COLNAMES)
    assert mvlite.sqlite_version == sqlite3.sqlite_version
    for s in ("SELECT 1", "SELECT 1;", "SELECT 'a;", "CREATE TRIGGER x AFTER INSERT ON t "
              "BEGIN SELECT 1; ", "CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END;",
              "-- c\n;", ""):
        assert mvlite.complete_statement(s) == sqlite3.complete_statement(s), s


def test_adapters_and_converters():
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    class Conform:
        def __conform__(self, proto):
            return "conformed"

    mvlite.register_adapter(Point, lambda p: f"{p.x};{p.y}")
    mvlite.register_converter("point", lambda b: tuple(int(v) for v in b.split(b";")))
    try:
        c = mvlite.connect(":memory:", detect_types=mvlite.PARSE_COLNAMES)
        cur = c.execute('SELECT ? AS "p [point]", ? AS plain, ?', (Point(1, 2), "1;2", Conform()))
        assert cur.fetchall() == [((1, 2), "1;2", "conformed")]
        assert [d[0] for d in cur.description] == ["p", "plain", "?"]
        c.close()
    finally:
        mvlite.adapters.clear()
        mvlite.converters.clear()


def test_detect_types_matches_sqlite3():
    def run(m):
        m.register_converter("point", lambda b: tuple(int(v) for v in b.split(b";")))
        m.register_converter("BOOLX", lambda b: b == b"1")
        try:
            out = []
            for flags in (0, m.PARSE_DECLTYPES, m.PARSE_COLNAMES,
                          m.PARSE_DECLTYPES | m.PARSE_COLNAMES):
                c = m.connect(":memory:", detect_types=flags)
                c.execute("CREATE TABLE t(p Point, b boolx(1) NOT NULL, n INTEGER)")
                c.execute("INSERT INTO t VALUES ('1;2', 1, 3), (NULL, 0, 4)")
                for q in ("SELECT * FROM t", "SELECT t.p, b AS 'b [point]', n FROM t",
                          'SELECT p AS "x [boolx]", x.b FROM t AS x', "SELECT p || '' FROM t",
                          "SELECT a.p, b.b FROM t AS a JOIN t AS b ON a.n = b.n"):
                    cur = c.execute(q)
                    out.append((flags, q, cur.fetchall(), [d[0] for d in cur.description]))
                c.close()
            return out
        finally:
            m.converters.pop("POINT", None)
            m.converters.pop("BOOLX", None)
    assert run(mvlite) == run(sqlite3)
