"""Compile-time scopes of the general SELECT compiler (``sql.select``).

Single job: what a query being compiled can see — its FROM sources (tables,
materialized subqueries, views, CTEs) with their columns, the enclosing
queries' scopes for correlated references, the generated function being
built — and ``_SEC``, the expression compiler that resolves column names
across those scopes (SQLite's name resolution: lang_select.html, "ambiguous
column name") and compiles subquery expressions through ``sql.select``.
"""
from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from sql import ast as A
from sql import values as V
from sql.compiler import ExprCompiler, _Gen, _Raw
from sql.registry import registry_of
from sql.schema import ROWID_NAMES, Table
from sql.select_runtime import (
    _U, _InSet, _NOMATCH, _autoidx_l, _autoidx_t, _ev, _first, _in_rows, _in_set, _interrupt,
    _ixrows, _lj, _ljl, _one, _outer_join, _row1, _setop,
)
from storage.errors import NotSupportedError, OperationalError

# -- compile-time structures -------------------------------------------------------

class _Col:
    """A column as the expression compiler sees it: affinity, collation, source text."""

    __slots__ = ("name", "affinity", "collation", "src")

    def __init__(self, name: str, affinity: str | None, collation: str | None,
                 src: str = "") -> None:
        self.name = name
        self.affinity = affinity
        self.collation = collation
        self.src = src


class _Source:
    """One FROM item: a table (``kind='table'``) or a materialized list (``'list'``)."""

    def __init__(self, k: int, name: str, kind: str, cols: list[_Col],
                 table: Table | None = None) -> None:
        self.k = k
        self.name = name  # lower-case alias or table name
        self.kind = kind
        self.cols = cols
        self.lower = {}
        for i, c in enumerate(cols):
            self.lower.setdefault(c.name.lower(), i)
        self.table = table
        self.left = False
        self.join_kind = "COMMA"
        self.on: list[A.Expr] = []
        self.hidden: set[str] = set()
        self.list_var = ""
        self.indexed_by: str | None = None
        self.not_indexed = False
        self.label = name
        #: (row variable, offset) when the source lives inside a RIGHT/FULL JOIN row
        self.shared: tuple[str, int] | None = None
        #: the source number loops and dependencies use (the combined source's)
        self.dep_k = k

    def find(self, name: str) -> int | None:
        """Column number, -1 for the rowid, None when absent."""
        i = self.lower.get(name.lower())
        if i is not None:
            if self.table is not None and i == self.table.rowid_alias:
                return -1
            return i
        if self.table is not None and name.lower() in ROWID_NAMES:
            return -1
        return None

    def col_src(self, i: int) -> _Col:
        k = self.k
        if self.shared is not None:  # one side of a RIGHT/FULL JOIN: a slice of its row
            var, off = self.shared
            if i == -1:
                return _Col("rowid", V.INTEGER, None, f"{var}[{off}]")
            c = self.cols[i]
            j = off + 1 + i if self.kind == "table" else off + i
            if self.kind == "table" and c.affinity == V.REAL:
                return _Col(c.name, c.affinity, c.collation, f"_real({var}[{j}])")
            return _Col(c.name, c.affinity, c.collation, f"{var}[{j}]")
        if i == -1:
            return _Col("rowid", V.INTEGER, None, f"rid{k}")
        c = self.cols[i]
        if self.kind == "table" and c.affinity == V.REAL:
            return _Col(c.name, c.affinity, c.collation, f"_real(r{k}[{i}])")
        return _Col(c.name, c.affinity, c.collation, f"r{k}[{i}]")

    def width(self) -> int:
        """Slots this source takes in a combined RIGHT/FULL JOIN row."""
        return len(self.cols) + (1 if self.kind == "table" else 0)

    def vars(self) -> list[str]:
        return [f"rid{self.k}", f"r{self.k}"] if self.kind == "table" else [f"r{self.k}"]

    def null_vals(self) -> list:
        n = len(self.cols)
        return [None, (None,) * n] if self.kind == "table" else [(None,) * n]


class _Rec:
    """Per subquery: did it reference anything outside itself?"""

    __slots__ = ("correlated",)

    def __init__(self) -> None:
        self.correlated = False


class _Scope:
    def __init__(self, parent: "_Scope | None", rec: _Rec | None, fn: "_Fn") -> None:
        self.parent = parent
        self.rec = rec
        self.fn = fn
        self.sources: list[_Source] = []


class _Fn:
    """One generated function: nested defs and cells (pre), then its body."""

    def __init__(self, name: str, args: str = "") -> None:
        self.name = name
        self.args = args
        self.pre: list[str] = []
        self.setup: list[str] = []
        self.body: list[str] = []

    def lines(self) -> list[str]:
        return [f"def {self.name}({self.args}):"] + \
            ["    " + x for x in self.pre + self.setup + self.body]


class _Ctx:
    def __init__(self, sql: str, schema: Any) -> None:
        self.gen = _Gen()
        self.gen.glob.update({
            "_U": _U, "_ev": _ev, "_interrupt": _interrupt, "_lj": _lj, "_ljl": _ljl,
            "_NOMATCH": _NOMATCH, "_one": _one, "_ixrows": _ixrows, "_first": _first,
            "_InSet": _InSet, "_in_set": _in_set, "_setop": _setop, "_deque": deque,
            "_autoidx_t": _autoidx_t, "_autoidx_l": _autoidx_l, "_row1": _row1,
            "_in_rows": _in_rows, "_outer_join": _outer_join,
        })
        self.sql = sql
        self.schema = schema
        self.reg = registry_of(schema)
        self.n = itertools.count()
        self.tables: list[tuple[int, Table, Any]] = []  # (k, table, index or None)
        self.root: _Fn | None = None
        self.views: list[str] = []
        #: EXPLAIN QUERY PLAN rows [id, parent, detail]; parent of new rows
        self.eqp: list[list] = []
        #: aggregate call id -> (owning scope, source): aggregates of an outer query that
        #: sit inside a subquery read the outer query's finalized value
        self.outer_aggs: dict[int, tuple] = {}
        self.outer_found: set[int] = set()
        self.eqp_n = itertools.count(2)
        self.eqp_parent = 0
        self.subq_n = itertools.count(1)

    def note(self, detail: str) -> list:
        row = [next(self.eqp_n), self.eqp_parent, detail]
        self.eqp.append(row)
        return row


# -- expressions over a scope ----------------------------------------------------------

def _find_local(scope: _Scope, e: A.ColumnRef) -> list[tuple[_Source, int]]:
    if e.schema is not None and e.schema.lower() != "main":
        return []
    hits = []
    for s in scope.sources:
        if e.table is not None and e.table.lower() != s.name:
            continue
        i = s.find(e.name)
        if i is not None:
            hits.append((s, i))
    if len(hits) > 1 and e.table is None:
        name = e.name.lower()
        kept = [h for h in hits if name not in h[0].hidden]
        if kept:
            hits = kept
    return hits


class _SEC(ExprCompiler):
    """ExprCompiler resolving names over FROM sources and enclosing queries."""

    def __init__(self, ctx: _Ctx, scope: _Scope, ctes: dict, aliases: dict | None = None,
                 aggs: dict | None = None) -> None:
        super().__init__(ctx.gen, None, (), aggs=aggs, aliases=aliases, registry=ctx.reg)
        self._rowsub: dict = {}
        self.ctx = ctx
        self.scope = scope
        self.ctes = ctes

    def column(self, e: A.ColumnRef) -> tuple[int, Any] | None:
        scope = self.scope
        while scope is not None:
            hits = _find_local(scope, e)
            if len(hits) > 1:
                full = f"{e.table}.{e.name}" if e.table else e.name
                raise OperationalError(f"ambiguous column name: {full}")
            if hits:
                s, i = hits[0]
                sc = self.scope
                while sc is not scope:
                    if sc.rec is not None:
                        sc.rec.correlated = True
                    sc = sc.parent
                c = s.col_src(i)
                return i, c
            scope = scope.parent
        return None

    def col_source(self, i: int, col: Any) -> str:
        return col.src

    def expr(self, e: A.Expr) -> str:
        t = type(e)
        if self.aggs is not None and id(e) in self.aggs:
            return self.aggs[id(e)]
        if t is A.FunctionCall and id(e) in self.ctx.outer_aggs:
            owner, src = self.ctx.outer_aggs[id(e)]
            sc = self.scope
            while sc is not None and sc is not owner:
                if sc.rec is not None:
                    sc.rec.correlated = True
                sc = sc.parent
            if sc is owner:
                return src
        if t is A.Subquery:
            call, names, _meta = self._scalar_subq(e)
            if len(names) != 1:
                raise OperationalError(f"sub-select returns {len(names)} columns - expected 1")
            return f"_first({call})"
        if t is A.Exists:
            call, _names, _meta = self._subq(e.select, True)
            return f"(1 if {call} else 0)"
        if t is A.InSelect:
            return self._in_select(e.expr, e.select, e.negated)
        if t is A.InTable:
            if e.args is not None:
                raise NotSupportedError("table-valued functions are not supported yet")
            sel = A.Select(core=A.SelectCore(columns=(A.Star(),), from_=A.FromClause(
                first=A.TableName(name=e.table, schema=e.schema))))
            return self._in_select(e.expr, sel, e.negated)
        return super().expr(e)

    def row_items(self, e: Any) -> list | None:
        if isinstance(e, A.Vector):
            return list(e.items)
        if isinstance(e, A.Subquery):
            call, names, meta = self._scalar_subq(e)
            if len(names) == 1:
                return None
            return [_Raw(f"_row1({call}, {len(names)})[{i}]", m.affinity, m.collation)
                    for i, m in enumerate(meta)]
        return None

    def _scalar_subq(self, e: A.Subquery) -> tuple[str, list[str], list[_Col]]:
        """Compile a (SELECT ...) expression once per compiler, however often it is asked."""
        got = self._rowsub.get(id(e))
        if got is None:
            got = self._rowsub[id(e)] = self._subq(e.select, True)
        return got

    def _subq(self, sel: A.Select, first_only: bool) -> tuple[str, list[str], list[_Col]]:
        from sql.select import _compile_query  # a subquery is a whole query: mutual recursion
        ctx = self.ctx
        n = next(ctx.n)
        rec = _Rec()
        fname = f"_sq{n}"
        note = ctx.note(f"SCALAR SUBQUERY {next(ctx.subq_n)}")
        saved, ctx.eqp_parent = ctx.eqp_parent, note[0]
        try:
            fn, names, meta = _compile_query(ctx, sel, self.scope, rec, self.ctes, fname,
                                             first_only)
        finally:
            ctx.eqp_parent = saved
        if rec.correlated:
            note[2] = "CORRELATED " + note[2]
            self.scope.fn.pre.extend(fn.lines())
            return f"{fname}()", names, meta
        ctx.root.pre.extend(fn.lines())
        ctx.root.pre.append(f"_c{n} = [_U]")
        return f"(_c{n}[0] if _c{n}[0] is not _U else _ev(_c{n}, {fname}))", names, meta

    def _in_select(self, x: A.Expr, sel: A.Select, negated: bool) -> str:
        if isinstance(x, A.Vector):
            return self._in_select_row(list(x.items), sel, negated)
        from sql.select import _compile_query  # a subquery is a whole query: mutual recursion
        ctx = self.ctx
        n = next(ctx.n)
        rec = _Rec()
        fname = f"_sq{n}"
        note = ctx.note(f"LIST SUBQUERY {next(ctx.subq_n)}")
        saved, ctx.eqp_parent = ctx.eqp_parent, note[0]
        try:
            fn, names, meta = _compile_query(ctx, sel, self.scope, rec, self.ctes, fname, False)
        finally:
            ctx.eqp_parent = saved
        if rec.correlated:
            note[2] = "CORRELATED " + note[2]
        if len(names) != 1:
            raise OperationalError(f"sub-select returns {len(names)} columns - expected 1")
        m = meta[0]
        la, lb = V.comparison_affinity(self.affinity(x), m.affinity)
        cx, cy = V.comparison_converter(la), V.comparison_converter(lb)
        cl = self.collation(x)
        if cl[1]:
            coll = cl[0]
        elif m.collation is not None and cl[0] is None:
            coll = m.collation
        else:
            coll = cl[0]
        coll = self.cobj(coll)
        g = self.gen
        mk = f"_InSet({fname}(), {g.const(cy)}, {g.const(coll)})"
        if rec.correlated:
            self.scope.fn.pre.extend(fn.lines())
            s = mk
        else:
            ctx.root.pre.extend(fn.lines())
            ctx.root.pre.append(f"def _mk{n}(): return {mk}")
            ctx.root.pre.append(f"_c{n} = [_U]")
            s = f"(_c{n}[0] if _c{n}[0] is not _U else _ev(_c{n}, _mk{n}))"
        src = f"_in_set({self.expr(x)}, {s}, {g.const(cx)})"
        return f"_not({src})" if negated else src


    def _in_select_row(self, xs: list, sel: A.Select, negated: bool) -> str:
        """``(a, b) IN (SELECT x, y ...)``: true when some row equals the vector."""
        call, names, meta = self._subq(sel, False)
        if len(names) != len(xs):
            raise OperationalError(f"sub-select returns {len(names)} columns - expected "
                                   f"{len(xs)}")
        g = self.gen
        cxs, cys, colls = [], [], []
        for x, m in zip(xs, meta):
            la, lb = V.comparison_affinity(self.affinity(x), m.affinity)
            cxs.append(V.comparison_converter(la))
            cys.append(V.comparison_converter(lb))
            cl = self.collation(x)
            coll = cl[0] if cl[1] or cl[0] is not None else m.collation
            colls.append(self.cobj(coll))
        vals = ", ".join(self.expr(x) for x in xs)
        src = (f"_in_rows(({vals},), {call}, {g.const(tuple(cxs))}, {g.const(tuple(cys))}, "
               f"{g.const(tuple(colls))})")
        return f"_not({src})" if negated else src


def _deps(scope: _Scope, e: Any, aliases: dict) -> set | None:
    """Local source numbers ``e`` reads (None = treat as reading all of them)."""
    out: set = set()

    def walk(x: Any) -> bool:
        if isinstance(x, (A.Subquery, A.Exists, A.InSelect, A.InTable)):
            return False
        if isinstance(x, A.ColumnRef):
            hits = _find_local(scope, x)
            if hits:
                out.add(hits[0][0].dep_k)
            elif x.table is None and x.name.lower() in aliases:
                return False
            return True
        if isinstance(x, A.FunctionCall) and x.name.lower() in ("random", "randomblob"):
            pass
        if hasattr(x, "__attrs_attrs__"):
            for a in x.__attrs_attrs__:
                v = getattr(x, a.name)
                if isinstance(v, tuple):
                    for y in v:
                        if isinstance(y, A.Node) and not walk(y):
                            return False
                        if isinstance(y, tuple):
                            for z in y:
                                if isinstance(z, A.Node) and not walk(z):
                                    return False
                elif isinstance(v, A.Node) and not walk(v):
                    return False
        return True

    if not walk(e):
        return None
    return out
