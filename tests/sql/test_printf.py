"""Differential tests of sql/printf.py against sqlite3's printf()/format().

Format strings are generated from random conversions (flags, widths,
precisions, ``*`` arguments, every conversion letter) and applied to values of
every storage class; results are compared as bytes (text_factory=bytes), since
byte-counted precisions can cut UTF-8 characters in half, exactly as SQLite does.
"""
from __future__ import annotations

import math
import sqlite3

from hypothesis import example, given, settings, strategies as st

from sql import values as V
from sql.printf import format_float, sql_printf
from storage import errors as E

CONN = sqlite3.connect(":memory:")
CONN.text_factory = bytes

EDGE_FLOATS = [0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.05, 0.15, 0.25, 0.35, 1.005, 2.675, 0.1, 1 / 3,
               2 / 3, 9.5, 99.5, 999999.5, 1e15, 1e16, 1e17, 1e21, 1e22, 1e100, 1e300, 1e-300,
               5e-324, 1.7976931348623157e308, math.inf, -math.inf, 123456789012345.5,
               0.49999999999999994, 9.999999999999999e22, 1e-7, 1e-5, 0.0001, 123.456,
               -0.000123, 4.35, 8.345]
ARG_VALUES = st.one_of(
    st.none(),
    st.integers(-2**63, 2**63 - 1),
    st.integers(-1000, 100000),
    st.sampled_from([0, 1, -1, 11, 12, 13, 21, 111, 2**63 - 1, -2**63, 255, 1234567]),
    st.sampled_from(EDGE_FLOATS),
    st.floats(allow_nan=False),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.text(max_size=6),
    st.sampled_from(["", "é", "héllo", "it's", 'a"b', "日本語", "12abc", "1e3", " 7"]),
    st.binary(max_size=4),
)

conversion = st.builds(
    lambda flags, width, prec, ll, conv: "%" + flags + width + prec + ll + conv,
    st.text(alphabet="-+ #!0,", max_size=3),
    st.one_of(st.just(""), st.just("*"), st.integers(1, 40).map(str)),
    st.one_of(st.just(""), st.just(".*"), st.just("."), st.integers(0, 30).map(lambda p: f".{p}")),
    st.sampled_from(["", "", "l", "ll"]),
    st.sampled_from(list("dixXouefEgGscqQwzpr%n") + ["c", "s", "f", "g", "y", "T", ""]),
)
fmt_strings = st.lists(st.one_of(conversion, st.text(alphabet="ab é%|", max_size=3)),
                       min_size=1, max_size=4).map("".join)


def oracle(fmt, args):
    try:
        v, ty = CONN.execute("SELECT v, typeof(v) FROM (SELECT printf(" + ", ".join(
            ["?"] * (1 + len(args))) + ") AS v)", (fmt, *args)).fetchone()
    except sqlite3.Error as e:
        return ("error", str(e))
    return (ty.decode(), v)


def mine(fmt, args):
    try:
        r = sql_printf(fmt, args)
    except E.Error as e:
        return ("error", str(e))
    if r is None:
        return ("null", None)
    return ("text", V.text_bytes(r))


@settings(max_examples=1500, deadline=None)
@given(fmt_strings, st.lists(ARG_VALUES, max_size=5))
@example("%d %i %u", [-5, "12abc", -1])
@example("%5.2f|%-8.3e|%+g|% G", [3.14159, -2.5e-7, 100000, 1e-10])
@example("%!.30e %!.25f %#.0f %#g", [1e300, 0.1, 5.0, 1.5])
@example("%,d %,u %,.3d", [1234567, -1, 7])
@example("%.2s|%!.2s|%5s|%!5s|%-5s|", ["héllo", "héllo", "é", "é", "ab"])
@example("%q %Q %w %Q %q", ["it's", "it's", 'a"b', None, None])
@example("%c|%5c|%.3c|%-4.2c|", ["héllo", "x", "é", "y"])
@example("%*d|%-*d|%.*f|%*.*s|", [5, 1, -5, 2, 2, 3.14159, 6, 2, "abcdef"])
@example("%#x %#o %#X %x %p %#p", [255, 8, 255, -1, 255, 255])
@example("%r %r %r %r %r", [1, 2, 3, 11, 112])
@example("abc%", [])
@example("%y abc", [])
@example("%T", [1])
@example("", [])
@example("%n", [])
@example("%s%s", [])
@example("%010.3f|%-010d|%+05d|% 05d", [-3.14159, 5, 5, 5])
def test_printf_matches_sqlite(fmt, args):
    if "*" in fmt:  # keep widths small: SQLite would really build a 1 GB string
        args = [a if abs(V.to_int32(a)) <= 60 else 7 for a in args]
    assert mine(fmt, args) == oracle(fmt, args), (fmt, args)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=False),
                 st.floats(-1000, 1000, allow_nan=False)),
       st.sampled_from("feEgG"), st.integers(-1, 30), st.text(alphabet="+ #!0-", max_size=2),
       st.integers(0, 30))
def test_float_conversions(r, conv, prec, flags, width):
    p = "" if prec < 0 else f".{prec}"
    fmt = f"%{flags}{width or ''}{p}{conv}"
    assert mine(fmt, [r]) == oracle(fmt, [r]), fmt


@settings(max_examples=600, deadline=None)
@given(st.integers(0, 10**16), st.integers(-30, 25), st.integers(0, 20))
def test_decimal_ties_in_fixed_notation(mant, exp10, prec):
    """Exact decimal values like 2.675 or 0.125: SQLite's rounder decides, not IEEE."""
    r = float(f"{mant}e{exp10}")
    fmt = f"%.{prec}f %.{prec}e %!.{prec}g"
    assert mine(fmt, [r, r, r]) == oracle(fmt, [r, r, r])


def test_results_over_the_length_limit_are_null():
    # cheap cases: SQLite refuses before allocating anything
    for fmt, args in [("%*d", [2_000_000_000, 1]), ("%.*d", [1_500_000_000, 1]),
                      ("%*f", [2_000_000_000, 1.0]), ("x%2000000000s", ["a"]),
                      ("%-*c", [-2_000_000_000, "a"])]:
        assert oracle(fmt, args) == ("null", None)
        assert mine(fmt, args) == ("null", None), fmt


def test_examples():
    assert sql_printf("%d items at %.2f", [3, 1.005]) == "3 items at 1.01"
    assert sql_printf("%!.15g", [1.0]) == "1.0"
    assert sql_printf("%.25f", [0.1]) == "0.1000000000000000000000000"
    assert sql_printf("%!.25f", [0.1]) == "0.1000000000000000055511151"
    assert sql_printf("%s|%d|%f", []) == "|0|0.000000"
    assert sql_printf(None, [1]) is None
    assert sql_printf("", []) is None          # nothing ever appended: NULL
    assert sql_printf("%s", [""]) == ""
    assert sql_printf("x%yz", []) == "x"       # unknown conversion stops output
    assert sql_printf("%Q", ["it's"]) == "'it''s'"
    assert format_float(math.inf, "g", 15, altform2=True) == "Inf"
    assert format_float(-1e-310, "e", 3) == "-1.000e-310"
