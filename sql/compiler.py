"""The plan compiler: one generated Python function per statement plan.

Single job: turn a bound single-table statement (SELECT, or the row-finding
part of UPDATE/DELETE, or the value rows of INSERT) plus its access path
(``sql.planner``) into Python source where scan, filter and projection are
fused into one loop over local variables (DESIGN decision 1), ``compile()``
it, and register the source in ``linecache`` under ``<mvlite-plan-N>`` so
tracebacks and debuggers show the generated code. Expression semantics
(affinity, comparison, NULL logic, operators) are ``sql.values``' functions,
bound as globals of the generated function; SQLite's rules for which
affinity and collation a comparison uses are decided here at compile time
(datatype3 sections 4.2 and 7.1).

Generated functions take ``(txn, p, conn)``: the MVCC transaction, the
bound parameter list (slot i at p[i-1]) and the connection (for changes(),
last_insert_rowid()). Table rows arrive as ``(rowid, record tuple)``; a
record shorter than the table (ALTER TABLE ADD COLUMN) is padded with the
column defaults.
"""
from __future__ import annotations

import ast as _pyast
import itertools
import linecache
import math
from typing import Any, Callable

import attrs

from sql import aggregates as AG
from sql import ast as A
from sql import functions as F
from sql import values as V
from sql.planner import Path, choose_path
from sql.registry import BUILTIN, registry_of
from sql.schema import ROWID_NAMES, Table
from storage.errors import IntegrityError, NotSupportedError, OperationalError

__all__ = ["compile_select", "compile_where_scan", "compile_exprs", "compile_row_exprs",
           "Compiled", "source_of"]

_plan_no = itertools.count(1)

_CMP = {"=": V.eq, "==": V.eq, "!=": V.ne, "<>": V.ne, "<": V.lt, "<=": V.le, ">": V.gt,
        ">=": V.ge, "IS": V.is_same, "IS NOT": V.is_distinct}
_ARITH = {"+": V.add, "-": V.sub, "*": V.mul, "/": V.div, "%": V.mod, "||": V.concat,
          "&": V.bit_and, "|": V.bit_or, "<<": V.shl, ">>": V.shr}
_BOOLISH = (A.IsNull, A.Between, A.Like, A.InList)
_MAX_INT = (1 << 63) - 1


def _real(v: Any) -> Any:
    return float(v) if type(v) is int else v


def _statement_time(kind: str) -> str:
    """CURRENT_DATE/TIME/TIMESTAMP from the statement's clock (shared with 'now')."""
    from sql.datetime import current_time
    return current_time(kind)


def _in_list(x: Any, items: tuple, conv: Any, coll: Any) -> Any:
    """SQLite's ``x IN (list)``: 1, 0, or NULL when no match and a NULL is involved."""
    if not items:
        return 0
    if x is None:
        return None
    if conv is not None:
        x = conv(x)
    null = False
    eq = V.eq
    for y in items:
        if y is None:
            null = True
            continue
        if conv is not None:
            y = conv(y)
        if eq(x, y, coll):
            return 1
    return None if null else 0


def _rowid_bound(v: Any, up: bool) -> int | None:
    """A safe rowid bound for a comparison with ``v`` (None = unbounded)."""
    v = V.apply_affinity(v, V.NUMERIC)
    if type(v) is int:
        return v
    if type(v) is float and abs(v) < 9.2e18:
        return math.ceil(v) if up else math.floor(v)
    return None


def _rowid_eq(v: Any) -> int | None:
    v = V.apply_affinity(v, V.NUMERIC)
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer() and abs(v) < 9.2e18:
        return int(v)
    return None


def _limit_value(v: Any) -> int:
    v = V.apply_affinity(v, V.NUMERIC)
    if type(v) is not int:
        raise IntegrityError("datatype mismatch")
    return v


def _interrupt() -> None:
    raise OperationalError("interrupted")


def _rowid_in(txn: Any, tree: Any, vals: tuple, reverse: bool) -> Any:
    """Rows whose rowid is one of ``vals`` (IN list), in rowid order."""
    ks = sorted({k for k in map(_rowid_eq, vals) if k is not None}, reverse=reverse)
    for k in ks:
        r = txn.get(tree, k)
        if r is not None:
            yield k, r


def _index_in(txn: Any, tree: Any, itree: Any, vals: tuple, conv: Any, key: Any,
              whole: bool) -> Any:
    """Rows whose first index column equals one of ``vals``: one index lookup per value."""
    seen_v: dict = {}
    for v in vals:
        if v is None:
            continue
        if conv is not None:
            v = conv(v)
        seen_v.setdefault(key(v), v)
    seen = set()
    for kv in sorted(seen_v):
        v = seen_v[kv]
        hi = (v, _MAX_INT) if whole else (v,)  # see _scan_lines on full-key bounds
        for k in txn.index_keys(itree, (v,), hi):
            rowid = k[-1]
            if rowid in seen:
                continue
            seen.add(rowid)
            r = txn.get(tree, rowid)
            if r is not None:
                yield rowid, r


class _NoConn:
    """The connection stand-in for plans run without one (never interrupted)."""

    _interrupted = False


_NOCONN = _NoConn()


def _ordinal(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _aggregate_error(name: str) -> OperationalError:
    return OperationalError(f"misuse of aggregate function {name}()")


class _Raw:
    """A ready-made expression source with its affinity and collation (row value parts)."""

    __slots__ = ("src", "affinity", "collation")

    def __init__(self, src: str, affinity: str | None, collation: str | None) -> None:
        self.src = src
        self.affinity = affinity
        self.collation = collation


class Compiled:
    """A compiled plan: the function, its source, result column names, EXPLAIN text.

    ``eqp`` holds the EXPLAIN QUERY PLAN rows ``(id, parent, detail)``.
    """

    __slots__ = ("fn", "source", "columns", "plan", "eqp")

    def __init__(self, fn: Callable, source: str, columns: list[str], plan: str,
                 eqp: list | None = None) -> None:
        self.fn = fn
        self.source = source
        self.columns = columns
        self.plan = plan
        self.eqp = eqp if eqp is not None else [(2, 0, plan)]


def source_of(c: Compiled) -> str:
    return c.source


class _Gen:
    """Source assembly: constants become globals k0, k1, ...; unique temporaries."""

    def __init__(self) -> None:
        self.glob: dict[str, Any] = {
            "_V": V, "_truth": V.truth, "_and": V.sql_and, "_or": V.sql_or, "_not": V.sql_not,
            "_real": _real, "_in_list": _in_list, "_rowid_bound": _rowid_bound,
            "_rowid_eq": _rowid_eq, "_limit_value": _limit_value, "_ct": _statement_time,
            "_IntegrityError": IntegrityError, "_interrupt": _interrupt,
            "_rowid_in": _rowid_in, "_index_in": _index_in,
        }
        self._ids: dict[int, str] = {}
        self._n = itertools.count()

    def const(self, value: Any) -> str:
        if value is None or type(value) in (int, bool):
            return repr(value)
        key = id(value)
        name = self._ids.get(key)
        if name is None:
            name = f"k{next(self._n)}"
            self._ids[key] = name
            self.glob[name] = value
        return name

    def tmp(self) -> str:
        return f"_t{next(self._n)}"

    def build(self, src: str, fname: str = "plan") -> Callable:
        filename = f"<mvlite-plan-{next(_plan_no)}>"
        try:
            code = compile(src, filename, "exec")
        except (SyntaxError, RecursionError, MemoryError):  # Python's nesting limits
            raise OperationalError("Expression tree is too large (maximum depth 1000)") from None
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        ns = dict(self.glob)
        exec(code, ns)  # noqa: S102 - our own generated source
        return ns[fname]


def _is_aggregate_call(e: A.Expr, reg: Any = None) -> bool:
    if not isinstance(e, A.FunctionCall) or e.over is not None:
        return False
    name = e.name.lower()
    if reg is not None and reg.functions.get(name):
        try:  # a user definition may hide a built-in (or make a new aggregate)
            return reg.aggregate(e.name, 0 if e.star else len(e.args)) is not None
        except OperationalError:
            return name in AG.AGGREGATES
    if name not in AG.AGGREGATES:
        return False
    if name in ("min", "max") and len(e.args) != 1:
        return False
    return True


class ExprCompiler:
    """Expressions to Python expression source over a row scope."""

    def __init__(self, gen: _Gen, table: Table | None, names: tuple[str, ...],
                 aggs: dict | None = None, aliases: dict | None = None,
                 registry: Any = None) -> None:
        self.gen = gen
        #: functions/aggregates/collations (sql.registry): the connection's own first
        self.registry = registry or BUILTIN
        self.table = table
        self.names = names
        #: aggregate FunctionCall node id -> python source of its finalized value
        self.aggs = aggs
        self.aliases = aliases or {}
        self._expanding: set[str] = set()

    # -- names -----------------------------------------------------------------

    def column(self, e: A.ColumnRef) -> tuple[int, Any] | None:
        """(column number, Column) or (-1, None) for the rowid; None if not found."""
        t = self.table
        if t is None:
            return None
        if e.schema is not None and e.schema.lower() not in ("main",):
            return None
        if e.table is not None and e.table.lower() not in self.names:
            return None
        col = t.column(e.name)
        if col is not None:
            return (-1, col) if col.index == t.rowid_alias else (col.index, col)
        if e.name.lower() in ROWID_NAMES:
            return -1, None
        return None

    def col_source(self, i: int, col: Any) -> str:
        if i == -1:
            return "rowid"
        if col is not None and col.affinity == V.REAL:
            return f"_real(r[{i}])"
        return f"r[{i}]"

    # -- static properties -------------------------------------------------------

    def affinity(self, e: A.Expr) -> str | None:
        if type(e) is _Raw:
            return e.affinity
        if isinstance(e, A.ColumnRef):
            c = self.column(e)
            if c is None:
                return None
            return V.INTEGER if c[0] == -1 else c[1].affinity
        if isinstance(e, A.Cast):  # CAST(x AS) is NUMERIC (sqlite3AffinityType(""))
            return V.affinity_of(e.type_name or "NUMERIC")
        if isinstance(e, A.Collate):
            return self.affinity(e.expr)
        return None

    def collation(self, e: A.Expr) -> tuple[str | None, bool]:
        """(collation name or None, explicit?) as sqlite3ExprCollSeq finds it."""
        if type(e) is _Raw:
            return e.collation, False
        if isinstance(e, A.Collate):
            return e.collation.upper(), True
        if isinstance(e, A.ColumnRef):
            c = self.column(e)
            if c is not None and c[1] is not None and c[0] != -1:
                # a column always has a collation (BINARY by default): a left column wins
                return c[1].collation or "BINARY", False
            return None, False
        if isinstance(e, A.Binary) and e.op not in _CMP and e.op not in ("AND", "OR"):
            for side in (e.left, e.right):
                c = self.collation(side)
                if c[1]:
                    return c
        if isinstance(e, (A.Unary,)) and e.op != "NOT":
            c = self.collation(e.operand)
            if c[1]:
                return c
        return None, False

    def cobj(self, name: str | None) -> Any:
        """The run-time collation for ``name`` (None = BINARY), user collations included."""
        if name is None or name.upper() == "BINARY":
            return None
        return self.registry.collation(name)

    def pair_collation(self, a: A.Expr, b: A.Expr) -> str | None:
        ca, cb = self.collation(a), self.collation(b)
        if ca[1]:
            return ca[0]
        if cb[1]:
            return cb[0]
        return ca[0] if ca[0] is not None else cb[0]

    # -- code --------------------------------------------------------------------

    def cond(self, e: A.Expr) -> str:
        """Source that is truthy exactly when ``e`` is SQL-true."""
        src = self.expr(e)
        if (isinstance(e, A.Binary) and (e.op in _CMP or e.op in ("AND", "OR"))) or \
                isinstance(e, _BOOLISH) or (isinstance(e, A.Unary) and e.op == "NOT"):
            return src
        return f"_truth({src})"

    def row_items(self, e: Any) -> list | None:
        """The elements of a row value (a vector), or None for a scalar."""
        if isinstance(e, A.Vector):
            return list(e.items)
        return None

    def _row_compare(self, op: str, a: Any, b: Any) -> str:
        """Row value comparison (lang_expr "Row Values"): element by element, left to right."""
        xa, xb = self.row_items(a), self.row_items(b)
        if xa is None or xb is None or len(xa) != len(xb):
            raise OperationalError("row value misused")
        if op in ("=", "=="):
            out = self.compare("=", xa[-1], xb[-1])
            for x, y in zip(reversed(xa[:-1]), reversed(xb[:-1])):
                out = f"_and({self.compare('=', x, y)}, {out})"
            return out
        if op in ("!=", "<>"):
            out = self.compare("<>", xa[-1], xb[-1])
            for x, y in zip(reversed(xa[:-1]), reversed(xb[:-1])):
                out = f"_or({self.compare('<>', x, y)}, {out})"
            return out
        if op in ("IS", "IS NOT"):
            out = self.compare("IS", xa[-1], xb[-1])
            for x, y in zip(reversed(xa[:-1]), reversed(xb[:-1])):
                out = f"_and({self.compare('IS', x, y)}, {out})"
            return out if op == "IS" else f"_not({out})"
        strict = "<" if op in ("<", "<=") else ">"
        out = self.compare(op, xa[-1], xb[-1])
        for x, y in zip(reversed(xa[:-1]), reversed(xb[:-1])):
            out = f"_or({self.compare(strict, x, y)}, _and({self.compare('=', x, y)}, {out}))"
        return out

    def compare(self, op: str, a: A.Expr, b: A.Expr) -> str:
        if self.row_items(a) is not None or self.row_items(b) is not None:
            return self._row_compare(op, a, b)
        la, lb = V.comparison_affinity(self.affinity(a), self.affinity(b))
        sa, sb = self.expr(a), self.expr(b)
        ca, cb = V.comparison_converter(la), V.comparison_converter(lb)
        if ca is not None:
            sa = f"{self.gen.const(ca)}({sa})"
        if cb is not None:
            sb = f"{self.gen.const(cb)}({sb})"
        coll = self.pair_collation(a, b)
        fn = self.gen.const(_CMP[op])
        if coll is None or coll == "BINARY":
            return f"{fn}({sa}, {sb})"
        return f"{fn}({sa}, {sb}, {self.gen.const(self.cobj(coll))})"

    def expr(self, e: A.Expr) -> str:
        g = self.gen
        if self.aggs is not None and id(e) in self.aggs:
            return self.aggs[id(e)]
        t = type(e)
        if t is A.Literal:
            v = e.value
            if e.kind == "bool":
                return "1" if v else "0"
            if type(v) is int and not -(1 << 63) <= v <= _MAX_INT:
                v = float(v)
            return g.const(v)
        if t is A.Param:
            return f"p[{e.index - 1}]"
        if t is A.ColumnRef:
            c = self.column(e)
            if c is None:
                key = e.name.lower()
                if self.aggs is None and e.table is None and key in self.aliases and \
                        key not in self._expanding:
                    self._expanding.add(key)  # "SELECT k + 1 AS k ... WHERE k": no loop
                    try:
                        return self.expr(self.aliases[key])
                    finally:
                        self._expanding.discard(key)
                if e.double_quoted and e.table is None:
                    return g.const(e.name)
                if e.table is None and e.name.lower() in ("true", "false"):
                    return "1" if e.name.lower() == "true" else "0"
                full = f"{e.table}.{e.name}" if e.table else e.name
                raise OperationalError(f"no such column: {full}")
            return self.col_source(*c)
        if t is A.Binary:
            op = e.op
            if op in _CMP:
                return self.compare(op, e.left, e.right)
            if op == "AND":
                return f"_and({self.expr(e.left)}, {self.expr(e.right)})"
            if op == "OR":
                return f"_or({self.expr(e.left)}, {self.expr(e.right)})"
            fn = _ARITH.get(op)
            if fn is None:
                raise NotSupportedError(f"operator {op} is not supported yet")
            return f"{g.const(fn)}({self.expr(e.left)}, {self.expr(e.right)})"
        if t is A.Unary:
            if e.op == "-":
                if isinstance(e.operand, A.Literal) and e.operand.kind in ("integer", "float"):
                    v = -e.operand.value
                    if type(v) is int and not -(1 << 63) <= v <= _MAX_INT:
                        v = float(v)
                    return g.const(v)
                return f"{g.const(V.neg)}({self.expr(e.operand)})"
            if e.op == "+":
                return self.expr(e.operand)
            if e.op == "~":
                return f"{g.const(V.bit_not)}({self.expr(e.operand)})"
            if e.op == "NOT":
                return f"_not({self.expr(e.operand)})"
            raise NotSupportedError(f"operator {e.op}")
        if t is A.Collate:
            self.registry.collation(e.collation)  # "no such collation sequence" now
            return self.expr(e.expr)
        if t is A.Cast:
            return f"{g.const(V.cast_function(e.type_name or 'NUMERIC'))}({self.expr(e.expr)})"
        if t is A.IsNull:
            code = self.expr(e.expr)
            try:  # a constant operand: fold it ("5 is None" is a SyntaxWarning)
                is_null = _pyast.literal_eval(code) is None
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return f"(0 if {code} is None else 1)" if e.negated else \
                    f"(1 if {code} is None else 0)"
            return "0" if is_null == bool(e.negated) else "1"
        if t is A.Between:
            lo = self.compare(">=", e.expr, e.low)
            hi = self.compare("<=", e.expr, e.high)
            src = f"_and({lo}, {hi})"
            return f"_not({src})" if e.negated else src
        if t is A.Like:
            if e.op not in ("LIKE", "GLOB"):
                raise NotSupportedError(f"{e.op} is not supported yet")
            args = [self.expr(e.pattern), self.expr(e.expr)]
            if e.escape is not None:
                if e.op == "GLOB":
                    raise NotSupportedError("GLOB ... ESCAPE")
                args.append(self.expr(e.escape))
            # a connection's own like()/glob() also drives the operator (lang_expr "LIKE")
            fn = self.registry.function("like" if e.op == "LIKE" else "glob", len(args)).fn
            src = f"{g.const(fn)}({', '.join(args)})"
            return f"_not({src})" if e.negated else src
        if t is A.InList:
            if self.row_items(e.expr) is not None or \
                    any(isinstance(i, A.Vector) for i in e.items):
                if not e.items:
                    return "1" if e.negated else "0"
                lhs = self.row_items(e.expr)
                if lhs is not None:
                    for item in e.items:
                        n = len(item.items) if isinstance(item, A.Vector) else 1
                        if n != len(lhs):
                            raise OperationalError(
                                f"IN(...) element has {n} term{'' if n == 1 else 's'} - "
                                f"expected {len(lhs)}")
                src = self.compare("=", e.expr, e.items[-1])
                for item in reversed(e.items[:-1]):
                    src = f"_or({self.compare('=', e.expr, item)}, {src})"
                return f"_not({src})" if e.negated else src
            aff = self.affinity(e.expr)
            la, _ = V.comparison_affinity(aff, None)
            conv = V.comparison_converter(la) if aff is not None else None
            coll = self.collation(e.expr)[0]
            items = ", ".join(self.expr(i) for i in e.items)
            src = (f"_in_list({self.expr(e.expr)}, ({items}{',' if e.items else ''}), "
                   f"{g.const(conv)}, {g.const(self.cobj(coll))})")
            return f"_not({src})" if e.negated else src
        if t is A.Case:
            return self._case(e)
        if t is A.FunctionCall:
            return self._call(e)
        if t is A.CurrentTime:
            return f"_ct({e.kind!r})"
        if t in (A.Subquery, A.Exists, A.InSelect, A.InTable):
            raise NotSupportedError("subqueries are not supported yet")
        if t is A.Vector:
            raise OperationalError("row value misused")
        if t is _Raw:
            return e.src
        raise NotSupportedError(f"{t.__name__} expressions are not supported yet")

    def _case(self, e: A.Case) -> str:
        out = self.expr(e.else_) if e.else_ is not None else "None"
        if e.operand is not None:
            parts = [self.compare("=", e.operand, wt.when) for wt in e.whens]
            # one flat chain "a if c1 else b if c2 else d": no nesting depth per WHEN
            chain = " ".join(f"({self.expr(wt.then)}) if {cmp} else"
                             for wt, cmp in zip(e.whens, parts))
            return f"({chain} {out})"
        chain = " ".join(f"({self.expr(wt.then)}) if {self.cond(wt.when)} else"
                         for wt in e.whens)
        return f"({chain} {out})"

    def _call(self, e: A.FunctionCall) -> str:
        name = e.name.lower()
        if e.over is not None:
            raise NotSupportedError("window functions are not supported yet")
        if e.filter is not None and not _is_aggregate_call(e, self.registry):
            # an unknown function or a wrong argument count is reported first
            self.registry.function(e.name, 0 if e.star else len(e.args))
            raise OperationalError(f"FILTER may not be used with non-aggregate {e.name}()")
        reg = self.registry
        if _is_aggregate_call(e, reg) and not (name in F.SCALAR and F.SCALAR[name].accepts(len(e.args))
                                               and name not in ("min", "max")):
            raise _aggregate_error(e.name)
        # f(*) on a scalar function is f() (SQLite parses both to an empty argument list)
        d = reg.function(e.name, len(e.args))
        if e.distinct:
            raise OperationalError("DISTINCT aggregates must have exactly one argument")
        g = self.gen
        if d.inline:
            if name in ("likely", "unlikely", "likelihood"):
                if name == "likelihood":
                    a = e.args[1]
                    if isinstance(a, A.Unary) and a.op == "-" and isinstance(a.operand, A.Literal):
                        v = a.operand.value
                        F.check_likelihood(-v if type(v) in (int, float) else v,
                                           a.operand.kind == "float")
                    else:
                        F.check_likelihood(a.value if isinstance(a, A.Literal) else None,
                                           isinstance(a, A.Literal) and a.kind == "float")
                return self.expr(e.args[0])
            if name == "iif":
                c, a, b = e.args
                return f"({self.expr(a)} if {self.cond(c)} else {self.expr(b)})"
            # coalesce / ifnull: first non-NULL, evaluated lazily
            args = list(e.args)
            out = self.expr(args[-1])
            for a in reversed(args[:-1]):
                tmp = g.tmp()
                out = f"({tmp} if ({tmp} := {self.expr(a)}) is not None else {out})"
            return out
        args = [self.expr(a) for a in e.args]
        if d.needs_connection:
            args.insert(0, "conn")
        if d.needs_collation:
            coll = None
            for a in e.args:
                c = self.collation(a)
                if c[0] is not None:
                    coll = c[0]
                    break
            args.append(f"collation={g.const(self.cobj(coll))}")
        return f"{g.const(d.fn)}({', '.join(args)})"


def _contains_aggregate(e: Any, reg: Any = None) -> bool:
    if isinstance(e, A.FunctionCall) and _is_aggregate_call(e, reg):
        return True
    if isinstance(e, (A.Subquery, A.Exists, A.InSelect)):
        return False
    if hasattr(e, "__attrs_attrs__"):
        for a in e.__attrs_attrs__:
            v = getattr(e, a.name)
            if isinstance(v, tuple):
                if any(_contains_aggregate(x, reg) for x in v):
                    return True
            elif isinstance(v, A.Node) and _contains_aggregate(v, reg):
                return True
    return False


def _has_subq(e: Any) -> bool:
    from sql import select as _S
    return _S._has_subquery(e)


def _collect_aggregates(e: Any, out: list, reg: Any = None) -> None:
    if isinstance(e, A.FunctionCall) and _is_aggregate_call(e, reg):
        for a in e.args + ((e.filter,) if e.filter is not None else ()):
            if _contains_aggregate(a, reg):
                raise OperationalError(f"misuse of aggregate function {_first_agg_name(a)}()")
        out.append(e)
        return
    if hasattr(e, "__attrs_attrs__"):
        for a in e.__attrs_attrs__:
            v = getattr(e, a.name)
            if isinstance(v, tuple):
                for x in v:
                    _collect_aggregates(x, out, reg)
            elif isinstance(v, A.Node):
                _collect_aggregates(v, out, reg)


# -- result column names -------------------------------------------------------

_STOP = {"FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "WINDOW", "UNION", "EXCEPT",
         "INTERSECT", "SEMI", "EOF", "AS"}


def _expr_text(sql: str, pos: int) -> str:
    """The source text of a result expression starting at ``pos`` (SQLite's column name)."""
    from sql.tokenizer import tokenize
    depth = 0
    end = pos
    for tok in tokenize(sql, pos):
        ty = tok.type
        if ty == "LP":
            depth += 1
        elif ty == "RP":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (ty == "COMMA" or ty in _STOP):
            break
        elif depth == 0 and tok.pos > end and ty in ("ID", "STRING") and _ends_expr(sql, pos, tok):
            break
        end = tok.pos + len(tok.text)
    return sql[pos:end]


def _ends_expr(sql: str, pos: int, tok: Any) -> bool:
    """An identifier right after a complete expression is an alias (``SELECT a b``)."""
    from sql.parser import parse_one
    try:
        parse_one("SELECT " + sql[pos:tok.pos])
        return True
    except Exception:
        return False


def column_name(sql: str, rc: A.ResultColumn, t: Table | None = None) -> str:
    """SQLite's name for a result column: alias, column name, else the expression text.

    ``rowid`` of a table with an INTEGER PRIMARY KEY is named after that column.
    """
    if rc.alias is not None:
        return rc.alias
    e = rc.expr
    if isinstance(e, A.ColumnRef):
        if t is not None and t.rowid_alias is not None and e.name.lower() in ROWID_NAMES \
                and t.column(e.name) is None:
            return t.columns[t.rowid_alias].name
        return e.name
    return _expr_text(sql, e.pos)


# -- SELECT ----------------------------------------------------------------------

def _expand_star(cols: tuple, t: Table | None, names: tuple[str, ...]) -> list[A.ResultColumn]:
    out: list[A.ResultColumn] = []
    for rc in cols:
        if isinstance(rc, A.Star):
            if t is None:
                raise OperationalError("no tables specified")
            if rc.table is not None and rc.table.lower() not in names:
                raise OperationalError(f"no such table: {rc.table}")
            for c in t.columns:
                out.append(A.ResultColumn(A.ColumnRef(name=c.name, table=names[0]), alias=c.name))
        else:
            out.append(rc)
    return out


def _covers(ec: ExprCompiler, t: Table, path: Path, nodes: list) -> bool:
    """True when an index path holds every column the statement reads (no table lookups)."""
    if path.kind != "index" or path.index.partial:
        return False
    have = set(path.index.columns)
    ok = True

    def walk(x: Any) -> None:
        nonlocal ok
        if not ok:
            return
        if isinstance(x, A.ColumnRef):
            c = ec.column(x)
            if c is not None and c[0] != -1 and c[0] not in have:
                ok = False
            return
        if isinstance(x, (A.Subquery, A.Exists, A.InSelect, A.InTable)):
            ok = False
            return
        if hasattr(x, "__attrs_attrs__"):
            for a in x.__attrs_attrs__:
                v = getattr(x, a.name)
                if isinstance(v, tuple):
                    for y in v:
                        if isinstance(y, A.Node):
                            walk(y)
                        elif isinstance(y, tuple):
                            for z in y:
                                if isinstance(z, A.Node):
                                    walk(z)
                elif isinstance(v, A.Node):
                    walk(v)
    for n in nodes:
        if n is not None:
            walk(n)
    return ok


def _order_from_path(ec: ExprCompiler, t: Table, path: Path, order: list) -> str | None:
    """'asc'/'desc' when ``path`` already yields rows in ORDER BY order, else None."""
    if any(o[2] for o in order):  # NULLS LAST/FIRST against the natural order
        return None
    first = order[0][0]
    if len(order) == 1 and isinstance(first, A.ColumnRef) and path.kind != "index":
        c = ec.column(first)
        if c is not None and c[0] == -1:
            return "desc" if order[0][1] else "asc"
        return None
    if path.kind != "index":
        return None
    ix = path.index
    rest = list(range(len(path.eq), len(ix.columns)))
    if len(order) > len(rest):
        return None
    for (e, desc, _nl, coll), k in zip(order, rest):
        if desc or ix.desc[k] or not isinstance(e, A.ColumnRef):
            return None
        c = ec.column(e)
        if c is None or c[0] != ix.columns[k]:
            return None
        if (coll or "BINARY").upper() != (ix.collations[k] or "BINARY").upper():
            return None
    return "asc"


def _scan_lines(gen: _Gen, ec: ExprCompiler, t: Table, path: Path, ind: str,
                covering: bool = False, reverse: bool = False) -> list[str]:
    """The loop header(s) that bind ``rowid`` and ``r`` for each candidate row.

    A covering index path builds ``r`` from the index key alone (the other
    columns are None: the statement never reads them).
    """
    lines = [f"{ind}T = {gen.const(None) if t is None else 'tree'}"]
    n = len(t.columns)
    pad = ""
    if any(c.default is not None for c in t.columns) or True:
        pad = f"if len(r) < {n}: r = pad(r)"
    if path.kind in ("rowid_in", "index_in"):
        e = path.eq[0].value
        vals = "(" + "".join(ec.expr(i) + ", " for i in e.items) + ")"
        if path.kind == "rowid_in":
            lines = [f"{ind}for rowid, r in _rowid_in(txn, tree, {vals}, {reverse}):"]
        else:
            ix = path.index
            la, _ = V.comparison_affinity(t.columns[ix.columns[0]].affinity, None)
            conv = V.comparison_converter(la)
            key = V.make_sort_key(ec.cobj(ix.collations[0]))
            gen.glob["itree"] = None
            lines = [f"{ind}for rowid, r in _index_in(txn, tree, itree, {vals}, "
                     f"{gen.const(conv)}, {gen.const(key)}, {len(ix.columns) == 1}):"]
    elif path.kind == "rowid_eq":
        v = ec.expr(path.eq[0].value)
        lines = [f"{ind}_k = _rowid_eq({v})",
                 f"{ind}_r = txn.get(tree, _k) if _k is not None else None",
                 f"{ind}for rowid, r in (((_k, _r),) if _r is not None else ()):"]
    elif path.kind == "rowid_range":
        lo = f"_rowid_bound({ec.expr(path.lo.value)}, True)" if path.lo else "None"
        hi = f"_rowid_bound({ec.expr(path.hi.value)}, False)" if path.hi else "None"
        lines = [f"{ind}for rowid, r in txn.rows(tree, {lo}, {hi}{', True' if reverse else ''}):"]
    elif path.kind == "index":
        ix = path.index
        keys = []
        for term, col in zip(path.eq, ix.columns):
            keys.append(_key_value(gen, ec, t, term))
        lo = hi = None
        if keys:
            lo = hi = "(" + "".join(k + ", " for k in keys) + ")"
        if path.lo is not None:
            lo = "(" + "".join(k + ", " for k in keys + [_key_value(gen, ec, t, path.lo)]) + ")"
        if path.hi is not None:
            hi = "(" + "".join(k + ", " for k in keys + [_key_value(gen, ec, t, path.hi)]) + ")"
        if hi is not None and len(keys) + (path.hi is not None) == len(ix.columns):
            # a full-key upper bound: add the largest rowid so that keys equal to the
            # bound are inside it even where prefix bounds are not honoured (the
            # version index of uncommitted keys)
            hi = hi[:-1] + f"{_MAX_INT})"
        if covering:
            pos = {c: j for j, c in enumerate(ix.columns)}
            parts = [f"_key[{pos[i]}]" if i in pos else "None" for i in range(len(t.columns))]
            gen.glob["itree"] = None
            return [f"{ind}for _key in txn.index_keys(itree, {lo}, {hi}):",
                    f"{ind}    if conn._interrupted: _interrupt()",
                    f"{ind}    rowid = _key[-1]",
                    f"{ind}    r = ({', '.join(parts)},)"]
        lines = [f"{ind}_seen = set()",
                 f"{ind}for _key in txn.index_keys(itree, {lo}, {hi}):",
                 f"{ind}    rowid = _key[-1]",
                 f"{ind}    if rowid in _seen: continue",
                 f"{ind}    _seen.add(rowid)",
                 f"{ind}    r = txn.get(tree, rowid)",
                 f"{ind}    if r is None: continue",
                 f"{ind}    if True:"]
        gen.glob["itree"] = None  # bound at run time (see _bind)
        ind2 = ind + "        "
        return lines + [f"{ind2}if conn._interrupted: _interrupt()", f"{ind2}{pad}"]
    else:
        lines = [f"{ind}for rowid, r in txn.rows(tree{', None, None, True' if reverse else ''}):"]
    return lines + [f"{ind}    if conn._interrupted: _interrupt()", f"{ind}    {pad}"]


def _key_value(gen: _Gen, ec: ExprCompiler, t: Table, term: Any) -> str:
    col = t.columns[term.column]
    la, _ = V.comparison_affinity(col.affinity, ec.affinity(term.value))
    conv = V.comparison_converter(la)
    src = ec.expr(term.value)
    return f"{gen.const(conv)}({src})" if conv is not None else src


def _pad_fn(t: Table, gen: _Gen) -> Callable:
    defaults = []
    for c in t.columns:
        v = None
        if c.default is not None:
            try:
                v = V.apply_affinity(const_value(c.default), c.affinity)
            except Exception:
                v = None
        defaults.append(v)
    n = len(defaults)

    def pad(r: tuple) -> tuple:
        return tuple(r) + tuple(defaults[len(r):n])
    return pad


def const_value(e: A.Expr) -> Any:
    """Evaluate a constant expression (DEFAULT values, LIMIT) with no row in scope."""
    gen = _Gen()
    ec = ExprCompiler(gen, None, ())
    src = f"def plan(txn, p, conn):\n    return {ec.expr(e)}\n"
    return gen.build(src)(None, [], None)


def compile_select(stmt: A.Select, sql: str, schema: Any) -> Compiled:
    """Compile a SELECT into a ``Compiled``.

    Single-table SELECTs without subqueries take the lean fast path below;
    everything else (joins, subqueries, compounds, CTEs, views, VALUES) goes
    to ``sql.select``.
    """
    from sql import select as _S
    if _S.needs_general(stmt, schema):
        return _S.compile_general(stmt, sql, schema)
    core = stmt.core
    if isinstance(core, A.Values):
        raise NotSupportedError("VALUES as a SELECT is not supported yet")
    if core.windows:
        raise NotSupportedError("window functions are not supported yet")
    gen = _Gen()
    t = None
    names: tuple[str, ...] = ()
    path = Path("scan", 100)
    if core.from_ is not None:
        fr = core.from_
        if fr.joins or not isinstance(fr.first, A.TableName):
            raise NotSupportedError("joins and subqueries in FROM are not supported yet")
        tn = fr.first
        if tn.args is not None:
            raise NotSupportedError("table-valued functions are not supported yet")
        # only "main" exists (no TEMP, no ATTACH): sqlite3 names the schema in the error
        qual = f"{tn.schema}.{tn.name}" if tn.schema is not None else tn.name
        t = schema.table(tn.name) if tn.schema is None or tn.schema.lower() == "main" else None
        if t is None:
            raise OperationalError(f"no such table: {qual}")
        _check_table(t)
        names = tuple(x.lower() for x in ((tn.alias,) if tn.alias else (tn.name,)))
        if tn.alias:
            names = names + ()
        path = choose_path(t, core.where, names, tn.indexed_by, tn.not_indexed, allow_in=True)
        if tn.indexed_by is not None and (path.kind != "index" or
                                          path.index.name.lower() != tn.indexed_by.lower()):
            if schema.index(tn.indexed_by) is None:
                raise OperationalError(f"no such index: {tn.indexed_by}")
            raise OperationalError("no query solution")
    cols = _expand_star(core.columns, t, names)
    if len(cols) > 2000:  # SQLITE_MAX_COLUMN
        raise OperationalError("too many columns in result set")
    covering = t is not None and _covers(
        ExprCompiler(gen, t, names), t, path,
        [rc.expr for rc in cols] + [core.where, core.having] + list(core.group_by) +
        [o.expr for o in stmt.order_by])
    if t is not None and path.kind == "scan" and not tn.not_indexed and \
            tn.indexed_by is None and t.indexes:
        # a full scan that an index covers reads the (smaller) index instead, the
        # narrowest one, as SQLite does (so rows also come in that index's order)
        need = [rc.expr for rc in cols] + [core.where, core.having] + \
            list(core.group_by) + [o.expr for o in stmt.order_by]
        best = None
        width = len(t.columns) - (t.rowid_alias is not None)
        for ix in t.indexes:
            # only an index narrower than the table is cheaper to scan (SQLite
            # compares estimated row sizes; a column count is our estimate)
            if ix.supported and not ix.partial and len(ix.columns) < width and \
                    (best is None or len(ix.columns) < len(best.columns)):
                p2 = Path("index", 60, index=ix)
                if _covers(ExprCompiler(gen, t, names), t, p2, need):
                    best = ix
        if best is not None:
            path, covering = Path("index", 60, index=best), True
    colnames = [column_name(sql, rc, t) for rc in cols]
    aliases = {rc.alias.lower(): rc.expr for rc in cols if rc.alias}
    reg = registry_of(schema)
    ec = ExprCompiler(gen, t, names, aliases=aliases, registry=reg)
    # aggregates
    agg_calls: list[A.FunctionCall] = []
    for rc in cols:
        _collect_aggregates(rc.expr, agg_calls, reg)
    if core.having is not None:
        _collect_aggregates(core.having, agg_calls, reg)
    for term in stmt.order_by:
        _collect_aggregates(term.expr, agg_calls, reg)
    if core.where is not None and _contains_aggregate(core.where, reg):
        raise OperationalError(("misuse of aggregate: " if agg_calls or core.group_by else
                                "misuse of aggregate function ") +
                               _first_agg_name(core.where) + "()")
    resolved = []
    for gexpr in core.group_by:
        if isinstance(gexpr, A.Literal) and gexpr.kind == "integer":
            if not 1 <= gexpr.value <= len(cols):
                raise OperationalError(f"{_ordinal(len(resolved) + 1)} GROUP BY term out of "
                                       f"range - should be between 1 and {len(cols)}")
            gexpr = cols[gexpr.value - 1].expr
        elif isinstance(gexpr, A.ColumnRef) and gexpr.table is None and \
                gexpr.name.lower() in aliases and ec.column(gexpr) is None:
            gexpr = aliases[gexpr.name.lower()]
        if _contains_aggregate(gexpr, reg):
            raise OperationalError("aggregate functions are not allowed in the GROUP BY clause")
        resolved.append(gexpr)
    if core.group_by:
        core = attrs.evolve(core, group_by=tuple(resolved))
    grouped = bool(agg_calls) or bool(core.group_by)
    if core.having is not None and not grouped:
        raise OperationalError("a GROUP BY clause is required before HAVING")
    L: list[str] = ["def plan(txn, p, conn):", "    out = []"]
    if t is not None:
        gen.glob["pad"] = _pad_fn(t, gen)
    # ORDER BY terms -> expressions (ordinal or alias resolve to result columns)
    order: list[tuple[A.Expr, bool, bool, str | None]] = []
    for term in stmt.order_by:
        e = term.expr
        coll_e = e
        if isinstance(e, A.Literal) and e.kind == "integer":
            k = e.value
            if not 1 <= k <= len(cols):
                raise OperationalError(
                    f"{_ordinal(len(order) + 1)} ORDER BY term out of range - should be "
                    f"between 1 and {len(cols)}")
            e = cols[k - 1].expr
            coll_e = e
        elif isinstance(e, A.ColumnRef) and e.table is None and e.name.lower() in aliases:
            # an ORDER BY identifier names a result alias before a table column
            e = aliases[e.name.lower()]
            coll_e = e
        desc = (term.direction or "").upper() == "DESC"
        nulls = (term.nulls or "").upper()
        nulls_last = (nulls == "LAST" and not desc) or (nulls == "FIRST" and desc)
        order.append((e, desc, nulls_last, ec.collation(coll_e)[0]))
    ncols = len(cols)
    # LIMIT / OFFSET
    if stmt.limit is not None:
        lec = ExprCompiler(gen, None, (), registry=reg)  # LIMIT sees no columns, no aliases
        L.append(f"    _limit = _limit_value({lec.expr(stmt.limit)})")
        L.append(f"    _offset = _limit_value({lec.expr(stmt.offset)})" if stmt.offset is not None
                 else "    _offset = 0")
        L.append("    if _offset < 0: _offset = 0")
        L.append("    _stop = None if _limit < 0 else _offset + _limit")
    reverse = False
    if order and t is not None and not grouped:
        how = _order_from_path(ec, t, path, order)
        if how is None and path.kind == "scan" and not tn.not_indexed:
            # ORDER BY the leading column(s) of an index that covers the statement:
            # read the index in order instead of scanning and sorting
            for ix in t.indexes:
                p2 = Path("index", 60, index=ix)
                if ix.supported and not ix.partial and \
                        _order_from_path(ec, t, p2, order) == "asc" and _covers(
                            ec, t, p2, [rc.expr for rc in cols] + [core.where] +
                            [o.expr for o in stmt.order_by]):
                    path, covering, how = p2, True, "asc"
                    break
        if how is not None:
            order = []
            reverse = how == "desc"
    group_by_index = False
    gterms = [(g, False, False, ec.collation(g)[0]) for g in core.group_by]
    if grouped and core.group_by and t is not None and path.kind == "index" and \
            _order_from_path(ec, t, path, gterms) == "asc":
        group_by_index = True  # the chosen index already yields the groups in order
    elif grouped and core.group_by and t is not None and path.kind == "scan" and \
            not tn.not_indexed:
        # GROUP BY the leading column(s) of a covering index: read the index in
        # order, so the groups arrive sorted (no temp B-tree, as SQLite plans it)
        for ix in t.indexes:
            p2 = Path("index", 60, index=ix)
            if ix.supported and not ix.partial and \
                    _order_from_path(ec, t, p2, gterms) == "asc" and _covers(
                        ec, t, p2, [rc.expr for rc in cols] + [core.where, core.having] +
                        list(core.group_by) + [o.expr for o in stmt.order_by]):
                path, covering, group_by_index = p2, True, True
                break
    early = stmt.limit is not None and not order and not core.distinct and not grouped
    if not grouped:
        proj = ", ".join(ec.expr(rc.expr) for rc in cols)
        okeys = [ec.expr(o[0]) for o in order]
        row_src = f"({proj}{',' if ncols == 1 else ''})"
        emit = f"out.append(({row_src}, {', '.join(okeys)}))" if okeys else f"out.append({row_src})"
        if t is None:
            ind = "    "
            L.append("    rowid = None; r = ()")
            if core.where is not None:
                L.append(f"    if {ec.cond(core.where)}:")
                ind = "        "
            L.append(f"{ind}{emit}")
        else:
            L += _scan_lines(gen, ec, t, path, "    ", covering, reverse)
            ind = " " * (len(L[-1]) - len(L[-1].lstrip()))
            if core.where is not None:
                L.append(f"{ind}if not ({ec.cond(core.where)}): continue")
            L.append(f"{ind}{emit}")
            if early:
                L.append(f"{ind}if _stop is not None and len(out) >= _stop: break")
    else:
        _grouped_body(gen, ec, t, path, core, cols, order, agg_calls, L, names, covering)
    # DISTINCT, ORDER BY, LIMIT
    if core.distinct:
        keys = [V.make_sort_key(ec.cobj(ec.collation(rc.expr)[0])) for rc in cols]
        gen.glob["_dkeys"] = keys
        sel = "_row[0]" if order else "_row"
        L.append("    _seen = set(); _out = []")
        L.append("    for _row in out:")
        L.append(f"        _dk = tuple(f(v) for f, v in zip(_dkeys, {sel}))")
        L.append("        if _dk not in _seen:")
        L.append("            _seen.add(_dk); _out.append(_row)")
        L.append("    out = _out")
    if order:
        gen.glob["_okeys"] = [V.make_sort_key(ec.cobj(o[3]), o[2]) for o in order]
        for i in range(len(order) - 1, -1, -1):
            rev = order[i][1]
            L.append(f"    _f = _okeys[{i}]")
            L.append(f"    out.sort(key=lambda _x: _f(_x[{i + 1}]){', reverse=True' if rev else ''})")
        L.append("    out = [_x[0] for _x in out]")
    if stmt.limit is not None:
        L.append("    out = out[_offset:_stop]")
    if t is not None:
        L.append("    if conn._interrupted: _interrupt()")
    L.append("    return out")
    src = "\n".join(L) + "\n"
    fn = gen.build(src)
    label = names[0] if t is not None and tn.alias else (t.name if t is not None else "")
    plan_text = "SCAN CONSTANT ROW" if t is None else path.detail(label, t, covering)
    eqp = [(2, 0, plan_text)]
    if grouped and core.group_by and not group_by_index:
        eqp.append((3, 0, "USE TEMP B-TREE FOR GROUP BY"))
    if core.distinct:
        eqp.append((4, 0, "USE TEMP B-TREE FOR DISTINCT"))
    if order:
        eqp.append((5, 0, "USE TEMP B-TREE FOR ORDER BY"))
    return Compiled(_bind(fn, t, path, schema), src, colnames, plan_text, eqp)


def _first_agg_name(e: Any) -> str:
    out: list = []
    _collect_aggregates(e, out)
    return out[0].name if out else "?"


def _bind(fn: Callable, t: Table | None, path: Path, schema: Any) -> Callable:
    """Give the generated function its trees (looked up at run time: roots may change)."""
    if t is None:
        def run(txn: Any, p: Any, conn: Any) -> Any:
            return fn(txn, p, conn)
        return run
    g = fn.__globals__
    ix = path.index if path.kind in ("index", "index_in") else None
    db_trees = schema.trees

    def run(txn: Any, p: Any, conn: Any) -> Any:
        if conn is None:
            conn = _NOCONN
        g["tree"] = db_trees.table(t)
        if ix is not None:
            g["itree"] = db_trees.index(ix)
        return fn(txn, p, conn)
    return run


def _grouped_body(gen: _Gen, ec: ExprCompiler, t: Table | None, path: Path, core: A.SelectCore,
                  cols: list, order: list, agg_calls: list, L: list, names: tuple,
                  covering: bool = False) -> None:
    makers = []
    agg_map: dict[int, str] = {}
    minmax = []
    for n, call in enumerate(agg_calls):
        name = call.name.lower()
        argc = 0 if call.star else len(call.args)
        d = ec.registry.aggregate(call.name, argc)
        if d is None:
            raise OperationalError(f"wrong number of arguments to function {call.name}()")
        coll = ec.cobj(ec.collation(call.args[0])[0]) if call.args else None
        makers.append((d, argc, coll, call.distinct))
        agg_map[id(call)] = f"_A[{n}]"
        if name in ("min", "max"):
            minmax.append(n)
    gen.glob["_makers"] = makers
    gkeys = [V.make_sort_key(ec.cobj(ec.collation(g)[0])) for g in core.group_by]
    gen.glob["_gkeys"] = gkeys
    step_lines = []
    single = not core.group_by  # one group: made before the loop, step methods bound once
    for n, call in enumerate(agg_calls):
        args = ", ".join(ec.expr(a) for a in call.args)
        step = f"_f{n}" if single else f"_aggs[{n}].step"
        # FILTER (WHERE c): the step runs only for rows where c is SQL-true
        cond = f"({ec.cond(call.filter)}) and " if call.filter is not None else ""
        if len(minmax) == 1 and n == minmax[0]:
            step_lines.append(f"if {cond}{step}({args}): _st[1] = (rowid, r)")
        elif cond:
            step_lines.append(f"if {cond[:-5]}: {step}({args})")
        else:
            step_lines.append(f"{step}({args})")
    save_last = not (len(minmax) == 1)
    L.append("    _groups = {}")
    L.append("    def _new():")
    L.append("        return [[d.make(a, c, dist) for d, a, c, dist in _makers], None]")
    if single:
        L.append("    _st = _groups[()] = _new()")
        L.append("    _aggs = _st[0]")
        for n in range(len(agg_calls)):
            L.append(f"    _f{n} = _aggs[{n}].step")
    if t is not None:
        L += _scan_lines(gen, ec, t, path, "    ", covering)
        ind = " " * (len(L[-1]) - len(L[-1].lstrip()))
        if core.where is not None:
            L.append(f"{ind}if not ({ec.cond(core.where)}): continue")
    else:
        L.append("    rowid = None; r = ()")
        ind = "    "
        if core.where is not None:
            L.append(f"    if {ec.cond(core.where)}:")
            ind = "        "
        else:
            L.append("    if True:")
            ind = "        "
    if core.group_by:
        gk = ", ".join(f"_gkeys[{i}]({ec.expr(g)})" for i, g in enumerate(core.group_by))
        L.append(f"{ind}_gk = ({gk},)")
        L.append(f"{ind}_st = _groups.get(_gk)")
        L.append(f"{ind}if _st is None: _st = _groups[_gk] = _new()")
        L.append(f"{ind}_aggs = _st[0]")
    for s in step_lines:
        L.append(f"{ind}{s}")
    # bare columns read the group's first row (or the row that set a lone min/max),
    # as SQLite 3.40 does
    del save_last
    L.append(f"{ind}if _st[1] is None: _st[1] = (rowid, r)")
    if not core.group_by:
        L.append("    if not _groups: _groups[()] = _new()")
    nt = len(t.columns) if t is not None else 0
    L.append("    for _gk in sorted(_groups):")
    L.append("        _aggs, _last = _groups[_gk]")
    L.append(f"        rowid, r = _last if _last is not None else (None, (None,) * {nt})")
    L.append("        _A = [a.finalize() for a in _aggs]")
    aec = ExprCompiler(gen, t, names, aggs=agg_map, registry=ec.registry)
    if core.having is not None:
        L.append(f"        if not ({aec.cond(core.having)}): continue")
    proj = ", ".join(aec.expr(rc.expr) for rc in cols)
    row_src = f"({proj}{',' if len(cols) == 1 else ''})"
    okeys = [aec.expr(o[0]) for o in order]
    if okeys:
        L.append(f"        out.append(({row_src}, {', '.join(okeys)}))")
    else:
        L.append(f"        out.append({row_src})")


def _check_table(t: Table) -> None:
    if t.without_rowid:
        raise NotSupportedError(f"WITHOUT ROWID tables are not supported yet: {t.name}")
    if not t.supported:
        raise NotSupportedError(f"generated columns are not supported yet: {t.name}")


# -- UPDATE / DELETE row finding -------------------------------------------------

def compile_where_scan(t: Table, names: tuple[str, ...], where: A.Expr | None,
                       exprs: list[A.Expr], schema: Any, indexed_by: str | None = None,
                       not_indexed: bool = False) -> Compiled:
    """A plan returning [(rowid, record, (expr values...))] for every row matching ``where``."""
    _check_table(t)
    from sql import select as _S
    if _S._has_subquery(where) or any(_S._has_subquery(e) for e in exprs):
        return _S.compile_scan_general(t, names, where, exprs, schema, indexed_by, not_indexed)
    gen = _Gen()
    reg = registry_of(schema)
    ec = ExprCompiler(gen, t, names, registry=reg)
    if where is not None and _contains_aggregate(where, reg):
        raise OperationalError("misuse of aggregate function " + _first_agg_name(where) + "()")
    for e in exprs:
        if _contains_aggregate(e, reg):
            raise OperationalError("misuse of aggregate function " + _first_agg_name(e) + "()")
    path = choose_path(t, where, names, indexed_by, not_indexed, allow_in=True)
    gen.glob["pad"] = _pad_fn(t, gen)
    L = ["def plan(txn, p, conn):", "    out = []"]
    L += _scan_lines(gen, ec, t, path, "    ")
    ind = " " * (len(L[-1]) - len(L[-1].lstrip()))
    if where is not None:
        L.append(f"{ind}if not ({ec.cond(where)}): continue")
    vals = ", ".join(ec.expr(e) for e in exprs)
    L.append(f"{ind}out.append((rowid, r, ({vals}{',' if len(exprs) == 1 else ''})))")
    L.append("    if conn._interrupted: _interrupt()")
    L.append("    return out")
    src = "\n".join(L) + "\n"
    fn = gen.build(src)
    return Compiled(_bind(fn, t, path, schema), src, [], path.describe() + f" {t.name}")


def compile_exprs(exprs: list[A.Expr], schema: Any = None) -> Compiled:
    """A plan evaluating constant expressions (INSERT ... VALUES rows).

    Pass the ``schema`` so that user functions and subqueries resolve.
    """
    reg = registry_of(schema)
    if schema is not None and any(_has_subq(e) for e in exprs):
        from sql import select as _S
        return _S.compile_exprs_general(exprs, schema)
    gen = _Gen()
    ec = ExprCompiler(gen, None, (), registry=reg)
    for e in exprs:
        if _contains_aggregate(e, reg):
            raise OperationalError("misuse of aggregate function " + _first_agg_name(e) + "()")
    vals = ", ".join(ec.expr(e) for e in exprs)
    src = f"def plan(txn, p, conn):\n    rowid = None; r = ()\n    return ({vals}{',' if len(exprs) == 1 else ''})\n"
    return Compiled(gen.build(src), src, [], "VALUES")


def compile_row_exprs(t: Table, names: tuple[str, ...], exprs: list[A.Expr],
                      schema: Any) -> Compiled:
    """A plan evaluating ``exprs`` over one given row of ``t``.

    The function is ``fn(txn, p, conn, rowid, r) -> tuple``; ``r`` is the full
    record tuple (the rowid-alias slot may hold None: ``rowid`` is used).
    For CHECK constraints, RETURNING, partial-index WHERE, expression-index
    keys and UPSERT's SET; pseudo-tables (NEW/OLD/excluded) are rewritten to
    parameters by the caller.
    """
    reg = registry_of(schema)
    if any(_has_subq(e) for e in exprs):
        from sql import select as _S
        return _S.compile_row_exprs_general(t, names, exprs, schema)
    gen = _Gen()
    ec = ExprCompiler(gen, t, names, registry=reg)
    for e in exprs:
        if _contains_aggregate(e, reg):
            raise OperationalError("misuse of aggregate function " + _first_agg_name(e) + "()")
    gen.glob["pad"] = _pad_fn(t, gen)
    vals = ", ".join(ec.expr(e) for e in exprs)
    src = (f"def plan(txn, p, conn, rowid, r):\n"
           f"    if len(r) < {len(t.columns)}: r = pad(r)\n"
           f"    return ({vals}{',' if len(exprs) == 1 else ''})\n")
    return Compiled(gen.build(src), src, [], "ROW")
