"""SQLite's built-in aggregate functions as small step/finalize classes.

Single job: avg, count, count(*), group_concat, string_agg, max, min, sum and
total with SQLite 3.40.1's exact results ("Built-in Aggregate Functions",
lang_aggfunc.html), plus the DISTINCT wrapper and the registry ``AGGREGATES``.

Protocol: ``agg = AGGREGATES[name].make(argc, collation)``; call
``agg.step(*args)`` once per row of the group and ``agg.finalize()`` once at
the end (an aggregate over no rows is finalized without any step). min() and
max() return True from ``step`` when the row became the new best, so the
compiler can keep SQLite's "bare column" rule (``SELECT max(x), y`` takes y
from the row holding the maximum). No ``inverse``: window functions are not
built yet.

sum(): integer arithmetic while every input is an INTEGER (numeric text
counts as a number); any other input makes the result REAL; an INTEGER
overflow before any non-integer input raises "integer overflow"; NULL over no
non-NULL input. total(): always REAL, 0.0 over nothing. avg(): REAL. The REAL
sum is a plain double accumulation, as in 3.40 (not the Kahan sum of 3.43+).
"""
from __future__ import annotations

from typing import Any, Callable

import attrs

from sql.values import (
    LARGEST_INT64, SMALLEST_INT64, compare, make_sort_key, numeric_value, to_real, to_text,
)
from storage.errors import OperationalError

__all__ = ["Count", "CountStar", "Sum", "Total", "Avg", "GroupConcat", "Max", "Min",
           "Distinct", "AggregateDef", "AGGREGATES", "lookup_aggregate"]

Value = Any


class Count:
    """count(X): the number of non-NULL X."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def step(self, x: Value) -> None:
        if x is not None:
            self.n += 1

    def finalize(self) -> int:
        return self.n


class CountStar:
    """count(*): the number of rows."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def step(self) -> None:
        self.n += 1

    def finalize(self) -> int:
        return self.n


class _SumBase:
    __slots__ = ("rsum", "isum", "cnt", "overflow", "approx")

    def __init__(self) -> None:
        self.rsum = 0.0
        self.isum = 0
        self.cnt = 0
        self.overflow = False
        self.approx = False

    def step(self, x: Value) -> None:
        t = type(x)
        if t is not int:
            if x is None:
                return
            if t is str:
                x = numeric_value(x)
                t = type(x)
        self.cnt += 1
        if t is int:
            self.rsum += x
            if not (self.approx or self.overflow):
                s = self.isum + x
                if SMALLEST_INT64 <= s <= LARGEST_INT64:
                    self.isum = s
                else:
                    self.approx = self.overflow = True
        else:
            self.rsum += x if t is float else to_real(x)
            self.approx = True


class Sum(_SumBase):
    """sum(X)."""

    __slots__ = ()

    def finalize(self) -> Value:
        if self.cnt == 0:
            return None
        if self.overflow:
            raise OperationalError("integer overflow")
        if self.approx:
            r = self.rsum
            return None if r != r else r
        return self.isum


class Total(_SumBase):
    """total(X): like sum() but always REAL and 0.0 over no rows."""

    __slots__ = ()

    def finalize(self) -> Value:
        r = self.rsum
        return None if r != r else r


class Avg(_SumBase):
    """avg(X): REAL mean of the non-NULL X."""

    __slots__ = ()

    def finalize(self) -> Value:
        if self.cnt == 0:
            return None
        r = self.rsum / self.cnt
        return None if r != r else r


class GroupConcat:
    """group_concat(X[, SEP]) / string_agg(X, SEP): non-NULL X as text joined by SEP.

    The separator placed before a value is the SEP of that value's row
    (a NULL SEP adds nothing); the default is ",".
    """

    __slots__ = ("parts", "started")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.started = False

    def step(self, x: Value, sep: Value = ",") -> None:
        if x is None:
            return
        parts = self.parts
        if self.started:
            if sep is not None:
                parts.append(sep if type(sep) is str else to_text(sep))
        else:
            self.started = True
        parts.append(x if type(x) is str else to_text(x))

    def finalize(self) -> Value:
        if not self.started:
            return None
        return "".join(self.parts)


class Max:
    """max(X): the largest non-NULL X in SQLite's order; ties keep the first."""

    __slots__ = ("best", "has", "collation")

    def __init__(self, collation: Any = None) -> None:
        self.best: Value = None
        self.has = False
        self.collation = collation

    def step(self, x: Value) -> bool:
        if x is None:
            return False
        if not self.has:
            self.best = x
            self.has = True
            return True
        if compare(self.best, x, self.collation) < 0:
            self.best = x
            return True
        return False

    def finalize(self) -> Value:
        return self.best


class Min(Max):
    """min(X): the smallest non-NULL X; ties keep the first."""

    __slots__ = ()

    def step(self, x: Value) -> bool:
        if x is None:
            return False
        if not self.has:
            self.best = x
            self.has = True
            return True
        if compare(self.best, x, self.collation) > 0:
            self.best = x
            return True
        return False


class Distinct:
    """agg(DISTINCT X): steps ``inner`` once per distinct first argument.

    Distinctness uses SQLite's equality (1 = 1.0, text under ``collation``).
    """

    __slots__ = ("inner", "seen", "key")

    def __init__(self, inner: Any, collation: Any = None) -> None:
        self.inner = inner
        self.seen: set = set()
        self.key = make_sort_key(collation)

    def step(self, x: Value, *rest: Value) -> Any:
        k = self.key(x)
        if k in self.seen:
            return False
        self.seen.add(k)
        return self.inner.step(x, *rest)

    def finalize(self) -> Value:
        return self.inner.finalize()


@attrs.frozen(slots=True)
class AggregateDef:
    """An aggregate's name, accepted argument counts and factory ``(argc, collation) -> agg``."""

    name: str
    min_args: int
    max_args: int
    factory: Callable[[int, Any], Any]
    needs_collation: bool = False

    def accepts(self, argc: int) -> bool:
        return self.min_args <= argc <= self.max_args

    def make(self, argc: int, collation: Any = None, distinct: bool = False) -> Any:
        agg = self.factory(argc, collation)
        if distinct:
            if argc != 1:
                raise OperationalError("DISTINCT aggregates must have exactly one argument")
            agg = Distinct(agg, collation)
        return agg


AGGREGATES: dict[str, AggregateDef] = {
    d.name: d for d in (
        AggregateDef("avg", 1, 1, lambda n, c: Avg()),
        AggregateDef("count", 0, 1, lambda n, c: Count() if n else CountStar()),
        AggregateDef("group_concat", 1, 2, lambda n, c: GroupConcat()),
        AggregateDef("string_agg", 2, 2, lambda n, c: GroupConcat()),
        AggregateDef("max", 1, 1, lambda n, c: Max(c), True),
        AggregateDef("min", 1, 1, lambda n, c: Min(c), True),
        AggregateDef("sum", 1, 1, lambda n, c: Sum()),
        AggregateDef("total", 1, 1, lambda n, c: Total()),
    )
}


def lookup_aggregate(name: str, argc: int) -> AggregateDef | None:
    """The aggregate ``name`` for ``argc`` arguments; None if ``name`` is no aggregate.

    max/min with other than one argument are the scalar functions (None here).
    Raises SQLite's "wrong number of arguments" error otherwise.
    """
    d = AGGREGATES.get(name.lower())
    if d is None:
        return None
    if not d.accepts(argc):
        if d.name in ("max", "min"):
            return None
        raise OperationalError(f"wrong number of arguments to function {name}()")
    return d
