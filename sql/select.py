"""The general SELECT compiler: joins, subqueries, compounds, CTEs, views, VALUES.

Single job: compile any SELECT that the single-table fast path of
``sql.compiler`` does not take (several FROM sources, subqueries in FROM or
in expressions, compound SELECTs, WITH, views, VALUES) into one generated
Python module-level function ``plan(txn, p, conn)`` (DESIGN decision 1).
Behaviour follows SQLite's "SELECT" page (lang_select.html: join
processing, compound operators, ORDER BY on compounds), "WITH clause"
(lang_with.html: recursive CTEs with a queue), "The SQLite Query Optimizer
Overview" (optoverview.html: index nested loops, join order) and datatype3
section 4.2 (affinity of IN (SELECT ...)).

Shape of the generated code: each FROM source is one Python ``for`` loop
binding ``rid<k>``/``r<k>`` (rowid, record) for source number k; WHERE
terms sit in the innermost loop where all their columns are bound. Every
subquery is a nested ``def _sq<n>()`` inside ``plan``: a correlated one
reads the enclosing loops' variables through Python closures (any depth)
and runs per use; a non-correlated one runs once per execution and is
cached in a one-element list cell. Materialized sources (FROM subqueries,
views, CTEs, VALUES) are lists of tuples; an equality join against one (or
against a table with no usable index) builds a dict once per execution
(SQLite's "automatic index"). ``A RIGHT/FULL JOIN B`` (as the first join) is
materialized into combined rows. Join order: every permutation of up to six
inner-joined sources is costed with fixed estimates (scan 1000 rows, index
equality 10, unique/rowid 1); LEFT/CROSS joins keep the written order.

EXPLAIN QUERY PLAN rows are (id, parent, notused, detail) with SQLite's
wording (SCAN/SEARCH/SCALAR SUBQUERY/COMPOUND QUERY/USE TEMP B-TREE ...);
ids are ours. Plain EXPLAIN lists our generated Python source, one row per
line, as (addr, line), not SQLite's VDBE opcodes.

Neighbours: ``sql.select_scope`` (sources, scopes, name resolution and the
scope-aware expression compiler), ``sql.join_order`` (join order, access
paths, the per-source loops), ``sql.select_runtime`` (what generated plans
call while they run).
"""
from __future__ import annotations

from typing import Any, Callable

from sql import ast as A
from sql import values as V
from sql.compiler import _NOCONN, Compiled, _check_table, _ordinal, _pad_fn, column_name
from sql.planner import split_and
from sql.schema import Table
from sql.select_scope import (
    _Col, _Ctx, _Fn, _Rec, _SEC, _Scope, _Source, _deps, _find_local,
)
from sql.join_order import (
    _describe, _loop_lines, _plan_order,
)
from storage.errors import NotSupportedError, OperationalError

__all__ = ["compile_general", "needs_general", "compile_scan_general", "compile_exprs_general",
           "compile_row_exprs_general"]


# -- query compilation ----------------------------------------------------------------------

def _with_ctes(stmt: A.Select, ctes: dict) -> dict:
    if stmt.with_ is None:
        return ctes
    out = dict(ctes)
    for cte in stmt.with_.ctes:
        out[cte.name.lower()] = (cte, stmt.with_.recursive, dict(out))
    return out


def _compile_query(ctx: _Ctx, stmt: A.Select, parent: _Scope | None, rec: _Rec | None,
                   ctes: dict, fname: str, first_only: bool,
                   args: str = "") -> tuple[_Fn, list[str], list[_Col]]:
    """A function ``fname()`` returning the rows of ``stmt`` as a list of tuples."""
    ctes = _with_ctes(stmt, ctes)
    fn = _Fn(fname, args)
    if not stmt.compound:
        names, meta = _core_into(ctx, fn, stmt.core, stmt, parent, rec, ctes, first_only)
        return fn, names, meta
    parts = [("", stmt.core)] + [(c.op.upper(), c.core) for c in stmt.compound]
    first_names: list[str] = []
    first_meta: list[_Col] = []
    all_names: list[list[str]] = []
    calls = []
    top = ctx.note("COMPOUND QUERY")
    saved = ctx.eqp_parent
    for i, (op, core) in enumerate(parts):
        sub = _Fn(f"_cp{next(ctx.n)}")
        ctx.eqp_parent = top[0]
        label = "LEFT-MOST SUBQUERY" if i == 0 else \
            (op if op == "UNION ALL" else f"{op} USING TEMP B-TREE")
        ctx.eqp_parent = ctx.note(label)[0]
        try:
            names, meta = _core_into(ctx, sub, core, None, parent, rec, ctes, False)
        finally:
            ctx.eqp_parent = saved
        if i == 0:
            first_names, first_meta = names, meta
        elif len(names) != len(first_names):
            shown = "UNION ALL" if op == "UNION ALL" else op
            raise OperationalError(f"SELECTs to the left and right of {shown} do not have "
                                   f"the same number of result columns")
        all_names.append(names)
        fn.pre.extend(sub.lines())
        calls.append((op, sub.name))
    g = ctx.gen
    ec0 = _SEC(ctx, _Scope(None, None, fn), {})
    keys = g.const([V.make_sort_key(ec0.cobj(m.collation)) for m in first_meta])
    body = fn.body
    body.append(f"out = {calls[0][1]}()")
    for op, name in calls[1:]:
        if op == "UNION ALL":
            body.append(f"out = out + {name}()")
        else:
            body.append(f"out = _setop({op!r}, out, {name}(), {keys}, {bool(stmt.order_by)})")
    _compound_order(ctx, fn, stmt, first_names, first_meta, parts, all_names)
    body.append("return out")
    return fn, first_names, first_meta


def _compound_order(ctx: _Ctx, fn: _Fn, stmt: A.Select, names: list[str], meta: list[_Col],
                    parts: list, all_names: list) -> None:
    g = ctx.gen
    body = fn.body
    if stmt.order_by:
        ctx.note("USE TEMP B-TREE FOR ORDER BY")
        terms = []
        for n, term in enumerate(stmt.order_by, 1):
            e = term.expr
            coll = None
            if isinstance(e, A.Collate):
                coll = e.collation.upper()
                e = e.expr
            idx = None
            if isinstance(e, A.Literal) and e.kind == "integer":
                if not 1 <= e.value <= len(names):
                    raise OperationalError(f"{_ordinal(n)} ORDER BY term out of range - "
                                           f"should be between 1 and {len(names)}")
                idx = e.value - 1
            elif isinstance(e, A.ColumnRef) and e.table is None:
                for nm in all_names:
                    for i, c in enumerate(nm):
                        if c.lower() == e.name.lower():
                            idx = i
                            break
                    if idx is not None:
                        break
            if idx is None:
                for _op, core in parts:
                    if isinstance(core, A.SelectCore):
                        for i, rc in enumerate(core.columns):
                            if isinstance(rc, A.ResultColumn) and _same(rc.expr, e):
                                idx = i
                                break
                    if idx is not None:
                        break
            if idx is None:
                raise OperationalError(f"{_ordinal(n)} ORDER BY term does not match any "
                                       f"column in the result set")
            desc = (term.direction or "").upper() == "DESC"
            nulls = (term.nulls or "").upper()
            nulls_last = (nulls == "LAST" and not desc) or (nulls == "FIRST" and desc)
            if coll is None:
                coll = meta[idx].collation
            coll = ctx.reg.collation(coll) if coll and coll.upper() != "BINARY" else None
            terms.append((idx, desc, V.make_sort_key(coll, nulls_last)))
        for idx, desc, key in reversed(terms):
            body.append(f"out.sort(key=lambda _x: {g.const(key)}(_x[{idx}])"
                        f"{', reverse=True' if desc else ''})")
    _limit_lines(ctx, fn, stmt, None)


def _same(a: Any, b: Any) -> bool:
    try:
        return _strip(a) == _strip(b)
    except Exception:
        return False


def _strip(e: Any) -> Any:
    if isinstance(e, A.Node) and hasattr(e, "__attrs_attrs__"):
        vals = []
        for a in e.__attrs_attrs__:
            if a.name in ("pos", "span", "params"):
                continue
            v = getattr(e, a.name)
            if isinstance(v, tuple):
                v = tuple(_strip(x) for x in v)
            else:
                v = _strip(v)
            if isinstance(v, str) and a.name in ("name", "table"):
                v = v.lower()
            vals.append(v)
        return (type(e).__name__, tuple(vals))
    return e


def _limit_lines(ctx: _Ctx, fn: _Fn, stmt: A.Select, scope: _Scope | None) -> None:
    if stmt.limit is None:
        return
    del scope  # LIMIT sees no columns, not even an outer query's
    ec = _SEC(ctx, _Scope(None, None, fn), {})
    fn.body.append(f"_limit = _limit_value({ec.expr(stmt.limit)})")
    fn.body.append(f"_offset = _limit_value({ec.expr(stmt.offset)})" if stmt.offset is not None
                   else "_offset = 0")
    fn.body.append("if _offset < 0: _offset = 0")
    fn.body.append("out = out[_offset:] if _limit < 0 else out[_offset:_offset + _limit]")


# -- FROM -------------------------------------------------------------------------------------

def _add_sources(ctx: _Ctx, scope: _Scope, fr: A.FromClause, ctes: dict) -> None:
    items: list[tuple[A.Join | None, Any]] = [(None, fr.first)] + [(j, j.source) for j in fr.joins]
    for join, src in items:
        if isinstance(src, A.JoinSource):
            before = len(scope.sources)
            _add_sources(ctx, scope, src.from_, ctes)
            first_new = scope.sources[before] if len(scope.sources) > before else None
            if join is not None and first_new is not None:
                _apply_join(scope, join, scope.sources[before:], before)
            continue
        s = _make_source(ctx, scope, src, ctes)
        before = len(scope.sources)
        scope.sources.append(s)
        if join is not None:
            _apply_join(scope, join, [s], before)


def _apply_join(scope: _Scope, join: A.Join, new: list[_Source], before: int) -> None:
    kind = join.kind.upper()
    if kind in ("RIGHT", "FULL") and (before != 1 or len(new) != 1 or join.natural
                                      or join.using is not None):
        raise NotSupportedError(f"{kind} JOIN is supported only as the first join, with ON")
    s = new[0]
    s.join_kind = kind
    left_sources = scope.sources[:before]
    on_terms: list[A.Expr] = []
    using = list(join.using or ())
    if join.natural:
        if join.on is not None or join.using is not None:
            raise OperationalError("a NATURAL join may not have an ON or USING clause")
        for ns in new:
            for c in ns.cols:
                nm = c.name.lower()
                if any(nm in ls.lower and nm not in ls.hidden for ls in left_sources) \
                        and c.name not in using:
                    using.append(c.name)
    if join.on is not None and join.using is not None:
        raise OperationalError("cannot have both ON and USING clauses in the same join")
    ltorj = len(left_sources) > 1 and left_sources[1].join_kind in ("RIGHT", "FULL")
    if ltorj:  # SQLite checks NATURAL's implied columns last to first
        for name in (reversed(using) if join.natural else using):
            lefts = [ls for ls in left_sources if ls.find(name) is not None
                     and name.lower() not in ls.hidden]
            if len(lefts) > 1 and left_sources[0] in lefts:
                raise OperationalError(f"ambiguous reference to {name} in USING()")
    for name in using:
        right = next((ns for ns in new if ns.find(name) is not None), None)
        lefts = [ls for ls in left_sources if ls.find(name) is not None
                 and name.lower() not in ls.hidden]
        left = lefts[0] if lefts else None
        if ltorj and len(lefts) > 1 and left_sources[0] in lefts:
            raise OperationalError(f"ambiguous reference to {name} in USING()")
        if right is None or left is None:
            raise OperationalError(f"cannot join using column {name} - column not present "
                                   f"in both tables")
        right.hidden.add(name.lower())
        on_terms.append(A.Binary(op="=", left=A.ColumnRef(name=name, table=left.name),
                                 right=A.ColumnRef(name=name, table=right.name)))
    if join.on is not None:
        on_terms.extend(split_and(join.on))
    if kind == "LEFT":
        s.left = True
        s.on = on_terms
    else:
        s.on = on_terms


def _make_source(ctx: _Ctx, scope: _Scope, src: Any, ctes: dict) -> _Source:
    k = next(ctx.n)
    if isinstance(src, A.SubquerySource):
        name = src.alias.lower() if src.alias else f"\x00sq{k}"
        return _materialize(ctx, scope, src.select, name, None, ctes, k,
                            label=src.alias or f"(subquery-{k})")
    if not isinstance(src, A.TableName):
        raise NotSupportedError(f"{type(src).__name__} in FROM is not supported yet")
    if src.args is not None:
        raise NotSupportedError("table-valued functions are not supported yet")
    lname = src.name.lower()
    alias = (src.alias or src.name).lower()
    if src.schema is None and lname in ctes:
        cte, recursive, outer = ctes[lname]
        if isinstance(cte, str):  # the recursive reference inside its own definition
            s = _Source(k, alias, "list", [_Col(c.name, c.affinity, c.collation)
                                           for c in outer])
            s.list_var = cte
            s.label = src.name
            return s
        return _cte_source(ctx, scope, cte, recursive, outer, alias, k)
    # only "main" exists (no TEMP, no ATTACH): sqlite3 names the schema in the error
    other = src.schema is not None and src.schema.lower() != "main"
    t = None if other else ctx.schema.table(src.name)
    if t is None and not other:
        view = ctx.schema.views.get(lname)
        if view is not None:
            if lname in ctx.views:
                raise OperationalError(f"view {src.name} is circularly defined")
            ctx.views.append(lname)
            try:
                s = _materialize(ctx, scope, view.select, alias, view.columns, {}, k,
                                 sql=view.sql or None, label=src.alias or src.name,
                                 standalone=True)
            finally:
                ctx.views.pop()
            return s
    if t is None:
        qual = f"{src.schema}.{src.name}" if src.schema is not None else src.name
        raise OperationalError(f"no such table: {qual}")
    _check_table(t)
    cols = [_Col(c.name, c.affinity, c.collation) for c in t.columns]
    s = _Source(k, alias, "table", cols, t)
    s.indexed_by = src.indexed_by
    s.not_indexed = src.not_indexed
    s.label = src.alias or t.name
    if src.indexed_by is not None and ctx.schema.index(src.indexed_by) is None:
        raise OperationalError(f"no such index: {src.indexed_by}")
    return s


def _materialize(ctx: _Ctx, scope: _Scope, sel: A.Select, name: str,
                 colnames: tuple[str, ...] | None, ctes: dict, k: int, sql: str | None = None,
                 label: str = "", standalone: bool = False, cte: bool = False) -> _Source:
    rec = _Rec()
    fname = f"_sq{k}"
    old_sql = ctx.sql
    if sql is not None:
        ctx.sql = sql
    saved, ctx.eqp_parent = ctx.eqp_parent, ctx.note(f"MATERIALIZE {label}")[0]
    try:
        # a FROM subquery sees the enclosing queries, not its sibling FROM items: a
        # source-less stand-in for this scope keeps correlation marks flowing outwards
        shadow = _Scope(scope.parent, scope.rec, scope.fn)
        fn, names, meta = _compile_query(ctx, sel, None if standalone else shadow, rec,
                                         ctes, fname, False)
    finally:
        ctx.sql = old_sql
        ctx.eqp_parent = saved
    if colnames is not None:
        if len(colnames) != len(names):
            if cte:
                raise OperationalError(f"table {label} has {len(names)} values for "
                                       f"{len(colnames)} columns")
            raise OperationalError(f"expected {len(names)} columns for '{label}' but got "
                                   f"{len(colnames)}")
        names = list(colnames)
    cols = [_Col(nm, m.affinity, m.collation) for nm, m in zip(names, meta)]
    s = _Source(k, name, "list", cols)
    s.label = label
    s.list_var = f"_m{k}"
    if rec.correlated:
        scope.fn.pre.extend(fn.lines())
        scope.fn.setup.append(f"_m{k} = {fname}()")
    else:
        ctx.root.pre.extend(fn.lines())
        ctx.root.pre.append(f"_c{k} = [_U]")
        scope.fn.setup.append(f"_m{k} = _c{k}[0] if _c{k}[0] is not _U else _ev(_c{k}, {fname})")
    return s


def _cte_source(ctx: _Ctx, scope: _Scope, cte: A.CTE, recursive: bool, outer: dict,
                alias: str, k: int) -> _Source:
    sel = cte.select
    lname = cte.name.lower()
    if not _refers_to(sel, lname):
        inner = dict(outer)
        return _materialize(ctx, scope, sel, alias, cte.columns, inner, k, label=cte.name,
                            standalone=False, cte=True)
    # recursive: initial SELECT(s), then the recursive part (the last compound part)
    if not sel.compound or sel.compound[-1].op.upper() not in ("UNION", "UNION ALL"):
        raise OperationalError(f"recursive reference in a subquery: {cte.name}")
    init = A.Select(core=sel.core, compound=sel.compound[:-1])
    fname = f"_sq{k}"
    fn = _Fn(fname)
    rec = _Rec()
    ifn, names, meta = _compile_query(ctx, init, scope.parent, rec, outer, f"_ri{k}", False)
    if cte.columns is not None:
        if len(cte.columns) != len(names):
            raise OperationalError(f"table {cte.name} has {len(names)} values for "
                                   f"{len(cte.columns)} columns")
        names = list(cte.columns)
    cols = [_Col(nm, m.affinity, m.collation) for nm, m in zip(names, meta)]
    inner = dict(outer)
    inner[lname] = (f"_cur{k}", False, cols)
    step_sel = A.Select(core=sel.compound[-1].core)
    sfn, snames, _smeta = _compile_query(ctx, step_sel, scope.parent, rec, inner, f"_rs{k}", False)
    if len(snames) != len(names):
        raise OperationalError("SELECTs to the left and right of "
                               f"{sel.compound[-1].op.upper()} do not have the same number "
                               f"of result columns")
    union = sel.compound[-1].op.upper() == "UNION"
    fn.pre.extend(ifn.lines())
    fn.pre.extend(sfn.lines())
    g = ctx.gen
    b = fn.body
    b.append(f"_cur{k} = []")
    b.append("out = []")
    b.append(f"_q = _deque({ifn.name}())")
    if union:
        ck = [V.make_sort_key(ctx.reg.collation(c.collation) if c.collation else None)
              for c in cols]
        b.append(f"_keys = {g.const(ck)}")
        b.append("_seen = set(); _q0 = _q; _q = _deque()")
        b.append("for _row in _q0:")
        b.append("    _kk = tuple(f(v) for f, v in zip(_keys, _row))")
        b.append("    if _kk not in _seen: _seen.add(_kk); _q.append(_row)")
    scope_tmp = _Scope(scope.parent, None, fn)
    lim = None
    if sel.limit is not None:
        ec = _SEC(ctx, scope_tmp, {})
        lim = ec.expr(sel.limit)
        off = ec.expr(sel.offset) if sel.offset is not None else "0"
        b.append(f"_limit = _limit_value({lim}); _offset = _limit_value({off})")
        b.append("if _offset < 0: _offset = 0")
        b.append("_stop = None if _limit < 0 else _offset + _limit")
    b.append("while _q:")
    b.append("    if conn._interrupted: _interrupt()")
    b.append("    _row = _q.popleft()")
    b.append("    out.append(_row)")
    if lim is not None:
        b.append("    if _stop is not None and len(out) >= _stop: break")
    b.append(f"    _cur{k}[:] = [_row]")
    b.append(f"    for _new in {sfn.name}():")
    if union:
        b.append("        _kk = tuple(f(v) for f, v in zip(_keys, _new))")
        b.append("        if _kk in _seen: continue")
        b.append("        _seen.add(_kk)")
    b.append("        _q.append(_new)")
    if lim is not None:
        b.append("out = out[_offset:_stop]")
    b.append("return out")
    if sel.order_by:
        raise NotSupportedError("ORDER BY in a recursive common table expression is not "
                                "supported yet")
    s = _Source(k, alias, "list", cols)
    s.label = cte.name
    s.list_var = f"_m{k}"
    if rec.correlated:
        scope.fn.pre.extend(fn.lines())
        scope.fn.setup.append(f"_m{k} = {fname}()")
    else:
        ctx.root.pre.extend(fn.lines())
        ctx.root.pre.append(f"_c{k} = [_U]")
        scope.fn.setup.append(f"_m{k} = _c{k}[0] if _c{k}[0] is not _U else _ev(_c{k}, {fname})")
    return s


def _refers_to(node: Any, name: str) -> bool:
    if isinstance(node, A.TableName) and node.schema is None and node.name.lower() == name:
        return True
    if hasattr(node, "__attrs_attrs__"):
        for a in node.__attrs_attrs__:
            v = getattr(node, a.name)
            if isinstance(v, tuple):
                for x in v:
                    if isinstance(x, tuple):
                        if any(_refers_to(y, name) for y in x):
                            return True
                    elif _refers_to(x, name):
                        return True
            elif isinstance(v, A.Node) and _refers_to(v, name):
                return True
    return False


# -- one SELECT core ----------------------------------------------------------------------------

def _outer_join_source(ctx: _Ctx, scope: _Scope, ec: _SEC) -> _Source:
    """Materialize ``A RIGHT/FULL JOIN B ON ...`` as one list source of combined rows."""
    a, b = scope.sources[0], scope.sources[1]
    k = next(ctx.n)
    c = _Source(k, f"\x00oj{k}", "list", [])
    c.label = f"{a.label} {b.join_kind} JOIN {b.label}"
    c.list_var = f"_m{k}"
    a.shared = (f"r{k}", 0)
    b.shared = (f"r{k}", a.width())
    a.dep_k = b.dep_k = k
    fn = scope.fn
    g = ctx.gen
    sides = []
    for s in (a, b):
        if s.kind == "table":
            ctx.tables.append((s.k, s.table, None))
            g.glob[f"tree{s.k}"] = None
            g.glob[f"pad{s.k}"] = _pad_fn(s.table, g)
            n = len(s.table.columns)
            sides.append(f"[(_rid,) + (_r if len(_r) >= {n} else pad{s.k}(_r)) "
                         f"for _rid, _r in txn.rows(tree{s.k})]")
        else:
            sides.append(s.list_var)
    cond = " and ".join(f"({ec.cond(t)})" for t in b.on) or "True"
    fn.pre.append(f"def _on{k}(r{k}):")
    fn.pre.append(f"    return {cond}")
    fn.setup.append(f"_m{k} = _outer_join({sides[0]}, {sides[1]}, _on{k}, {a.width()}, "
                    f"{b.width()}, {b.join_kind == 'FULL'})")
    return c


def _expand(ctx: _Ctx, scope: _Scope, cols: tuple) -> list[A.ResultColumn]:
    out: list[A.ResultColumn] = []
    for rc in cols:
        if isinstance(rc, A.Star):
            if not scope.sources:
                raise OperationalError("no tables specified")
            found = False
            for s in scope.sources:
                if rc.table is not None and rc.table.lower() != s.name:
                    continue
                found = True
                for i, c in enumerate(s.cols):
                    if rc.table is None and c.name.lower() in s.hidden:
                        continue
                    out.append(A.ResultColumn(A.ColumnRef(name=c.name, table=s.name),
                                              alias=c.name))
            if not found:
                raise OperationalError(f"no such table: {rc.table}")
        else:
            out.append(rc)
    return out


def _is_agg(ctx: _Ctx, e: Any) -> bool:
    if not isinstance(e, A.FunctionCall) or e.over is not None:
        return False
    argc = 0 if e.star else len(e.args)
    name = e.name.lower()
    if name in ("min", "max") and argc != 1:
        return False
    try:
        return ctx.reg.aggregate(e.name, argc) is not None
    except OperationalError:
        return name in ("count", "sum", "avg", "total", "group_concat", "min", "max")


def _outer_aggs_in(ctx: _Ctx, sel: A.Select, names: set, out: list) -> None:
    """Aggregates inside subquery ``sel`` whose arguments read only this query's FROM items
    (qualified by ``names``): SQLite computes those in this query (lang_select 2.4)."""
    inner_names: set = set()

    def from_names(fr: Any) -> None:
        if fr is None:
            return
        for src in [fr.first] + [j.source for j in fr.joins]:
            if isinstance(src, A.TableName):
                inner_names.add((src.alias or src.name).lower())
            elif isinstance(src, A.SubquerySource) and src.alias:
                inner_names.add(src.alias.lower())
            elif isinstance(src, A.JoinSource):
                from_names(src.from_)
    cores = [sel.core] + [c.core for c in sel.compound]
    for core in cores:
        if isinstance(core, A.SelectCore):
            from_names(core.from_)
    own = names - inner_names
    if not own:
        return

    def refs_only_own(x: Any) -> bool:
        if isinstance(x, A.ColumnRef):
            return x.table is not None and x.table.lower() in own
        if isinstance(x, (A.Subquery, A.Exists, A.InSelect, A.InTable)):
            return False
        ok = True
        if hasattr(x, "__attrs_attrs__"):
            for a in x.__attrs_attrs__:
                v = getattr(x, a.name)
                for y in (v if isinstance(v, tuple) else (v,)):
                    if isinstance(y, A.Node) and not refs_only_own(y):
                        ok = False
        return ok

    def walk(x: Any) -> None:
        if isinstance(x, A.FunctionCall) and _is_agg(ctx, x) and x.args and \
                all(refs_only_own(a) for a in x.args) and \
                (x.filter is None or refs_only_own(x.filter)):
            out.append(x)
            ctx.outer_found.add(id(x))
            return
        if hasattr(x, "__attrs_attrs__"):
            for a in x.__attrs_attrs__:
                v = getattr(x, a.name)
                for y in (v if isinstance(v, tuple) else (v,)):
                    if isinstance(y, A.Node):
                        walk(y)
    for core in cores:
        if isinstance(core, A.SelectCore):
            for rc in core.columns:
                if isinstance(rc, A.ResultColumn):
                    walk(rc.expr)


def _collect_aggs(ctx: _Ctx, e: Any, out: list, names: set | None = None) -> None:
    if isinstance(e, (A.Subquery, A.Exists, A.InSelect)):
        if isinstance(e, A.InSelect):
            _collect_aggs(ctx, e.expr, out, names)
        if names:
            _outer_aggs_in(ctx, e.select, names, out)
        return
    if id(e) in ctx.outer_aggs:
        return
    if _is_agg(ctx, e):
        for a in e.args + ((e.filter,) if e.filter is not None else ()):
            inner: list = []
            _collect_aggs(ctx, a, inner)
            if inner:
                raise OperationalError(f"misuse of aggregate function {inner[0].name}()")
        out.append(e)
        return
    if hasattr(e, "__attrs_attrs__"):
        for a in e.__attrs_attrs__:
            v = getattr(e, a.name)
            if isinstance(v, tuple):
                for x in v:
                    if isinstance(x, A.Node):
                        _collect_aggs(ctx, x, out, names)
                    elif isinstance(x, tuple):
                        for y in x:
                            if isinstance(y, A.Node):
                                _collect_aggs(ctx, y, out, names)
            elif isinstance(v, A.Node):
                _collect_aggs(ctx, v, out, names)


def _core_into(ctx: _Ctx, fn: _Fn, core: Any, stmt: A.Select | None, parent: _Scope | None,
               rec: _Rec | None, ctes: dict, first_only: bool) -> tuple[list[str], list[_Col]]:
    """Emit into ``fn`` a body computing ``out`` (and returning it when ``stmt`` is given)."""
    scope = _Scope(parent, rec, fn)
    g = ctx.gen
    B = fn.body
    if isinstance(core, A.Values):
        ec = _SEC(ctx, scope, ctes)
        width = len(core.rows[0])
        rows = []
        for row in core.rows:
            if len(row) != width:
                raise OperationalError("all VALUES must have the same number of terms")
            vals = ", ".join(ec.expr(x) for x in row)
            rows.append(f"({vals}{',' if width == 1 else ''})")
        B.append("out = [" + ", ".join(rows) + "]")
        names = [f"column{i + 1}" for i in range(width)]
        meta = [_Col(n, None, None) for n in names]
        if stmt is not None:
            if stmt.order_by:
                _compound_order(ctx, fn, stmt, names, meta, [("", core)], [names])
            else:
                _limit_lines(ctx, fn, stmt, scope)
        B.append("return out")
        return names, meta
    if core.windows:
        raise NotSupportedError("window functions are not supported yet")
    if core.from_ is not None:
        _add_sources(ctx, scope, core.from_, ctes)
    cols = _expand(ctx, scope, core.columns)
    if len(cols) > 2000:  # SQLITE_MAX_COLUMN
        raise OperationalError("too many columns in result set")
    names = []
    for rc in cols:
        t = None
        if rc.alias is None and isinstance(rc.expr, A.ColumnRef):
            hits = _find_local(scope, rc.expr)
            if len(hits) == 1 and hits[0][0].table is not None:
                t = hits[0][0].table
        names.append(column_name(ctx.sql, rc, t))
    aliases = {rc.alias.lower(): rc.expr for rc in cols if rc.alias}
    ec = _SEC(ctx, scope, ctes, aliases=aliases)
    meta = []
    for nm, rc in zip(names, cols):
        try:
            meta.append(_Col(nm, ec.affinity(rc.expr), ec.collation(rc.expr)[0]))
        except OperationalError:
            meta.append(_Col(nm, None, None))
    order_by = stmt.order_by if stmt is not None else ()
    agg_calls: list = []
    own_names = {s.name for s in scope.sources}
    for rc in cols:
        _collect_aggs(ctx, rc.expr, agg_calls, own_names)
    if core.having is not None:
        _collect_aggs(ctx, core.having, agg_calls)
    for term in order_by:
        _collect_aggs(ctx, term.expr, agg_calls)
    if core.where is not None:
        w: list = []
        _collect_aggs(ctx, core.where, w)
        if w:
            word = "misuse of aggregate: " if agg_calls or core.group_by else \
                "misuse of aggregate function "
            raise OperationalError(f"{word}{w[0].name}()")
    group_by = []
    for gexpr in core.group_by:
        if isinstance(gexpr, A.Literal) and gexpr.kind == "integer":
            if not 1 <= gexpr.value <= len(cols):
                raise OperationalError(f"{_ordinal(len(group_by) + 1)} GROUP BY term out of "
                                       f"range - should be between 1 and {len(cols)}")
            gexpr = cols[gexpr.value - 1].expr
        elif isinstance(gexpr, A.ColumnRef) and gexpr.table is None and \
                gexpr.name.lower() in aliases and not _find_local(scope, gexpr):
            gexpr = aliases[gexpr.name.lower()]
        w = []
        _collect_aggs(ctx, gexpr, w)
        if w:
            raise OperationalError("aggregate functions are not allowed in the GROUP BY clause")
        group_by.append(gexpr)
    grouped = bool(agg_calls) or bool(group_by)
    if core.having is not None and not grouped:
        raise OperationalError("a GROUP BY clause is required before HAVING")
    # ORDER BY terms
    order = []
    for term in order_by:
        e = term.expr
        if isinstance(e, A.Literal) and e.kind == "integer":
            if not 1 <= e.value <= len(cols):
                raise OperationalError(f"{_ordinal(len(order) + 1)} ORDER BY term out of range "
                                       f"- should be between 1 and {len(cols)}")
            e = cols[e.value - 1].expr
        elif isinstance(e, A.ColumnRef) and e.table is None and e.name.lower() in aliases:
            e = aliases[e.name.lower()]
        desc = (term.direction or "").upper() == "DESC"
        nulls = (term.nulls or "").upper()
        nulls_last = (nulls == "LAST" and not desc) or (nulls == "FIRST" and desc)
        order.append((e, desc, nulls_last, ec.collation(e)[0]))
    # WHERE terms: inner-join ON terms behave as WHERE terms
    terms = split_and(core.where)
    for s in scope.sources:
        if not s.left and s.join_kind not in ("RIGHT", "FULL"):
            terms = terms + s.on
    loop_sources = scope.sources
    if len(scope.sources) > 1 and scope.sources[1].join_kind in ("RIGHT", "FULL"):
        loop_sources = [_outer_join_source(ctx, scope, ec)] + scope.sources[2:]
    plan = _plan_order(ctx, scope, terms, aliases, ec, loop_sources)
    pos = {s.k: i for i, (s, _p) in enumerate(plan)}
    placed: dict[int, list] = {}
    last = len(plan) - 1
    for term in terms:
        d = _deps(scope, term, aliases)
        if d is None:
            lvl = last
        else:
            lvl = max((pos[x] for x in d), default=0)
            # a WHERE term over a LEFT JOIN's inner source must follow its null row
        placed.setdefault(max(lvl, 0), []).append(term)
    if not plan:
        ctx.note("SCAN CONSTANT ROW")
    for s, p in plan:
        ctx.note(_describe(s, p))
    if group_by:
        ctx.note("USE TEMP B-TREE FOR GROUP BY")
    if core.distinct:
        ctx.note("USE TEMP B-TREE FOR DISTINCT")
    if order:
        ctx.note("USE TEMP B-TREE FOR ORDER BY")
    limit = stmt.limit if stmt is not None else None
    early = limit is not None and not order and not core.distinct and not grouped
    if limit is not None:
        lec = _SEC(ctx, _Scope(None, None, fn), ctes)  # LIMIT sees no columns
        B.append(f"_limit = _limit_value({lec.expr(limit)})")
        B.append(f"_offset = _limit_value({lec.expr(stmt.offset)})" if stmt.offset is not None
                 else "_offset = 0")
        B.append("if _offset < 0: _offset = 0")
        B.append("_stop = None if _limit < 0 else _offset + _limit")
    B.append("out = []")
    if grouped:
        B.append("_groups = {}")
    # loops
    ind = ""
    if not plan:
        if placed.get(0):
            B.append("if " + " and ".join(f"({ec.cond(t)})" for t in placed[0]) + ":")
        else:
            B.append("if True:")
        ind = "    "
    for lvl, (s, p) in enumerate(plan):
        lines, ind = _loop_lines(ctx, ec, s, p, ind)
        B.extend(lines)
        for term in placed.get(lvl, ()):
            B.append(f"{ind}if not ({ec.cond(term)}): continue")
    if not grouped:
        proj = ", ".join(ec.expr(rc.expr) for rc in cols)
        row_src = f"({proj}{',' if len(cols) == 1 else ''})"
        okeys = [ec.expr(o[0]) for o in order]
        if okeys:
            B.append(f"{ind}out.append(({row_src}, {', '.join(okeys)}))")
        else:
            B.append(f"{ind}out.append({row_src})")
        if early:
            B.append(f"{ind}if _stop is not None and len(out) >= _stop: "
                     f"return out[_offset:_stop]")
        elif first_only and not order and not core.distinct and limit is None:
            B.append(f"{ind}return out")
    else:
        _grouped(ctx, ec, scope, plan, cols, order, agg_calls, group_by, core.having,
                 aliases, B, ind)
    if core.distinct:
        keys = g.const([V.make_sort_key(ec.cobj(m.collation)) for m in meta])
        sel = "_row[0]" if order else "_row"
        B.append("_seen = set(); _out = []")
        B.append("for _row in out:")
        B.append(f"    _dk = tuple(f(v) for f, v in zip({keys}, {sel}))")
        B.append("    if _dk not in _seen:")
        B.append("        _seen.add(_dk); _out.append(_row)")
        B.append("out = _out")
    if order:
        okeys = g.const([V.make_sort_key(ec.cobj(o[3]), o[2]) for o in order])
        for i in range(len(order) - 1, -1, -1):
            rev = order[i][1]
            B.append(f"out.sort(key=lambda _x: {okeys}[{i}](_x[{i + 1}])"
                     f"{', reverse=True' if rev else ''})")
        B.append("out = [_x[0] for _x in out]")
    if limit is not None:
        B.append("out = out[_offset:_stop]")
    B.append("return out")
    return names, meta


def _grouped(ctx: _Ctx, ec: _SEC, scope: _Scope, plan: list, cols: list, order: list,
             agg_calls: list, group_by: list, having: A.Expr | None, aliases: dict,
             B: list, ind: str) -> None:
    g = ctx.gen
    makers = []
    agg_map: dict[int, str] = {}
    minmax = []
    uid = next(ctx.n)  # finalized values live in _A<uid>: nested queries keep their own
    for n, call in enumerate(agg_calls):
        argc = 0 if call.star else len(call.args)
        d = ctx.reg.aggregate(call.name, argc)
        coll = ec.cobj(ec.collation(call.args[0])[0]) if call.args else None
        makers.append((d, argc, coll, call.distinct))
        agg_map[id(call)] = f"_A{uid}[{n}]"
        if id(call) in ctx.outer_found:
            ctx.outer_aggs[id(call)] = (scope, f"_A{uid}[{n}]")
        if call.name.lower() in ("min", "max"):
            minmax.append(n)
    mk = g.const(makers)
    gkeys = g.const([V.make_sort_key(ec.cobj(ec.collation(x)[0])) for x in group_by])
    allvars = [v for s, _p in plan for v in s.vars()]
    nulls = [v for s, _p in plan for v in s.null_vals()]
    state = "(" + "".join(v + ", " for v in allvars) + ")"
    if group_by:
        gk = ", ".join(f"{gkeys}[{i}]({ec.expr(x)})" for i, x in enumerate(group_by))
        B.append(f"{ind}_gk = ({gk},)")
    else:
        B.append(f"{ind}_gk = ()")
    B.append(f"{ind}_st = _groups.get(_gk)")
    B.append(f"{ind}if _st is None: _st = _groups[_gk] = "
             f"[[d.make(a, c, dist) for d, a, c, dist in {mk}], None]")
    B.append(f"{ind}_aggs = _st[0]")
    single = len(minmax) == 1
    for n, call in enumerate(agg_calls):
        args = ", ".join(ec.expr(a) for a in call.args)
        # FILTER (WHERE c): the step runs only for rows where c is SQL-true
        cond = f"({ec.cond(call.filter)}) and " if call.filter is not None else ""
        if single and n == minmax[0]:
            B.append(f"{ind}if {cond}_aggs[{n}].step({args}): _st[1] = {state}")
        elif cond:
            B.append(f"{ind}if {cond[:-5]}: _aggs[{n}].step({args})")
        else:
            B.append(f"{ind}_aggs[{n}].step({args})")
    # bare columns read the group's first row (or the row that set a lone min/max)
    B.append(f"{ind}if _st[1] is None: _st[1] = {state}")
    if not group_by:
        B.append(f"if not _groups: _groups[()] = [[d.make(a, c, dist) for d, a, c, dist in "
                 f"{mk}], None]")
    B.append("for _gk in sorted(_groups):")
    B.append("    _aggs, _last = _groups[_gk]")
    if allvars:
        B.append(f"    {', '.join(allvars)}, = _last if _last is not None else "
                 f"{g.const(tuple(nulls))}")
    B.append(f"    _A{uid} = [a.finalize() for a in _aggs]")
    aec = _SEC(ctx, scope, ec.ctes, aliases=None, aggs=agg_map)
    if having is not None:
        B.append(f"    if not ({aec.cond(having)}): continue")
    proj = ", ".join(aec.expr(rc.expr) for rc in cols)
    row_src = f"({proj}{',' if len(cols) == 1 else ''})"
    okeys = [aec.expr(o[0]) for o in order]
    if okeys:
        B.append(f"    out.append(({row_src}, {', '.join(okeys)}))")
    else:
        B.append(f"    out.append({row_src})")


# -- entry points ---------------------------------------------------------------------------------

def _has_subquery(e: Any) -> bool:
    if isinstance(e, (A.Subquery, A.Exists, A.InSelect, A.InTable)):
        return True
    if hasattr(e, "__attrs_attrs__"):
        for a in e.__attrs_attrs__:
            v = getattr(e, a.name)
            if isinstance(v, tuple):
                for x in v:
                    if isinstance(x, A.Node) and _has_subquery(x):
                        return True
                    if isinstance(x, tuple) and any(isinstance(y, A.Node) and _has_subquery(y)
                                                    for y in x):
                        return True
            elif isinstance(v, A.Node) and _has_subquery(v):
                return True
    return False


def needs_general(stmt: A.Select, schema: Any) -> bool:
    """True when the single-table fast path cannot compile ``stmt``."""
    if stmt.compound or stmt.with_ is not None or isinstance(stmt.core, A.Values):
        return True
    core = stmt.core
    fr = core.from_
    if fr is not None:
        if fr.joins or not isinstance(fr.first, A.TableName):
            return True
        tn = fr.first
        if tn.args is None and schema.table(tn.name) is None and \
                tn.name.lower() in getattr(schema, "views", {}):
            return True
    return _has_subquery(core) or any(_has_subquery(t) for t in stmt.order_by) or \
        _has_subquery(stmt.limit) or _has_subquery(stmt.offset)


def _bind(ctx: _Ctx, fn: Callable) -> Callable:
    """Give the generated function its trees (looked up per run: roots may change);
    extra arguments (compile_row_exprs_general's rowid, r) pass through."""
    g = fn.__globals__
    trees = ctx.schema.trees if hasattr(ctx.schema, "trees") else None
    tables = list(ctx.tables)

    def run(txn: Any, p: Any, conn: Any, *row: Any) -> Any:
        if conn is None:
            conn = _NOCONN
        elif not hasattr(conn, "_interrupted"):
            conn._interrupted = False
        for k, t, ix in tables:
            g[f"tree{k}"] = trees.table(t)
            if ix is not None:
                g[f"itree{k}"] = trees.index(ix)
        return fn(txn, p, conn, *row)
    return run


def _table_scope(ctx: _Ctx, root: _Fn, t: Table, names: tuple[str, ...]
                 ) -> tuple[_Scope, _Source, int]:
    """A scope whose only source is table ``t`` (UPDATE/DELETE targets, row expressions)."""
    scope = _Scope(None, None, root)
    k = next(ctx.n)
    s = _Source(k, names[0] if names else t.name.lower(), "table",
                [_Col(c.name, c.affinity, c.collation) for c in t.columns], t)
    scope.sources.append(s)
    return scope, s, k


def compile_general(stmt: A.Select, sql: str, schema: Any) -> Compiled:
    """Compile any SELECT into a ``Compiled`` (fn(txn, p, conn) -> list of tuples)."""
    ctx = _Ctx(sql, schema)
    root = _Fn("plan", "txn, p, conn")
    ctx.root = root
    inner, names, _meta = _compile_query(ctx, stmt, None, None, {}, "_main", False)
    root.pre.extend(inner.lines())
    root.body.append("out = _main()")
    root.body.append("if conn._interrupted: _interrupt()")
    root.body.append("return out")
    src = "\n".join(root.lines()) + "\n"
    fn = ctx.gen.build(src)
    plan = "\n".join(d for _i, _p, d in ctx.eqp)
    c = Compiled(_bind(ctx, fn), src, names, plan, [tuple(x) for x in ctx.eqp])
    return c


def compile_scan_general(t: Table, names: tuple[str, ...], where: A.Expr | None,
                         exprs: list[A.Expr], schema: Any, indexed_by: str | None = None,
                         not_indexed: bool = False) -> Compiled:
    """``compile_where_scan`` for a WHERE/expressions with subqueries: [(rowid, r, vals)]."""
    ctx = _Ctx("", schema)
    root = _Fn("plan", "txn, p, conn")
    ctx.root = root
    scope, s, k = _table_scope(ctx, root, t, names)
    s.indexed_by = indexed_by
    s.not_indexed = not_indexed
    ec = _SEC(ctx, scope, {})
    terms = split_and(where)
    plan = _plan_order(ctx, scope, terms, {}, ec)
    B = root.body
    B.append("out = []")
    lines, ind = _loop_lines(ctx, ec, s, plan[0][1], "")
    B.extend(lines)
    for term in terms:
        B.append(f"{ind}if not ({ec.cond(term)}): continue")
    vals = ", ".join(ec.expr(e) for e in exprs)
    B.append(f"{ind}out.append((rid{k}, r{k}, ({vals}{',' if len(exprs) == 1 else ''})))")
    B.append("if conn._interrupted: _interrupt()")
    B.append("return out")
    src = "\n".join(root.lines()) + "\n"
    fn = ctx.gen.build(src)
    return Compiled(_bind(ctx, fn), src, [], _describe(s, plan[0][1]))


def compile_exprs_general(exprs: list[A.Expr], schema: Any) -> Compiled:
    """``compile_exprs`` when the expressions hold subqueries: fn(txn, p, conn) -> tuple."""
    ctx = _Ctx("", schema)
    root = _Fn("plan", "txn, p, conn")
    ctx.root = root
    ec = _SEC(ctx, _Scope(None, None, root), {})
    vals = ", ".join(ec.expr(e) for e in exprs)
    root.body.append(f"return ({vals}{',' if len(exprs) == 1 else ''})")
    src = "\n".join(root.lines()) + "\n"
    return Compiled(_bind(ctx, ctx.gen.build(src)), src, [], "VALUES")


def compile_row_exprs_general(t: Table, names: tuple[str, ...], exprs: list[A.Expr],
                              schema: Any) -> Compiled:
    """``compile_row_exprs`` with subqueries: fn(txn, p, conn, rowid, r) -> tuple."""
    ctx = _Ctx("", schema)
    root = _Fn("plan", "txn, p, conn, rowid, r")
    ctx.root = root
    scope, s, k = _table_scope(ctx, root, t, names)
    ec = _SEC(ctx, scope, {})
    ctx.gen.glob[f"pad{k}"] = _pad_fn(t, ctx.gen)
    root.body.append(f"rid{k} = rowid; r{k} = r if len(r) >= {len(t.columns)} else pad{k}(r)")
    vals = ", ".join(ec.expr(e) for e in exprs)
    root.body.append(f"return ({vals}{',' if len(exprs) == 1 else ''})")
    src = "\n".join(root.lines()) + "\n"
    return Compiled(_bind(ctx, ctx.gen.build(src)), src, [], "ROW")
