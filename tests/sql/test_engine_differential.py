"""Differential tests: random single-table schemas, data and queries on mvlite vs stdlib sqlite3."""
from __future__ import annotations

import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mvlite

TYPES = ["INTEGER", "TEXT", "REAL", "", "NUMERIC"]
values = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from([1.5, -0.5, 2.0]),
                   st.sampled_from(["a", "B", "1", "2.0", "x y"]), st.sampled_from([b"\x00", b"z"]))
OPS = ["=", "<", "<=", ">", ">=", "!=", "IS", "IS NOT"]


def _lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        return "x'" + v.hex() + "'"
    if isinstance(v, str):
        return "'" + v + "'"
    return repr(v)


@st.composite
def scenario(draw):
    ncols = draw(st.integers(1, 4))
    types = [draw(st.sampled_from(TYPES)) for _ in range(ncols)]
    pk = draw(st.booleans())
    cols = ["id INTEGER PRIMARY KEY"] if pk else []
    cols += [f"c{i} {t}".strip() for i, t in enumerate(types)]
    ddl = [f"CREATE TABLE t({', '.join(cols)})"]
    if draw(st.booleans()):
        k = draw(st.integers(0, ncols - 1))
        ddl.append(f"CREATE INDEX i1 ON t(c{k}{draw(st.sampled_from(['', ' DESC', ' COLLATE NOCASE']))})")
    rows = draw(st.lists(st.tuples(*[values] * ncols), max_size=25))
    queries = []
    for _ in range(draw(st.integers(1, 5))):
        c = draw(st.integers(0, ncols - 1))
        op = draw(st.sampled_from(OPS))
        v = _lit(draw(values))
        where = f"c{c} {op} {v}"
        if draw(st.booleans()):
            where += f" AND c{draw(st.integers(0, ncols - 1))} IS NOT NULL"
        kind = draw(st.integers(0, 3))
        if kind == 0:
            queries.append((f"SELECT * FROM t WHERE {where}", False))
        elif kind == 1:
            queries.append((f"SELECT c{c}, count(*), sum(c{c}), min(c{c}), max(c{c}), total(c{c}) "
                            f"FROM t GROUP BY c{c} HAVING count(*) > 0", False))
        elif kind == 2:
            queries.append((f"SELECT DISTINCT c{c} FROM t WHERE {where}", False))
        else:
            queries.append((f"SELECT c{c}, rowid FROM t ORDER BY c{c} DESC, rowid LIMIT 5 OFFSET 1",
                            True))
    upd = f"UPDATE t SET c0 = {_lit(draw(values))} WHERE c{draw(st.integers(0, ncols - 1))} " \
          f"{draw(st.sampled_from(OPS))} {_lit(draw(values))}"
    dele = f"DELETE FROM t WHERE c{draw(st.integers(0, ncols - 1))} < {_lit(draw(values))}"
    return ddl, ncols, rows, queries, [upd, dele]


def _norm(rows, ordered):
    rows = [tuple((type(v).__name__, v) for v in r) for r in rows]
    return rows if ordered else sorted(rows, key=repr)


def _run(con, ddl, ncols, rows, queries, writes):
    out = []
    for d in ddl:
        con.execute(d)
    ph = ", ".join("?" * ncols)
    con.executemany(f"INSERT INTO t({', '.join(f'c{i}' for i in range(ncols))}) VALUES ({ph})", rows)
    for step in range(len(writes) + 1):
        for q, ordered in queries:
            out.append(_norm(con.execute(q).fetchall(), ordered))
        if step < len(writes):
            try:
                con.execute(writes[step])
                out.append(("ok", con.execute("SELECT changes()").fetchone()))
            except (sqlite3.Error, mvlite.Error) as e:
                out.append(("error", type(e).__name__))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_matches_sqlite3(s):
    ddl, ncols, rows, queries, writes = s
    a = sqlite3.connect(":memory:", isolation_level=None)
    b = mvlite.connect(":memory:", isolation_level=None)
    assert _run(b, ddl, ncols, rows, queries, writes) == _run(a, ddl, ncols, rows, queries, writes)
    b.close()
