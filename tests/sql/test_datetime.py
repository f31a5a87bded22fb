"""Differential tests of the date and time functions (sql/datetime.py) against sqlite3.

Every case runs the same SELECT on stdlib sqlite3 (3.40.1, the oracle) and on
mvlite and compares type and value. Inputs are deterministic except the 'now'
tests, which check consistency and closeness instead of equality.
"""
from __future__ import annotations

import itertools
import os
import sqlite3
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mvlite
from sql import datetime as DT

FUNCS = ("date", "time", "datetime", "julianday", "unixepoch")

TIME_VALUES = [
    "2000-01-01", "2023-02-28", "2024-02-29", "2023-02-31", "1970-01-01", "0000-01-01",
    "-4713-11-24 12:00:00", "-4713-11-24 11:59:59", "-0001-03-01", "9999-12-31 23:59:59.999",
    "9999-12-31 23:59:59.9999", "2000-01-01 24:00", "2000-01-01 24:00:00", "2000-01-01 25:00",
    "2013-10-07 08:23:19.120", "2013-10-07T08:23:19.120Z", "2013-10-07 08:23:19.120-04:00",
    "2013-10-07 08:23+05:30", "2013-10-07 08:23 +14:00", "2013-10-07 08:23 +15:00",
    "2013-10-07 08:23z", "2013-10-07 08:23:19 Z ", "2013-10-07 08:23:19.5 junk",
    "2013-10-07  T 08:23", "2013-10-07TT08:23", "2013-10-07 ", "2013-10-07x",
    "12:30", "12:30:45", "12:30:45.678", "23:59:59.9995", "00:00:00.0005", "12:30:45.123456789",
    "12:60", "1:30", "12:3", "now ", "NOW2", "2451545", "2451545.5", " 2451545 ", "2451545x",
    "1e6", "-1", "5373484.4", "5373484.5", "0", "0.0", "1700000000", "", "2000-1-01",
    "20000-01-01", "2000-13-01", "2000-00-10", "2000-01-32", "2000-01-00", "+2000-01-01",
    "2000-01-01 12:00:60", "2000-01-01 12:00:59.", "2000-01-01 12:00:59.x",
    "2000/01/01", "1999-12-31 23:59:59.9999999", "2010-06-15 12:00:00.0004",
]

MODIFIERS = [
    "+1 day", "-1 days", "+1.5 days", "+0.0000115740740740741 days", "+10 hours", "-90 minutes",
    "+30 seconds", "+0.001 seconds", "+0.0005 seconds", "+1 month", "-1 month", "+13 months",
    "-25 months", "+1.5 months", "+1 year", "-1 years", "+0.5 years", "-2000 years",
    "+5373485 days", "+176546 months", "+14713 years", "+1 dayss", "+1day", "1 day", "+ 1 day",
    "+1 fortnight", "+1 DAYS", "+1   day", "+01:30", "-01:30", "+01:30:15.25", "12:00",
    "+24:00", "+25:00", "-00:00:01", "+1:30", "+01:30Z", "+01:30-02:00", "start of month",
    "start of year", "start of day", "start of week", "START OF MONTH", "weekday 0",
    "weekday 3", "weekday 6", "weekday 7", "weekday 1.5", "weekday -1", "weekday 3.0",
    "Weekday 2", "unixepoch", "julianday", "auto", "utc", "localtime", "UTC", "subsec",
    "subsecond", "", "nonsense", "+1e2 days", "+0x10 days", "+1 days ", "+.5 day", ".5 day",
]


def _pair() -> tuple[sqlite3.Connection, object]:
    return sqlite3.connect(":memory:"), mvlite.connect(":memory:")


def _check(orc, mv, sql: str, params: tuple = ()) -> list[str]:
    try:
        want = orc.execute(sql, params).fetchall()
    except sqlite3.Error as e:
        want = ("error", type(e).__name__, str(e))
    try:
        got = mv.execute(sql, params).fetchall()
    except mvlite.Error as e:
        got = ("error", type(e).__name__, str(e))
    if want != got or [type(v) for r in want for v in r] != [type(v) for r in got for v in r]:
        return [f"{sql} {params!r}: sqlite3={want!r} mvlite={got!r}"]
    return []


@pytest.fixture(scope="module")
def conns():
    orc, mv = _pair()
    yield orc, mv
    orc.close()
    mv.close()


def test_time_values_every_function(conns):
    orc, mv = conns
    bad: list[str] = []
    for v in TIME_VALUES:
        cols = ", ".join(f"{f}(?)" for f in FUNCS)
        bad += _check(orc, mv, f"SELECT {cols}, strftime('%Y %m %d %H %M %S %f %j %W %w %s %J', ?)",
                      (v,) * 6)
    assert not bad, "\n".join(bad)


def test_modifiers_on_several_bases(conns):
    orc, mv = conns
    bases = ["2000-01-31 13:14:15.678", "2024-02-29", "-4713-11-24 12:00:00", "9999-12-31",
             "1582-10-10 00:00:00", "12:00"]
    bad: list[str] = []
    for b, m in itertools.product(bases, MODIFIERS):
        bad += _check(orc, mv, "SELECT datetime(?, ?), julianday(?, ?), strftime('%f', ?, ?)",
                      (b, m) * 3)
    assert not bad, "\n".join(bad)
    assert len(bases) * len(MODIFIERS) > 300


def test_numeric_time_values(conns):
    orc, mv = conns
    nums = [0, 1, -1, 0.5, 2451545, 2451545.0, 2451544.5, 5373484, 5373484.49999, 5373484.5,
            1700000000, 1700000000.123, -210866760000, -210866760001, 253402300799,
            253402300800, 1e300, -0.0, 86400, 1234567890123, 9.999999e14]
    mods = [None, "unixepoch", "julianday", "auto", "+1 day", "unixepoch", "localtime"]
    bad: list[str] = []
    for n, m in itertools.product(nums, mods):
        if m is None:
            bad += _check(orc, mv, "SELECT datetime(?), julianday(?), unixepoch(?), "
                          "strftime('%s %f %J', ?)", (n,) * 4)
            bad += _check(orc, mv, "SELECT datetime(?), julianday(?)", (str(n),) * 2)
        else:
            bad += _check(orc, mv, "SELECT datetime(?, ?), unixepoch(?, ?), julianday(?, ?)",
                          (n, m) * 3)
    assert not bad, "\n".join(bad)


def test_modifier_position_and_chains(conns):
    orc, mv = conns
    cases = [
        ("1700000000", "unixepoch", "+1 day"), ("1700000000", "+1 day", "unixepoch"),
        (2451545, "julianday", "julianday"), (2451545, "auto", "auto"),
        ("2000-01-01", "unixepoch", "+1 day"), (1700000000, "auto", "start of month"),
        ("2000-01-01", "start of month", "+1 month", "-1 day"),
        ("2000-03-31", "-1 month", "weekday 0", "start of day", "+12 hours"),
        ("2000-01-01 10:00", "utc", "utc"), ("2000-01-01 10:00+02:00", "utc"),
        ("2000-01-01 10:00", "localtime", "utc"), (None, "+1 day"), ("2000-01-01", None),
        (b"2000-01-01", "+1 day"), ("2000-01-01", b"+1 day"), ("2000-01-01\x00junk", "+1 day"),
        ("2000-01-01", 5), ("2000-01-01", 1.5),
    ]
    bad: list[str] = []
    for c in cases:
        ph = ", ".join("?" * len(c))
        bad += _check(orc, mv, f"SELECT datetime({ph}), date({ph}), time({ph})", c * 3)
    assert not bad, "\n".join(bad)


def test_strftime_formats(conns):
    orc, mv = conns
    fmts = ["%d", "%e", "%f", "%F", "%H", "%I", "%j", "%J", "%k", "%l", "%m", "%M", "%p", "%P",
            "%R", "%s", "%S", "%T", "%u", "%w", "%W", "%Y", "%G", "%g", "%V", "%U", "%%", "%",
            "abc%", "%%Y", "plain", "", "%Y-%m-%dT%H:%M:%S", "héllo %Y ☃", "%x"]
    dates = ["2023-01-01", "2023-01-02 00:00:00.5", "2021-12-31 23:59:59.9999", "2020-12-31",
             "-0044-03-15", "-4713-11-24 12:00", "0001-01-01", "9999-12-31 23:59:59"]
    bad: list[str] = []
    for f, d in itertools.product(fmts, dates):
        bad += _check(orc, mv, "SELECT strftime(?, ?)", (f, d))
    bad += _check(orc, mv, "SELECT strftime(NULL, '2000-01-01'), strftime('%Y', NULL), "
                  "strftime(), strftime(1, '2000-01-01'), typeof(strftime('%Y'))")
    assert not bad, "\n".join(bad)


def test_no_arguments_and_types(conns):
    orc, mv = conns
    bad = _check(orc, mv, "SELECT typeof(date()), typeof(time()), typeof(datetime()), "
                          "typeof(julianday()), typeof(unixepoch()), typeof(strftime('%s'))")
    assert not bad, "\n".join(bad)


def test_in_tables_and_expressions(conns):
    orc, mv = conns
    for c in (orc, mv):
        c.execute("CREATE TABLE ev(id INTEGER PRIMARY KEY, at TEXT, n REAL)")
        c.executemany("INSERT INTO ev(at, n) VALUES (?, ?)",
                      [("2000-01-0%d 0%d:00" % (i, i), 2451545 + i / 3) for i in range(1, 10)])
    bad: list[str] = []
    bad += _check(orc, mv, "SELECT id, date(at, '+' || id || ' days'), julianday(n) - "
                  "julianday(at) FROM ev WHERE strftime('%w', at) IN ('1','3') ORDER BY id")
    bad += _check(orc, mv, "SELECT count(*), max(datetime(n)) FROM ev WHERE at > date('2000-01-04')")
    assert not bad, "\n".join(bad)


_PARTS = st.builds(
    lambda y, mo, d, h, mi, s, frac, sep, tz: (
        f"{y:04d}-{mo:02d}-{d:02d}" + (f"{sep}{h:02d}:{mi:02d}" + (f":{s:02d}" if s >= 0 else "")
                                         + (frac if s >= 0 else "") + tz if h >= 0 else "")),
    st.integers(0, 9999), st.integers(1, 12), st.integers(1, 31), st.integers(-1, 24),
    st.integers(0, 59), st.integers(-1, 59),
    st.sampled_from(["", ".5", ".123", ".9995", ".0004999", ".999999"]),
    st.sampled_from([" ", "T", "  "]),
    st.sampled_from(["", "Z", "+00:00", "-05:00", "+14:00", "+05:45"]),
)
_MOD = st.one_of(
    st.builds(lambda n, u: f"{n:+g} {u}", st.floats(-1e5, 1e5, allow_nan=False),
              st.sampled_from(["days", "hours", "minutes", "seconds", "months", "years",
                               "day", "month", "year"])),
    st.builds(lambda n, u: f"{n:+d} {u}", st.integers(-20000, 20000),
              st.sampled_from(["days", "months", "years", "hours"])),
    st.builds(lambda sg, h, m, s: f"{sg}{h:02d}:{m:02d}" + (f":{s:06.3f}" if s >= 0 else ""),
              st.sampled_from(["+", "-", ""]), st.integers(0, 24), st.integers(0, 59),
              st.floats(-1, 59.999, allow_nan=False)),
    st.sampled_from(["start of month", "start of year", "start of day", "weekday 0",
                     "weekday 4", "weekday 6", "localtime", "utc"]),
)


#: MVLITE_FUZZ_EXAMPLES=N runs N examples per hypothesis test (exploration)
_EXPLORE = int(os.environ.get("MVLITE_FUZZ_EXAMPLES", "0"))


@settings(max_examples=_EXPLORE or 500, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(base=st.one_of(_PARTS, st.floats(-1e7, 6e6, allow_nan=False),
                      st.integers(-300000000000, 300000000000)),
       mods=st.lists(_MOD, max_size=3))
def test_hypothesis_dates_and_modifiers(base, mods):
    orc, mv = _SHARED
    args = (base, *mods)
    ph = ", ".join("?" * len(args))
    fmt = "%Y-%m-%d %H:%M:%f %j %W %w %s %J"
    bad = _check(orc, mv, f"SELECT datetime({ph}), julianday({ph}), unixepoch({ph}), "
                 f"strftime('{fmt}', {ph})", args * 4)
    assert not bad, "\n".join(bad)


_SHARED = _pair()


@pytest.fixture()
def in_zone():
    """Run with TZ set to a zone with DST (time.tzset affects sqlite3 and Python alike)."""
    old = os.environ.get("TZ")

    def use(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()
    yield use
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_localtime_and_utc(in_zone, zone):
    in_zone(zone)
    orc, mv = _pair()
    bad: list[str] = []
    values = ["2000-01-01 12:00", "2021-03-14 06:59:59", "2021-03-14 07:00:00",
              "2021-11-07 05:30", "2021-11-07 06:30", "1969-07-20 20:17", "2040-06-01 12:00",
              "1971-01-01 00:00", "2037-12-31 23:59:59.6", "-0100-06-01", "9999-12-31 12:00",
              "2021-06-01 12:00+03:00", "2021-06-01 12:00Z"]
    for v, m in itertools.product(values, [("localtime",), ("utc",), ("localtime", "utc"),
                                           ("utc", "localtime"), ("utc", "utc"),
                                           ("localtime", "localtime"), ("start of day", "utc")]):
        ph = ", ".join("?" * (len(m) + 1))
        bad += _check(orc, mv, f"SELECT datetime({ph}), strftime('%f', {ph})", (v, *m) * 2)
    assert not bad, "\n".join(bad)


def test_now_is_close_to_sqlite_and_stable_within_a_statement(monkeypatch):
    orc, mv = _pair()
    a = orc.execute("SELECT unixepoch('now')").fetchone()[0]
    b, c = mv.execute("SELECT unixepoch('now'), unixepoch()").fetchone()
    assert abs(a - b) <= 2 and abs(b - c) <= 1
    assert mv.execute("SELECT date('now') = date(), datetime('now') = datetime()").fetchone() \
        in ((1, 1), (0, 0), (1, 0))  # equal unless the clock ticks mid-statement
    # the statement clock: after begin_statement() every read in the thread agrees
    ticks = iter(range(0, 10**9, 7))
    monkeypatch.setattr(DT, "_clock_ms", lambda: 210866760000000 + next(ticks) * 1000)
    DT.begin_statement()
    try:
        first = DT.julianday("now")
        assert DT.julianday("now") == first == DT.julianday()
        assert DT.current_time("CURRENT_TIMESTAMP") == DT.datetime("now")
        DT.begin_statement()
        assert DT.julianday("now") != first
    finally:
        DT._tl.__dict__.clear()
    # without the hook every read is fresh
    assert DT.unixepoch("now") != DT.unixepoch("now")


def test_current_time_kinds_format():
    d, t, ts = (DT.current_time(k) for k in ("CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP"))
    assert len(d) == 10 and d[4] == "-" and len(t) == 8 and t[2] == ":" and len(ts) == 19
    o = sqlite3.connect(":memory:").execute("SELECT CURRENT_DATE").fetchone()[0]
    assert abs(int(o[-2:]) - int(d[-2:])) in (0, 1) or d[-2:] == "01" or o[-2:] == "01"


_ALPHA = "0123456789-:.+ TZzs"
_WORDS = st.sampled_from(["days", "day", "months", "years", "hours", "minutes", "seconds",
                          "start of ", "weekday ", "unixepoch", "auto", "julianday", "month",
                          "year", "utc", "localtime", "e", "E", "x"])


@settings(max_examples=_EXPLORE or 400, deadline=None)
@given(base=st.text(_ALPHA, max_size=26) | st.builds(lambda a, b: a + b, st.text(_ALPHA, max_size=8),
                                                        _WORDS),
       mods=st.lists(st.text(_ALPHA, max_size=12) | st.builds(lambda a, b, c: a + b + c,
                     st.text(_ALPHA, max_size=6), _WORDS, st.text(_ALPHA, max_size=3)),
                     max_size=2))
def test_hypothesis_text_soup(base, mods):
    orc, mv = _SHARED
    args = (base, *mods)
    ph = ", ".join("?" * len(args))
    bad = _check(orc, mv, f"SELECT datetime({ph}), julianday({ph}), strftime('%f %j %W', {ph})",
                 args * 3)
    assert not bad, "\n".join(bad)
