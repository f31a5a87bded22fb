"""Aggregate FILTER clauses give sqlite3's results (lang_aggfunc.html, "filter-clause").

``agg(...) FILTER (WHERE c)`` steps the aggregate only for rows where ``c`` is
SQL-true (NULL and false rows are skipped); the other aggregates of the query
still see every row. Differential: each query runs on stdlib sqlite3 (the
oracle) and mvlite over the same data, on the single-table fast path
(sql/compiler.py) and the general path (joins, subqueries: sql/select.py).
"""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mvlite
from value_oracle import norm

SETUP = """
CREATE TABLE t(a INTEGER, b TEXT, c REAL, g INT);
CREATE INDEX tg ON t(g);
CREATE TABLE k(g INT PRIMARY KEY, label TEXT);
INSERT INTO t VALUES (1, 'x', 1.5, 1), (2, 'y', NULL, 1), (3, 'x', 3.5, 2), (NULL, 'z', -1, 2),
  (5, NULL, 2.5, 3), (6, 'y', 0, NULL), (2, 'x', 7, 1);
INSERT INTO k VALUES (1, 'one'), (2, 'two'), (3, 'three');
"""

CASES = [
    "SELECT count(*) FILTER (WHERE a > 1) FROM t",
    "SELECT count(*) FILTER (WHERE a > 1), count(*) FROM t",
    "SELECT sum(a) FILTER (WHERE b = 'x'), total(c) FILTER (WHERE c > 0) FROM t",
    "SELECT avg(c) FILTER (WHERE a IS NOT NULL), max(a) FILTER (WHERE b <> 'x') FROM t",
    "SELECT count(DISTINCT b) FILTER (WHERE a < 6), count(DISTINCT b) FROM t",
    "SELECT sum(DISTINCT a) FILTER (WHERE g = 1) FROM t",
    "SELECT g, count(*) FILTER (WHERE c > 1), sum(a) FROM t GROUP BY g ORDER BY g",
    "SELECT g, group_concat(b) FILTER (WHERE a % 2 = 0) FROM t GROUP BY g ORDER BY 1",
    "SELECT g FROM t GROUP BY g HAVING count(*) FILTER (WHERE b = 'x') > 0 ORDER BY g",
    "SELECT g, sum(a) FROM t GROUP BY g ORDER BY count(*) FILTER (WHERE a > 1), g",
    "SELECT count(*) FILTER (WHERE NULL), sum(a) FILTER (WHERE 0) FROM t",
    "SELECT count(*) FILTER (WHERE c), count(a) FILTER (WHERE b) FROM t",
    "SELECT max(a) FILTER (WHERE a < 3), b FROM t",
    "SELECT min(a) FILTER (WHERE a > 1), b FROM t",
    "SELECT max(a) FILTER (WHERE a > 100), b FROM t",
    "SELECT count(*) FILTER (WHERE 1)",
    "SELECT count(*) FILTER (WHERE 0)",
    "SELECT count(*) FILTER (WHERE a > 1) FROM t WHERE g IS NOT NULL",
    "SELECT count(*) FILTER (WHERE a > 1) FROM t WHERE g = 1",
    # general path: joins, subqueries
    "SELECT k.label, count(*) FILTER (WHERE t.a > 1) FROM t JOIN k ON t.g = k.g "
    "GROUP BY k.label ORDER BY 1",
    "SELECT k.label, sum(t.c) FILTER (WHERE k.label <> 'two') FROM k LEFT JOIN t USING (g) "
    "GROUP BY 1 ORDER BY 1",
    "SELECT count(*) FILTER (WHERE a IN (SELECT g FROM k)) FROM t",
    "SELECT (SELECT count(*) FILTER (WHERE t.a > k.g) FROM t) FROM k ORDER BY g",
    "SELECT g, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM k WHERE k.g = t.a)) FROM t "
    "GROUP BY g ORDER BY g",
    "SELECT max(t.a) FILTER (WHERE k.g = 2), k.label FROM t, k",
    # errors
    "SELECT abs(a) FILTER (WHERE a > 1) FROM t",
    "SELECT min(a, 2) FILTER (WHERE 1) FROM t",
    "SELECT count(*) FILTER (WHERE count(*) > 1) FROM t",
    "SELECT count(*) FILTER (WHERE nope > 1) FROM t",
    "SELECT a FROM t WHERE count(*) FILTER (WHERE 1)",
    "SELECT nope(a) FILTER (WHERE 1) FROM t",
    "SELECT count(*) FROM t GROUP BY count(*) FILTER (WHERE 1)",
]


def _outcome(conn, exc, sql):
    try:
        return ("rows", [tuple(norm(v) for v in r) for r in conn.execute(sql).fetchall()])
    except exc as e:
        return ("error", type(e).__mro__[1].__name__ if type(e).__name__ == "SqlSyntaxError"
                else type(e).__name__, str(e))


@pytest.fixture(scope="module")
def pair():
    orc = sqlite3.connect(":memory:")
    mv = mvlite.connect(":memory:")
    orc.executescript(SETUP)
    mv.executescript(SETUP)
    yield orc, mv
    orc.close()
    mv.close()


@pytest.mark.parametrize("sql", CASES)
def test_filter_matches_sqlite(pair, sql):
    orc, mv = pair
    assert _outcome(mv, mvlite.Error, sql) == _outcome(orc, sqlite3.Error, sql)


def test_filter_cases_are_not_trivial(pair):
    """The filters really change results: with FILTER dropped sqlite3 would disagree."""
    orc, _mv = pair
    differ = 0
    for sql in CASES:
        plain = sql.replace("FILTER (WHERE", "+ 0 * (")  # keeps the parentheses balanced
        try:
            if orc.execute(sql).fetchall() != orc.execute(plain).fetchall():
                differ += 1
        except sqlite3.Error:
            pass
    assert differ >= 15


def test_user_aggregate_with_filter(pair):
    class Prod:
        def __init__(self):
            self.v = 1

        def step(self, x):
            if x is not None:
                self.v *= x

        def finalize(self):
            return self.v

    orc, mv = pair
    for c in (orc, mv):
        c.create_aggregate("prod", 1, Prod)
    for sql in ("SELECT prod(a) FILTER (WHERE a > 1) FROM t",
                "SELECT g, prod(a) FILTER (WHERE b = 'x') FROM t GROUP BY g ORDER BY g",
                "SELECT k.g, prod(t.a) FILTER (WHERE t.a < 5) FROM k JOIN t USING (g) "
                "GROUP BY k.g ORDER BY 1"):
        assert _outcome(mv, mvlite.Error, sql) == _outcome(orc, sqlite3.Error, sql)


def test_window_functions_stay_unsupported(pair):
    _orc, mv = pair
    with pytest.raises(mvlite.NotSupportedError, match="window functions are not supported yet"):
        mv.execute("SELECT count(*) FILTER (WHERE a > 1) OVER () FROM t")


_AGGS = ["count(*)", "count(a)", "sum(a)", "total(c)", "min(a)", "max(c)", "avg(a)",
         "count(DISTINCT b)", "group_concat(b)"]
_CONDS = ["a > 2", "b = 'x'", "c", "a IS NULL", "g % 2 = 1", "c < a", "b IN ('x', 'z')"]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(aggs=st.lists(st.tuples(st.sampled_from(_AGGS), st.sampled_from(_CONDS + [None])),
                     min_size=1, max_size=3),
       group=st.sampled_from([None, "g", "b"]),
       join=st.booleans(),
       where=st.sampled_from([None, "a <> 3", "c IS NOT NULL"]))
def test_filter_random(pair, aggs, group, join, where):
    orc, mv = pair
    items = [f"{a} FILTER (WHERE {c})" if c else a for a, c in aggs]
    if group:
        items.insert(0, f"t.{group}")
    # group_concat's order follows the scan: keep both engines scanning in rowid order
    frm = "t JOIN k AS kk ON kk.g = t.g" if join else "t"
    sql = f"SELECT {', '.join(items)} FROM {frm}"
    if where:
        sql += f" WHERE {where}"
    if group:
        sql += f" GROUP BY t.{group} ORDER BY 1"
    if join:
        sql = sql.replace("(a)", "(t.a)").replace("(c)", "(t.c)").replace("WHERE g ", "WHERE t.g ")
    assert _outcome(mv, mvlite.Error, sql) == _outcome(orc, sqlite3.Error, sql), sql
