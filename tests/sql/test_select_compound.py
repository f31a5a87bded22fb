"""Compound SELECTs, CTEs, VALUES and views against stdlib sqlite3: UNION / UNION ALL /
INTERSECT / EXCEPT chains with collation-aware DISTINCT, ORDER BY by name, alias or
position and its errors, LIMIT/OFFSET, WITH (also RECURSIVE with UNION / UNION ALL and
LIMIT), VALUES as a query and a FROM source, views (column lists, nesting, joins), and
hypothesis-generated compound queries."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mvlite
from select_oracle import check_all, compare, pair

SCRIPT = [
    "CREATE TABLE t1(a INTEGER, b TEXT COLLATE NOCASE, c)",
    "CREATE TABLE t2(x, y TEXT)",
    "INSERT INTO t1 VALUES (1,'a',1.5),(2,'B',NULL),(3,NULL,'x'),(NULL,'b',4),(2,'A',2),(1,'a',1)",
    "INSERT INTO t2 VALUES (1,'a'),(2.0,'A'),('3',NULL),(NULL,'b'),(2,'B')",
    "CREATE VIEW v1 AS SELECT a, b AS bb FROM t1 WHERE a > 1",
    "CREATE VIEW v2(p, q) AS SELECT x, y FROM t2",
    "CREATE VIEW v3 AS SELECT v1.a, v2.q FROM v1 JOIN v2 ON v1.a = v2.p",
    "CREATE VIEW v4 AS SELECT a FROM t1 UNION SELECT x FROM t2",
]


@pytest.fixture(scope="module")
def dbs():
    a, b = pair(SCRIPT)
    yield a, b
    a.close()
    b.close()


CASES = [
    ("SELECT a FROM t1 UNION SELECT x FROM t2", True),
    ("SELECT a FROM t1 UNION ALL SELECT x FROM t2", True),
    ("SELECT a FROM t1 INTERSECT SELECT x FROM t2", True),
    ("SELECT a FROM t1 EXCEPT SELECT x FROM t2", True),
    ("SELECT b FROM t1 UNION SELECT y FROM t2", True),
    ("SELECT y FROM t2 UNION SELECT b FROM t1", True),
    ("SELECT b FROM t1 INTERSECT SELECT y FROM t2", True),
    ("SELECT y FROM t2 EXCEPT SELECT b FROM t1", True),
    ("SELECT a, b FROM t1 UNION SELECT x, y FROM t2 ORDER BY 2, 1", True),
    ("SELECT a AS k FROM t1 UNION SELECT x FROM t2 ORDER BY k DESC", True),
    ("SELECT a FROM t1 UNION SELECT x FROM t2 ORDER BY a LIMIT 2 OFFSET 1", True),
    ("SELECT a FROM t1 UNION ALL SELECT x FROM t2 UNION SELECT 7 ORDER BY 1", True),
    ("SELECT a FROM t1 UNION SELECT x FROM t2 EXCEPT SELECT 2 INTERSECT SELECT 3", True),
    ("SELECT a FROM t1 UNION ALL SELECT a FROM t1 ORDER BY 1 DESC LIMIT 4", True),
    ("SELECT b FROM t1 UNION ALL SELECT y FROM t2 ORDER BY 1 COLLATE BINARY", True),
    ("SELECT b FROM t1 UNION ALL SELECT y FROM t2 ORDER BY b, 1", False),
    ("SELECT a, count(*) FROM t1 GROUP BY a UNION SELECT x, 0 FROM t2", True),
    ("SELECT DISTINCT b FROM t1 UNION ALL SELECT DISTINCT y FROM t2", False),
    ("SELECT a FROM t1 UNION SELECT x FROM t2 ORDER BY b", True),
    ("SELECT a FROM t1 UNION SELECT x FROM t2 ORDER BY 2", True),
    ("SELECT a, b FROM t1 UNION SELECT x FROM t2", True),
    ("SELECT a FROM t1 UNION SELECT x FROM t2 ORDER BY a + 1", True),
    # VALUES
    ("VALUES (1, 'a'), (2, NULL), (3.5, x'00')", True),
    ("VALUES (1), (2) UNION VALUES (2), (3)", True),
    ("SELECT * FROM (VALUES (1, 2), (3, 4)) WHERE column1 > 1", True),
    ("SELECT column2, count(*) FROM (VALUES (1, 'x'), (2, 'x'), (3, 'y')) GROUP BY 1", True),
    ("VALUES (1, 2), (3)", True),
    ("VALUES (1), (2) ORDER BY 1 DESC", True),
    # CTEs
    ("WITH c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT * FROM c", True),
    ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 7) "
     "SELECT sum(n), count(*) FROM c", True),
    ("WITH RECURSIVE c(n) AS (SELECT 1 UNION SELECT n % 3 + 1 FROM c) SELECT * FROM c", True),
    ("WITH RECURSIVE c(n, f) AS (SELECT 1, 1 UNION ALL SELECT n + 1, f * (n + 1) FROM c "
     "WHERE n < 10) SELECT n, f FROM c", True),
    ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 5 OFFSET 2) "
     "SELECT n FROM c", True),
    ("WITH x AS (SELECT a, b FROM t1 WHERE a > 1), y AS (SELECT * FROM x WHERE b IS NOT NULL) "
     "SELECT * FROM y, x WHERE y.a = x.a", False),
    ("WITH x(k) AS (SELECT x FROM t2) SELECT a FROM t1 WHERE a IN (SELECT k FROM x)", False),
    ("WITH t1 AS (SELECT 42 AS a) SELECT * FROM t1", False),
    ("WITH x(p, q) AS (SELECT 1) SELECT * FROM x", False),
    ("SELECT (WITH w AS (SELECT max(x) AS m FROM t2) SELECT m FROM w)", False),
    ("WITH RECURSIVE tree(i, path) AS (SELECT 1, '1' UNION ALL SELECT i * 2 + j, path || '.' "
     "|| (i * 2 + j) FROM tree, (SELECT 0 AS j UNION ALL SELECT 1) WHERE i < 8) "
     "SELECT * FROM tree ORDER BY i", True),
    # views
    "SELECT * FROM v1", "SELECT bb, count(*) FROM v1 GROUP BY bb", "SELECT * FROM v2",
    "SELECT p, q FROM v2 WHERE p = 2", "SELECT * FROM v3", "SELECT * FROM v4",
    "SELECT v1.a, t2.y FROM v1, t2 WHERE v1.a = t2.x", "SELECT * FROM v1 AS z WHERE z.a = 2",
    "SELECT x FROM t2 WHERE x IN (SELECT a FROM v1)", "SELECT a FROM v2",
    # FROM subqueries
    "SELECT * FROM (SELECT a, b FROM t1 ORDER BY a LIMIT 3) AS s",
    "SELECT s.k FROM (SELECT a + 1 AS k FROM t1) s WHERE s.k > 2",
    "SELECT * FROM (SELECT a FROM t1 UNION SELECT x FROM t2) WHERE a IS NOT NULL",
    "SELECT * FROM (SELECT b FROM t1) AS s, t2 WHERE s.b = t2.y",
    "SELECT * FROM t2, (SELECT b FROM t1) AS s WHERE s.b = t2.y",
    "SELECT count(*) FROM (SELECT * FROM t1, t2)",
]


def test_compound_cte_values_view_cases(dbs):
    check_all(*dbs, CASES)


def test_compound_column_names(dbs):
    a, b = dbs
    for sql in ["SELECT a AS one, b FROM t1 UNION SELECT x, y AS two FROM t2",
                "VALUES (1, 2)", "SELECT * FROM v2", "SELECT * FROM v1",
                "WITH c(n) AS (SELECT 1) SELECT * FROM c", "SELECT * FROM (SELECT a AS z FROM t1)"]:
        assert [d[0] for d in a.execute(sql).description] == \
            [d[0] for d in b.execute(sql).description], sql


def test_recursive_cte_can_be_interrupted():
    con = mvlite.connect(":memory:")
    con.set_progress_handler(lambda: 1, 1000)
    with pytest.raises(mvlite.OperationalError, match="interrupted"):
        con.execute("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
                    "SELECT count(*) FROM r").fetchall()
    con.set_progress_handler(None, 0)
    assert con.execute("SELECT 1").fetchall() == [(1,)]


def test_view_created_later_in_same_connection():
    a, b = pair(SCRIPT)
    for con in (a, b):
        con.execute("CREATE VIEW v5 AS SELECT b, count(*) AS n FROM t1 GROUP BY b")
    assert compare(a, b, "SELECT * FROM v5 ORDER BY n, b", ordered=True) is None


# -- hypothesis: random compound chains ---------------------------------------------------------

VALS = st.one_of(st.none(), st.integers(-1, 3), st.sampled_from([1.0, 2.5]),
                 st.sampled_from(["a", "A", "b", "1"]))


def _lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return "'" + v + "'"
    return repr(v)


@st.composite
def compound_scenario(draw):
    script = ["CREATE TABLE p(a INTEGER, b TEXT COLLATE NOCASE)", "CREATE TABLE q(a, b)"]
    for t in ("p", "q"):
        for _ in range(draw(st.integers(0, 6))):
            script.append(f"INSERT INTO {t} VALUES ({_lit(draw(VALS))}, {_lit(draw(VALS))})")
    queries = []
    for _ in range(8):
        parts = []
        for _ in range(draw(st.integers(2, 4))):
            t = draw(st.sampled_from(["p", "q"]))
            cols = draw(st.sampled_from(["a", "b", "a, b", "b, a"]))
            w = f" WHERE a {draw(st.sampled_from(['<', '=', '<>']))} {_lit(draw(VALS))}" \
                if draw(st.booleans()) else ""
            parts.append((t, cols, w))
        width = len(parts[0][1].split(","))
        parts = [p for p in parts if len(p[1].split(",")) == width]
        if len(parts) < 2:
            parts.append(parts[0])
        sql = f"SELECT {parts[0][1]} FROM {parts[0][0]}{parts[0][2]}"
        for t, cols, w in parts[1:]:
            op = draw(st.sampled_from(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]))
            sql += f" {op} SELECT {cols} FROM {t}{w}"
        ordered = draw(st.booleans())
        if ordered:
            sql += " ORDER BY " + ", ".join(f"{i + 1}{draw(st.sampled_from(['', ' DESC']))}"
                                            for i in range(width))
            if draw(st.booleans()):
                sql += f" LIMIT {draw(st.integers(0, 4))} OFFSET {draw(st.integers(0, 2))}"
        queries.append((sql, False))
    return script, queries


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compound_scenario())
def test_random_compounds_match_sqlite3(s):
    script, queries = s
    a, b = pair(script)
    try:
        bad = [d for q, o in queries if (d := compare(a, b, q, o))]
        assert not bad, "\n".join(bad)
    finally:
        a.close()
        b.close()
