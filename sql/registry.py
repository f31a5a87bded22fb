"""Name lookup for SQL functions, aggregates and collations, per connection.

Single job: one place the compiler asks "what is function f with n
arguments / aggregate a / collation c?" — including the wrappers that turn a
connection's Python callables into SQL functions, aggregates and collations
with stdlib ``sqlite3``'s error messages and result adaptation. A connection's own definitions
(``create_function``, ``create_aggregate``, ``create_collation``) shadow the
built-ins of ``sql.functions``, ``sql.aggregates`` and ``sql.collation``, as
in SQLite where user functions are per connection. The engine attaches the
connection's registry to every ``Schema`` it builds (``schema.registry``);
code that compiles without a connection uses ``BUILTIN``.

Matching follows SQLite's ``sqlite3FindFunction`` (func.c / callback.c): a
name may have one definition per argument count plus a variadic one (-1);
an exact count beats -1; any user definition of a name hides the built-ins
of that name only when one of the user definitions matches the call (else
the built-in is tried, then "wrong number of arguments"). Scalar and
aggregate user definitions share one table, so a user scalar ``sum`` with
one argument turns ``sum(x)`` into a scalar call.

User collations are also published in ``sql.collation``'s process-wide table
(non-built-in names only) so that code resolving collations by name outside
a compile (index key comparators, ``sql.values.compare``) finds them; the
per-connection table is what the compiler consults first.
"""
from __future__ import annotations

from typing import Any

from sql import aggregates as AG
from sql import collation as C
from sql import functions as F
from sql.collation import Collation
from storage.errors import OperationalError

__all__ = ["Registry", "BUILTIN", "registry_of"]


class Registry:
    """Built-ins plus a connection's own functions, aggregates and collations."""

    def __init__(self) -> None:
        #: lower name -> {narg: FunctionDef | AggregateDef} (user definitions)
        self.functions: dict[str, dict[int, Any]] = {}
        #: kept for callers that list aggregates: lower name -> {narg: AggregateDef}
        self.aggregates: dict[str, dict[int, Any]] = {}
        #: upper name -> Collation (user), most recent last
        self.collations: dict[str, Collation] = {}
        #: every user collation name ever defined (SQLite keeps listing removed ones)
        self._listed: dict[str, str] = {}
        #: bumped on every change so that compiled plans are rebuilt
        self.generation = 0

    # -- definitions -----------------------------------------------------------

    def define(self, name: str, narg: int, d: Any) -> None:
        """Add or replace the user definition of ``name`` with ``narg`` arguments."""
        key = name.lower()
        self.functions.setdefault(key, {})[narg] = d
        aggs = self.aggregates.setdefault(key, {})
        if isinstance(d, AG.AggregateDef):
            aggs[narg] = d
        else:
            aggs.pop(narg, None)
        self.generation += 1

    def define_collation(self, name: str, coll: Collation | None) -> None:
        """Add, replace (``coll``) or remove (None) a user collation."""
        key = C._norm(name)
        old = self.collations.pop(key, None)
        if coll is not None:
            self.collations[key] = coll
            self._listed.setdefault(key, name)
            if key not in ("BINARY", "NOCASE", "RTRIM"):
                C._REGISTRY[key] = coll
        elif old is not None and C._REGISTRY.get(key) is old:
            del C._REGISTRY[key]
        self.generation += 1

    def _user(self, name: str, argc: int) -> Any:
        defs = self.functions.get(name.lower())
        if not defs:
            return None
        d = defs.get(argc)
        if d is None:
            d = defs.get(-1)
        return d

    # -- lookups (the compiler's interface) --------------------------------------

    def function(self, name: str, argc: int) -> "F.FunctionDef":
        """The scalar function for ``argc`` arguments, or SQLite's error."""
        d = self._user(name, argc)
        if d is not None and isinstance(d, F.FunctionDef):
            return d
        try:
            return F.lookup(name, argc)
        except OperationalError:
            if self.functions.get(name.lower()) and F.SCALAR.get(name.lower()) is None:
                raise OperationalError(
                    f"wrong number of arguments to function {name}()") from None
            raise

    def aggregate(self, name: str, argc: int) -> "AG.AggregateDef | None":
        """The aggregate for ``argc`` arguments; None when ``name`` is no aggregate."""
        d = self._user(name, argc)
        if d is not None:
            return d if isinstance(d, AG.AggregateDef) else None
        return AG.lookup_aggregate(name, argc)

    def collation(self, name: str) -> Collation:
        """The collation ``name``, or OperationalError("no such collation sequence: x")."""
        c = self.collations.get(C._norm(name))
        if c is not None:
            return c
        c = C._REGISTRY.get(C._norm(name))
        if c is not None and c.builtin:
            return c
        if c is not None and self is BUILTIN:
            return c
        raise OperationalError(f"no such collation sequence: {name}")

    # -- listings (PRAGMA function_list / collation_list) -------------------------

    def collation_names(self) -> list[str]:
        """Newest user collation first, then RTRIM, NOCASE, BINARY (as SQLite lists them)."""
        user = [n for k, n in reversed(self._listed.items())
                if k not in ("BINARY", "NOCASE", "RTRIM")]
        return user + ["RTRIM", "NOCASE", "BINARY"]


BUILTIN = Registry()


def registry_of(schema: Any) -> Registry:
    """The registry attached to ``schema`` by the engine, else the built-ins."""
    return getattr(schema, "registry", None) or BUILTIN


# -- wrapping Python callables as SQL functions (Connection.create_*) ----------

_USER_ERR = "user-defined function raised exception"


def _result(r: Any) -> Any:
    """A Python return value as an SQL value, as stdlib sqlite3's _pysqlite_set_result."""
    t = type(r)
    if r is None or t is str or t is bytes or t is float:
        return r
    if t is int:
        if -(1 << 63) <= r < (1 << 63):
            return r
        raise _too_big()
    if isinstance(r, int):  # bool and other int subclasses
        return _result(int(r))
    if isinstance(r, float):
        return float(r)
    if isinstance(r, str):
        return str(r)
    try:
        return bytes(memoryview(r))
    except TypeError:
        raise OperationalError(_USER_ERR) from None


def _too_big() -> Exception:
    from storage.errors import DataError
    return DataError("string or blob too big")


def user_function(name: str, narg: int, func: Any, deterministic: bool = False) -> "F.FunctionDef":
    """A FunctionDef calling ``func``; its exceptions become SQLite's error."""
    def call(*args: Any) -> Any:
        try:
            r = func(*args)
        except Exception as exc:
            raise OperationalError(_USER_ERR) from exc
        return _result(r)
    call.__name__ = call.__qualname__ = f"user_{name}"
    if narg < 0:
        return F.FunctionDef(name, -1, call, deterministic, 0, 127)
    return F.FunctionDef(name, narg, call, deterministic, narg, narg)


class _UserAggregate:
    """One group's instance of a user aggregate class (errors as stdlib sqlite3 words them)."""

    __slots__ = ("cls", "obj", "failed")

    def __init__(self, cls: Any) -> None:
        self.cls = cls
        self.obj: Any = None
        self.failed = False

    def step(self, *args: Any) -> None:
        if self.obj is None:
            try:
                self.obj = self.cls()
            except Exception as exc:
                raise OperationalError(
                    "user-defined aggregate's '__init__' method raised error") from exc
        try:
            self.obj.step(*args)
        except Exception as exc:
            raise OperationalError(
                "user-defined aggregate's 'step' method raised error") from exc

    def finalize(self) -> Any:
        if self.obj is None:  # no rows: SQLite's aggregate context was never made
            return None
        try:
            r = self.obj.finalize()
        except Exception as exc:
            raise OperationalError(
                "user-defined aggregate's 'finalize' method raised error") from exc
        return _result(r)


def user_aggregate(name: str, narg: int, cls: Any) -> "AG.AggregateDef":
    """An AggregateDef making one ``cls()`` per group (lazily, at its first row)."""
    lo, hi = (0, 127) if narg < 0 else (narg, narg)
    return AG.AggregateDef(name, lo, hi, lambda n, c: _UserAggregate(cls))


def collation_key(compare: Any) -> Any:
    """A sort-key function for a user compare function.

    Unlike ``functools.cmp_to_key`` the keys are hashable (all alike), so that
    DISTINCT / GROUP BY / IN sets work: equal hashes make dict lookups fall
    back to ``==``, which asks the collation, as SQLite does.
    """
    class _Key:
        __slots__ = ("v",)

        def __init__(self, v: Any) -> None:
            self.v = v

        def __lt__(self, o: "_Key") -> bool:
            return compare(self.v, o.v) < 0

        def __gt__(self, o: "_Key") -> bool:
            return compare(self.v, o.v) > 0

        def __le__(self, o: "_Key") -> bool:
            return compare(self.v, o.v) <= 0

        def __ge__(self, o: "_Key") -> bool:
            return compare(self.v, o.v) >= 0

        def __eq__(self, o: object) -> bool:
            return isinstance(o, _Key) and compare(self.v, o.v) == 0

        def __hash__(self) -> int:
            return 0
    return _Key
