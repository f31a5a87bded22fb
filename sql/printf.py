"""SQLite's printf()/format() SQL function and its floating point formatter.

Single job: render a format string and SQL values exactly as SQLite 3.40.1's
``sqlite3_str_vappendf`` does for the printf()/format() SQL functions
(documented at https://sqlite.org/printf.html), and provide the REAL -> TEXT
conversion ("%!.15g") that sql/values.py uses on its slow path.

Supported: ``%d %i %u %f %e %E %g %G %x %X %o %s %z %q %Q %w %c %p %r %n %%``,
the flags ``- + space 0 # , !``, width, precision, ``*`` width/precision taken
from the arguments, ``l``/``ll`` (ignored). Missing arguments read as NULL,
0 or 0.0. An unknown conversion stops the output where it stands (and a
result to which nothing was ever appended is NULL, as in SQLite).

Widths and precisions count bytes of UTF-8 unless the ``!`` flag is given,
so the rendering is done on bytes. Floats are rendered digit by digit in
emulated x87 ``long double`` arithmetic (see sql/values.py), exactly as the C
code does: only 16 significant digits (26 with ``!``) are real, the rest are
zeros, and the results match SQLite's including its rounding quirks.
"""
from __future__ import annotations

import math
import struct
from typing import Any, Sequence

from sql.values import (
    blob_text, ld_add, ld_cmp, ld_div, ld_from_float, ld_from_int, ld_int,
    ld_mul, ld_sub, ld_to_float, text_bytes, to_int, to_int32, to_real, to_text,
)

__all__ = ["sql_printf", "format_float", "MAX_LENGTH"]

#: SQLite's SQLITE_MAX_LENGTH default: the longest string or blob
MAX_LENGTH = 1_000_000_000
#: SQLITE_FP_PRECISION_LIMIT: floating point precisions are capped here
_FP_PRECISION_LIMIT = 100_000_000

# Conversion classes (the C code's etXXX constants).
_RADIX, _DECIMAL, _FLOAT, _EXP, _GENERIC, _SIZE, _STRING, _PERCENT, _CHARX, \
    _SQLESCAPE, _SQLESCAPE2, _SQLESCAPE3, _POINTER, _ORDINAL, _INTERNAL = range(15)

_DIGITS = b"0123456789ABCDEF0123456789abcdef"

# conversion char -> (base, signed, class, charset offset into _DIGITS, alt prefix)
_FMTINFO: dict[int, tuple[int, bool, int, int, bytes]] = {
    ord("d"): (10, True, _DECIMAL, 0, b""),
    ord("s"): (0, False, _STRING, 0, b""),
    ord("g"): (0, True, _GENERIC, 30, b""),
    ord("z"): (0, False, _STRING, 0, b""),
    ord("q"): (0, False, _SQLESCAPE, 0, b""),
    ord("Q"): (0, False, _SQLESCAPE2, 0, b""),
    ord("w"): (0, False, _SQLESCAPE3, 0, b""),
    ord("c"): (0, False, _CHARX, 0, b""),
    ord("o"): (8, False, _RADIX, 0, b"0"),
    ord("u"): (10, False, _DECIMAL, 0, b""),
    ord("x"): (16, False, _RADIX, 16, b"0x"),
    ord("X"): (16, False, _RADIX, 0, b"0X"),
    ord("f"): (0, True, _FLOAT, 0, b""),
    ord("e"): (0, True, _EXP, 30, b""),
    ord("E"): (0, True, _EXP, 14, b""),
    ord("G"): (0, True, _GENERIC, 14, b""),
    ord("i"): (10, True, _DECIMAL, 0, b""),
    ord("n"): (0, False, _SIZE, 0, b""),
    ord("%"): (0, False, _PERCENT, 0, b""),
    ord("p"): (16, False, _POINTER, 0, b"0x"),
    ord("T"): (0, False, _INTERNAL, 0, b""),   # internal use only: stops output
    ord("S"): (0, False, _INTERNAL, 0, b""),
    ord("r"): (10, True, _ORDINAL, 0, b""),
}

_AR_ROUND = (5.0e-01, 5.0e-02, 5.0e-03, 5.0e-04, 5.0e-05,
             5.0e-06, 5.0e-07, 5.0e-08, 5.0e-09, 5.0e-10)
_LD_1E100 = ld_from_float(1e100)
_LD_1E10 = ld_from_float(1e10)
_LD_10 = ld_from_float(10.0)
_LD_1 = ld_from_float(1.0)
_LD_1EM8 = ld_from_float(1e-8)
_LD_1E8 = ld_from_float(1e8)
_LD_0_1 = ld_from_float(0.1)
_LD_3EM16 = ld_from_float(3e-16)


class _TooBig(Exception):
    """The result would reach SQLITE_MAX_LENGTH: SQLite's printf() then returns NULL."""


def format_float(value: float, conv: str, precision: int = -1, *, flag_prefix: str = "",
                 alternate: bool = False, altform2: bool = False, zeropad: bool = False,
                 leftjustify: bool = False, width: int = 0) -> str:
    """One %f/%e/%E/%g/%G conversion of ``value``, before width padding with spaces.

    ``flag_prefix`` is "+" or " " (or ""), ``alternate`` the "#" flag and
    ``altform2`` the "!" flag. Zero padding to ``width`` is done here, as in C.
    """
    xtype = _FLOAT if conv == "f" else (_EXP if conv in "eE" else _GENERIC)
    echar = "e" if conv in "eg" else "E"
    if precision < 0:
        precision = 6
    elif precision > _FP_PRECISION_LIMIT:
        precision = _FP_PRECISION_LIMIT
    if value < 0.0:
        value = -value
        prefix = "-"
    else:
        prefix = flag_prefix
    if xtype == _GENERIC and precision > 0:
        precision -= 1
    idx = precision & 0xFFF
    rounder = _AR_ROUND[idx % 10]
    while idx >= 10:
        rounder *= 1.0e-10
        idx -= 10
    if math.isinf(value):
        return prefix + "Inf"
    rv = ld_from_float(value)
    if xtype == _FLOAT:
        ex = ((struct.unpack("<Q", struct.pack("<d", value))[0] >> 52) & 0x7FF) - 1023
        ex3 = -((-ex) // 3) if ex < 0 else ex // 3
        if precision + ex3 < 15:
            rounder = ld_to_float(ld_add(ld_from_float(rounder), ld_mul(rv, _LD_3EM16)))
        rv = ld_add(rv, ld_from_float(rounder))
    exp = 0
    if rv[0] != 0:
        # normalize to 1.0 <= rv < 10.0
        scale = _LD_1
        while exp <= 350 and ld_cmp(rv, ld_mul(_LD_1E100, scale)) >= 0:
            scale = ld_mul(scale, _LD_1E100)
            exp += 100
        while exp <= 350 and ld_cmp(rv, ld_mul(_LD_1E10, scale)) >= 0:
            scale = ld_mul(scale, _LD_1E10)
            exp += 10
        while exp <= 350 and ld_cmp(rv, ld_mul(_LD_10, scale)) >= 0:
            scale = ld_mul(scale, _LD_10)
            exp += 1
        rv = ld_div(rv, scale)
        while ld_cmp(rv, _LD_1EM8) < 0:
            rv = ld_mul(rv, _LD_1E8)
            exp -= 8
        while ld_cmp(rv, _LD_1) < 0:
            rv = ld_mul(rv, _LD_10)
            exp -= 1
        if exp > 350:
            return prefix + "Inf"
    if xtype != _FLOAT:
        rv = ld_add(rv, ld_from_float(rounder))
        if ld_cmp(rv, _LD_10) >= 0:
            rv = ld_mul(rv, _LD_0_1)
            exp += 1
    if xtype == _GENERIC:
        flag_rtz = not alternate
        if exp < -4 or exp > precision:
            xtype = _EXP
        else:
            precision -= exp
            xtype = _FLOAT
    else:
        flag_rtz = altform2
    e2 = 0 if xtype == _EXP else exp
    nsd = 26 if altform2 else 16
    flag_dp = precision > 0 or alternate or altform2
    if max(e2, 0) + precision + width + 15 > MAX_LENGTH:
        raise _TooBig()
    out: list[str] = []
    put = out.append
    # digit generation (et_getdigit), inlined
    ten = _LD_10

    def getdigit() -> str:
        nonlocal rv, nsd
        if nsd <= 0:
            return "0"
        nsd -= 1
        d = ld_int(rv)
        if rv[0]:
            rv = ld_mul(ld_sub(rv, ld_from_int(d)) if d else rv, ten)
        return chr(48 + d)

    if e2 < 0:
        put("0")
    else:
        for _ in range(e2 + 1):
            put(getdigit())
    if flag_dp:
        put(".")
    e2 += 1
    while e2 < 0 and precision > 0:
        put("0")
        precision -= 1
        e2 += 1
    while precision > 0:
        precision -= 1
        put(getdigit())
    body = "".join(out)
    if flag_rtz and flag_dp:
        body = body.rstrip("0")
        if body.endswith("."):
            body = body + "0" if altform2 else body[:-1]
    if xtype == _EXP:
        if exp < 0:
            body += echar + "-"
            exp = -exp
        else:
            body += echar + "+"
        body += "%02d" % exp
    s = prefix + body
    if zeropad and not leftjustify and len(s) < width:
        npad = width - len(s)
        k = 1 if prefix else 0
        s = s[:k] + "0" * npad + s[k:]
    return s


def _skip_utf8(b: bytes, i: int) -> int:
    """Index after the UTF-8 character starting at ``i`` (SQLITE_SKIP_UTF8)."""
    c = b[i]
    i += 1
    if c >= 0xC0:
        n = len(b)
        while i < n and (b[i] & 0xC0) == 0x80:
            i += 1
    return i


def _cstr(v: Any) -> bytes | None:
    """sqlite3_value_text as a C string: None for NULL, bytes up to the first NUL."""
    if v is None:
        return None
    b = text_bytes(to_text(v))
    z = b.find(b"\x00")
    return b if z < 0 else b[:z]


def sql_printf(fmt: Any, args: Sequence[Any] = ()) -> str | None:
    """printf(FORMAT, ...) / format(FORMAT, ...): None if FORMAT is NULL."""
    if fmt is None:
        return None
    f = _cstr(fmt)
    n = len(f)
    out = bytearray()
    touched = False  # SQLite returns NULL if nothing was ever appended
    nargs = len(args)
    argi = 0
    i = 0
    while i < n:
        c = f[i]
        if c != 0x25:  # literal run up to the next '%'
            j = f.find(b"%", i)
            if j < 0:
                j = n
            out += f[i:j]
            touched = True
            i = j
            if i >= n:
                break
        i += 1
        if i >= n:
            out += b"%"
            touched = True
            break
        c = f[i]
        leftjustify = alternate = altform2 = zeropad = False
        flag_prefix = 0
        thousand = False
        width = 0
        precision = -1
        done = False
        while True:
            if c == 0x2D:    # '-'
                leftjustify = True
            elif c == 0x2B:  # '+'
                flag_prefix = 0x2B
            elif c == 0x20:  # ' '
                flag_prefix = 0x20
            elif c == 0x23:  # '#'
                alternate = True
            elif c == 0x21:  # '!'
                altform2 = True
            elif c == 0x30:  # '0'
                zeropad = True
            elif c == 0x2C:  # ','
                thousand = True
            elif c == 0x6C:  # 'l' / 'll': size modifiers, meaningless here
                i += 1
                c = f[i] if i < n else 0
                if c == 0x6C:
                    i += 1
                    c = f[i] if i < n else 0
                done = True
            elif 0x31 <= c <= 0x39:
                wx = c - 48
                i += 1
                c = f[i] if i < n else 0
                while 0x30 <= c <= 0x39:
                    wx = (wx * 10 + c - 48) & 0xFFFFFFFF
                    i += 1
                    c = f[i] if i < n else 0
                width = wx & 0x7FFFFFFF
                if c != 0x2E and c != 0x6C:
                    done = True
                else:
                    i -= 1
            elif c == 0x2A:  # '*'
                width = to_int32(args[argi]) if argi < nargs else 0
                argi += 1 if argi < nargs else 0
                if width < 0:
                    leftjustify = True
                    width = -width if width >= -2147483647 else 0
                nc = f[i + 1] if i + 1 < n else 0
                if nc != 0x2E and nc != 0x6C:
                    i += 1
                    c = nc
                    done = True
            elif c == 0x2E:  # '.'
                i += 1
                c = f[i] if i < n else 0
                if c == 0x2A:
                    precision = to_int32(args[argi]) if argi < nargs else 0
                    argi += 1 if argi < nargs else 0
                    if precision < 0:
                        precision = -precision if precision >= -2147483647 else -1
                    i += 1
                    c = f[i] if i < n else 0
                else:
                    px = 0
                    while 0x30 <= c <= 0x39:
                        px = (px * 10 + c - 48) & 0xFFFFFFFF
                        i += 1
                        c = f[i] if i < n else 0
                    precision = px & 0x7FFFFFFF
                if c == 0x6C:
                    i -= 1
                else:
                    done = True
            else:
                done = True
            if done:
                break
            i += 1
            if i >= n:
                c = 0
                break
            c = f[i]
        info = _FMTINFO.get(c)
        if info is None or info[2] == _INTERNAL:
            break  # unknown conversion: SQLite stops formatting here
        base, signed, xtype, charset, altpre = info
        buf: bytes
        if xtype in (_DECIMAL, _RADIX, _POINTER, _ORDINAL):
            if xtype != _DECIMAL:
                thousand = False
            v = to_int(args[argi]) if argi < nargs else 0
            argi += 1 if argi < nargs else 0
            prefix = 0
            if signed:
                if v < 0:
                    lv = -v
                    prefix = 0x2D
                else:
                    lv = v
                    prefix = flag_prefix
            else:
                lv = v & 0xFFFFFFFFFFFFFFFF
            if lv == 0:
                alternate = False
            if zeropad and precision < width - (prefix != 0):
                precision = width - (prefix != 0)
            if precision + 10 + (precision // 3 if thousand else 0) > MAX_LENGTH:
                return None
            digs = bytearray()
            if xtype == _ORDINAL:
                x = lv % 10
                if x >= 4 or (lv // 10) % 10 == 1:
                    x = 0
                digs += b"thstndrd"[x * 2:x * 2 + 2][::-1]
            cs = _DIGITS[charset:charset + 16]
            while True:
                digs.append(cs[lv % base])
                lv //= base
                if lv == 0:
                    break
            if precision > len(digs):
                digs += b"0" * (precision - len(digs))
            body = bytes(digs[::-1])
            if thousand:
                length = len(body)
                first = (length - 1) % 3 + 1
                parts = [body[:first]]
                for k in range(first, length, 3):
                    parts.append(body[k:k + 3])
                body = b",".join(parts)
            if prefix:
                body = bytes((prefix,)) + body
            if alternate and altpre:
                body = altpre + body
            buf = body
        elif xtype in (_FLOAT, _EXP, _GENERIC):
            r = to_real(args[argi]) if argi < nargs else 0.0
            argi += 1 if argi < nargs else 0
            try:
                buf = format_float(r, chr(c), precision,
                                   flag_prefix=chr(flag_prefix) if flag_prefix else "",
                                   alternate=alternate, altform2=altform2, zeropad=zeropad,
                                   leftjustify=leftjustify, width=width).encode("ascii")
            except _TooBig:
                return None
        elif xtype == _SIZE:
            buf = b""
            width = 0
        elif xtype == _PERCENT:
            buf = b"%"
        elif xtype == _CHARX:
            t = _cstr(args[argi]) if argi < nargs else None
            argi += 1 if argi < nargs else 0
            if t:
                k = 1
                if (t[0] & 0xC0) == 0xC0:
                    while k < 4 and k < len(t) and (t[k] & 0xC0) == 0x80:
                        k += 1
                buf = t[:k]
            else:
                buf = b"\x00"
            if precision > 1:
                width -= precision - 1
                if len(out) + max(width, 0) + len(buf) * precision >= MAX_LENGTH:
                    return None
                if width > 1 and not leftjustify:
                    out += b" " * (width - 1)
                    width = 0
                out += buf * (precision - 1)
                touched = True
            altform2 = True
        elif xtype == _STRING:
            t = _cstr(args[argi]) if argi < nargs else None
            argi += 1 if argi < nargs else 0
            if t is None:
                t = b""
            if precision >= 0:
                if altform2:
                    k = 0
                    p = precision
                    lt = len(t)
                    while p > 0 and k < lt:
                        k = _skip_utf8(t, k)
                        p -= 1
                    buf = t[:k]
                else:
                    buf = t[:precision]
            else:
                buf = t
        else:  # %q %Q %w
            q = 0x22 if xtype == _SQLESCAPE3 else 0x27
            t = _cstr(args[argi]) if argi < nargs else None
            argi += 1 if argi < nargs else 0
            isnull = t is None
            if isnull:
                t = b"NULL" if xtype == _SQLESCAPE2 else b"(NULL)"
            k = precision
            j = 0
            lt = len(t)
            while k != 0 and j < lt:
                ch = t[j]
                if altform2 and (ch & 0xC0) == 0xC0:
                    while j + 1 < lt and (t[j + 1] & 0xC0) == 0x80:
                        j += 1
                j += 1
                k -= 1
            body = t[:j].replace(bytes((q,)), bytes((q, q)))
            if not isnull and xtype == _SQLESCAPE2:
                body = bytes((q,)) + body + bytes((q,))
            buf = body
        if altform2 and width > 0 and xtype in (_CHARX, _STRING, _SQLESCAPE, _SQLESCAPE2,
                                                _SQLESCAPE3):
            # widths count characters with "!": add back UTF-8 continuation bytes
            width += sum(1 for b in buf if (b & 0xC0) == 0x80)
        pad = width - len(buf)
        if len(out) + len(buf) + (pad if pad > 0 else 0) >= MAX_LENGTH:
            return None
        if pad > 0:
            if leftjustify:
                out += buf
                out += b" " * pad
            else:
                out += b" " * pad
                out += buf
        else:
            out += buf
        touched = True
        i += 1
    if not touched:
        return None
    return blob_text(bytes(out))
