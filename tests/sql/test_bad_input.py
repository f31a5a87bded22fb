"""Bad input gives the same PEP 249 error class and message as stdlib sqlite3.

Each case runs a setup script and then one statement on a fresh sqlite3 (the
oracle) and a fresh mvlite connection, and compares (class name, message), or
the result rows when sqlite3 accepts the statement. Families: syntax errors,
unknown names, parameter binding, API misuse, constraint violations (NOT NULL,
UNIQUE, PRIMARY KEY, CHECK), and type/range errors raised by functions.
"""
from __future__ import annotations

import sqlite3

import pytest

import mvlite

SCHEMA = """
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT NOT NULL, c REAL UNIQUE, d CHECK (d > 0));
CREATE TABLE u(x, y NOT NULL, PRIMARY KEY (x, y));
CREATE TABLE w(id INTEGER PRIMARY KEY, v TEXT, n INT NOT NULL DEFAULT 0,
               CONSTRAINT pos CHECK (n >= 0), UNIQUE (v, n));
CREATE INDEX wv ON w(v);
INSERT INTO t VALUES (1, 'one', 1.5, 1), (2, 'two', 2.5, 2);
INSERT INTO u VALUES (1, 1);
INSERT INTO w(v, n) VALUES ('a', 1);
"""


PEP249 = ("InterfaceError", "DataError", "OperationalError", "IntegrityError", "InternalError",
          "ProgrammingError", "NotSupportedError", "DatabaseError", "Error", "Warning")


def pep249_name(e: BaseException) -> str:
    """The most specific PEP 249 class of ``e`` (mvlite may raise subclasses of them)."""
    for k in type(e).__mro__:
        if k.__name__ in PEP249:
            return k.__name__
    return type(e).__name__


def _outcome(conn, exc_base, sql: str, params=None):
    """("rows", rows) or ("error", PEP 249 class name, message)."""
    try:
        cur = conn.execute(sql) if params is None else conn.execute(sql, params)
        return ("rows", cur.fetchall())
    except exc_base as e:  # the PEP 249 class and the exact text are the contract
        return ("error", pep249_name(e), str(e))


def _run(sql: str, params=None, setup: str = SCHEMA, extra: tuple = ()):
    orc = sqlite3.connect(":memory:")
    mv = mvlite.connect(":memory:")
    try:
        orc.executescript(setup)
        mv.executescript(setup)
        want = _outcome(orc, (sqlite3.Error, *extra), sql, params)
        got = _outcome(mv, (mvlite.Error, *extra), sql, params)
    finally:
        orc.close()
        mv.close()
    return want, got


SYNTAX = [
    "SELEC 1", "SELECT", "SELECT 1 FROM", "SELECT * FROM t WHERE", "SELECT (1", "SELECT 1)",
    "SELECT 'abc", 'SELECT "abc', "SELECT [abc", "SELECT 1 +", "SELECT * FROM t ORDER",
    "INSERT INTO t VALUES", "INSERT INTO t VALUES (1,", "UPDATE t SET", "UPDATE t SET b =",
    "DELETE t", "CREATE TABLE", "CREATE TABLE z(", "CREATE TABLE z()", "DROP", "DROP TABLE",
    "SELECT 1 2", "SELECT * FROM t t t", "SELECT x'abc'", "SELECT x'zz'", "SELECT 1e",
    "SELECT 0x", "SELECT 12abc", "SELECT @", "SELECT ?1a", "SELECT $", "SELECT #1",
    "SELECT 1 FROM t GROUP", "SELECT 1 LIMIT", "SELECT * FROM (SELECT 1", "WITH x AS SELECT 1",
    "SELECT CASE END", "SELECT CAST(1 AS)", "SELECT 1 IN", "SELECT 1 BETWEEN 2",
    "SELECT ~", "SELECT 1 IS", "SELECT !1", "SELECT 1;;SELEC 2", "CREATE INDEX ON t(a)",
    "ALTER TABLE t", "INSERT INTO t DEFAULT", "SELECT * FROM t WHERE a = = 1", "SELECT ,1",
    "SELECT 1,", "VALUES", "VALUES ()", "SELECT 1 UNION", "SELECT `a", "SELECT \x01",
    "SELECT 1;;", "SELECT 1; 2", "SELECT 1; -- c\n;", "SELECT 1; /* c */ SELEC",
]

NAMES = [
    "SELECT * FROM nope", "SELECT nope FROM t", "SELECT t.nope FROM t", "SELECT z.a FROM t",
    "INSERT INTO nope VALUES (1)", "INSERT INTO t(nope) VALUES (1)", "UPDATE nope SET a = 1",
    "UPDATE t SET nope = 1", "DELETE FROM nope", "DELETE FROM t WHERE nope = 1",
    "SELECT nope()", "SELECT abs()", "SELECT abs(1, 2)", "SELECT substr(1)", "DROP TABLE nope",
    "DROP INDEX nope", "DROP VIEW nope", "DROP TRIGGER nope", "CREATE TABLE t(a)",
    "CREATE INDEX wv ON w(v)", "CREATE INDEX i2 ON nope(a)", "CREATE INDEX i2 ON t(nope)",
    "SELECT * FROM t ORDER BY 9", "SELECT * FROM t GROUP BY 0", "SELECT a FROM t, w",
    "SELECT id FROM t", "SELECT count(*) FROM t WHERE count(*) > 1", "SELECT max(count(*)) FROM t",
    "SELECT * FROM main.nope", "SELECT * FROM aux.t", "CREATE TABLE z(a, a)",
    "CREATE TABLE z(a INTEGER PRIMARY KEY, b PRIMARY KEY)", "SELECT * FROM t WHERE a IN (SELECT 1, 2)",
    "SELECT (SELECT 1, 2)", "INSERT INTO t VALUES (1, 2)", "INSERT INTO t(a, b) VALUES (1)",
    "INSERT INTO t(a, b) SELECT 1, 2, 3", "SELECT 1 UNION SELECT 1, 2",
    "CREATE TABLE sqlite_x(a)", "DROP TABLE sqlite_master", "SELECT * FROM t AS x WHERE t.a = 1",
    "PRAGMA nope", "SELECT count(DISTINCT a, b) FROM t", "SELECT group_concat(a, b, c) FROM t",
    "SELECT b FROM t LIMIT a", "SELECT b FROM t LIMIT 1 OFFSET nope", "SELECT date(*) IS NOT NULL",
    "SELECT abs(*)", "SELECT b FROM t ORDER BY nope", "SELECT b FROM t GROUP BY nope",
    "SELECT random(*) IS NOT NULL", "SELECT changes(*)", "SELECT randomblob(*)",
    "SELECT coalesce(*)", "SELECT b FROM t, w LIMIT a", "SELECT b FROM t LIMIT t.a",
    "SELECT (SELECT b FROM t LIMIT u.x) FROM u", "SELECT b AS q FROM t LIMIT q",
    "SELECT * FROM temp.t", "SELECT * FROM t JOIN aux.w", "SELECT 1 IN main.nope",
    "CREATE TABLE z(a PRIMARY KEY, PRIMARY KEY(a))",
    "CREATE TABLE z(a, b, PRIMARY KEY(a), PRIMARY KEY(b))",
]

CONSTRAINTS = [
    "INSERT INTO t(a, b) VALUES (3, NULL)", "INSERT INTO t(a) VALUES (3)",
    "UPDATE t SET b = NULL", "INSERT INTO t VALUES (1, 'x', 9.5, 1)",
    "INSERT INTO t VALUES (3, 'x', 1.5, 1)", "UPDATE t SET c = 1.5 WHERE a = 2",
    "UPDATE t SET a = 1 WHERE a = 2", "INSERT INTO u VALUES (1, 1)",
    "INSERT INTO t VALUES (3, 'x', 3.5, 0)", "INSERT INTO t VALUES (3, 'x', 3.5, -1)",
    "UPDATE t SET d = -5", "INSERT INTO w(v, n) VALUES ('b', -1)",
    "INSERT INTO w(v, n) VALUES ('a', 1)", "INSERT INTO w(v, n) VALUES (NULL, NULL)",
    "INSERT INTO t VALUES ('x', 'x', 3.5, 1)", "INSERT INTO t VALUES (3.5, 'x', 4.5, 1)",
    "INSERT INTO t VALUES (3, 'x', 3.5, NULL)", "INSERT OR IGNORE INTO t VALUES (1, 'x', 8.5, 1)",
    "INSERT OR REPLACE INTO t VALUES (1, 'x', 8.5, 1)", "INSERT OR FAIL INTO t(a) VALUES (9)",
    "INSERT OR ABORT INTO t VALUES (1, 'x', 9.5, 1)", "INSERT OR ROLLBACK INTO t(a) VALUES (9)",
    "REPLACE INTO t(a, b) VALUES (3, NULL)", "UPDATE OR IGNORE t SET c = 1.5",
    "INSERT INTO t VALUES (9223372036854775807, 'm', 7.5, 1)",
    "INSERT INTO u VALUES (NULL, NULL)",
]

FUNCTIONS = [
    "SELECT zeroblob(1000000001)", "SELECT zeroblob(-1)", "SELECT randomblob(1000000001)",
    "SELECT printf('%d')", "SELECT printf('%s %s', 1)", "SELECT printf()", "SELECT format()",
    "SELECT printf('%.*f', 3)", "SELECT printf('%!')", "SELECT printf(NULL)",
    "SELECT likelihood(1, 2)", "SELECT likelihood(1, -0.5)", "SELECT likelihood(1, 'x')",
    "SELECT likelihood(1, 0.5)", "SELECT likelihood(1, a) FROM t", "SELECT char()",
    "SELECT char(-1)", "SELECT char(1114112)", "SELECT char('x')", "SELECT abs('x')",
    "SELECT abs(-9223372036854775808)", "SELECT abs(-9223372036854775807 - 1)",
    "SELECT -(-9223372036854775808)", "SELECT 9223372036854775807 + 1",
    "SELECT substr('abc', 1, 2, 3)", "SELECT round(1, 2, 3)", "SELECT instr('a')",
    "SELECT replace('a', 'b')", "SELECT hex()", "SELECT length()", "SELECT upper(1, 2)",
    "SELECT ifnull(1)", "SELECT coalesce(1)", "SELECT nullif(1)", "SELECT iif(1, 2)",
    "SELECT sum(1, 2)", "SELECT count(1, 2)", "SELECT avg()", "SELECT total(a, b) FROM t",
    "SELECT quote()", "SELECT typeof()", "SELECT date('x', 'y', 'z')", "SELECT strftime()",
    "SELECT unicode()", "SELECT sqlite_version(1)", "SELECT random(1)", "SELECT changes(1)",
    "SELECT glob('a')", "SELECT like('a')", "SELECT like('a', 'b', 'cd')",
    "SELECT 'a' LIKE 'b' ESCAPE 'cd'", "SELECT substr('abc', 1, -9223372036854775808)",
    "SELECT CAST('x' AS INTEGER) + zeroblob(0)", "SELECT min()", "SELECT max()",
    "SELECT group_concat()", "SELECT json('x')",
    "SELECT 1 LIMIT 'x'", "SELECT 1 LIMIT 1.5", "SELECT 1 LIMIT 1 OFFSET 'a'",
    "SELECT * FROM t LIMIT x'00'", "SELECT sum(9223372036854775807) FROM t",
    "SELECT avg(a) OVER () FROM t", "SELECT 1 ORDER BY count(*) + 1",
    "SELECT count(*) FILTER (WHERE 1)", "SELECT abs(1) FILTER (WHERE 1)",
    "SELECT count(*) FILTER (WHERE a > 1) FROM t", "SELECT nope(1) FILTER (WHERE 1)",
    "SELECT abs(1, 2) FILTER (WHERE 1)", "SELECT date(*) FILTER (WHERE 1)",
    "SELECT CAST('12abc' AS), CAST(x'3132' AS), typeof(CAST('1.0' AS))",
]


#: divergences found by these tests in code this file's owner does not own; each
#: case is a strict xfail, so fixing the engine turns it into a failure that says
#: "remove me from KNOWN" (all are reported to the lead)
KNOWN: dict[str, str] = {}

#: functions mvlite does not have (documented in docs/compatibility.md): sqlite3
#: knows them, mvlite says "no such function" (an error, never a wrong answer)
MISSING_FUNCTIONS = {
    "SELECT json('x')": "no such function: json",
}

#: deliberate, documented differences: sqlite3 accepts these, mvlite raises the
#: given NotSupportedError instead of returning a wrong answer
UNSUPPORTED = {
    "SELECT avg(a) OVER () FROM t": "window functions are not supported yet",
}


def _cases(sqls: list[str]) -> list:
    return [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=KNOWN[s]))
            if s in KNOWN else s for s in sqls
            if s not in UNSUPPORTED and s not in MISSING_FUNCTIONS]


@pytest.mark.parametrize("sql", sorted(MISSING_FUNCTIONS))
def test_missing_functions_say_so(sql):
    want, got = _run(sql)
    assert "no such function" not in str(want)  # sqlite3 has the function
    assert got == ("error", "OperationalError", MISSING_FUNCTIONS[sql])


@pytest.mark.parametrize("sql", sorted(UNSUPPORTED))
def test_unsupported_is_an_error_not_a_wrong_answer(sql):
    want, got = _run(sql)
    assert want[0] == "rows"  # sqlite3 runs it: the difference is deliberate
    assert got == ("error", "NotSupportedError", UNSUPPORTED[sql])


@pytest.mark.parametrize("sql", _cases(SYNTAX))
def test_syntax_errors(sql):
    want, got = _run(sql)
    assert got == want


def test_syntax_cases_are_errors_in_sqlite():
    """The syntax family really is bad input for the oracle (all but CAST(1 AS))."""
    accepted = [s for s in SYNTAX if _run(s)[0][0] != "error"]
    assert accepted == ["SELECT CAST(1 AS)"]


@pytest.mark.parametrize("sql", _cases(NAMES))
def test_unknown_names_and_shapes(sql):
    want, got = _run(sql)
    assert got == want


@pytest.mark.parametrize("sql", _cases(CONSTRAINTS))
def test_constraint_violations(sql):
    want, got = _run(sql)
    assert got == want


@pytest.mark.parametrize("sql", _cases(FUNCTIONS))
def test_function_errors(sql):
    want, got = _run(sql)
    assert got == want


BINDINGS = [
    ("SELECT ?", ()), ("SELECT ?", (1, 2)), ("SELECT ?, ?", (1,)), ("SELECT ?2", (1,)),
    ("SELECT :a", {"b": 1}), ("SELECT :a", (1,)), ("SELECT ?", {"a": 1}), ("SELECT ?", [object()]),
    ("SELECT ?", 5), ("SELECT ?", "ab"), ("SELECT :a, :a", {"a": 1}), ("SELECT ?1, ?1", (1,)),
    ("SELECT ?, ?1", (1,)), ("SELECT ?2, ?", (1, 2, 3)), ("SELECT @x, $y", {"x": 1, "y": 2}),
    ("SELECT ?", (2**63,)), ("SELECT ?", ({1: 2},)), ("SELECT ?", ((1,),)),
    ("SELECT ?1000", (1,)), ("SELECT ?0", (1,)), ("SELECT ?32767", ()), ("SELECT ?32768", ()),
    ("SELECT :a", {"a": 1, "b": 2}), ("SELECT ?", None),
]


@pytest.mark.parametrize("sql,params", BINDINGS)
def test_parameter_binding(sql, params):
    # sqlite3 raises OverflowError (not a DB-API error) for ints beyond 64 bits
    want, got = _run(sql, params, extra=(OverflowError,))
    assert got == want


def _api_outcome(mod, action):
    conn = mod.connect(":memory:")
    conn.execute("CREATE TABLE k(a)")
    try:
        r = action(conn)
        return ("ok", r)
    except mod.Error as e:
        return ("error", pep249_name(e), str(e))
    except (TypeError, ValueError) as e:
        return ("py", type(e).__name__)
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing twice is part of some cases
            pass


def _closed_execute(c):
    c.close()
    return c.execute("SELECT 1")


def _closed_cursor(c):
    cur = c.cursor()
    cur.close()
    return cur.execute("SELECT 1")


API_CASES = {
    "two statements": lambda c: c.execute("SELECT 1; SELECT 2"),
    "executemany select": lambda c: c.executemany("SELECT ?", [(1,)]),
    "executemany bad count": lambda c: c.executemany("INSERT INTO k VALUES (?)", [(1,), (1, 2)]),
    "execute on closed": _closed_execute,
    "closed cursor": _closed_cursor,
    "commit without txn": lambda c: c.execute("COMMIT"),
    "rollback without txn": lambda c: c.execute("ROLLBACK"),
    "nested begin": lambda c: (c.execute("BEGIN"), c.execute("BEGIN")),
    "release unknown": lambda c: c.execute("RELEASE nope"),
    "rollback to unknown": lambda c: (c.execute("BEGIN"), c.execute("ROLLBACK TO nope")),
    "executescript error": lambda c: c.executescript("CREATE TABLE q(a); INSERT INTO nope VALUES (1);"),
    "non-str sql": lambda c: c.execute(42),
    "empty sql": lambda c: c.execute("").fetchall(),
    "comment only": lambda c: c.execute("-- nothing").fetchall(),
}


@pytest.mark.parametrize("name", sorted(API_CASES))
def test_api_misuse(name):
    action = API_CASES[name]
    want = _api_outcome(sqlite3, action)
    got = _api_outcome(mvlite, action)
    if want[0] == "ok":
        assert got[0] == "ok"
    else:
        assert got == want


def test_statement_error_keeps_connection_usable():
    """After any of these errors the connection still works and nothing half-applied stays."""
    for mod in (sqlite3, mvlite):
        c = mod.connect(":memory:")
        c.executescript(SCHEMA)
        for sql in ("INSERT INTO t VALUES (3, 'x', 3.5, 1), (4, NULL, 4.5, 1)",
                    "UPDATE t SET c = 1.5", "SELEC 1", "INSERT INTO nope VALUES (1)"):
            with pytest.raises(mod.Error):
                c.execute(sql)
        assert c.execute("SELECT a, b, c, d FROM t ORDER BY a").fetchall() == [
            (1, "one", 1.5, 1), (2, "two", 2.5, 2)]
        c.close()
