"""stdlib sqlite3 as the oracle for SELECT tests (joins, subqueries, compounds).

Shared by test_select_joins, test_select_subqueries and test_select_compound:
run the same script on both engines, then compare each query's column names
and rows (values compared by storage class and exact value, reals by repr),
or the error message. Rows are compared as a multiset unless the caller says
the query's ORDER BY fixes the order.
"""
from __future__ import annotations

import sqlite3

import mvlite
from value_oracle import norm


def pair(script: list[str]) -> tuple[sqlite3.Connection, mvlite.Connection]:
    """Two fresh in-memory databases holding the result of ``script``."""
    a = sqlite3.connect(":memory:")
    b = mvlite.connect(":memory:")
    for st in script:
        a.execute(st)
        b.execute(st)
    a.commit()
    b.commit()
    return a, b


def outcome(con, sql: str, params=()) -> tuple:
    """("ok", column names, normalized rows) or ("error", message)."""
    try:
        cur = con.execute(sql, params)
        rows = [tuple(norm(v) for v in r) for r in cur.fetchall()]
        names = [d[0] for d in cur.description] if cur.description else []
        return ("ok", names, rows)
    except (sqlite3.Error, mvlite.Error) as e:
        if isinstance(e, mvlite.NotSupportedError):
            return ("unsupported", str(e))
        return ("error", str(e))


def _key(row: tuple) -> tuple:
    return tuple((c, repr(v)) for c, v in row)


def compare(a, b, sql: str, ordered: bool = False, params=()) -> str | None:
    """None when both engines agree on ``sql``, else a description of the difference."""
    want = outcome(a, sql, params)
    got = outcome(b, sql, params)
    if want[0] == "ok" and got[0] == "ok" and not ordered:
        want = (want[0], want[1], sorted(want[2], key=_key))
        got = (got[0], got[1], sorted(got[2], key=_key))
    if want != got:
        return f"{sql}\n  sqlite3: {str(want)[:600]}\n  mvlite:  {str(got)[:600]}"
    return None


def check_all(a, b, cases: list) -> None:
    """Assert agreement on every (sql, ordered) case (or bare sql string)."""
    bad = []
    for case in cases:
        sql, ordered = (case, False) if isinstance(case, str) else case
        d = compare(a, b, sql, ordered)
        if d:
            bad.append(d)
    assert not bad, "\n".join(bad)
