"""How the parser fails: SQLite's messages and offsets, its limits, its quirks.

Every case is compared with what stdlib sqlite3's ``sqlite3_prepare`` says for
the same text (message and error offset), so the expected values are not
hard-coded. The cases cover the spots where a hand-written parser most easily
drifts from Lemon's LALR tables: non-reserved keywords, context keywords,
parse-time checks and the parser-stack and expression-depth limits.
"""
from __future__ import annotations

import pytest

from sql.errors import ParseError, SqlSyntaxError
from sql.parser import parse, parse_first
from storage.errors import OperationalError
from test_parser_oracle import agree, ours, sqlite_prepare

ERROR_CASES = [
    # plain syntax errors and the end of input
    "SELECT", "SELECT 1 +", "SELECT FROM t1", "SELECT * FROM", "SELECT 1 2", "SELEC 1",
    "SELECT (1", "SELECT 1)", "SELECT 1 garbage garbage", "INSERT INTO t1 VALUES", "CREATE",
    "CREATE TABLE t(", "CREATE TABLE v()", "CREATE TABLE v(a,)", "SELECT 1 ~ 2",
    "SELECT 1 FROM t1 INDEXED", "UPDATE t1 SET", "DELETE t1", "DROP t1", "ALTER TABLE t1",
    "SELECT 'a' || ", "SELECT CASE END", "SELECT count(DISTINCT *)", "SELECT f(x ORDER BY y)",
    "SELECT 1 UNION VALUES(1) ORDER BY 1", "VALUES(1),()", "EXPLAIN EXPLAIN SELECT 1",
    "SELECT a FROM t1 WHERE a IN", "SELECT * FROM t1 NATURAL", "WITH x AS (SELECT 1)",
    "SELECT 1 x y", "SELECT a.b.*", "SELECT #1", "BEGIN foo", "ROLLBACK TO",
    # keywords that are not names where the grammar uses them
    "SELECT cast FROM t1", "SELECT raise FROM t1", "SELECT a like FROM t1", "SELECT (with)",
    "CREATE TABLE if(a)", "ALTER TABLE t1 RENAME column TO x", "ATTACH database AS y",
    "WITH recursive AS (SELECT 1) SELECT 1", "SELECT sum(a) OVER (range) FROM t1",
    "SELECT sum(a) OVER (ROWS UNBOUNDED FOLLOWING) FROM t1", "SELECT a, CAST.* FROM t1",
    "SELECT left(1)", "SELECT 1 AS select", "PRAGMA x = null", "PRAGMA x = -abc",
    "CREATE TABLE t(a INT(x))", "CREATE TABLE t(a) STRICT,", "CREATE TABLE t(a) , , strict",
    "SELECT * FROM json_each('[1]') over x", "INSERT INTO t1 SELECT * FROM t2 ON CONFLICT DO NOTHING",
    "CREATE TABLE v(a, foreign key(a) references t2 not null)",
    "SELECT a BETWEEN b OR c AND d FROM t1", "SELECT 1 BETWEEN 0 OR 1 AND 2 AND 3",
    # triggers
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN SELECT 1 END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN INSERT INTO t1 DEFAULT VALUES; END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN UPDATE t1 SET a=1 ORDER BY a; END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN UPDATE t1 AS x SET a=1; END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN UPDATE t1 SET a=1 RETURNING *; END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN WITH x AS (SELECT 1) DELETE FROM t1; END",
    # bad tokens: reported when reached, after earlier syntax errors
    "SELECT 'abc", "SELECT FROM 'abc", "SELECT 1 FROM t1 WHERE a = x'ABC'", "SELECT 123abc",
    "SELECT $", "SELECT a ! b",
    # parse-time checks that are not syntax errors
    "SELECT * FROM t1 ON 1", "SELECT * FROM t1 USING (a)", "SELECT * FROM (t1 ON 1)",
    "SELECT * FROM t1 ON 1 garbage", "SELECT * FROM t1 LEFT foo JOIN t2",
    "SELECT * FROM t1 INNER OUTER JOIN t2", "SELECT * FROM t1 OUTER JOIN t2",
    "SELECT * FROM t1 LEFT x y JOIN t2",
    "SELECT 1 ORDER BY 1 UNION SELECT 2", "SELECT 1 LIMIT 1 UNION SELECT 2",
    "SELECT 1 UNION SELECT 1 LIMIT 1 EXCEPT SELECT 2",
    "CREATE TABLE t(a) WITHOUT foo", "CREATE TABLE t(a) rowid", 'CREATE TABLE t(a) WITHOUT "rowid"',
    "CREATE VIEW v(a COLLATE nocase) AS SELECT 1", "CREATE VIEW v(a DESC) AS SELECT 1",
    "WITH c(x ASC) AS (SELECT 1) SELECT 1",
    "SELECT ?0", "SELECT ?250001", "SELECT ?99999999999999999999", "CREATE VIEW v AS SELECT ?",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN UPDATE main.t1 SET a=1; END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN DELETE FROM t1 INDEXED BY i1; END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN DELETE FROM t1 NOT INDEXED; END",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN INSERT INTO t1 VALUES(1,2,3,4,5) RETURNING *; END",
    "SELECT max(" + ", ".join(["1"] * 128) + ")",
    "SELECT 1 " + "UNION SELECT 1 " * 500,
    "VALUES " + ", ".join(["(1)"] * 600) + " UNION SELECT 1",
]


@pytest.mark.parametrize("sql", ERROR_CASES)
def test_errors_match_sqlite(sql):
    expected = sqlite_prepare(sql)
    assert expected[0] is not None  # each case is an error
    assert ours(sql) == expected


ACCEPT_CASES = [
    "SELECT abort, like, glob(a, b), replace(a, b, c), if(1, 2, 3), key, offset FROM t1",
    "SELECT 0x1Fg", "SELECT #abc", "SELECT $a::b(c)", "SELECT count(DISTINCT)",
    "SELECT 1 FROM t1 AS x INDEXED BY i1", "SELECT * FROM json_each('[1]') over",
    "SELECT count(*) filter", "SELECT 1 WINDOW w AS ()", "SELECT CAST(1 AS)",
    "PRAGMA x = yes", "CREATE VIRTUAL TABLE t USING m(a; b)", "CREATE TABLE t(a) , strict",
    "CREATE TABLE t(a CONSTRAINT x)", "CREATE TABLE t(a, CONSTRAINT x)",
    "SELECT * FROM t1 NATURAL CROSS JOIN t2", "SELECT 1 LIMIT 1",
    "INSERT INTO t1 SELECT * FROM t2 WHERE 1 ON CONFLICT DO NOTHING",
    "SELECT 'abc'.x", "SELECT * FROM t1 WHERE a IN 'abc'", "SELECT x FROM t1 ORDER BY a NULLS FIRST",
    "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN SELECT raise(abort, \"x\"); VALUES(1); END",
    "SELECT a FROM t1 ; ", "BEGIN IMMEDIATE",
]


@pytest.mark.parametrize("sql", ACCEPT_CASES)
def test_accepts_what_sqlite_parses(sql):
    assert agree(sql) is None


def test_syntax_error_classes_and_offsets():
    with pytest.raises(SqlSyntaxError) as e:
        parse("SELECT 1;\nSELECT * FROM")
    assert str(e.value) == "incomplete input" and e.value.offset == -1
    with pytest.raises(SqlSyntaxError) as e:
        parse("SELECT 1 FROM t WHERE é FROM x")
    assert e.value.offset == 24 and str(e.value) == 'near "FROM": syntax error'
    with pytest.raises(ParseError) as e:
        parse("SELECT * FROM t LEFT foo JOIN u")
    assert not isinstance(e.value, SqlSyntaxError) and e.value.offset == 16
    assert isinstance(e.value, OperationalError)
    assert e.value.sqlite_errorcode == 1 and e.value.sqlite_errorname == "SQLITE_ERROR"


def test_begin_concurrent_is_our_extension():
    assert sqlite_prepare("BEGIN CONCURRENT")[0] == 'near "CONCURRENT": syntax error'
    assert ours("BEGIN CONCURRENT") == (None, -1)
    assert ours("BEGIN concurrent TRANSACTION") == (None, -1)
    assert ours('BEGIN "concurrent"')[0] == 'near ""concurrent"": syntax error'


# Nesting limits: SQLite's 100-entry parser stack and 1000-deep expressions.
# For each shape, the smallest nesting that fails must be SQLite's, with its message.
DEPTH_SHAPES = {
    "parens": lambda n: "SELECT " + "(" * n + "1" + ")" * n,
    "plus": lambda n: "SELECT 1" + "+1" * n,
    "neg": lambda n: "SELECT " + "- " * n + "1",
    "not": lambda n: "SELECT " + "NOT " * n + "1",
    "rightplus": lambda n: "SELECT " + "1+(" * n + "1" + ")" * n,
    "fromsub": lambda n: "SELECT * FROM " + "(SELECT * FROM " * n + "t1" + ")" * n,
    "fromsubon": lambda n: "SELECT 1 FROM t1 JOIN " + "(SELECT 1 FROM t1 JOIN " * n + "t1 ON 1"
                           + ") ON 1" * n,
    "scalarsub": lambda n: "SELECT " + "(SELECT " * n + "1" + ")" * n,
    "func": lambda n: "SELECT " + "abs(" * n + "1" + ")" * n,
    "func2": lambda n: "SELECT " + "max(1, " * n + "1" + ")" * n,
    "and": lambda n: "SELECT 1" + " AND 1" * n,
    "and0": lambda n: "SELECT 0" + " AND 1" * n,
    "case": lambda n: "SELECT " + "CASE WHEN 1 THEN " * n + "1" + " END" * n,
    "caseelse": lambda n: "SELECT " + "CASE WHEN 1 THEN 2 ELSE " * n + "1" + " END" * n,
    "exists": lambda n: "SELECT " + "EXISTS (SELECT " * n + "1" + ")" * n,
    "insel": lambda n: "SELECT " + "1 IN (SELECT " * n + "1" + ")" * n,
    "cast": lambda n: "SELECT " + "CAST(" * n + "1" + " AS INT)" * n,
    "isnull": lambda n: "SELECT 1" + " ISNULL" * n,
    "collate": lambda n: "SELECT 1" + "+1 COLLATE x" * n,
    "cte": lambda n: "WITH " + "c AS (WITH " * n + "d AS (SELECT 1) SELECT 1" + ") SELECT 1" * n,
    "joinparen": lambda n: "SELECT 1 FROM t1, " + "(" * n + "t1" + ")" * n,
    "trigger": lambda n: "CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN SELECT 1; UPDATE t1 SET a = "
                         + "(" * n + "1" + ")" * n + "; END",
    "upsert": lambda n: "INSERT INTO t1(a) VALUES(1) ON CONFLICT DO UPDATE SET a = "
                        + "(" * n + "1" + ")" * n,
    "window": lambda n: "SELECT count(*) OVER (PARTITION BY " + "(" * n + "1" + ")" * n
                        + ") FROM t1",
    "check": lambda n: "CREATE TABLE z(a, CHECK(" + "(" * n + "1" + ")" * n + "))",
    "index": lambda n: "CREATE INDEX ii ON t1(" + "(" * n + "a" + ")" * n + ")",
    "is": lambda n: "SELECT 1 IS NOT " + "(" * n + "1" + ")" * n,
}


def _first_failure(shape, fails, hi=1100):
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fails(shape(mid)):
            hi = mid
        else:
            lo = mid + 1
    return lo


@pytest.mark.parametrize("name", sorted(DEPTH_SHAPES))
def test_nesting_limits_match_sqlite(name):
    shape = DEPTH_SHAPES[name]
    theirs = _first_failure(shape, lambda s: sqlite_prepare(s)[0] is not None)
    mine = _first_failure(shape, lambda s: ours(s)[0] is not None)
    assert mine == theirs
    if theirs < 1100:
        assert ours(shape(theirs))[0] == sqlite_prepare(shape(theirs))[0]


def test_deep_nesting_never_recurses_out():
    for sql in ("SELECT " + "(" * 50000, "SELECT " + "-" * 100000 + "1",
                "SELECT " + "(SELECT " * 5000, "SELECT " + "1+" * 20000 + "1",
                "SELECT " + "f(" * 10000, "SELECT " + "CASE WHEN " * 5000,
                "SELECT 1 FROM " + "(" * 20000):
        with pytest.raises(ParseError):
            parse_first(sql)


def test_limits_are_precise_at_the_boundary():
    ok = "SELECT " + "(" * 93 + "1" + ")" * 93
    assert ours(ok) == (None, -1)
    assert ours("SELECT " + "(" * 94 + "1" + ")" * 94)[0] == "parser stack overflow"
    assert ours("SELECT 1" + "+1" * 999) == (None, -1)
    assert ours("SELECT 1" + "+1" * 1000)[0] == "Expression tree is too large (maximum depth 1000)"
