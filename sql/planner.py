"""Single-table access paths: pick how a statement reaches its rows.

Single job: from the WHERE clause of a one-table statement choose rowid
lookup, rowid range, index equality on a key prefix (optionally followed by
a range on the next key column), or a full scan, by a simple fixed cost
("The SQLite Query Optimizer Overview", optoverview, sections 2-4, describes
the terms SQLite uses; we use the same usable-term rules, simplified). The
chosen path only narrows the rows visited: the compiler always re-checks the
whole WHERE clause, so a path may return a superset and stay correct.

A term is usable when it has the shape ``column OP constant`` (or the
mirror) with OP in = == < <= > >=, or ``column BETWEEN c1 AND c2``, where a
constant is a literal or a parameter, and for an index column the
comparison's collation equals the index column's collation.
"""
from __future__ import annotations

from typing import Any

import attrs

from sql import ast as A
from sql.schema import ROWID_NAMES, Index, Table

__all__ = ["Path", "Term", "choose_path", "split_and", "is_constant"]

_FLIP = {"=": "=", "==": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@attrs.frozen
class Term:
    """``column op value``; column -1 is the rowid."""

    column: int
    op: str  # '=', '<', '<=', '>', '>='
    value: A.Expr
    collation: str | None


@attrs.define
class Path:
    """How to reach the rows: kind is 'rowid_eq', 'rowid_range', 'index', 'scan'."""

    kind: str
    cost: int
    eq: list[Term] = attrs.Factory(list)
    lo: Term | None = None
    hi: Term | None = None
    index: Index | None = None

    def describe(self) -> str:
        if self.kind == "scan":
            return "SCAN"
        if self.kind == "rowid_eq":
            return "SEARCH USING INTEGER PRIMARY KEY (rowid=?)"
        if self.kind == "rowid_range":
            return "SEARCH USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"
        return f"SEARCH USING INDEX {self.index.name}"


def split_and(e: A.Expr | None) -> list[A.Expr]:
    if e is None:
        return []
    if isinstance(e, A.Binary) and e.op == "AND":
        return split_and(e.left) + split_and(e.right)
    return [e]


def is_constant(e: A.Expr) -> bool:
    """A literal or parameter (optionally negated): safe to evaluate once per statement."""
    if isinstance(e, (A.Literal, A.Param)):
        return True
    if isinstance(e, A.Unary) and e.op in ("-", "+"):
        return is_constant(e.operand)
    return False


def _column_of(t: Table, e: A.Expr, names: tuple[str, ...]) -> tuple[int, str | None] | None:
    """(column number or -1 for rowid, its collation) if ``e`` is a plain column of t."""
    if not isinstance(e, A.ColumnRef):
        return None
    if e.table is not None and e.table.lower() not in names:
        return None
    col = t.column(e.name)
    if col is not None:
        if col.index == t.rowid_alias:
            return -1, None
        return col.index, col.collation
    if e.name.lower() in ROWID_NAMES:
        return -1, None
    return None


def _terms(t: Table, where: A.Expr | None, names: tuple[str, ...]) -> list[Term]:
    out: list[Term] = []
    for e in split_and(where):
        if isinstance(e, A.Binary) and e.op in _FLIP:
            for col_e, val_e, op in ((e.left, e.right, e.op), (e.right, e.left, _FLIP[e.op])):
                c = _column_of(t, col_e, names)
                if c is not None and is_constant(val_e):
                    out.append(Term(c[0], "=" if op == "==" else op, val_e, c[1]))
                    break
        elif isinstance(e, A.Between) and not e.negated:
            c = _column_of(t, e.expr, names)
            if c is not None and is_constant(e.low) and is_constant(e.high):
                out.append(Term(c[0], ">=", e.low, c[1]))
                out.append(Term(c[0], "<=", e.high, c[1]))
    return out


def choose_path(t: Table, where: A.Expr | None, names: tuple[str, ...],
                indexed_by: str | None = None, not_indexed: bool = False) -> Path:
    """The cheapest access path for ``t`` under ``where``."""
    terms = _terms(t, where, names)
    best = Path("scan", 100)
    rid = [x for x in terms if x.column == -1]
    for x in rid:
        if x.op == "=":
            return Path("rowid_eq", 1, eq=[x])
    if rid:
        lo = next((x for x in rid if x.op in (">", ">=")), None)
        hi = next((x for x in rid if x.op in ("<", "<=")), None)
        best = Path("rowid_range", 50, lo=lo, hi=hi)
    if not_indexed:
        return best
    for ix in t.indexes:
        if not ix.supported:
            continue
        if indexed_by is not None and ix.name.lower() != indexed_by.lower():
            continue
        eq: list[Term] = []
        lo = hi = None
        for k, col in enumerate(ix.columns):
            coll = ix.collations[k]
            usable = [x for x in terms if x.column == col and (x.collation or "BINARY")
                      == (coll or "BINARY")]
            e = next((x for x in usable if x.op == "="), None)
            if e is not None:
                eq.append(e)
                continue
            if not ix.desc[k]:
                lo = next((x for x in usable if x.op in (">", ">=")), None)
                hi = next((x for x in usable if x.op in ("<", "<=")), None)
            break
        if not eq and lo is None and hi is None:
            continue
        if eq and len(eq) == len(ix.columns):
            cost = 2 if ix.unique else 8
        elif eq:
            cost = 10 - min(len(eq), 5) + (0 if lo or hi else 2)
        else:
            cost = 60
        if cost < best.cost or indexed_by is not None:
            best = Path("index", cost, eq=eq, lo=lo, hi=hi, index=ix)
    return best


def describe(p: Any) -> str:  # pragma: no cover
    return p.describe()
