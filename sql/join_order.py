"""Join order and loop generation for the general SELECT compiler (``sql.select``).

Single job: choose the order of a query's FROM sources and each one's access
path by fixed cost estimates ("The SQLite Query Optimizer Overview",
optoverview.html: index nested loops; every permutation of up to six
inner-joined sources, LEFT/CROSS joins in written order), then emit the
Python ``for`` loop that binds each source's rows, including automatic
(hash) indexes for equality joins without a usable index, and the EXPLAIN
QUERY PLAN line for it.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import attrs

from sql import ast as A
from sql import values as V
from sql.compiler import ExprCompiler, _Gen, _pad_fn
from sql.planner import Path, choose_path, is_constant
from sql.schema import Table
from sql.select_runtime import (
    _NUMERIC, _TERM0,
)
from sql.select_scope import (
    _Ctx, _SEC, _Scope, _Source, _deps,
)
from storage.errors import OperationalError

def _path_cost(p: Path) -> tuple[int, int]:
    if p.kind == "auto":
        return (10, 12)
    if p.kind != "index":
        return _COST[p.kind]
    ix = p.index
    if p.eq and len(p.eq) == len(ix.columns):
        return (1, 2) if ix.unique else (10, 12)
    if p.eq:
        return (10, 12) if not (p.lo or p.hi) else (5, 7)
    return (250, 260)


#: (estimated rows, cost) of the access paths without an index
_COST = {"rowid_eq": (1, 1), "rowid_range": (250, 250), "scan": (1000, 1000)}



def _plan_order(ctx: _Ctx, scope: _Scope, terms: list[A.Expr], aliases: dict,
                ec: _SEC, sources: list | None = None) -> list[tuple[_Source, Path]]:
    if sources is None:
        sources = scope.sources
    deps_cache: dict[int, Any] = {}

    def deps(e: A.Expr) -> Any:
        d = deps_cache.get(id(e))
        if d is None and id(e) not in deps_cache:
            d = deps_cache[id(e)] = _deps(scope, e, aliases)
        return d

    path_cache: dict = {}
    # the collation each comparison really uses (datatype3 7.1: the left operand first)
    pair_coll: dict = {}
    for o in [x for s in sources for x in s.on] + terms:
        try:
            if isinstance(o, A.Binary):
                c = ec.pair_collation(o.left, o.right)
                pair_coll[(id(o.left), id(o.right))] = c
                pair_coll[(id(o.right), id(o.left))] = c
            elif isinstance(o, A.Between):
                pair_coll[(id(o.expr), id(o.low))] = ec.pair_collation(o.expr, o.low)
                pair_coll[(id(o.expr), id(o.high))] = ec.pair_collation(o.expr, o.high)
        except OperationalError:
            pass

    def path_for(s: _Source, bound: frozenset) -> Path:
        key = (s.k, bound)
        p = path_cache.get(key)
        if p is not None:
            return p
        pool = s.on if s.left else terms + [x for o in sources if not o.left for x in o.on]
        if s.kind != "table":
            p = Path("scan", 100)
        else:
            t = s.table

            def usable(col_e: A.Expr, val_e: A.Expr) -> bool:
                d = deps(val_e)
                if d is None or s.k in d or not d <= bound:
                    return False
                if is_constant(val_e):
                    return True
                try:
                    va = ec.affinity(val_e)
                except OperationalError:
                    return False
                c = s.find(col_e.name)
                caff = V.INTEGER if c == -1 else t.columns[c].affinity
                ccoll = None if c == -1 else t.columns[c].collation
                la, _ = V.comparison_affinity(caff, va)
                if la == V.NUMERIC and caff not in _NUMERIC:
                    return False
                if la == V.TEXT and caff != V.TEXT:
                    return False
                coll = pair_coll.get((id(col_e), id(val_e)))
                if c != -1 and (coll or "BINARY").upper() != (ccoll or "BINARY").upper():
                    return False
                return True

            where = None
            for x in pool:
                where = x if where is None else A.Binary(op="AND", left=where, right=x)
            p = choose_path(t, where, (s.name,), s.indexed_by, s.not_indexed, usable=usable)
            if s.indexed_by is not None and (p.kind != "index" or
                                             p.index.name.lower() != s.indexed_by.lower()):
                raise OperationalError("no query solution")
        if p.kind == "scan" and bound and not s.not_indexed and s.indexed_by is None:
            p = _auto_path(s, pool, bound, deps, pair_coll) or p
        path_cache[key] = p
        return p

    fixed = any(s.left or s.join_kind == "CROSS" for s in sources) or len(sources) > 6
    if len(sources) <= 1 or fixed:
        out = []
        bound: frozenset = frozenset()
        for s in sources:
            out.append((s, path_for(s, bound)))
            bound = bound | {s.k}
        return out
    best = None
    best_cost = None
    for perm in itertools.permutations(sources):
        bound = frozenset()
        rows = 1
        cost = 0
        plan = []
        for s in perm:
            p = path_for(s, bound)
            r, c = _path_cost(p)
            cost += rows * c
            rows *= r
            plan.append((s, p))
            bound = bound | {s.k}
            if best_cost is not None and cost >= best_cost:
                break
        else:
            if best_cost is None or cost < best_cost:
                best, best_cost = plan, cost
    return best


def _auto_path(s: _Source, pool: list, bound: frozenset, deps: Callable,
               pair_coll: dict) -> Path | None:
    """An automatic (hash) index on ``s`` for ``s.col = value bound by outer loops``."""
    for e in pool:
        if not (isinstance(e, A.Binary) and e.op in ("=", "==")):
            continue
        for col_e, val_e in ((e.left, e.right), (e.right, e.left)):
            if not isinstance(col_e, A.ColumnRef):
                continue
            if col_e.table is not None and col_e.table.lower() != s.name:
                continue
            i = s.find(col_e.name)
            if i is None or i == -1:
                continue
            d = deps(val_e)
            if d is None or s.k in d or not d <= bound or not d:
                continue
            p = Path("auto", 10, eq=[attrs.evolve(_TERM0, column=i, value=val_e,
                                                  collation=pair_coll.get((id(col_e),
                                                                           id(val_e))))])
            p.lo = None
            return p
    return None


def _loop_lines(ctx: _Ctx, ec: _SEC, s: _Source, path: Path, ind: str) -> tuple[list[str], str]:
    """Loop header(s) binding ``rid<k>``/``r<k>``; returns (lines, body indent)."""
    k = s.k
    g = ctx.gen
    L: list[str] = []
    if path.kind == "auto":
        it = _auto_lines(ctx, ec, s, path, L, ind)
    elif s.kind == "list":
        it = s.list_var
    if s.kind == "list":
        if s.left:
            L.append(f"{ind}_f{k} = False")
            L.append(f"{ind}for r{k} in _ljl({it}):")
        else:
            L.append(f"{ind}for r{k} in {it}:")
    else:
        t = s.table
        ix = path.index if path.kind == "index" else None
        ctx.tables.append((k, t, ix))
        g.glob[f"tree{k}"] = None
        if path.kind == "auto":
            pass
        elif path.kind == "rowid_eq":
            it = f"_one(txn, tree{k}, _rowid_eq({ec.expr(path.eq[0].value)}))"
        elif path.kind == "rowid_range":
            lo = f"_rowid_bound({ec.expr(path.lo.value)}, True)" if path.lo else "None"
            hi = f"_rowid_bound({ec.expr(path.hi.value)}, False)" if path.hi else "None"
            it = f"txn.rows(tree{k}, {lo}, {hi})"
        elif path.kind == "index":
            g.glob[f"itree{k}"] = None
            keys = [_key_value(g, ec, t, term) for term in path.eq]
            lo = hi = None
            if keys:
                lo = hi = "(" + "".join(x + ", " for x in keys) + ")"
            if path.lo is not None:
                lo = "(" + "".join(x + ", " for x in keys + [_key_value(g, ec, t, path.lo)]) + ")"
            if path.hi is not None:
                hi = "(" + "".join(x + ", " for x in keys + [_key_value(g, ec, t, path.hi)]) + ")"
            if hi is not None and len(keys) + (path.hi is not None) == len(path.index.columns):
                hi = hi[:-1] + f"{(1 << 63) - 1})"  # full-key bound: include every rowid
            it = f"_ixrows(txn, tree{k}, itree{k}, {lo}, {hi})"
        else:
            it = f"txn.rows(tree{k})"
        if s.left:
            L.append(f"{ind}_f{k} = False")
            L.append(f"{ind}for rid{k}, r{k} in _lj({it}):")
        else:
            L.append(f"{ind}for rid{k}, r{k} in {it}:")
    inner = ind + "    "
    L.append(f"{inner}if conn._interrupted: _interrupt()")
    pad = ""
    if s.kind == "table":
        n = len(s.table.columns)
        g.glob[f"pad{k}"] = _pad_fn(s.table, g)
        pad = f"if len(r{k}) < {n}: r{k} = pad{k}(r{k})"
    if s.left:
        L.append(f"{inner}if r{k} is _NOMATCH:")
        L.append(f"{inner}    if _f{k}: break")
        L.append(f"{inner}    r{k} = {g.const((None,) * len(s.cols))}")
        L.append(f"{inner}else:")
        if pad:
            L.append(f"{inner}    {pad}")
        for term in s.on:
            L.append(f"{inner}    if not ({ec.cond(term)}): continue")
        L.append(f"{inner}    _f{k} = True")
    elif pad:
        L.append(f"{inner}{pad}")
    return L, inner


def _auto_lines(ctx: _Ctx, ec: _SEC, s: _Source, path: Path, L: list, ind: str) -> str:
    """Build-once hash index lines for an automatic index; returns the probe iterable."""
    g = ctx.gen
    k = s.k
    term = path.eq[0]
    col = s.col_src(term.column)
    la, lb = V.comparison_affinity(col.affinity, ec.affinity(term.value))
    cc, cv = V.comparison_converter(la), V.comparison_converter(lb)
    key = g.const(V.make_sort_key(ec.cobj(term.collation)))
    csrc = f"{g.const(cc)}({col.src})" if cc is not None else col.src
    vsrc = ec.expr(term.value)
    if cv is not None:
        vsrc = f"{g.const(cv)}({vsrc})"
    fn = ec.scope.fn
    fn.pre.append(f"def _kf{k}(rid{k}, r{k}):")
    fn.pre.append(f"    _v = {csrc}")
    fn.pre.append(f"    return None if _v is None else {key}(_v)")
    if s.kind == "table":
        g.glob[f"pad{k}"] = _pad_fn(s.table, g)
        ctx.root.pre.append(f"_ai{k} = [None]")
        build = f"_autoidx_t(txn, tree{k}, pad{k}, {len(s.table.columns)}, _kf{k})"
    else:
        fn.setup.append(f"_ai{k} = [None]")
        build = f"_autoidx_l({s.list_var}, _kf{k})"
    L.append(f"{ind}if _ai{k}[0] is None: _ai{k}[0] = {build}")
    L.append(f"{ind}_pv{k} = {vsrc}")
    return f"(_ai{k}[0].get({key}(_pv{k}), ()) if _pv{k} is not None else ())"


def _key_value(gen: _Gen, ec: ExprCompiler, t: Table, term: Any) -> str:
    if term.column == -1:
        return ec.expr(term.value)
    col = t.columns[term.column]
    la, _ = V.comparison_affinity(col.affinity, ec.affinity(term.value))
    conv = V.comparison_converter(la)
    src = ec.expr(term.value)
    return f"{gen.const(conv)}({src})" if conv is not None else src


def _describe(s: _Source, p: Path) -> str:
    if p.kind == "auto":
        return f"SEARCH {s.label} USING AUTOMATIC INDEX ({s.cols[p.eq[0].column].name}=?)"
    if s.kind == "list":
        return f"SCAN {s.label}"
    name = s.label
    if p.kind == "scan":
        return f"SCAN {name}"
    if p.kind == "rowid_eq":
        return f"SEARCH {name} USING INTEGER PRIMARY KEY (rowid=?)"
    if p.kind == "rowid_range":
        conds = []
        if p.lo:
            conds.append(f"rowid{p.lo.op}?")
        if p.hi:
            conds.append(f"rowid{p.hi.op}?")
        return f"SEARCH {name} USING INTEGER PRIMARY KEY ({' AND '.join(conds)})"
    t = s.table
    conds = [f"{t.columns[x.column].name}=?" for x in p.eq]
    if p.lo or p.hi:
        cn = t.columns[p.index.columns[len(p.eq)]].name
        if p.lo:
            conds.append(f"{cn}{p.lo.op}?")
        if p.hi:
            conds.append(f"{cn}{p.hi.op}?")
    return f"SEARCH {name} USING INDEX {p.index.name} ({' AND '.join(conds)})"
