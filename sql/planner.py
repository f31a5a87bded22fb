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
constant is a literal or a parameter (or, for joins, any value the caller's
``usable`` predicate accepts: one bound by outer loops), and for an index column the
comparison's collation equals the index column's collation.
"""
from __future__ import annotations

from typing import Any, Callable

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
        if self.kind in ("rowid_eq", "rowid_in"):
            return "SEARCH USING INTEGER PRIMARY KEY (rowid=?)"
        if self.kind == "rowid_range":
            return "SEARCH USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"
        return f"SEARCH USING INDEX {self.index.name}"

    def detail(self, label: str, t: Table, covering: bool = False) -> str:
        """The EXPLAIN QUERY PLAN line SQLite prints for this path over ``label``."""
        if self.kind == "scan":
            return f"SCAN {label}"
        if self.kind in ("rowid_eq", "rowid_in"):
            return f"SEARCH {label} USING INTEGER PRIMARY KEY (rowid=?)"
        if self.kind == "index_in":
            return f"SEARCH {label} USING INDEX {self.index.name} " \
                   f"({t.columns[self.index.columns[0]].name}=?)"
        if self.kind == "rowid_range":
            # SQLite prints a lower bound as ">" and an upper as "<", inclusive or not
            conds = [f"rowid{op}?" for x, op in ((self.lo, ">"), (self.hi, "<")) if x is not None]
            return f"SEARCH {label} USING INTEGER PRIMARY KEY ({' AND '.join(conds)})"
        ix = self.index
        kind = "COVERING INDEX" if covering else "INDEX"
        if not self.eq and self.lo is None and self.hi is None:
            return f"SCAN {label} USING {kind} {ix.name}"
        conds = [f"{t.columns[x.column].name}=?" for x in self.eq]
        if self.lo is not None or self.hi is not None:
            cn = t.columns[ix.columns[len(self.eq)]].name
            conds += [f"{cn}{op}?" for x, op in ((self.lo, ">"), (self.hi, "<")) if x is not None]
        return f"SEARCH {label} USING {kind} {ix.name} ({' AND '.join(conds)})"


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


def _constant_value(col_e: A.Expr, val_e: A.Expr) -> bool:
    return is_constant(val_e)


def _terms(t: Table, where: A.Expr | None, names: tuple[str, ...],
           usable: Callable[[A.Expr, A.Expr], bool] = _constant_value) -> list[Term]:
    out: list[Term] = []
    for e in split_and(where):
        if isinstance(e, A.Binary) and e.op in _FLIP:
            for col_e, val_e, op in ((e.left, e.right, e.op), (e.right, e.left, _FLIP[e.op])):
                c = _column_of(t, col_e, names)
                if c is not None and usable(col_e, val_e):
                    out.append(Term(c[0], "=" if op == "==" else op, val_e, c[1]))
                    break
        elif isinstance(e, A.Between) and not e.negated:
            c = _column_of(t, e.expr, names)
            if c is not None and usable(e.expr, e.low) and usable(e.expr, e.high):
                out.append(Term(c[0], ">=", e.low, c[1]))
                out.append(Term(c[0], "<=", e.high, c[1]))
    return out


def choose_path(t: Table, where: A.Expr | None, names: tuple[str, ...],
                indexed_by: str | None = None, not_indexed: bool = False,
                usable: Callable[[A.Expr, A.Expr], bool] | None = None,
                allow_in: bool = False) -> Path:
    """The cheapest access path for ``t`` under ``where``.

    ``usable(column_expr, value_expr)`` says whether a term's value side can
    drive a lookup; the default accepts constants only. A join passes one
    that also accepts values bound by outer loops (index nested loop).
    ``allow_in`` also considers ``col IN (constants)`` lookups.
    """
    terms = _terms(t, where, names, usable or _constant_value)
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
            cands = [x for x in terms if x.column == col and (x.collation or "BINARY")
                     == (coll or "BINARY")]
            e = next((x for x in cands if x.op == "="), None)
            if e is not None:
                eq.append(e)
                continue
            if not ix.desc[k]:
                lo = next((x for x in cands if x.op in (">", ">=")), None)
                hi = next((x for x in cands if x.op in ("<", "<=")), None)
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
    if allow_in:
        best = _in_path(t, where, names, indexed_by, best)
    return best


def _in_path(t: Table, where: A.Expr | None, names: tuple[str, ...], indexed_by: str | None,
             best: Path) -> Path:
    """``col IN (constants...)`` on the rowid or an index's first column: one lookup per
    distinct value (kinds 'rowid_in' / 'index_in'; the Term's value is the InList)."""
    for e in split_and(where):
        if not isinstance(e, A.InList) or e.negated or not e.items or \
                not all(is_constant(i) for i in e.items):
            continue
        c = _column_of(t, e.expr, names)
        if c is None:
            continue
        n = len(e.items)
        if c[0] == -1:
            cost = 2 + n // 8
            if cost < best.cost and indexed_by is None:
                best = Path("rowid_in", cost, eq=[Term(-1, "in", e, None)])
            continue
        for ix in t.indexes:
            if not ix.supported or ix.partial or ix.columns[0] != c[0]:
                continue
            if (ix.collations[0] or "BINARY") != (c[1] or "BINARY"):
                continue
            if indexed_by is not None and ix.name.lower() != indexed_by.lower():
                continue
            cost = 6 + n // 4
            if cost < best.cost or (indexed_by is not None and best.kind != "index"):
                best = Path("index_in", cost, eq=[Term(c[0], "in", e, c[1])], index=ix)
    return best


def describe(p: Any) -> str:  # pragma: no cover
    return p.describe()
