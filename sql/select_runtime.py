"""Run-time helpers of the general SELECT plans (``sql.select``).

Single job: the small functions and classes the generated ``plan`` functions
call while they run — lazily evaluated subquery cells, LEFT JOIN null rows,
automatic (hash) indexes, IN (SELECT ...) membership with SQLite's NULL and
affinity rules, the compound operators, the RIGHT/FULL JOIN merge — and the
sentinels shared by the compile-time modules. Nothing here compiles.
"""
from __future__ import annotations

from typing import Any, Callable

from sql import ast as A
from sql import values as V
from sql.planner import Term
from storage.errors import OperationalError

#: "not evaluated yet" in a subquery's one-element cache cell
_U = object()
_TERM0 = Term(0, "=", A.Literal(value=None, kind="null"), None)
_NOMATCH = object()
_ALL = None  # "depends on every source" marker in dependency analysis
_NUMERIC = (V.INTEGER, V.REAL, V.NUMERIC)



# -- runtime helpers bound into generated code -------------------------------------

def _ev(cell: list, fn: Callable) -> Any:
    v = cell[0] = fn()
    return v


def _interrupt() -> None:
    raise OperationalError("interrupted")


def _lj(it: Any) -> Any:
    """A LEFT JOIN's inner rows, then one (None, _NOMATCH) end marker."""
    yield from it
    yield None, _NOMATCH


def _ljl(it: Any) -> Any:
    yield from it
    yield _NOMATCH


def _one(txn: Any, tree: Any, k: Any) -> tuple:
    if k is None:
        return ()
    r = txn.get(tree, k)
    return () if r is None else ((k, r),)


def _ixrows(txn: Any, tree: Any, itree: Any, lo: Any, hi: Any) -> Any:
    seen = set()
    for key in txn.index_keys(itree, lo, hi):
        rowid = key[-1]
        if rowid in seen:
            continue
        seen.add(rowid)
        r = txn.get(tree, rowid)
        if r is not None:
            yield rowid, r


def _autoidx_t(txn: Any, tree: Any, pad: Any, n: int, kf: Callable) -> dict:
    """SQLite's automatic index: a table's rows by join key, built once per statement."""
    d: dict = {}
    for rid, r in txn.rows(tree):
        if len(r) < n:
            r = pad(r)
        key = kf(rid, r)
        if key is not None:
            d.setdefault(key, []).append((rid, r))
    return d


def _autoidx_l(rows: list, kf: Callable) -> dict:
    """The automatic index of a materialized source (FROM subquery, view, CTE)."""
    d: dict = {}
    for r in rows:
        key = kf(None, r)
        if key is not None:
            d.setdefault(key, []).append(r)
    return d


def _row1(rows: list, n: int) -> tuple:
    return rows[0] if rows else (None,) * n


def _in_rows(xs: tuple, rows: list, cxs: tuple, cys: tuple, colls: tuple) -> Any:
    if not rows:
        return 0
    xs = tuple(x if c is None else c(x) for x, c in zip(xs, cxs))
    null = False
    eq = V.eq
    for row in rows:
        res = 1
        for x, y, cy, coll in zip(xs, row, cys, colls):
            if cy is not None:
                y = cy(y)
            r = eq(x, y, coll)
            if r == 0:
                res = 0
                break
            if r is None:
                res = None
        if res == 1:
            return 1
        if res is None:
            null = True
    return None if null else 0


def _first(rows: list) -> Any:
    return rows[0][0] if rows else None


class _InSet:
    """The right side of ``x IN (SELECT ...)`` prepared for lookups."""

    __slots__ = ("values", "items", "null", "empty", "conv", "coll")

    def __init__(self, rows: list, conv: Any, coll: Any) -> None:
        self.null = False
        self.empty = not rows
        self.conv = conv
        self.coll = coll
        items = []
        for row in rows:
            y = row[0]
            if y is None:
                self.null = True
                continue
            if conv is not None:
                y = conv(y)
            items.append(y)
        self.items = items
        self.values = set(items) if coll is None else None


def _in_set(x: Any, s: _InSet, conv: Any) -> Any:
    if s.empty:
        return 0
    if x is None:
        return None
    if conv is not None:
        x = conv(x)
    if s.values is not None:
        if x in s.values:
            return 1
    else:
        eq = V.eq
        coll = s.coll
        for y in s.items:
            if eq(x, y, coll):
                return 1
    return None if s.null else 0


def _setop(op: str, left: list, right: list, keys: list, merge: bool = False) -> list:
    """UNION / INTERSECT / EXCEPT of two row lists, sorted by key as SQLite's temp index is.

    Which of several equal rows (1 and 1.0, 'a' and 'A' under NOCASE) survives
    follows SQLite: without ORDER BY rows go through a temp index where a later
    equal row overwrites an earlier one; with ORDER BY the two sides are
    sorted, deduplicated keeping their first row, and merged, UNION taking
    the right side's row when both have it.
    """
    def k(row: tuple) -> tuple:
        return tuple(f(v) for f, v in zip(keys, row))
    res: dict = {}
    if merge:
        lk: dict = {}
        for row in left:
            lk.setdefault(k(row), row)
        rk: dict = {}
        for row in right:
            rk.setdefault(k(row), row)
        if op == "UNION":
            res = lk
            res.update(rk)
        elif op == "INTERSECT":
            res = {x: r for x, r in lk.items() if x in rk}
        else:
            res = {x: r for x, r in lk.items() if x not in rk}
        return [res[x] for x in sorted(res)]
    if op == "UNION":
        for row in left:
            res[k(row)] = row
        for row in right:
            res[k(row)] = row
    else:
        for row in left:
            res[k(row)] = row
        rk = {k(row) for row in right}
        if op == "INTERSECT":
            res = {x: r for x, r in res.items() if x in rk}
        else:  # EXCEPT
            res = {x: r for x, r in res.items() if x not in rk}
    return [res[x] for x in sorted(res)]



def _outer_join(left: list, right: list, on: Callable, nl: int, nr: int,
                keep_left: bool) -> list:
    """Rows of ``left RIGHT/FULL JOIN right``: matched pairs, unmatched left rows with a
    NULL right side (FULL only), then unmatched right rows with a NULL left side."""
    out = []
    seen = set()
    nulls_r = (None,) * nr
    for lr in left:
        hit = False
        for j, rr in enumerate(right):
            row = lr + rr
            if on(row):
                out.append(row)
                seen.add(j)
                hit = True
        if keep_left and not hit:
            out.append(lr + nulls_r)
    nulls_l = (None,) * nl
    for j, rr in enumerate(right):
        if j not in seen:
            out.append(nulls_l + rr)
    return out
