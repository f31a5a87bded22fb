"""SQLite's value semantics for Python values: affinity, comparison, conversion, operators.

Single job: give generated query code small, fast functions that behave exactly
like SQLite 3.40.1 on the five storage classes, represented as Python values
``None`` (NULL), ``int`` (INTEGER, always within signed 64 bits), ``float``
(REAL, never NaN: SQLite turns NaN into NULL), ``str`` (TEXT) and ``bytes``
(BLOB). The rules are documented in SQLite's "Datatypes In SQLite" page
(datatype3.html: affinity, comparison, sort order) and "SQL Language
Expressions" (lang_expr.html: operators, CAST); we follow SQLite's behaviour
where the two disagree, proven differentially against the stdlib ``sqlite3``.

Public surface:

* affinities: ``affinity_of(declared_type)``, ``apply_affinity(value, aff)`` and
  ``affinity_function(aff)`` (the converter itself, for generated code),
  ``comparison_affinity(aff_left, aff_right)`` + ``comparison_converter(aff)``;
* conversions: ``to_text``, ``to_real``, ``to_int``, ``to_int32``, ``to_numeric``,
  ``numeric_value``, ``cast``/``cast_function``, ``real_to_text``,
  ``format_real_for_quote``, ``text_bytes``, ``blob_text``, ``sqlite_atof``, ``typeof``;
* comparison: ``compare``, ``eq ne lt le gt ge`` (1/0/None), ``is_same`` (IS),
  ``is_distinct`` (IS NOT), ``sort_key``/``make_sort_key``/``Desc`` (ORDER BY,
  GROUP BY, DISTINCT; NULLS FIRST/LAST);
* three-valued logic: ``truth``, ``sql_and``, ``sql_or``, ``sql_not``;
* arithmetic and bit operators: ``add sub mul div mod neg pos concat``,
  ``bit_and bit_or bit_not shl shr``;
* ``ld_*``: x87 long double emulation, shared with sql/printf.py.

Operators take values that already had comparison/column affinity applied;
the compiler decides that (``comparison_affinity``). ``collation`` arguments
are None (BINARY), a name, a ``sql.collation.Collation`` or a compare function.
Unary minus of a *literal* is the parser's business (``-0.0`` is -0.0 and
``-9223372036854775808`` an INTEGER); ``neg`` is SQLite's ``0 - x``.

Text to number conversion reproduces SQLite's own parser (``sqlite3AtoF``),
including its use of the x87 80-bit ``long double`` on x86-64, which makes a
few long decimal strings round differently from Python's correctly rounded
``float()``. REAL to TEXT uses SQLite's ``"%!.15g"`` (see ``sql/printf.py``).

TEXT that is not valid UTF-8 (a blob CAST to text) keeps its bytes as lone
surrogates U+DC80..U+DCFF ("surrogateescape"); ``text_bytes`` gives the bytes
back. Known gap: such text compares and counts characters by code point, not
byte by byte as SQLite does. Values must be exactly None/int/float/str/bytes
(convert bool at the API boundary).
"""
from __future__ import annotations

import codecs
import math
import re
from functools import cmp_to_key
from typing import Any, Callable

from sql.collation import BINARY as BINARY_COLLATION, Collation, get_collation

__all__ = [
    "INTEGER", "TEXT", "BLOB", "REAL", "NUMERIC",
    "affinity_of", "apply_affinity", "comparison_affinity",
    "affinity_function", "comparison_converter",
    "to_text", "to_real", "to_int", "to_int32", "to_numeric", "numeric_value", "cast",
    "cast_function", "real_to_text", "format_real_for_quote", "text_bytes", "blob_text",
    "sqlite_atof", "typeof",
    "compare", "eq", "ne", "lt", "le", "gt", "ge", "is_distinct", "is_same",
    "sort_key", "make_sort_key", "Desc",
    "truth", "sql_and", "sql_or", "sql_not",
    "add", "sub", "mul", "div", "mod", "neg", "pos", "concat",
    "bit_and", "bit_or", "bit_not", "shl", "shr",
]

Value = Any  # None | int | float | str | bytes

INTEGER = "INTEGER"
TEXT = "TEXT"
BLOB = "BLOB"
REAL = "REAL"
NUMERIC = "NUMERIC"

LARGEST_INT64 = (1 << 63) - 1
SMALLEST_INT64 = -(1 << 63)
_TWO63 = 9.223372036854775808e18  # 2**63 as a float
_ATOF_SIG_LIMIT = (LARGEST_INT64 - 9) // 10  # sqlite3AtoF stops collecting digits here


# ---------------------------------------------------------------------------
# Text <-> bytes. SQLite text is UTF-8 bytes that need not be valid UTF-8
# (CAST(x'ff' AS TEXT)); such bytes round-trip through Python str as lone
# surrogates U+DC80..U+DCFF ('surrogateescape'), and char() of a surrogate code
# point is encoded the way SQLite does (three bytes, 'surrogatepass').
# ---------------------------------------------------------------------------

def _sqlite_text_errors(exc: UnicodeError):
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for ch in exc.object[exc.start:exc.end]:
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:
            out.append(cp - 0xDC00)
        else:
            out += bytes((0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)))
    return bytes(out), exc.end


codecs.register_error("mvlite-text", _sqlite_text_errors)


def text_bytes(s: str) -> bytes:
    """The UTF-8 bytes SQLite holds for text ``s`` (lone surrogates included)."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "mvlite-text")


def _bytes_text(b: bytes) -> str:
    """Blob bytes reinterpreted as text, as SQLite does (no validation)."""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------
# x87 80-bit long double emulation (64-bit significand, round half to even).
# SQLite computes text->REAL and REAL->text in `long double`; to give the very
# same digits we do the same arithmetic on (m, e) pairs meaning m * 2**e, with
# 2**63 <= m < 2**64 (or m == 0). Shared with sql/printf.py.
# ---------------------------------------------------------------------------

LD_ZERO = (0, 0)


def ld_round(m: int, e: int, sticky: bool = False) -> tuple[int, int]:
    """Round the positive m*2**e (plus a nonzero tail below if ``sticky``) to 64 bits."""
    if m == 0:
        return LD_ZERO
    shift = m.bit_length() - 64
    if shift <= 0:
        return (m << -shift, e + shift)
    q = m >> shift
    rem = m - (q << shift)
    half = 1 << (shift - 1)
    if rem > half or (rem == half and (sticky or (q & 1))):
        q += 1
        if q >> 64:
            q >>= 1
            shift += 1
    return (q, e + shift)


def ld_from_float(x: float) -> tuple[int, int]:
    """A finite non-negative double as a long double (exact)."""
    if x == 0.0:
        return LD_ZERO
    n, d = x.as_integer_ratio()
    sh = d.bit_length() - 1  # d is a power of two
    return ld_round(n, -sh)


def ld_from_int(i: int) -> tuple[int, int]:
    """A non-negative integer as a long double (rounded if wider than 64 bits)."""
    return ld_round(i, 0)


def ld_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ld_round(a[0] * b[0], a[1] + b[1])


def ld_div(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    if a[0] == 0:
        return LD_ZERO
    q, r = divmod(a[0] << 66, b[0])
    return ld_round(q, a[1] - 66 - b[1], r != 0)


def ld_add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Sum of two non-negative long doubles."""
    if a[0] == 0:
        return b
    if b[0] == 0:
        return a
    ea, eb = a[1], b[1]
    if ea >= eb:
        return ld_round((a[0] << (ea - eb)) + b[0], eb)
    return ld_round(a[0] + (b[0] << (eb - ea)), ea)


def ld_sub(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """a - b for long doubles with a >= b >= 0."""
    if b[0] == 0:
        return a
    ea, eb = a[1], b[1]
    if ea >= eb:
        return ld_round((a[0] << (ea - eb)) - b[0], eb)
    return ld_round(a[0] - (b[0] << (eb - ea)), ea)


def ld_cmp(a: tuple[int, int], b: tuple[int, int]) -> int:
    """-1, 0, 1 comparing two non-negative long doubles."""
    if a[0] == 0 or b[0] == 0:
        return (a[0] > 0) - (b[0] > 0)
    ea, eb = a[1], b[1]
    # both normalized to 64 bits: exponent decides unless equal
    if ea != eb:
        return 1 if ea > eb else -1
    return (a[0] > b[0]) - (a[0] < b[0])


def ld_int(a: tuple[int, int]) -> int:
    """Truncation toward zero of a non-negative long double (C's (int) cast)."""
    m, e = a
    return m << e if e >= 0 else m >> -e


def ld_to_float(a: tuple[int, int]) -> float:
    """Round a non-negative long double to the nearest double (ties to even)."""
    m, e = a
    if m == 0:
        return 0.0
    top = e + 63  # binary exponent of the leading bit
    shift = 11 if top >= -1022 else -1074 - e
    if shift >= 66:
        return 0.0
    q = m >> shift
    rem = m - (q << shift)
    half = 1 << (shift - 1)
    if rem > half or (rem == half and (q & 1)):
        q += 1
    try:
        return math.ldexp(q, e + shift)
    except OverflowError:
        return math.inf


_POW10_LD: dict[int, tuple[int, int]] = {}
_LD_TEN = ld_from_int(10)
_LD_ONE = ld_from_int(1)


def ld_pow10(n: int) -> tuple[int, int]:
    """10**n in long double, by SQLite's square-and-multiply (sqlite3Pow10)."""
    r = _POW10_LD.get(n)
    if r is None:
        x, r, k = _LD_TEN, _LD_ONE, n
        while True:
            if k & 1:
                r = ld_mul(r, x)
            k >>= 1
            if k == 0:
                break
            x = ld_mul(x, x)
        _POW10_LD[n] = r
    return r


# ---------------------------------------------------------------------------
# Text -> number: sqlite3AtoF and sqlite3Atoi64, reimplemented.
#
# sqlite3AtoF grammar (ASCII only): [space*] [+-] digit* [. digit*]
# [(e|E) [+-] digit*] [space*], where space is one of " \t\n\v\f\r".
# Its return code `rc`:
#    1  the whole text is an integer literal
#    2+ the whole text is a number with '.' and/or an exponent
#   -1  not a number, but a prefix with '.' or an exponent is ('1.5abc')
#    0  anything else (including '12abc', '', '1e')
# The value is always computed from the longest prefix (0.0 if none).
# ---------------------------------------------------------------------------

_SPACES = " \t\n\v\f\r"
_ATOF_RE = re.compile(
    r"[ \t\n\v\f\r]*([-+]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?)([0-9]*))?[ \t\n\v\f\r]*")
_INT_RE = re.compile(r"[ \t\n\v\f\r]*([-+]?)([0-9]+)[ \t\n\v\f\r]*")
_ATOI_RE = re.compile(r"[ \t\n\v\f\r]*([-+]?)(0*)([0-9]*)")


def _atof(z: str) -> tuple[int, float]:
    """SQLite's sqlite3AtoF on text ``z``: (rc, value). See the table above."""
    m = _ATOF_RE.match(z)
    sign, idig, fdig, esign_s, edig = m.groups()
    if not idig and not fdig:
        # no digits at all (nDigit == 0): rc 0, value a signed zero
        return 0, (-0.0 if sign == "-" else 0.0)
    has_dot = fdig is not None
    has_e = edig is not None
    # significand s and decimal shift d, exactly as SQLite collects them
    d = 0
    ist = idig.lstrip("0")
    n = len(ist)
    if n <= 17:
        s = int(ist) if ist else 0
    else:
        p18 = int(ist[:18])
        if p18 >= _ATOF_SIG_LIMIT:
            s, d = p18, n - 18
        elif n == 18:
            s = p18
        else:
            s, d = int(ist[:19]), n - 19
    if fdig:
        if s == 0:
            stripped = fdig.lstrip("0")
            d -= len(fdig) - len(stripped)
            fdig = stripped
        for ch in fdig:
            if s >= _ATOF_SIG_LIMIT:
                break
            s = s * 10 + (ord(ch) - 48)
            d -= 1
    e = 0
    e_valid = True
    if has_e:
        e_valid = bool(edig)
        for ch in edig:
            e = e * 10 + (ord(ch) - 48) if e < 10000 else 10000
        if esign_s == "-":
            e = -e
    etype = 1 + has_dot + has_e
    whole = m.end() == len(z)
    if whole and e_valid:
        rc = etype
    elif etype >= 2 and (etype == 3 or e_valid):
        rc = -1
    else:
        rc = 0
    return rc, _atof_value(sign == "-", s, e + d)


def _atof_value(neg: bool, s: int, e: int) -> float:
    """The double sqlite3AtoF computes for (-1 if neg) * s * 10**e."""
    if s == 0:
        return -0.0 if neg else 0.0
    # reduce the exponent while the significand stays exact in 64 bits
    if e > 0:
        while e > 0 and s < LARGEST_INT64 // 10:
            s *= 10
            e -= 1
    elif e < 0:
        while e < 0 and s % 10 == 0:
            s //= 10
            e += 1
    if e == 0:
        r = float(s)
    else:
        ae = -e if e < 0 else e
        if ae > 307:
            if ae < 342:
                scale = ld_pow10(ae - 308)
                if e < 0:
                    r = ld_to_float(ld_div(ld_from_int(s), scale)) / 1.0e308
                else:
                    r = ld_to_float(ld_mul(ld_from_int(s), scale)) * 1.0e308
            else:
                r = 0.0 if e < 0 else math.inf
        else:
            scale = ld_pow10(ae)
            if e < 0:
                r = ld_to_float(ld_div(ld_from_int(s), scale))
            else:
                r = ld_to_float(ld_mul(ld_from_int(s), scale))
    return -r if neg else r


def _atoi64(z: str) -> tuple[int, int]:
    """SQLite's sqlite3Atoi64 on text: (rc, value), value clamped to 64 bits.

    rc: 0 all of ``z`` is an integer that fits; 1 trailing non-space text;
    -1 no digits; 2 too big; 3 exactly 9223372036854775808 (fits only if negative).
    """
    m = _ATOI_RE.match(z)
    sign, zeros, digits = m.groups()
    if not zeros and not digits:
        return -1, 0
    neg = sign == "-"
    rc = 1 if z[m.end():].strip(_SPACES) else 0
    n = len(digits)
    if n > 19:
        return 2, (SMALLEST_INT64 if neg else LARGEST_INT64)
    u = int(digits) if digits else 0
    if u < (1 << 63):
        return rc, (-u if neg else u)
    if u == (1 << 63):
        if neg:
            return rc, SMALLEST_INT64
        return 3, LARGEST_INT64
    return 2, (SMALLEST_INT64 if neg else LARGEST_INT64)


def sqlite_atof(z: str | bytes) -> tuple[int, float]:
    """sqlite3AtoF on text or blob bytes: (rc, value), rc as in the table above."""
    return _atof(_text_of(z))


def blob_text(b: bytes) -> str:
    """The text SQLite sees in a blob's bytes (invalid UTF-8 kept as U+DC80..U+DCFF)."""
    return _bytes_text(b)


def _text_of(x: str | bytes) -> str:
    """Text view of a text or blob for number parsing (blob bytes map 1:1 to chars)."""
    return x if type(x) is str else x.decode("latin-1")


def _numeric_text(z: str, try_int: bool) -> Value:
    """applyNumericAffinity: the number ``z`` spells in full, else ``z`` unchanged."""
    m = _INT_RE.fullmatch(z)
    if m is not None and len(m.group(2)) <= 19:
        i = int(m.group(2))
        if m.group(1) == "-":
            i = -i
        if SMALLEST_INT64 <= i <= LARGEST_INT64:
            return i
        # too big for INTEGER: the REAL sqlite3AtoF computes
    rc, r = _atof(z)
    if rc <= 0:
        return z
    if rc == 1:
        arc, i = _atoi64(z)
        if arc == 0:
            return i
    if try_int and -_TWO63 < r < _TWO63 and r.is_integer():
        return int(r)
    return r


def _double_to_int(r: float) -> int:
    """C's (i64) cast with SQLite's clamping (doubleToInt64)."""
    if r <= -_TWO63:
        return SMALLEST_INT64
    if r >= _TWO63:
        return LARGEST_INT64
    return int(r)


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------

def _g15(ds: str, exp: int) -> str:
    """'%!.15g' layout of significant digits ``ds`` (no trailing zeros) times 10**exp."""
    if exp < -4 or exp > 14:
        body = ds[0] + "." + (ds[1:] or "0")
        if exp < 0:
            return body + ("e-%02d" % -exp)
        return body + ("e+%02d" % exp)
    if exp < 0:
        return "0." + "0" * (-exp - 1) + ds
    if len(ds) <= exp + 1:
        return ds + "0" * (exp + 1 - len(ds)) + ".0"
    return ds[:exp + 1] + "." + ds[exp + 1:]


def real_to_text(r: float) -> str:
    """A REAL as SQLite renders it as TEXT ("%!.15g"): 1.0 -> '1.0', 1e100 -> '1.0e+100'.

    Fast paths (proven equal to the emulation by the tests): if ``repr`` needs
    at most 15 significant digits they are SQLite's digits; otherwise Python's
    correctly rounded 20-digit expansion decides the 15th digit unless the
    value is within a hair of a rounding tie, where SQLite's long double
    arithmetic decides and we run the full emulation (sql/printf.py).
    """
    a = -r if r < 0 else r
    if 1e-300 < a < 1e100:
        rp = repr(a)
        e = rp.find("e")
        if e >= 0:
            m, x = rp[:e], int(rp[e + 1:])
        else:
            m, x = rp, 0
        p = m.find(".")
        ip, fp = (m, "") if p < 0 else (m[:p], m[p + 1:])
        if ip != "0":
            exp = len(ip) - 1 + x
            ds = (ip + fp).rstrip("0")
        else:
            fs = fp.lstrip("0")
            exp = x - (len(fp) - len(fs)) - 1
            ds = fs.rstrip("0")
        if len(ds) > 15:
            digs = "%.19e" % a
            tail = digs[16:18]  # significant digits 16 and 17
            if tail == "49" or tail == "50":
                ds = ""  # too close to a tie: emulate
            else:
                exp = int(digs[22:])
                mant = int(digs[0] + digs[2:16])
                if digs[16] >= "5":
                    mant += 1
                    if mant == 10 ** 15:
                        mant = 10 ** 14
                        exp += 1
                ds = str(mant).rstrip("0")
        if ds:
            out = _g15(ds, exp)
            return "-" + out if r < 0 else out
    if r == 0.0:
        return "0.0"
    from sql.printf import format_float  # slow path; printf imports us
    return format_float(r, "g", 15, altform2=True)


def format_real_for_quote(r: float) -> str:
    """quote() of a REAL: "%!.15g" if that reads back as the same double, else "%!.20e"."""
    s = real_to_text(r)
    if _atof(s)[1] != r:
        from sql.printf import format_float
        s = format_float(r, "e", 20, altform2=True)
    return s


def to_text(v: Value) -> Value:
    """sqlite3_value_text: NULL stays None; numbers and blobs become text."""
    t = type(v)
    if t is str or v is None:
        return v
    if t is int:
        return str(v)
    if t is float:
        return real_to_text(v)
    return _bytes_text(v)


def to_real(v: Value) -> float:
    """sqlite3_value_double: NULL -> 0.0, text/blob -> value of its numeric prefix."""
    t = type(v)
    if t is float:
        return v
    if t is int:
        return float(v)
    if v is None:
        return 0.0
    return _atof(_text_of(v))[1]


def to_int(v: Value) -> int:
    """sqlite3_value_int64: NULL -> 0, REAL truncated and clamped, text -> integer prefix."""
    t = type(v)
    if t is int:
        return v
    if t is float:
        return _double_to_int(v)
    if v is None:
        return 0
    return _atoi64(_text_of(v))[1]


def to_int32(v: Value) -> int:
    """sqlite3_value_int: the 64-bit value truncated to a C int."""
    i = to_int(v) & 0xFFFFFFFF
    return i - 0x100000000 if i >= 0x80000000 else i


def _numeric_type(v: str | bytes) -> int | float:
    """The number a text/blob operand stands for in arithmetic (computeNumericType)."""
    z = _text_of(v)
    rc, r = _atof(z)
    if rc <= 0:
        if rc == 0:
            arc, i = _atoi64(z)
            if arc <= 1:
                return i
        return r
    if rc == 1:
        arc, i = _atoi64(z)
        if arc == 0:
            return i
    return r


def to_numeric(v: Value) -> Value:
    """CAST(v AS NUMERIC) (sqlite3VdbeMemNumerify); numbers and NULL unchanged."""
    t = type(v)
    if t is int or t is float or v is None:
        return v
    z = _text_of(v)
    rc, r = _atof(z)
    if rc == 0 or rc == 1:
        arc, i = _atoi64(z)
        if arc <= 1:
            return i
    if r == 0.0 or (r.is_integer() and -2251799813685248.0 <= r < 2251799813685248.0):
        return int(r)
    return r


def numeric_value(v: Value) -> Value:
    """sqlite3_value_numeric_type's conversion: numeric text -> int/float, else unchanged."""
    if type(v) is str:
        return _numeric_text(v, False)
    return v


def typeof(v: Value) -> str:
    return _TYPEOF[type(v)]


_TYPEOF = {type(None): "null", int: "integer", float: "real", str: "text", bytes: "blob"}


# ---------------------------------------------------------------------------
# Affinity
# ---------------------------------------------------------------------------

def affinity_of(declared_type: str | None) -> str:
    """Column affinity of a declared type (datatype3 section 3.1, rules in order).

    1. contains "INT" -> INTEGER; 2. "CHAR", "CLOB" or "TEXT" -> TEXT;
    3. "BLOB" or no type -> BLOB; 4. "REAL", "FLOA" or "DOUB" -> REAL;
    5. otherwise NUMERIC. Matching is ASCII case-insensitive.
    """
    if not declared_type:
        return BLOB
    u = text_bytes(declared_type).upper()
    if b"INT" in u:
        return INTEGER
    if b"CHAR" in u or b"CLOB" in u or b"TEXT" in u:
        return TEXT
    if b"BLOB" in u:
        return BLOB
    if b"REAL" in u or b"FLOA" in u or b"DOUB" in u:
        return REAL
    return NUMERIC


def _aff_numeric(v: Value) -> Value:
    t = type(v)
    if t is str:
        return _numeric_text(v, True)
    if t is float and -_TWO63 < v < _TWO63 and v.is_integer():
        return int(v)
    return v


def _aff_real(v: Value) -> Value:
    # REAL columns store integral values as INTEGER on disk: -0.0 reads back as 0.0
    t = type(v)
    if t is int:
        return float(v)
    if t is float:
        return 0.0 if v == 0.0 else v
    if t is str:
        v = _numeric_text(v, True)
        if type(v) is int:
            return float(v)
    return v


def _aff_text(v: Value) -> Value:
    t = type(v)
    if t is int:
        return str(v)
    if t is float:
        return real_to_text(v)
    return v


def _aff_blob(v: Value) -> Value:
    return v


_APPLY = {INTEGER: _aff_numeric, NUMERIC: _aff_numeric, REAL: _aff_real,
          TEXT: _aff_text, BLOB: _aff_blob, None: _aff_blob}


def apply_affinity(value: Value, affinity: str | None) -> Value:
    """The value a column of this affinity stores (and reads back) for ``value``.

    NUMERIC/INTEGER: well-formed numeric text -> INTEGER if exact, else REAL;
    REALs with an exact 64-bit integer value -> INTEGER. REAL: numbers and
    numeric text -> REAL. TEXT: numbers -> text. BLOB (or None): unchanged.
    """
    return _APPLY[affinity](value)


def affinity_function(affinity: str | None) -> Callable[[Value], Value]:
    """The one-argument converter for ``affinity`` (for generated code)."""
    return _APPLY[affinity]


def comparison_affinity(aff_left: str | None, aff_right: str | None
                        ) -> tuple[str | None, str | None]:
    """Which affinity to apply to each operand of a comparison (datatype3 4.2).

    ``aff_left``/``aff_right`` is the affinity of each operand's expression:
    a column's affinity, the type of a CAST, or None for an expression with no
    affinity (literals, parameters, most expressions). SQLite computes one
    affinity for the comparison and applies it to both operands: NUMERIC if
    either side is INTEGER/REAL/NUMERIC and the other is TEXT/BLOB/none (or
    both are columns and one is numeric); TEXT if one side is TEXT and the
    other has none; otherwise nothing. Applying NUMERIC only turns well-formed
    numeric text into numbers; applying TEXT only turns numbers into text.
    """
    numeric = (INTEGER, REAL, NUMERIC)
    if aff_left is not None and aff_right is not None:
        if aff_left in numeric or aff_right in numeric:
            return NUMERIC, NUMERIC
        return None, None
    aff = aff_left if aff_right is None else aff_right
    if aff is None or aff == BLOB:
        return None, None
    if aff in numeric:
        return NUMERIC, NUMERIC
    return TEXT, TEXT


def _cmp_numeric(v: Value) -> Value:
    # comparison conversion: only pure text turns into a number (blobs never)
    if type(v) is str:
        return _numeric_text(v, False)
    return v


_CMP_APPLY = {NUMERIC: _cmp_numeric, TEXT: _aff_text, None: None}


def comparison_converter(affinity: str | None) -> Callable[[Value], Value] | None:
    """Converter for one side of a comparison, from ``comparison_affinity``; None = identity."""
    return _CMP_APPLY[affinity]


# ---------------------------------------------------------------------------
# Comparison and sort order: NULL < INTEGER/REAL (numerically) < TEXT (by
# collation) < BLOB (memcmp). Python compares int with float exactly, as
# SQLite does, and str by code point, which is UTF-8 byte order.
# ---------------------------------------------------------------------------

_CLASS = {type(None): 0, int: 1, float: 1, str: 2, bytes: 3}


def _resolve_collation(collation) -> Callable[[str, str], int] | None:
    """A compare function for ``collation``: None/"BINARY" -> None (plain order)."""
    if collation is None:
        return None
    t = type(collation)
    if t is Collation:
        coll = collation
    elif t is str:
        coll = get_collation(collation)
    else:
        return collation  # a compare function already
    return None if coll is BINARY_COLLATION else coll.compare


def compare(a: Value, b: Value, collation: Any = None) -> int:
    """sqlite3MemCompare: -1, 0 or 1 in SQLite's cross-class order.

    ``collation`` applies to text-text comparisons only: None (BINARY), a
    name or ``Collation`` from ``sql.collation``, or a compare function.
    """
    ca = _CLASS[type(a)]
    cb = _CLASS[type(b)]
    if ca != cb:
        return -1 if ca < cb else 1
    if ca == 0:
        return 0
    if ca == 2 and collation is not None:
        fn = _resolve_collation(collation)
        if fn is not None:
            r = fn(a, b)
            return -1 if r < 0 else (1 if r > 0 else 0)
    return (a > b) - (a < b)


def eq(a: Value, b: Value, collation=None) -> int | None:
    """a = b after affinity: 1, 0 or None (NULL)."""
    if a is None or b is None:
        return None
    if collation is None:
        ta, tb = type(a), type(b)
        if ta is tb or _CLASS[ta] == _CLASS[tb]:
            return 1 if a == b else 0
        return 0
    return 1 if compare(a, b, collation) == 0 else 0


def ne(a: Value, b: Value, collation=None) -> int | None:
    r = eq(a, b, collation)
    return None if r is None else 1 - r


def lt(a: Value, b: Value, collation=None) -> int | None:
    """a < b after affinity: 1, 0 or None (NULL)."""
    if a is None or b is None:
        return None
    if collation is None:
        ca, cb = _CLASS[type(a)], _CLASS[type(b)]
        if ca == cb:
            return 1 if a < b else 0
        return 1 if ca < cb else 0
    return 1 if compare(a, b, collation) < 0 else 0


def le(a: Value, b: Value, collation=None) -> int | None:
    if a is None or b is None:
        return None
    if collation is None:
        ca, cb = _CLASS[type(a)], _CLASS[type(b)]
        if ca == cb:
            return 1 if a <= b else 0
        return 1 if ca < cb else 0
    return 1 if compare(a, b, collation) <= 0 else 0


def gt(a: Value, b: Value, collation=None) -> int | None:
    if a is None or b is None:
        return None
    if collation is None:
        ca, cb = _CLASS[type(a)], _CLASS[type(b)]
        if ca == cb:
            return 1 if a > b else 0
        return 1 if ca > cb else 0
    return 1 if compare(a, b, collation) > 0 else 0


def ge(a: Value, b: Value, collation=None) -> int | None:
    if a is None or b is None:
        return None
    if collation is None:
        ca, cb = _CLASS[type(a)], _CLASS[type(b)]
        if ca == cb:
            return 1 if a >= b else 0
        return 1 if ca > cb else 0
    return 1 if compare(a, b, collation) >= 0 else 0


def is_same(a: Value, b: Value, collation=None) -> int:
    """a IS b: NULLs compare equal, never NULL."""
    if a is None or b is None:
        return int(a is b)
    return int(compare(a, b, collation) == 0)


def is_distinct(a: Value, b: Value, collation=None) -> int:
    """a IS NOT b (IS DISTINCT FROM): 1 if different, NULLs equal."""
    return 1 - is_same(a, b, collation)


def _binary_key(v: Value) -> tuple:
    return (_CLASS[type(v)], v)


def _binary_key_nulls_last(v: Value) -> tuple:
    return (4, None) if v is None else (_CLASS[type(v)], v)


def make_sort_key(collation: Any = None, nulls_last: bool = False) -> Callable[[Value], tuple]:
    """A key function ordering values as SQLite does under ``collation``.

    Equal keys mean equal values (1 and 1.0 too), so the key also serves
    GROUP BY and DISTINCT. For DESC wrap the key in ``Desc``. ``nulls_last``
    makes NULL sort after everything (ASC NULLS LAST; with ``Desc`` it gives
    DESC NULLS FIRST); SQLite's default is NULL first for ASC, last for DESC.
    """
    coll = None
    if collation is not None:
        t = type(collation)
        if t is Collation:
            coll = collation
        elif t is str:
            coll = get_collation(collation)
        else:
            coll = Collation("user", collation, cmp_to_key(collation))
        if coll is BINARY_COLLATION:
            coll = None
    if coll is None:
        return _binary_key_nulls_last if nulls_last else _binary_key
    text_key = coll.key
    classes = _CLASS
    null_rank = 4 if nulls_last else 0

    def key(v: Value) -> tuple:
        c = classes[type(v)]
        if c == 2:
            return (2, text_key(v))
        if c == 0:
            return (null_rank, None)
        return (c, v)
    return key


def sort_key(value: Value, collation=None) -> tuple:
    """The ORDER BY key of one value (see ``make_sort_key`` for a hot loop)."""
    if collation is None:
        return (_CLASS[type(value)], value)
    return make_sort_key(collation)(value)


class Desc:
    """Wraps a sort key to reverse its order (for DESC terms in a key tuple)."""

    __slots__ = ("k",)

    def __init__(self, k) -> None:
        self.k = k

    def __lt__(self, other: "Desc") -> bool:
        return other.k < self.k

    def __gt__(self, other: "Desc") -> bool:
        return other.k > self.k

    def __le__(self, other: "Desc") -> bool:
        return other.k <= self.k

    def __ge__(self, other: "Desc") -> bool:
        return other.k >= self.k

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Desc) and self.k == other.k

    def __hash__(self) -> int:
        return hash(self.k)

    def __repr__(self) -> str:
        return f"Desc({self.k!r})"


# ---------------------------------------------------------------------------
# Three-valued logic. Truth of a value (sqlite3VdbeBooleanValue): numbers are
# true if nonzero; text and blobs by the REAL value of their numeric prefix.
# ---------------------------------------------------------------------------

def truth(v: Value) -> bool | None:
    """True/False for a value used as a condition; None for NULL."""
    t = type(v)
    if t is int or t is float:
        return v != 0
    if v is None:
        return None
    return _atof(_text_of(v))[1] != 0.0


def sql_and(a: Value, b: Value) -> int | None:
    ta = truth(a)
    if ta is False:
        return 0
    tb = truth(b)
    if tb is False:
        return 0
    if ta is None or tb is None:
        return None
    return 1


def sql_or(a: Value, b: Value) -> int | None:
    ta = truth(a)
    if ta is True:
        return 1
    tb = truth(b)
    if tb is True:
        return 1
    if ta is None or tb is None:
        return None
    return 0


def sql_not(a: Value) -> int | None:
    t = truth(a)
    return None if t is None else int(not t)


# ---------------------------------------------------------------------------
# Arithmetic (OP_Add ... OP_Remainder): integer math while both operands are
# integers (text operands count by their numeric prefix) and the result fits
# in 64 bits; otherwise double math. x/0 and x%0 are NULL, as is a NaN result.
# ---------------------------------------------------------------------------

def _arith_operands(a: Value, b: Value):
    """(x, y, both_int) for non-NULL operands, numeric-converted like numericType()."""
    ta, tb = type(a), type(b)
    x = a if (ta is int or ta is float) else _numeric_type(a)
    y = b if (tb is int or tb is float) else _numeric_type(b)
    return x, y, type(x) is int and type(y) is int


def _fp_operand(orig: Value) -> float:
    # sqlite3VdbeRealValue of the original operand (text: sqlite3AtoF prefix value)
    t = type(orig)
    if t is float:
        return orig
    if t is int:
        return float(orig)
    return to_real(orig)


def add(a: Value, b: Value) -> Value:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        r = a + b
        if SMALLEST_INT64 <= r <= LARGEST_INT64:
            return r
        return float(a) + float(b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        r = a + b  # one operand is REAL; Python rounds the int to double like C
        return None if r != r else r
    if a is None or b is None:
        return None
    x, y, ints = _arith_operands(a, b)
    if ints:
        r = x + y
        if SMALLEST_INT64 <= r <= LARGEST_INT64:
            return r
    r = _fp_operand(a) + _fp_operand(b)
    return None if r != r else r


def sub(a: Value, b: Value) -> Value:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        r = a - b
        if SMALLEST_INT64 <= r <= LARGEST_INT64:
            return r
        return float(a) - float(b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        r = a - b  # one operand is REAL; Python rounds the int to double like C
        return None if r != r else r
    if a is None or b is None:
        return None
    x, y, ints = _arith_operands(a, b)
    if ints:
        r = x - y
        if SMALLEST_INT64 <= r <= LARGEST_INT64:
            return r
    r = _fp_operand(a) - _fp_operand(b)
    return None if r != r else r


def mul(a: Value, b: Value) -> Value:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        r = a * b
        if SMALLEST_INT64 <= r <= LARGEST_INT64:
            return r
        return float(a) * float(b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        r = a * b  # one operand is REAL; Python rounds the int to double like C
        return None if r != r else r
    if a is None or b is None:
        return None
    x, y, ints = _arith_operands(a, b)
    if ints:
        r = x * y
        if SMALLEST_INT64 <= r <= LARGEST_INT64:
            return r
    r = _fp_operand(a) * _fp_operand(b)
    return None if r != r else r


def _int_div(x: int, y: int) -> Value:
    if y == 0:
        return None
    if y == -1 and x == SMALLEST_INT64:
        return float(x) / -1.0
    q = abs(x) // abs(y)
    return -q if (x < 0) != (y < 0) else q


def div(a: Value, b: Value) -> Value:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int_div(a, b)
    if (ta is float or ta is int) and (tb is float or tb is int):
        if b == 0:
            return None
        r = a / b
        return None if r != r else r
    if a is None or b is None:
        return None
    x, y, ints = _arith_operands(a, b)
    if ints:
        return _int_div(x, y)
    fy = _fp_operand(b)
    if fy == 0.0:
        return None
    r = _fp_operand(a) / fy
    return None if r != r else r


def _int_rem(x: int, y: int) -> int | None:
    if y == 0:
        return None
    if y == -1:
        y = 1
    r = abs(x) % abs(y)
    return -r if x < 0 else r


def mod(a: Value, b: Value) -> Value:
    """a % b: both operands as integers; REAL result if either operand is REAL."""
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int_rem(a, b)
    if a is None or b is None:
        return None
    x, y, ints = _arith_operands(a, b)
    if ints:
        return _int_rem(x, y)
    r = _int_rem(to_int(a), to_int(b))
    return None if r is None else float(r)


def neg(a: Value) -> Value:
    """Unary minus: computed as 0 - a (so -(-2**63) is REAL, -'3x' is -3)."""
    if type(a) is int and a != SMALLEST_INT64:
        return -a
    return sub(0, a)


def pos(a: Value) -> Value:
    """Unary plus: a no-op, even for text."""
    return a


def concat(a: Value, b: Value) -> Value:
    """a || b: both as text; NULL if either is NULL."""
    if a is None or b is None:
        return None
    if type(a) is not str:
        a = to_text(a)
    if type(b) is not str:
        b = to_text(b)
    return a + b


# Bitwise operators work on sqlite3_value_int64 of each operand.

def _wrap64(x: int) -> int:
    x &= 0xFFFFFFFFFFFFFFFF
    return x - (1 << 64) if x >> 63 else x


def bit_and(a: Value, b: Value) -> int | None:
    if a is None or b is None:
        return None
    return to_int(a) & to_int(b)


def bit_or(a: Value, b: Value) -> int | None:
    if a is None or b is None:
        return None
    return to_int(a) | to_int(b)


def bit_not(a: Value) -> int | None:
    if a is None:
        return None
    return ~to_int(a)


def _shift(x: int, n: int, left: bool) -> int:
    if n == 0:
        return x
    if n < 0:
        left = not left
        n = -n if n > -64 else 64
    if n >= 64:
        return 0 if (x >= 0 or left) else -1
    if left:
        return _wrap64(x << n)
    return x >> n  # Python's >> sign-extends like SQLite's explicit fill


def shl(a: Value, b: Value) -> int | None:
    if a is None or b is None:
        return None
    return _shift(to_int(a), to_int(b), True)


def shr(a: Value, b: Value) -> int | None:
    if a is None or b is None:
        return None
    return _shift(to_int(a), to_int(b), False)


# ---------------------------------------------------------------------------
# CAST
# ---------------------------------------------------------------------------

def _cast_blob(v: Value) -> Value:
    t = type(v)
    if t is bytes or v is None:
        return v
    return text_bytes(to_text(v))


def _cast_text(v: Value) -> Value:
    return to_text(v)


def _cast_int(v: Value) -> Value:
    return None if v is None else to_int(v)


def _cast_real(v: Value) -> Value:
    return None if v is None else to_real(v)


_CAST = {INTEGER: _cast_int, REAL: _cast_real, NUMERIC: to_numeric,
         TEXT: _cast_text, BLOB: _cast_blob}


def cast(value: Value, type_name: str) -> Value:
    """CAST(value AS type_name), the type's affinity chosen by ``affinity_of``."""
    return _CAST[affinity_of(type_name)](value)


def cast_function(type_name: str) -> Callable[[Value], Value]:
    """The converter for CAST(... AS type_name), for generated code."""
    return _CAST[affinity_of(type_name)]
