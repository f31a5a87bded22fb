"""SQLite's date and time SQL functions, as SQLite 3.40.1 computes them.

Single job: ``date``, ``time``, ``datetime``, ``julianday``, ``unixepoch`` and
``strftime`` (documented in "Date And Time Functions", lang_datefunc.html),
registered into ``sql.functions.SCALAR``, plus the statement clock behind
'now' and CURRENT_DATE / CURRENT_TIME / CURRENT_TIMESTAMP.

The model is SQLite's: a moment is an integer count of milliseconds since the
Julian epoch (``iJD``) and/or broken-down fields (Y-M-D, h:m:s, a timezone
offset), each part flagged valid or not; parsing the time value and each
modifier moves between the two the way SQLite's date.c does, including its
quirks (no calendar validation of '2023-02-31', C truncating division,
fractional seconds rounded to milliseconds, 'unixepoch'/'julianday'/'auto'
only as the first modifier, moments outside 1970..2038 mapped to a year
2000..2003 for 'localtime'/'utc'). Anything it cannot parse gives
NULL. 3.40.1's strftime knows only %d %f %H %j %J %m %M %s %S %w %W %Y %%
(any other conversion gives NULL) and it has no 'subsec' modifier.

'now': SQLite reads the clock once per statement. The engine cannot hand
functions a statement object, so the clock is thread-local:
``begin_statement()`` (called by whoever starts a statement) forgets the
cached time, and the first 'now' read in the statement fixes it. Until the
first ``begin_statement()`` call in a thread, every read takes a fresh time.
"""
from __future__ import annotations

import struct
import threading
import time as _time
from typing import Any

from sql.functions import FunctionDef, register_function
from sql.printf import MAX_LENGTH, format_float
from sql.values import sqlite_atof, to_text
from storage.errors import DataError, OperationalError

__all__ = ["begin_statement", "now_ms", "current_time", "date", "time", "datetime",
           "julianday", "unixepoch", "strftime"]

Value = Any

#: milliseconds from the Julian epoch to the Unix epoch (1970-01-01)
_UNIX_EPOCH_MS = 210866760000000
#: largest valid iJD: 9999-12-31 23:59:59.999
_MAX_JD = 464269060799999
_SPACE = " \t\n\v\f\r"


# ---------------------------------------------------------------------------
# the statement clock
# ---------------------------------------------------------------------------

_tl = threading.local()


def begin_statement() -> None:
    """Start a statement in this thread: its first 'now' is read fresh, then kept."""
    _tl.armed = True
    _tl.now = None


def _clock_ms() -> int:
    """The current time as SQLite's unix VFS gives it: ms since the Julian epoch."""
    ns = _time.time_ns()
    return _UNIX_EPOCH_MS + ns // 1_000_000


def now_ms() -> int:
    """'now' for the running statement (see the module docstring)."""
    d = _tl.__dict__
    v = d.get("now")
    if v is None:
        v = _clock_ms()
        if d.get("armed"):
            d["now"] = v
    return v


# ---------------------------------------------------------------------------
# the DateTime state, as in SQLite's date.c
# ---------------------------------------------------------------------------

def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _cmod(a: int, b: int) -> int:
    return a - b * _cdiv(a, b)


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


class _DT:
    """A moment being computed: iJD and/or Y-M-D h:m:s.s and a timezone, with valid flags."""

    __slots__ = ("jd", "Y", "M", "D", "h", "m", "tz", "s", "valid_jd", "raw_s",
                 "valid_ymd", "valid_hms", "valid_tz", "tz_set", "error")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.jd = 0
        self.Y = self.M = self.D = self.h = self.m = self.tz = 0
        self.s = 0.0
        self.valid_jd = self.raw_s = self.valid_ymd = self.valid_hms = False
        self.valid_tz = self.tz_set = self.error = False

    def copy(self) -> "_DT":
        c = _DT.__new__(_DT)
        for k in _DT.__slots__:
            setattr(c, k, getattr(self, k))
        return c

    def set_error(self) -> None:
        self.clear()
        self.error = True

    def clear_ymd_hms_tz(self) -> None:
        self.valid_ymd = self.valid_hms = self.valid_tz = False

    def set_raw_number(self, r: float) -> None:
        self.s = r
        self.raw_s = True
        if 0.0 <= r < 5373484.5:
            self.jd = int(r * 86400000.0 + 0.5)
            self.valid_jd = True

    def compute_jd(self) -> None:
        if self.valid_jd:
            return
        if self.valid_ymd:
            Y, M, D = self.Y, self.M, self.D
        else:
            Y, M, D = 2000, 1, 1
        if Y < -4713 or Y > 9999 or self.raw_s:
            self.set_error()
            return
        if M <= 2:
            Y -= 1
            M += 12
        A = _cdiv(Y, 100)
        B = 2 - A + _cdiv(A, 4)
        X1 = _cdiv(36525 * (Y + 4716), 100)
        X2 = _cdiv(306001 * (M + 1), 10000)
        self.jd = int((X1 + X2 + D + B - 1524.5) * 86400000)
        self.valid_jd = True
        if self.valid_hms:
            self.jd += self.h * 3600000 + self.m * 60000 + int(self.s * 1000 + 0.5)
            if self.valid_tz:
                self.jd -= self.tz * 60000
                self.valid_ymd = self.valid_hms = self.valid_tz = False

    def compute_ymd(self) -> None:
        if self.valid_ymd:
            return
        if not self.valid_jd:
            self.Y, self.M, self.D = 2000, 1, 1
        elif not (0 <= self.jd <= _MAX_JD):
            self.set_error()
            return
        else:
            Z = (self.jd + 43200000) // 86400000
            A = int((Z - 1867216.25) / 36524.25)
            A = Z + 1 + A - _cdiv(A, 4)
            B = A + 1524
            C = int((B - 122.1) / 365.25)
            D = (36525 * (C & 32767)) // 100
            E = int((B - D) / 30.6001)
            X1 = int(30.6001 * E)
            self.D = B - D - X1
            self.M = E - 1 if E < 14 else E - 13
            self.Y = C - 4716 if self.M > 2 else C - 4715
        self.valid_ymd = True

    def compute_hms(self) -> None:
        if self.valid_hms:
            return
        self.compute_jd()
        s = _cmod(self.jd + 43200000, 86400000)
        fs = s / 1000.0
        si = int(fs)
        fs -= si
        self.h = _cdiv(si, 3600)
        si -= self.h * 3600
        self.m = _cdiv(si, 60)
        self.s = fs + (si - self.m * 60)
        self.raw_s = False
        self.valid_hms = True

    def compute_ymd_hms(self) -> None:
        self.compute_ymd()
        self.compute_hms()


# ---------------------------------------------------------------------------
# parsing time values
# ---------------------------------------------------------------------------

def _digits(z: str, i: int, n: int, lo: int, hi: int) -> int:
    """``n`` digits at z[i:] with a value in [lo, hi], else -1."""
    part = z[i:i + n]
    if len(part) != n or not all("0" <= c <= "9" for c in part):
        return -1
    v = int(part)
    return v if lo <= v <= hi else -1


def _at(z: str, i: int) -> str:
    return z[i] if i < len(z) else ""


def _parse_timezone(z: str, i: int, p: _DT) -> bool:
    """The optional timezone suffix at z[i:]; True on error (trailing junk)."""
    n = len(z)
    while i < n and z[i] in _SPACE:
        i += 1
    p.tz = 0
    c = _at(z, i)
    if c == "-" or c == "+":
        sgn = -1 if c == "-" else 1
        i += 1
        hr = _digits(z, i, 2, 0, 14)
        if hr < 0 or _at(z, i + 2) != ":":
            return True
        mn = _digits(z, i + 3, 2, 0, 59)
        if mn < 0:
            return True
        i += 5
        p.tz = sgn * (mn + hr * 60)
    elif c == "Z" or c == "z":
        i += 1
    else:
        return c != ""
    while i < n and z[i] in _SPACE:
        i += 1
    p.tz_set = True
    return i < n


def _parse_hms(z: str, i: int, p: _DT) -> bool:
    """HH:MM[:SS[.FFF]][tz] at z[i:]; True on error."""
    h = _digits(z, i, 2, 0, 24)
    if h < 0 or _at(z, i + 2) != ":":
        return True
    m = _digits(z, i + 3, 2, 0, 59)
    if m < 0:
        return True
    i += 5
    ms = 0.0
    if _at(z, i) == ":":
        i += 1
        s = _digits(z, i, 2, 0, 59)
        if s < 0:
            return True
        i += 2
        if _at(z, i) == "." and "0" <= _at(z, i + 1) <= "9":
            scale = 1.0
            i += 1
            while "0" <= _at(z, i) <= "9":
                ms = ms * 10.0 + (ord(z[i]) - 48)
                scale *= 10.0
                i += 1
            ms /= scale
    else:
        s = 0
    p.valid_jd = False
    p.raw_s = False
    p.valid_hms = True
    p.h, p.m, p.s = h, m, s + ms
    if _parse_timezone(z, i, p):
        return True
    p.valid_tz = p.tz != 0
    return False


def _parse_ymd(z: str, p: _DT) -> bool:
    """[-]YYYY-MM-DD[ |T][time]; True on error."""
    i = 0
    neg = _at(z, 0) == "-"
    if neg:
        i = 1
    Y = _digits(z, i, 4, 0, 9999)
    if Y < 0 or _at(z, i + 4) != "-":
        return True
    M = _digits(z, i + 5, 2, 1, 12)
    if M < 0 or _at(z, i + 7) != "-":
        return True
    D = _digits(z, i + 8, 2, 1, 31)
    if D < 0:
        return True
    i += 10
    n = len(z)
    while i < n and (z[i] in _SPACE or z[i] == "T"):
        i += 1
    if not _parse_hms(z, i, p):
        pass
    elif i >= n:
        p.valid_hms = False
    else:
        return True
    p.valid_jd = False
    p.valid_ymd = True
    p.Y = -Y if neg else Y
    p.M, p.D = M, D
    if p.valid_tz:
        p.compute_jd()
    return False


def _parse_date_or_time(z: str, p: _DT) -> bool:
    if not _parse_ymd(z, p):
        return False
    if not _parse_hms(z, 0, p):
        return False
    if z.lower() == "now":
        p.jd = now_ms()
        p.valid_jd = True
        return False
    rc, r = sqlite_atof(z)
    if rc > 0:
        p.set_raw_number(r)
        return False
    return True


# ---------------------------------------------------------------------------
# modifiers
# ---------------------------------------------------------------------------

def _to_localtime(p: _DT) -> None:
    """Turn UTC moment ``p`` into local broken-down time (SQLite's toLocaltime).

    localtime() is trusted only for 1970..2038-01-18; other moments borrow
    the offset of the same date in a year 2000..2003 with the same leap-ness.
    Clears any earlier error, as SQLite does.
    """
    p.compute_jd()
    if p.jd < 210866760000000 or p.jd > 213014145600000:
        x = p.copy()
        x.compute_ymd_hms()
        diff = (2000 + _cmod(x.Y, 4)) - x.Y
        x.Y += diff
        x.valid_jd = False
        x.compute_jd()
        t = _cdiv(x.jd, 1000) - 21086676 * 10000
    else:
        diff = 0
        t = p.jd // 1000 - 21086676 * 10000
    try:
        tm = _time.localtime(t)
    except (OverflowError, OSError, ValueError):
        raise OperationalError("local time unavailable") from None
    p.Y = tm.tm_year - diff
    p.M, p.D, p.h, p.m = tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min
    p.s = tm.tm_sec + _cmod(p.jd, 1000) * 0.001
    p.valid_ymd = p.valid_hms = True
    p.valid_jd = p.raw_s = p.valid_tz = p.error = False


#: (name, limit (a C float), ms per unit / 1000) of "NNN units" modifiers
_XFORM = (
    ("second", _f32(4.6427e+14), 1.0),
    ("minute", _f32(7.7379e+12), 60.0),
    ("hour", _f32(1.2897e+11), 3600.0),
    ("day", _f32(5373485.0), 86400.0),
    ("month", _f32(176546.0), 2592000.0),
    ("year", _f32(14713.0), 31536000.0),
)


def _modifier(z: str, p: _DT, idx: int) -> bool:
    """Apply one modifier; True if it is not a valid modifier here (result NULL)."""
    if not z:
        return True
    c = z[0].lower()
    low = z.lower()
    if c == "a":
        if low == "auto":
            if idx > 1:
                return True
            if not p.raw_s or p.valid_jd:
                p.raw_s = False
                return False
            if -21086676 * 10000 <= p.s <= 25340230 * 10000 + 799:
                r = p.s * 1000.0 + 210866760000000.0
                p.clear_ymd_hms_tz()
                p.jd = int(r + 0.5)
                p.valid_jd = True
                p.raw_s = False
                return False
        return True
    if c == "j":
        if low == "julianday":
            if idx > 1:
                return True
            if p.valid_jd and p.raw_s:
                p.raw_s = False
                return False
        return True
    if c == "l":
        if low == "localtime":
            _to_localtime(p)
            return False
        return True
    if c == "u":
        if low == "unixepoch" and p.raw_s:
            if idx > 1:
                return True
            r = p.s * 1000.0 + 210866760000000.0
            if 0.0 <= r < 464269060800000.0:
                p.clear_ymd_hms_tz()
                p.jd = int(r + 0.5)
                p.valid_jd = True
                p.raw_s = False
                return False
            return True
        if low == "utc":
            if not p.tz_set:
                # the UTC moment whose local time is p: iterate on the guess
                p.compute_jd()
                guess = orig = p.jd
                err = 0
                for _ in range(4):
                    guess -= err
                    q = _DT()
                    q.jd = guess
                    q.valid_jd = True
                    _to_localtime(q)
                    q.compute_jd()
                    # 3.40.1 keeps this difference in a 32-bit int: it wraps for
                    # moments outside the valid range, and the result shows it
                    err = ((q.jd - orig + 0x80000000) & 0xFFFFFFFF) - 0x80000000
                    if not err:
                        break
                p.clear()
                p.jd = guess
                p.valid_jd = True
                p.tz_set = True
            return False
        return True
    if c == "w":
        if low.startswith("weekday "):
            rc, r = sqlite_atof(z[8:])
            if rc > 0 and r == r and abs(r) < 1e18:
                n = int(r)
                if n == r and n >= 0 and r < 7:
                    p.compute_ymd_hms()
                    p.valid_tz = False
                    p.valid_jd = False
                    p.compute_jd()
                    Z = _cmod(_cdiv(p.jd + 129600000, 86400000), 7)
                    if Z > n:
                        Z -= 7
                    p.jd += (n - Z) * 86400000
                    p.clear_ymd_hms_tz()
                    return False
        return True
    if c == "s":
        if not low.startswith("start of "):
            return True
        if not p.valid_jd and not p.valid_ymd and not p.valid_hms:
            return True
        p.compute_ymd()
        p.valid_hms = True
        p.h = p.m = 0
        p.s = 0.0
        p.raw_s = False
        p.valid_tz = False
        p.valid_jd = False
        what = low[9:]
        if what == "month":
            p.D = 1
        elif what == "year":
            p.M = 1
            p.D = 1
        elif what != "day":
            return True
        return False
    if c in "+-0123456789":
        return _shift(z, p)
    return True


def _shift(z: str, p: _DT) -> bool:
    """'±HH:MM[:SS[.FFF]]' or '±NNN unit[s]'."""
    n = 1
    ln = len(z)
    while n < ln and z[n] != ":" and z[n] not in _SPACE:
        n += 1
    rc, r = sqlite_atof(z[:n])
    if rc <= 0:
        return True
    if n < ln and z[n] == ":":
        i = 0 if "0" <= z[0] <= "9" else 1
        tx = _DT()
        if _parse_hms(z, i, tx):
            return True
        tx.compute_jd()
        if tx.error:
            return True
        tx.jd -= 43200000
        day = _cdiv(tx.jd, 86400000)
        tx.jd -= day * 86400000
        if z[0] == "-":
            tx.jd = -tx.jd
        p.compute_jd()
        p.clear_ymd_hms_tz()
        p.jd += tx.jd
        return False
    rest = z[n:].lstrip(_SPACE)
    k = len(rest)
    if k > 10 or k < 3:
        return True
    if rest[k - 1] in "sS":
        k -= 1
    unit = rest[:k].lower()
    p.compute_jd()
    bad = True
    rounder = -0.5 if r < 0 else 0.5
    for i, (name, limit, xform) in enumerate(_XFORM):
        if len(name) == k and unit == name and -limit < r < limit:
            if i == 4:  # months: whole months move the calendar, the rest is 30-day units
                p.compute_ymd_hms()
                p.M += int(r)
                x = _cdiv(p.M - 1, 12) if p.M > 0 else _cdiv(p.M - 12, 12)
                p.Y += x
                p.M -= x * 12
                p.valid_jd = False
                r -= int(r)
            elif i == 5:
                p.compute_ymd_hms()
                p.Y += int(r)
                p.valid_jd = False
                r -= int(r)
            p.compute_jd()
            p.jd += int(r * 1000.0 * xform + rounder)
            bad = False
            break
    p.clear_ymd_hms_tz()
    return bad


# ---------------------------------------------------------------------------
# argument handling (isDate)
# ---------------------------------------------------------------------------

def _text(v: Value) -> str | None:
    t = to_text(v)
    if t is None:
        return None
    z = t.find("\x00")
    return t if z < 0 else t[:z]


def _is_date(args: tuple) -> _DT | None:
    """The moment the arguments describe, or None (NULL result)."""
    p = _DT()
    if not args:
        p.jd = now_ms()
        p.valid_jd = True
    else:
        v = args[0]
        t = type(v)
        if t is int or t is float:
            p.set_raw_number(float(v))
        else:
            z = _text(v)
            if z is None or _parse_date_or_time(z, p):
                return None
        for i in range(1, len(args)):
            z = _text(args[i])
            if z is None or _modifier(z, p, i):
                return None
    p.compute_jd()
    if p.error or not (0 <= p.jd <= _MAX_JD):
        return None
    return p


# ---------------------------------------------------------------------------
# the SQL functions
# ---------------------------------------------------------------------------

def _ymd(p: _DT) -> str:
    Y = p.Y
    y = abs(Y)
    core = "%d%d%d%d-%02d-%02d" % (y // 1000 % 10, y // 100 % 10, y // 10 % 10, y % 10,
                                    p.M, p.D)
    return "-" + core if Y < 0 else core


def _hms(p: _DT) -> str:
    return "%02d:%02d:%02d" % (p.h, p.m, int(p.s))


def julianday(*args: Value) -> float | None:
    """julianday(time-value, modifier, ...): the Julian day number, a REAL."""
    p = _is_date(args)
    if p is None:
        return None
    return p.jd / 86400000.0


def unixepoch(*args: Value) -> int | None:
    """unixepoch(time-value, modifier, ...): whole seconds since 1970, an INTEGER."""
    p = _is_date(args)
    if p is None:
        return None
    return p.jd // 1000 - 21086676 * 10000


def datetime(*args: Value) -> str | None:
    """datetime(...): 'YYYY-MM-DD HH:MM:SS'."""
    p = _is_date(args)
    if p is None:
        return None
    p.compute_ymd_hms()
    return _ymd(p) + " " + _hms(p)


def date(*args: Value) -> str | None:
    """date(...): 'YYYY-MM-DD'."""
    p = _is_date(args)
    if p is None:
        return None
    p.compute_ymd()
    return _ymd(p)


def time(*args: Value) -> str | None:
    """time(...): 'HH:MM:SS'."""
    p = _is_date(args)
    if p is None:
        return None
    p.compute_hms()
    return _hms(p)


def strftime(*args: Value) -> str | None:
    """strftime(format, time-value, modifier, ...) with 3.40.1's conversions."""
    if not args:
        return None
    fmt = _text(args[0])
    if fmt is None:
        return None
    p = _is_date(args[1:])
    if p is None:
        return None
    p.compute_jd()
    p.compute_ymd_hms()
    out: list[str] = []
    i = 0
    n = len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        c = fmt[j + 1] if j + 1 < n else ""
        if c == "d":
            out.append("%02d" % p.D)
        elif c == "f":
            s = p.s
            if s > 59.999:
                s = 59.999
            out.append(format_float(s, "f", 3, zeropad=True, width=6))
        elif c == "H":
            out.append("%02d" % p.h)
        elif c == "j" or c == "W":
            y = p.copy()
            y.valid_jd = False
            y.M = 1
            y.D = 1
            y.compute_jd()
            nday = _cdiv(p.jd - y.jd + 43200000, 86400000)
            if c == "W":
                wd = _cdiv(p.jd + 43200000, 86400000) % 7
                out.append("%02d" % _cdiv(nday + 7 - wd, 7))
            else:
                out.append("%03d" % (nday + 1))
        elif c == "J":
            out.append(format_float(p.jd / 86400000.0, "g", 16))
        elif c == "m":
            out.append("%02d" % p.M)
        elif c == "M":
            out.append("%02d" % p.m)
        elif c == "s":
            out.append(str(p.jd // 1000 - 21086676 * 10000))
        elif c == "S":
            out.append("%02d" % int(p.s))
        elif c == "w":
            out.append(str((p.jd + 129600000) // 86400000 % 7))
        elif c == "Y":
            out.append("%04d" % p.Y)
        elif c == "%":
            out.append("%")
        else:
            return None
        i = j + 2
    res = "".join(out)
    if len(res) > MAX_LENGTH:
        raise DataError("string or blob too big")
    return res


def current_time(kind: str) -> str:
    """CURRENT_DATE / CURRENT_TIME / CURRENT_TIMESTAMP, from the statement's 'now'."""
    p = _DT()
    p.jd = now_ms()
    p.valid_jd = True
    p.compute_ymd_hms()
    if kind == "CURRENT_DATE":
        return _ymd(p)
    if kind == "CURRENT_TIME":
        return _hms(p)
    return _ymd(p) + " " + _hms(p)


# SQLite flags these deterministic (SQLITE_FUNC_SLOCHNG: 'now' is constant
# within a statement), which PRAGMA function_list shows
for _fn in (date, time, datetime, julianday, unixepoch, strftime):
    register_function(FunctionDef(_fn.__name__, -1, _fn, deterministic=True, min_args=0,
                                  max_args=127))
