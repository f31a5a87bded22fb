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
import time
from typing import Any, Callable

from sql import aggregates as AG
from sql import ast as A
from sql import functions as F
from sql import values as V
from sql.planner import Path, choose_path
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


def _current_time(kind: str) -> str:
    t = time.gmtime()
    if kind == "CURRENT_DATE":
        return time.strftime("%Y-%m-%d", t)
    if kind == "CURRENT_TIME":
        return time.strftime("%H:%M:%S", t)
    return time.strftime("%Y-%m-%d %H:%M:%S", t)


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


def _aggregate_error(name: str) -> OperationalError:
    return OperationalError(f"misuse of aggregate function {name}()")


class Compiled:
    """A compiled plan: the function, its source, result column names, EXPLAIN text."""

    __slots__ = ("fn", "source", "columns", "plan")

    def __init__(self, fn: Callable, source: str, columns: list[str], plan: str) -> None:
        self.fn = fn
        self.source = source
        self.columns = columns
        self.plan = plan


def source_of(c: Compiled) -> str:
    return c.source


class _Gen:
    """Source assembly: constants become globals k0, k1, ...; unique temporaries."""

    def __init__(self) -> None:
        self.glob: dict[str, Any] = {
            "_V": V, "_truth": V.truth, "_and": V.sql_and, "_or": V.sql_or, "_not": V.sql_not,
            "_real": _real, "_in_list": _in_list, "_rowid_bound": _rowid_bound,
            "_rowid_eq": _rowid_eq, "_limit_value": _limit_value, "_ct": _current_time,
            "_IntegrityError": IntegrityError,
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
        code = compile(src, filename, "exec")
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        ns = dict(self.glob)
        exec(code, ns)  # noqa: S102 - our own generated source
        return ns[fname]


def _is_aggregate_call(e: A.Expr) -> bool:
    if not isinstance(e, A.FunctionCall):
        return False
    name = e.name.lower()
    if name not in AG.AGGREGATES:
        return False
    if name in ("min", "max") and len(e.args) != 1:
        return False
    return True


class ExprCompiler:
    """Expressions to Python expression source over a row scope."""

    def __init__(self, gen: _Gen, table: Table | None, names: tuple[str, ...],
                 aggs: dict | None = None, aliases: dict | None = None) -> None:
        self.gen = gen
        self.table = table
        self.names = names
        #: aggregate FunctionCall node id -> python source of its finalized value
        self.aggs = aggs
        self.aliases = aliases or {}

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
        if isinstance(e, A.ColumnRef):
            c = self.column(e)
            if c is None:
                return None
            return V.INTEGER if c[0] == -1 else c[1].affinity
        if isinstance(e, A.Cast):
            return V.affinity_of(e.type_name)
        if isinstance(e, A.Collate):
            return self.affinity(e.expr)
        return None

    def collation(self, e: A.Expr) -> tuple[str | None, bool]:
        """(collation name or None, explicit?) as sqlite3ExprCollSeq finds it."""
        if isinstance(e, A.Collate):
            return e.collation.upper(), True
        if isinstance(e, A.ColumnRef):
            c = self.column(e)
            if c is not None and c[1] is not None:
                return c[1].collation, False
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

    def compare(self, op: str, a: A.Expr, b: A.Expr) -> str:
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
        return f"{fn}({sa}, {sb}, {self.gen.const(coll)})"

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
                if self.aggs is None and e.table is None and e.name.lower() in self.aliases:
                    return self.expr(self.aliases[e.name.lower()])
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
            from sql.collation import get_collation
            get_collation(e.collation)  # "no such collation sequence" now
            return self.expr(e.expr)
        if t is A.Cast:
            return f"{g.const(V.cast_function(e.type_name or ''))}({self.expr(e.expr)})"
        if t is A.IsNull:
            code = self.expr(e.expr)
            try:  # a constant operand: fold it ("5 is None" is a SyntaxWarning)
                is_null = _pyast.literal_eval(code) is None
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return f"(0 if {code} is None else 1)" if e.negated else \
                    f"(1 if {code} is None else 0)"
            return "0" if is_null == bool(e.negated) else "1"
        if t is A.Between:
            x = g.tmp()
            inner = A.ColumnRef(name="\x00")  # placeholder resolved below
            del inner
            lo = self.compare(">=", e.expr, e.low)
            hi = self.compare("<=", e.expr, e.high)
            src = f"_and({lo}, {hi})"
            del x
            return f"_not({src})" if e.negated else src
        if t is A.Like:
            if e.op not in ("LIKE", "GLOB"):
                raise NotSupportedError(f"{e.op} is not supported yet")
            args = [self.expr(e.pattern), self.expr(e.expr)]
            if e.escape is not None:
                if e.op == "GLOB":
                    raise NotSupportedError("GLOB ... ESCAPE")
                args.append(self.expr(e.escape))
            fn = F.SCALAR["like" if e.op == "LIKE" else "glob"].fn
            src = f"{g.const(fn)}({', '.join(args)})"
            return f"_not({src})" if e.negated else src
        if t is A.InList:
            if any(isinstance(i, A.Vector) for i in e.items):
                raise NotSupportedError("row values are not supported yet")
            aff = self.affinity(e.expr)
            la, _ = V.comparison_affinity(aff, None)
            conv = V.comparison_converter(la) if aff is not None else None
            coll = self.collation(e.expr)[0]
            items = ", ".join(self.expr(i) for i in e.items)
            src = (f"_in_list({self.expr(e.expr)}, ({items}{',' if e.items else ''}), "
                   f"{g.const(conv)}, {g.const(coll)})")
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
            raise NotSupportedError("row values are not supported yet")
        raise NotSupportedError(f"{t.__name__} expressions are not supported yet")

    def _case(self, e: A.Case) -> str:
        out = self.expr(e.else_) if e.else_ is not None else "None"
        if e.operand is not None:
            tmp = self.gen.tmp()
            op_src = self.expr(e.operand)
            # evaluate the operand once (walrus in the first test)
            parts = []
            for n, wt in enumerate(e.whens):
                cmp = self.compare("=", e.operand, wt.when)
                parts.append(cmp)
            del tmp, op_src
            for wt, cmp in reversed(list(zip(e.whens, parts))):
                out = f"({self.expr(wt.then)} if {cmp} else {out})"
            return out
        for wt in reversed(e.whens):
            out = f"({self.expr(wt.then)} if {self.cond(wt.when)} else {out})"
        return out

    def _call(self, e: A.FunctionCall) -> str:
        name = e.name.lower()
        if e.over is not None or e.filter is not None:
            raise NotSupportedError("window functions and FILTER are not supported yet")
        if _is_aggregate_call(e) and not (name in F.SCALAR and F.SCALAR[name].accepts(len(e.args))
                                          and name not in ("min", "max")):
            raise _aggregate_error(e.name)
        if e.star:
            raise OperationalError(f"wrong number of arguments to function {e.name}()")
        d = F.lookup(e.name, len(e.args))
        if e.distinct:
            raise OperationalError(f"DISTINCT aggregates must have exactly one argument")
        g = self.gen
        if d.inline:
            if name in ("likely", "unlikely", "likelihood"):
                if name == "likelihood":
                    F.check_likelihood(e.args[1]) if hasattr(F, "check_likelihood") else None
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
            args.append(f"collation={g.const(coll)}")
        return f"{g.const(d.fn)}({', '.join(args)})"


def _contains_aggregate(e: Any) -> bool:
    if isinstance(e, A.FunctionCall) and _is_aggregate_call(e):
        return True
    if isinstance(e, (A.Subquery, A.Exists, A.InSelect)):
        return False
    if hasattr(e, "__attrs_attrs__"):
        for a in e.__attrs_attrs__:
            v = getattr(e, a.name)
            if isinstance(v, tuple):
                if any(_contains_aggregate(x) for x in v):
                    return True
            elif isinstance(v, A.Node) and _contains_aggregate(v):
                return True
    return False


def _collect_aggregates(e: Any, out: list) -> None:
    if isinstance(e, A.FunctionCall) and _is_aggregate_call(e):
        for a in e.args:
            if _contains_aggregate(a):
                raise OperationalError(f"misuse of aggregate function {e.name}()")
        out.append(e)
        return
    if hasattr(e, "__attrs_attrs__"):
        for a in e.__attrs_attrs__:
            v = getattr(e, a.name)
            if isinstance(v, tuple):
                for x in v:
                    _collect_aggregates(x, out)
            elif isinstance(v, A.Node):
                _collect_aggregates(v, out)


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


def column_name(sql: str, rc: A.ResultColumn) -> str:
    if rc.alias is not None:
        return rc.alias
    e = rc.expr
    if isinstance(e, A.ColumnRef):
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


def _scan_lines(gen: _Gen, ec: ExprCompiler, t: Table, path: Path, ind: str) -> list[str]:
    """The loop header(s) that bind ``rowid`` and ``r`` for each candidate row."""
    lines = [f"{ind}T = {gen.const(None) if t is None else 'tree'}"]
    n = len(t.columns)
    pad = ""
    if any(c.default is not None for c in t.columns) or True:
        pad = f"if len(r) < {n}: r = pad(r)"
    if path.kind == "rowid_eq":
        v = ec.expr(path.eq[0].value)
        lines = [f"{ind}_k = _rowid_eq({v})",
                 f"{ind}_r = txn.get(tree, _k) if _k is not None else None",
                 f"{ind}for rowid, r in (((_k, _r),) if _r is not None else ()):"]
    elif path.kind == "rowid_range":
        lo = f"_rowid_bound({ec.expr(path.lo.value)}, True)" if path.lo else "None"
        hi = f"_rowid_bound({ec.expr(path.hi.value)}, False)" if path.hi else "None"
        lines = [f"{ind}for rowid, r in txn.rows(tree, {lo}, {hi}):"]
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
        return lines + [f"{ind2}{pad}"]
    else:
        lines = [f"{ind}for rowid, r in txn.rows(tree):"]
    return lines + [f"{ind}    {pad}"]


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
    """Compile a single-table SELECT (or one without FROM) into a ``Compiled``."""
    if stmt.compound or stmt.with_ is not None:
        raise NotSupportedError("compound SELECT and WITH are not supported yet")
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
        if tn.schema is not None and tn.schema.lower() != "main":
            raise OperationalError(f"unknown database {tn.schema}")
        t = schema.table(tn.name)
        if t is None:
            raise OperationalError(f"no such table: {tn.name}")
        _check_table(t)
        names = tuple(x.lower() for x in ((tn.alias,) if tn.alias else (tn.name,)))
        if tn.alias:
            names = names + ()
        path = choose_path(t, core.where, names, tn.indexed_by, tn.not_indexed)
        if tn.indexed_by is not None and (path.kind != "index" or
                                          path.index.name.lower() != tn.indexed_by.lower()):
            if schema.index(tn.indexed_by) is None:
                raise OperationalError(f"no such index: {tn.indexed_by}")
            raise OperationalError("no query solution")
    cols = _expand_star(core.columns, t, names)
    colnames = [column_name(sql, rc) for rc in cols]
    aliases = {rc.alias.lower(): rc.expr for rc in cols if rc.alias}
    ec = ExprCompiler(gen, t, names)
    # aggregates
    agg_calls: list[A.FunctionCall] = []
    for rc in cols:
        _collect_aggregates(rc.expr, agg_calls)
    if core.having is not None:
        _collect_aggregates(core.having, agg_calls)
    for term in stmt.order_by:
        _collect_aggregates(term.expr, agg_calls)
    if core.where is not None and _contains_aggregate(core.where):
        raise OperationalError("misuse of aggregate function " +
                               _first_agg_name(core.where) + "()")
    for gexpr in core.group_by:
        if _contains_aggregate(gexpr):
            raise OperationalError("aggregate functions are not allowed in the GROUP BY clause")
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
                    f"1st ORDER BY term out of range - should be between 1 and {len(cols)}")
            e = cols[k - 1].expr
            coll_e = e
        elif isinstance(e, A.ColumnRef) and e.table is None and e.name.lower() in aliases and \
                ec.column(e) is None:
            e = aliases[e.name.lower()]
            coll_e = e
        desc = (term.direction or "").upper() == "DESC"
        nulls = (term.nulls or "").upper()
        nulls_last = (nulls == "LAST" and not desc) or (nulls == "FIRST" and desc)
        order.append((e, desc, nulls_last, ec.collation(coll_e)[0]))
    ncols = len(cols)
    # LIMIT / OFFSET
    if stmt.limit is not None:
        L.append(f"    _limit = _limit_value({ec.expr(stmt.limit)})")
        L.append(f"    _offset = _limit_value({ec.expr(stmt.offset)})" if stmt.offset is not None
                 else "    _offset = 0")
        L.append("    if _offset < 0: _offset = 0")
        L.append("    _stop = None if _limit < 0 else _offset + _limit")
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
            L += _scan_lines(gen, ec, t, path, "    ")
            ind = " " * (len(L[-1]) - len(L[-1].lstrip()))
            if core.where is not None:
                L.append(f"{ind}if not ({ec.cond(core.where)}): continue")
            L.append(f"{ind}{emit}")
            if early:
                L.append(f"{ind}if _stop is not None and len(out) >= _stop: break")
    else:
        _grouped_body(gen, ec, t, path, core, cols, order, agg_calls, L, names)
    # DISTINCT, ORDER BY, LIMIT
    if core.distinct:
        keys = [V.make_sort_key(ec.collation(rc.expr)[0]) for rc in cols]
        gen.glob["_dkeys"] = keys
        sel = "_row[0]" if order else "_row"
        L.append("    _seen = set(); _out = []")
        L.append("    for _row in out:")
        L.append(f"        _dk = tuple(f(v) for f, v in zip(_dkeys, {sel}))")
        L.append("        if _dk not in _seen:")
        L.append("            _seen.add(_dk); _out.append(_row)")
        L.append("    out = _out")
    if order:
        gen.glob["_okeys"] = [V.make_sort_key(o[3], o[2]) for o in order]
        for i in range(len(order) - 1, -1, -1):
            rev = order[i][1]
            L.append(f"    _f = _okeys[{i}]")
            L.append(f"    out.sort(key=lambda _x: _f(_x[{i + 1}]){', reverse=True' if rev else ''})")
        L.append("    out = [_x[0] for _x in out]")
    if stmt.limit is not None:
        L.append("    out = out[_offset:_stop]")
    L.append("    return out")
    src = "\n".join(L) + "\n"
    fn = gen.build(src)
    tree_name = None
    plan_text = "SCAN CONSTANT ROW" if t is None else path.describe() + f" {t.name}"
    del tree_name
    return Compiled(_bind(fn, t, path, schema), src, colnames, plan_text)


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
    ix = path.index if path.kind == "index" else None
    db_trees = schema.trees

    def run(txn: Any, p: Any, conn: Any) -> Any:
        g["tree"] = db_trees.table(t)
        if ix is not None:
            g["itree"] = db_trees.index(ix)
        return fn(txn, p, conn)
    return run


def _grouped_body(gen: _Gen, ec: ExprCompiler, t: Table | None, path: Path, core: A.SelectCore,
                  cols: list, order: list, agg_calls: list, L: list, names: tuple) -> None:
    makers = []
    agg_map: dict[int, str] = {}
    minmax = []
    for n, call in enumerate(agg_calls):
        name = call.name.lower()
        d = AG.AGGREGATES[name]
        argc = 0 if call.star else len(call.args)
        if not (d.min_args <= argc <= d.max_args) if hasattr(d, "min_args") else False:
            raise OperationalError(f"wrong number of arguments to function {call.name}()")
        coll = ec.collation(call.args[0])[0] if call.args else None
        try:
            makers.append((d, argc, coll, call.distinct))
        except Exception:
            raise
        agg_map[id(call)] = f"_A[{n}]"
        if name in ("min", "max"):
            minmax.append(n)
    gen.glob["_makers"] = makers
    gkeys = [V.make_sort_key(ec.collation(g)[0]) for g in core.group_by]
    gen.glob["_gkeys"] = gkeys
    step_lines = []
    for n, call in enumerate(agg_calls):
        args = ", ".join(ec.expr(a) for a in call.args)
        if len(minmax) == 1 and n == minmax[0]:
            step_lines.append(f"if _aggs[{n}].step({args}): _st[1] = (rowid, r)")
        else:
            step_lines.append(f"_aggs[{n}].step({args})")
    save_last = not (len(minmax) == 1)
    L.append("    _groups = {}")
    L.append("    def _new():")
    L.append("        return [[d.make(a, c, dist) for d, a, c, dist in _makers], None]")
    if t is not None:
        L += _scan_lines(gen, ec, t, path, "    ")
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
    else:
        L.append(f"{ind}_gk = ()")
    L.append(f"{ind}_st = _groups.get(_gk)")
    L.append(f"{ind}if _st is None: _st = _groups[_gk] = _new()")
    L.append(f"{ind}_aggs = _st[0]")
    for s in step_lines:
        L.append(f"{ind}{s}")
    if save_last:
        L.append(f"{ind}_st[1] = (rowid, r)")
    else:
        L.append(f"{ind}if _st[1] is None: _st[1] = (rowid, r)")
    if not core.group_by:
        L.append("    if not _groups: _groups[()] = _new()")
    nt = len(t.columns) if t is not None else 0
    L.append("    for _gk in sorted(_groups):")
    L.append("        _aggs, _last = _groups[_gk]")
    L.append(f"        rowid, r = _last if _last is not None else (None, (None,) * {nt})")
    L.append("        _A = [a.finalize() for a in _aggs]")
    aec = ExprCompiler(gen, t, names, aggs=agg_map)
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
    gen = _Gen()
    ec = ExprCompiler(gen, t, names)
    if where is not None and _contains_aggregate(where):
        raise OperationalError("misuse of aggregate function " + _first_agg_name(where) + "()")
    for e in exprs:
        if _contains_aggregate(e):
            raise OperationalError("misuse of aggregate function " + _first_agg_name(e) + "()")
    path = choose_path(t, where, names, indexed_by, not_indexed)
    gen.glob["pad"] = _pad_fn(t, gen)
    L = ["def plan(txn, p, conn):", "    out = []"]
    L += _scan_lines(gen, ec, t, path, "    ")
    ind = " " * (len(L[-1]) - len(L[-1].lstrip()))
    if where is not None:
        L.append(f"{ind}if not ({ec.cond(where)}): continue")
    vals = ", ".join(ec.expr(e) for e in exprs)
    L.append(f"{ind}out.append((rowid, r, ({vals}{',' if len(exprs) == 1 else ''})))")
    L.append("    return out")
    src = "\n".join(L) + "\n"
    fn = gen.build(src)
    return Compiled(_bind(fn, t, path, schema), src, [], path.describe() + f" {t.name}")


def compile_exprs(exprs: list[A.Expr]) -> Compiled:
    """A plan evaluating constant expressions (INSERT ... VALUES rows)."""
    gen = _Gen()
    ec = ExprCompiler(gen, None, ())
    for e in exprs:
        if _contains_aggregate(e):
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
    gen = _Gen()
    ec = ExprCompiler(gen, t, names)
    for e in exprs:
        if _contains_aggregate(e):
            raise OperationalError("misuse of aggregate function " + _first_agg_name(e) + "()")
    gen.glob["pad"] = _pad_fn(t, gen)
    vals = ", ".join(ec.expr(e) for e in exprs)
    src = (f"def plan(txn, p, conn, rowid, r):\n"
           f"    if len(r) < {len(t.columns)}: r = pad(r)\n"
           f"    return ({vals}{',' if len(exprs) == 1 else ''})\n")
    return Compiled(gen.build(src), src, [], "ROW")
