"""SQLite's built-in scalar SQL functions as plain Python callables, and their registry.

Single job: one Python function per SQLite core scalar function with the
behaviour of SQLite 3.40.1 (documented in "Built-In Scalar SQL Functions",
lang_corefunc.html, and "Built-In Mathematical SQL Functions",
lang_mathfunc.html, which this SQLite build enables), plus the functions added
after 3.40 that the project wants (concat, concat_ws, octet_length, unhex,
following the newer documentation), and the registry ``SCALAR`` that the SQL
compiler resolves names in.

Calling convention: each ``fn`` takes the SQL argument values positionally and
returns a value (None/int/float/str/bytes). Functions whose ``FunctionDef``
says ``needs_collation`` also take a keyword ``collation`` (the collation of
the first argument that has one, else None = BINARY, as SQLite picks it).
``needs_connection`` functions (changes, last_insert_rowid, total_changes)
take a first positional argument ``conn`` with integer attributes
``changes``, ``last_insert_rowid`` and ``total_changes`` (the lead's hook).
``inline`` functions (coalesce, ifnull, iif, likely, unlikely, likelihood)
must be compiled with short-circuit evaluation, as SQLite does: only the
chosen argument may be evaluated (``coalesce(1, abs(-9223372036854775808))``
is 1, not an error). likelihood()'s second argument must be a floating point
literal between 0.0 and 1.0 (``check_likelihood`` at compile time).

Errors are storage.errors classes, with SQLite's messages: ``lookup`` raises
"no such function: X" / "wrong number of arguments to function X()".
"""
from __future__ import annotations

import math
import os
import random as _random
from typing import Any, Callable

import attrs

from sql import like as _like
from sql.printf import MAX_LENGTH, sql_printf
from sql.values import (
    LARGEST_INT64, SMALLEST_INT64, sqlite_atof, blob_text, compare, format_real_for_quote,
    numeric_value, real_to_text, text_bytes, to_int, to_int32, to_real, to_text, truth,
    typeof as _typeof,
)
from storage.errors import DataError, OperationalError

__all__ = ["SQLITE_VERSION", "FunctionDef", "SCALAR", "lookup", "check_likelihood",
           "register_function"]

#: the SQLite version whose behaviour mvlite follows (sqlite_version())
SQLITE_VERSION = "3.40.1"

Value = Any


@attrs.frozen(slots=True)
class FunctionDef:
    """A scalar SQL function: ``nargs`` is the exact count, or -1 (see min/max_args)."""

    name: str
    nargs: int
    fn: Callable[..., Value]
    deterministic: bool = True
    min_args: int = 0
    max_args: int = 127  # SQLITE_MAX_FUNCTION_ARG
    needs_collation: bool = False
    needs_connection: bool = False
    inline: bool = False

    def accepts(self, argc: int) -> bool:
        if self.nargs >= 0:
            return argc == self.nargs
        return self.min_args <= argc <= self.max_args


def _too_big() -> DataError:
    return DataError("string or blob too big")


def _cut(s: str) -> str:
    z = s.find("\x00")
    return s if z < 0 else s[:z]


_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_ASCII_UPPER = {c + 32: c for c in range(65, 91)}

# ---------------------------------------------------------------------------
# core scalar functions
# ---------------------------------------------------------------------------


def abs_(x: Value) -> Value:
    t = type(x)
    if t is int:
        if x < 0:
            if x == SMALLEST_INT64:
                raise OperationalError("integer overflow")
            return -x
        return x
    if x is None:
        return None
    r = to_real(x)
    return -r if r < 0 else r


def char(*args: Value) -> str:
    out = []
    for a in args:
        x = to_int(a)
        if x < 0 or x > 0x10FFFF:
            x = 0xFFFD
        out.append(chr(x))
    return "".join(out)


def coalesce(*args: Value) -> Value:
    for a in args:
        if a is not None:
            return a
    return None


def ifnull(x: Value, y: Value) -> Value:
    return y if x is None else x


def iif(c: Value, a: Value, b: Value) -> Value:
    return a if truth(c) else b


def concat(*args: Value) -> str:
    return "".join([a if type(a) is str else to_text(a) for a in args if a is not None])


def concat_ws(sep: Value, *args: Value) -> Value:
    if sep is None:
        return None
    return to_text(sep).join([a if type(a) is str else to_text(a)
                              for a in args if a is not None])


def printf(*args: Value) -> Value:
    if not args:
        return None
    return sql_printf(args[0], args[1:])


def glob(pattern: Value, text: Value) -> Value:
    return _like.glob(pattern, text)


def like(pattern: Value, text: Value, escape: Value = ...) -> Value:
    """like(X, Y) / like(X, Y, Z): ``Y LIKE X [ESCAPE Z]``; a NULL escape gives NULL."""
    if escape is ...:
        return _like.like(pattern, text)
    if type(pattern) is bytes or type(text) is bytes:
        return 0
    if escape is None:
        _like.check_pattern_length(pattern)
        return None
    return _like.like(pattern, text, escape)


def hex_(x: Value) -> str:
    t = type(x)
    if t is bytes:
        return x.hex().upper()
    if x is None:
        return ""
    return text_bytes(x if t is str else to_text(x)).hex().upper()


def instr(hay: Value, needle: Value) -> Value:
    if hay is None or needle is None:
        return None
    if type(hay) is bytes and type(needle) is bytes:
        if not needle:
            return 1
        return hay.find(needle) + 1
    h = to_text(hay)
    n = to_text(needle)
    if not n:
        return 1
    return h.find(n) + 1


def length(x: Value) -> Value:
    t = type(x)
    if t is str:
        z = x.find("\x00")
        return len(x) if z < 0 else z
    if t is bytes:
        return len(x)
    if t is int:
        return len(str(x))
    if t is float:
        return len(real_to_text(x))
    return None


def octet_length(x: Value) -> Value:
    t = type(x)
    if t is bytes:
        return len(x)
    if x is None:
        return None
    return len(text_bytes(to_text(x)))


def likely(x: Value) -> Value:
    return x


def unlikely(x: Value) -> Value:
    return x


def likelihood(x: Value, p: Value) -> Value:
    return x


def check_likelihood(p: Value, is_float_literal: bool) -> float:
    """Compile-time check of likelihood()'s 2nd argument (must be a REAL literal in [0, 1])."""
    if not is_float_literal or type(p) is not float or not (0.0 <= p <= 1.0):
        raise OperationalError(
            "second argument to likelihood() must be a constant between 0.0 and 1.0")
    return p


def lower(x: Value) -> Value:
    if x is None:
        return None
    return (x if type(x) is str else to_text(x)).translate(_ASCII_LOWER)


def upper(x: Value) -> Value:
    if x is None:
        return None
    return (x if type(x) is str else to_text(x)).translate(_ASCII_UPPER)


def _trim(x: Value, chars: Value, left: bool, right: bool) -> Value:
    if x is None or chars is None:
        return None
    s = x if type(x) is str else to_text(x)
    cs = chars if type(chars) is str else to_text(chars)
    if "\x00" in cs:
        cs = _cut(cs)
    if not cs:
        return s
    if left and right:
        return s.strip(cs)
    return s.lstrip(cs) if left else s.rstrip(cs)


def ltrim(x: Value, chars: Value = " ") -> Value:
    return _trim(x, chars, True, False)


def rtrim(x: Value, chars: Value = " ") -> Value:
    return _trim(x, chars, False, True)


def trim(x: Value, chars: Value = " ") -> Value:
    return _trim(x, chars, True, True)


def max_(*args: Value, collation: Any = None) -> Value:
    """Scalar max(): NULL if any argument is NULL; ties keep the first."""
    best = args[0]
    if best is None:
        return None
    for a in args[1:]:
        if a is None:
            return None
        if compare(best, a, collation) < 0:
            best = a
    return best


def min_(*args: Value, collation: Any = None) -> Value:
    """Scalar min(): NULL if any argument is NULL; ties take the last."""
    best = args[0]
    if best is None:
        return None
    for a in args[1:]:
        if a is None:
            return None
        if compare(best, a, collation) >= 0:
            best = a
    return best


def nullif(a: Value, b: Value, collation: Any = None) -> Value:
    return a if compare(a, b, collation) != 0 else None


def quote(x: Value) -> str:
    t = type(x)
    if t is int:
        return str(x)
    if x is None:
        return "NULL"
    if t is float:
        return format_real_for_quote(x)
    if t is bytes:
        return "X'" + x.hex().upper() + "'"
    s = _cut(x)
    return "'" + s.replace("'", "''") + "'"


def random_() -> int:
    r = _random.getrandbits(64)
    if r >= 1 << 63:
        r -= 1 << 64
        r = -(r & LARGEST_INT64)
    return r


def randomblob(n: Value) -> bytes:
    k = to_int(n)
    if k < 1:
        k = 1
    if k > MAX_LENGTH:
        raise _too_big()
    return os.urandom(k)


def replace(x: Value, pat: Value, rep: Value) -> Value:
    if x is None or pat is None:
        return None
    p = pat if type(pat) is str else to_text(pat)
    if not p or p[0] == "\x00":
        # X itself, after sqlite3_value_text() turned a blob into text in place
        return blob_text(x) if type(x) is bytes else x
    if rep is None:
        return None
    s = x if type(x) is str else to_text(x)
    return s.replace(p, rep if type(rep) is str else to_text(rep))


def round_(x: Value, n: Value = 0) -> Value:
    if n is None or x is None:
        return None
    digits = to_int32(n)
    if digits > 30:
        digits = 30
    elif digits < 0:
        digits = 0
    r = to_real(x)
    if r < -4503599627370496.0 or r > 4503599627370496.0:
        return r
    if digits == 0:
        return float(int(r + (-0.5 if r < 0 else 0.5)))
    from sql.printf import format_float
    return sqlite_atof(format_float(r, "f", digits))[1]  # SQLite: printf("%.*f") then AtoF


def sign(x: Value) -> Value:
    v = numeric_value(x)
    t = type(v)
    if t is not int and t is not float:
        return None
    r = float(v)
    return -1 if r < 0.0 else (1 if r > 0.0 else 0)


# soundex codes for ASCII letters (vowels, H, W, Y: 0)
_SOUNDEX = [0] * 128
for _letters, _code in (("BFPV", 1), ("CGJKQSXZ", 2), ("DT", 3), ("L", 4), ("MN", 5), ("R", 6)):
    for _ch in _letters:
        _SOUNDEX[ord(_ch)] = _code
        _SOUNDEX[ord(_ch) + 32] = _code


def soundex(x: Value) -> str:
    z = b"" if x is None else _cut_bytes(text_bytes(to_text(x)))
    i, n = 0, len(z)
    while i < n and not (65 <= (z[i] & 0xDF) <= 90 and z[i] < 128):
        i += 1
    if i >= n:
        return "?000"
    prev = _SOUNDEX[z[i] & 0x7F]
    out = [chr(z[i] & 0xDF)]
    while len(out) < 4 and i < n:
        code = _SOUNDEX[z[i] & 0x7F]
        if code > 0:
            if code != prev:
                prev = code
                out.append(chr(48 + code))
        else:
            prev = 0
        i += 1
    return "".join(out).ljust(4, "0")


def _cut_bytes(b: bytes) -> bytes:
    z = b.find(b"\x00")
    return b if z < 0 else b[:z]


def sqlite_version() -> str:
    return SQLITE_VERSION


def substr(x: Value, start: Value, count: Value = ...) -> Value:
    if start is None or count is None:
        return None
    if x is None:
        return None
    is_blob = type(x) is bytes
    if is_blob:
        if not x:
            return None  # sqlite3_value_blob() of an empty blob is a NULL pointer
        z: Any = x
    else:
        z = x if type(x) is str else to_text(x)
        if "\x00" in z:
            z = _cut(z)
    ln = len(z)
    p1 = to_int32(start)
    neg2 = False
    if count is ...:
        p2 = MAX_LENGTH
    else:
        p2 = to_int32(count)
        if p2 < 0:
            p2 = -p2
            neg2 = True
    if p1 < 0:
        p1 += ln
        if p1 < 0:
            p2 += p1
            if p2 < 0:
                p2 = 0
            p1 = 0
    elif p1 > 0:
        p1 -= 1
    elif p2 > 0:
        p2 -= 1
    if neg2:
        p1 -= p2
        if p1 < 0:
            p2 += p1
            p1 = 0
    return z[p1:p1 + p2]


def typeof(x: Value) -> str:
    return _typeof(x)


_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def unhex(x: Value, ignore: Value = "") -> Value:
    if x is None or ignore is None:
        return None
    s = _cut(x if type(x) is str else to_text(x))
    ok = ignore if type(ignore) is str else to_text(ignore)
    out = bytearray()
    i, n = 0, len(s)
    hexd = _HEXDIGITS
    while i < n:
        c = s[i]
        while c not in hexd:
            if c not in ok:
                return None
            i += 1
            if i >= n:
                return bytes(out)
            c = s[i]
        i += 1
        if i >= n or s[i] not in hexd:
            return None
        out.append(int(c + s[i], 16))
        i += 1
    return bytes(out)


def unicode(x: Value) -> Value:
    """Code point of the first character, decoded like sqlite3Utf8Read (bytes-exact)."""
    if x is None:
        return None
    b = x if type(x) is bytes else text_bytes(x if type(x) is str else to_text(x))
    if not b or b[0] == 0:
        return None
    c = b[0]
    if c < 0xC0:
        return c
    c = c - 0xC0 if c < 0xE0 else (c - 0xE0 if c < 0xF0 else (c - 0xF0 if c < 0xF8 else c - 0xF8))
    for k in b[1:]:
        if (k & 0xC0) != 0x80:
            break
        c = (c << 6) + (k & 0x3F)
    if c < 0x80 or (c & 0xFFFFF800) == 0xD800 or (c & 0xFFFFFFFE) == 0xFFFE:
        return 0xFFFD
    return c


def zeroblob(n: Value) -> bytes:
    k = to_int(n)
    if k < 0:
        k = 0
    if k > MAX_LENGTH:
        raise _too_big()
    return bytes(k)


def changes(conn: Any) -> int:
    return conn.changes


def last_insert_rowid(conn: Any) -> int:
    return conn.last_insert_rowid


def total_changes(conn: Any) -> int:
    return conn.total_changes


# ---------------------------------------------------------------------------
# math functions (SQLITE_ENABLE_MATH_FUNCTIONS). Arguments go through
# sqlite3_value_numeric_type: non-numeric text and blobs give NULL. C's libm
# returns NaN (-> NULL) or +-inf where Python's math raises; we map back.
# ---------------------------------------------------------------------------

def _num_arg(x: Value) -> float | None:
    v = numeric_value(x)
    t = type(v)
    if t is float:
        return v
    if t is int:
        return float(v)
    return None


def _nan_none(r: float) -> float | None:
    return None if r != r else r


def _math1(f: Callable[[float], float], overflow: Callable[[float], float] | None = None):
    def fn(x: Value) -> Value:
        v = _num_arg(x)
        if v is None:
            return None
        try:
            return _nan_none(f(v))
        except OverflowError:
            return overflow(v) if overflow is not None else math.inf
        except ValueError:
            return None
    return fn


def _atanh(v: float) -> float:
    if v == 1.0 or v == -1.0:
        return math.copysign(math.inf, v)
    return math.atanh(v)


def _rounding(f: Callable[[float], int]):
    def fn(x: Value) -> Value:
        v = numeric_value(x)
        t = type(v)
        if t is int:
            return v
        if t is not float:
            return None
        if math.isinf(v) or v.is_integer():
            return v
        r = float(f(v))
        return math.copysign(0.0, v) if r == 0.0 else r
    return fn


def _log(x: Value, y: Value = ...) -> Value:
    """log(X) = log10(X); log(B, X) = ln(X)/ln(B). Non-positive arguments give NULL."""
    v = _num_arg(x)
    if v is None or v <= 0.0:
        return None
    if y is ...:
        return math.log(v) / _LN10  # log(X) is the base-10 logarithm
    b = math.log(v)
    if b <= 0.0:
        return None
    w = to_real(y)
    if w <= 0.0:
        return None
    return _nan_none(math.log(w) / b)


def _log_n(f: Callable[[float], float]):
    def fn(x: Value) -> Value:
        v = _num_arg(x)
        if v is None or v <= 0.0:
            return None
        return f(v)
    return fn


def _is_odd_integer(y: float) -> bool:
    return y.is_integer() and abs(y) < 2.0 ** 53 and int(y) % 2 == 1


def _cpow(x: float, y: float) -> float | None:
    try:
        return _nan_none(math.pow(x, y))
    except OverflowError:
        return -math.inf if (x < 0 and _is_odd_integer(y)) else math.inf
    except ValueError:
        if x == 0.0 and y < 0:
            if _is_odd_integer(y):
                return math.copysign(math.inf, x)
            return math.inf
        return None


def _math2(f: Callable[[float, float], float | None]):
    def fn(x: Value, y: Value) -> Value:
        a = _num_arg(x)
        if a is None:
            return None
        b = _num_arg(y)
        if b is None:
            return None
        try:
            return _nan_none(f(a, b))
        except ValueError:
            return None
    return fn


def pi() -> float:
    return math.pi


_LN10 = 2.302585092994045684017991454684364208  # M_LN10
_LN2 = 0.693147180559945309417232121458176568  # M_LN2
_DEG2RAD = math.pi / 180.0
_RAD2DEG = 180.0 / math.pi


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------

SCALAR: dict[str, FunctionDef] = {}


def register_function(d: FunctionDef) -> FunctionDef:
    """Add (or replace) a scalar function; names are case-insensitive."""
    SCALAR[d.name.lower()] = d
    return d


def _reg(name: str, fn: Callable[..., Value], nargs: int, lo: int = 0, hi: int = 127,
         **kw: Any) -> None:
    register_function(FunctionDef(name, nargs, fn, min_args=lo if nargs < 0 else nargs,
                                  max_args=hi if nargs < 0 else nargs, **kw))


_reg("abs", abs_, 1)
_reg("char", char, -1, 0)
_reg("coalesce", coalesce, -1, 2, inline=True)
_reg("concat", concat, -1, 1)
_reg("concat_ws", concat_ws, -1, 2)
_reg("format", printf, -1, 0)
_reg("printf", printf, -1, 0)
_reg("glob", glob, 2)
_reg("hex", hex_, 1)
_reg("ifnull", ifnull, 2, inline=True)
_reg("iif", iif, 3, inline=True)
_reg("instr", instr, 2)
_reg("length", length, 1)
_reg("like", like, -1, 2, 3)
_reg("likelihood", likelihood, 2, inline=True)
_reg("likely", likely, 1, inline=True)
_reg("lower", lower, 1)
_reg("ltrim", ltrim, -1, 1, 2)
_reg("max", max_, -1, 2, needs_collation=True)
_reg("min", min_, -1, 2, needs_collation=True)
_reg("nullif", nullif, 2, needs_collation=True)
_reg("octet_length", octet_length, 1)
_reg("quote", quote, 1)
_reg("random", random_, 0, deterministic=False)
_reg("randomblob", randomblob, 1, deterministic=False)
_reg("replace", replace, 3)
_reg("round", round_, -1, 1, 2)
_reg("rtrim", rtrim, -1, 1, 2)
_reg("sign", sign, 1)
_reg("soundex", soundex, 1)
_reg("sqlite_version", sqlite_version, 0)
_reg("substr", substr, -1, 2, 3)
_reg("substring", substr, -1, 2, 3)
_reg("trim", trim, -1, 1, 2)
_reg("typeof", typeof, 1)
_reg("unhex", unhex, -1, 1, 2)
_reg("unicode", unicode, 1)
_reg("unlikely", unlikely, 1, inline=True)
_reg("upper", upper, 1)
_reg("zeroblob", zeroblob, 1)
_reg("changes", changes, 0, deterministic=False, needs_connection=True)
_reg("last_insert_rowid", last_insert_rowid, 0, deterministic=False, needs_connection=True)
_reg("total_changes", total_changes, 0, deterministic=False, needs_connection=True)
# math
_reg("acos", _math1(math.acos), 1)
_reg("acosh", _math1(math.acosh), 1)
_reg("asin", _math1(math.asin), 1)
_reg("asinh", _math1(math.asinh), 1)
_reg("atan", _math1(math.atan), 1)
_reg("atan2", _math2(math.atan2), 2)
_reg("atanh", _math1(_atanh), 1)
_reg("ceil", _rounding(math.ceil), 1)
_reg("ceiling", _rounding(math.ceil), 1)
_reg("cos", _math1(math.cos), 1)
_reg("cosh", _math1(math.cosh), 1)
_reg("degrees", _math1(lambda v: v * _RAD2DEG), 1)
_reg("exp", _math1(math.exp), 1)
_reg("floor", _rounding(math.floor), 1)
_reg("ln", _log_n(math.log), 1)
_reg("log", _log, -1, 1, 2)
_reg("log10", _log_n(lambda v: math.log(v) / _LN10), 1)  # SQLite divides ln(x)
_reg("log2", _log_n(lambda v: math.log(v) / _LN2), 1)
_reg("mod", _math2(math.fmod), 2)
_reg("pi", pi, 0)
_reg("pow", _math2(_cpow), 2)
_reg("power", _math2(_cpow), 2)
_reg("radians", _math1(lambda v: v * _DEG2RAD), 1)
_reg("sin", _math1(math.sin), 1)
_reg("sinh", _math1(math.sinh, lambda v: math.copysign(math.inf, v)), 1)
_reg("sqrt", _math1(math.sqrt), 1)
_reg("tan", _math1(math.tan), 1)
_reg("tanh", _math1(math.tanh), 1)
_reg("trunc", _rounding(math.trunc), 1)


def lookup(name: str, argc: int) -> FunctionDef:
    """The scalar function ``name`` called with ``argc`` arguments, or SQLite's error."""
    d = SCALAR.get(name.lower())
    if d is None:
        raise OperationalError(f"no such function: {name}")
    if not d.accepts(argc):
        raise OperationalError(f"wrong number of arguments to function {name}()")
    return d
from sql import datetime as _datetime  # noqa: E402,F401 - registers the date/time functions
