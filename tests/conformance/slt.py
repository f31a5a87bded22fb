"""sqllogictest runner: parse ``.test`` files, run them on an engine, count passes.

Single job: measure how many sqllogictest records that stdlib ``sqlite3`` passes
also pass on ``mvlite``. The format is SQLite's sqllogictest (see
/work/shared/conformance/sqllogictest/SOURCE.txt and the upstream
``about.wiki``); result formatting and hashing follow the reference C runner
(``sqllogictest.c`` + its SQLite driver ``slt_sqlite.c``):

  record          | meaning
  ----------------+-------------------------------------------------------------
  statement ok    | the SQL (following lines) must succeed
  statement error | the SQL must fail
  query T [S] [L] | T = one type letter per column (I, R, T); S = nosort |
                  | rowsort | valuesort; L = label (results of queries sharing a
                  | label must hash alike); SQL, then ``----``, then results
  hash-threshold N| results with more than N values (default 8) are written
                  | as "K values hashing to <md5 hex>"; 0 = never hash
  halt            | stop the file
  skipif/onlyif E | condition lines before a record; we are engine "sqlite"

  value formatting (per column type letter, from the engine's Python value):
  type | NULL   | integer        | real                 | text / blob
  -----+--------+----------------+----------------------+-----------------------
  I    | "NULL" | "%d"           | truncated toward 0   | leading-integer prefix
  R    | "NULL" | "%.3f"         | "%.3f", 16 sig. dig. | leading-number prefix
  T    | "NULL" | "%d"           | SQLite "%!.15g"      | bytes outside 0x20..0x7e
       |        |                |                      | become "@"; "" -> "(empty)"

Sorting (rowsort/valuesort) compares the printed strings; the md5 is over
every printed value followed by "\\n". CLI::

    python tests/conformance/slt.py [FILES...] [--engine mvlite|sqlite3]
                                    [--limit N] [--timeout S] [--report]
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any, Iterable

CORPUS = Path(os.environ.get("MVLITE_SLT_CORPUS", "/work/shared/conformance/sqllogictest"))
ENGINE_NAME = "sqlite"  # the name skipif/onlyif conditions are matched against
DEFAULT_HASH_THRESHOLD = 8  # the C runner's default (select1.test relies on it)
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1

_HASH_RE = re.compile(r"^\d+ values hashing to [0-9a-f]{32}$")
_INT_PREFIX = re.compile(r"[ \t\n\f\r\v]*([+-]?)0*(\d*)")
_NUM_PREFIX = re.compile(r"[ \t\n\f\r\v]*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


# -- parsing ---------------------------------------------------------------------

@dataclass
class Record:
    """One record of a .test file (``line`` is 1-based, of its first line)."""

    kind: str                       # statement | query | hash-threshold | halt
    line: int
    sql: str = ""
    expect_error: bool = False      # statement error
    types: str = ""                 # query column types
    sort: str = "nosort"
    label: str | None = None
    expected: list[str] | None = None   # query results after ``----``
    threshold: int = 0              # hash-threshold N
    conditions: list[tuple[str, str]] = field(default_factory=list)

    def applies(self, engine: str = ENGINE_NAME) -> bool:
        """skipif/onlyif evaluated for ``engine`` (the C runner's semantics)."""
        for cond, name in self.conditions:
            if cond == "skipif" and name == engine:
                return False
            if cond == "onlyif" and name != engine:
                return False
        return True


def parse(text: str) -> list[Record]:
    """Split a .test file into records; unknown record kinds are ignored."""
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    n = len(lines)
    i = 0
    out: list[Record] = []
    while i < n:
        ln = lines[i]
        if not ln.strip() or ln.startswith("#"):
            i += 1
            continue
        start = i
        conditions: list[tuple[str, str]] = []
        words = ln.split()
        while words and words[0] in ("skipif", "onlyif"):
            if len(words) > 1:
                conditions.append((words[0], words[1]))
            i += 1
            ln = lines[i] if i < n else ""
            words = ln.split()
        # the record body: lines up to the next blank line
        j = i + 1
        while j < n and lines[j].strip():
            j += 1
        body = lines[i + 1:j]
        kind = words[0] if words else ""
        rec: Record | None = None
        if kind == "statement":
            rec = Record("statement", start + 1, sql="\n".join(body),
                         expect_error=len(words) > 1 and words[1] == "error")
        elif kind == "query":
            sql_lines, expected = body, None
            if "----" in body:
                k = body.index("----")
                sql_lines, expected = body[:k], body[k + 1:]
            rec = Record("query", start + 1, sql="\n".join(sql_lines),
                         types=words[1] if len(words) > 1 else "",
                         sort=words[2] if len(words) > 2 else "nosort",
                         label=words[3] if len(words) > 3 else None,
                         expected=expected)
        elif kind == "hash-threshold":
            rec = Record("hash-threshold", start + 1, threshold=int(words[1]))
        elif kind == "halt":
            rec = Record("halt", start + 1)
        if rec is not None:
            rec.conditions = conditions
            out.append(rec)
        i = j
    return out


# -- value formatting --------------------------------------------------------------

def _atoi64(s: str) -> int:
    """sqlite3Atoi64 on a text prefix: leading integer digits, clamped to i64."""
    m = _INT_PREFIX.match(s)
    digits = m.group(2)
    if not digits:
        return 0
    v = int(digits)
    if m.group(1) == "-":
        v = -v
    return max(I64_MIN, min(I64_MAX, v))


def _atof(s: str) -> float:
    """sqlite3AtoF on a text prefix (0.0 when there is no number)."""
    m = _NUM_PREFIX.match(s)
    if not m:
        return 0.0
    try:
        return float(m.group(1))
    except (ValueError, OverflowError):
        return 0.0


def _real_to_int(v: float) -> int:
    """sqlite3_column_int64 of a REAL: truncation toward zero, clamped."""
    if v != v:
        return 0
    if v <= -9.223372036854775808e18:
        return I64_MIN
    if v >= 9.223372036854775807e18:
        return I64_MAX
    return int(v)


def format_real3(v: float) -> str:
    """SQLite's ``%.3f``: rounded half up, at most 16 significant digits.

    The 16-digit limit is why -2**63 prints as -9223372036854776000.000 (what the
    corpus expects; SQLite >= 3.43 rounds there, 3.40's long-double code
    truncates to ...775000.000, so the local printf differs in that last digit).
    """
    if v != v:
        return "NULL"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    with localcontext() as ctx:
        ctx.prec = 1000  # exact: a double has at most ~770 significant digits
        d = abs(Decimal(v))
        exp = max(d.adjusted() - 15, -3) if d else -3
        d = d.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP)
        s = format(d, ".3f")
    return "-" + s if v < 0 else s


def format_real_text(v: float) -> str:
    """SQLite's REAL -> TEXT conversion (``%!.15g``: always a '.' in the mantissa).

    Rounds half away from zero on the exact binary value (SQLite uses long double
    arithmetic, so a handful of near-ties still differ in the last digit).
    """
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    if v == 0:
        return "0.0"
    with localcontext() as ctx:
        ctx.prec = 1000
        d = abs(Decimal(v))
        d = d.quantize(Decimal(1).scaleb(d.adjusted() - 14), rounding=ROUND_HALF_UP)
        x = d.adjusted()
        digits = str(d.scaleb(14 - x).to_integral_value()).rstrip("0") or "0"
    sign = "-" if v < 0 else ""
    if x < -4 or x >= 15:
        mant = digits[0] + "." + (digits[1:] or "0")
        return "%s%se%s%02d" % (sign, mant, "-" if x < 0 else "+", abs(x))
    if x >= 0:
        ip = digits[:x + 1].ljust(x + 1, "0")
        fp = digits[x + 1:] or "0"
    else:
        ip = "0"
        fp = "0" * (-x - 1) + digits
    return "%s%s.%s" % (sign, ip, fp)


def _printable(raw: bytes) -> str:
    if not raw:
        return "(empty)"
    return "".join(chr(b) if 0x20 <= b <= 0x7E else "@" for b in raw)


def format_value(v: Any, t: str) -> str:
    """Print one value as the C runner does for column type letter ``t``."""
    if v is None:
        return "NULL"
    if t == "I":
        if isinstance(v, bool):
            v = int(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return str(_real_to_int(v))
        if isinstance(v, (bytes, bytearray, memoryview)):
            v = bytes(v).decode("utf-8", "replace")
        return str(_atoi64(str(v)))
    if t == "R":
        if isinstance(v, (int, float)):
            return format_real3(float(v))
        if isinstance(v, (bytes, bytearray, memoryview)):
            v = bytes(v).decode("utf-8", "replace")
        return format_real3(_atof(str(v)))
    # T (and any unknown letter)
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_real_text(v)
    if isinstance(v, str):
        if v.isascii() and v.isprintable():
            return v or "(empty)"
        return _printable(v.encode("utf-8", "surrogatepass"))
    return _printable(bytes(v))


def format_rows(rows: Iterable[tuple], types: str, sort: str) -> list[str]:
    """Rows -> the flat list of printed values, sorted per the sort mode."""
    printed = [[format_value(v, types[i]) for i, v in enumerate(row)] for row in rows]
    if sort == "rowsort":
        printed.sort()
    flat = [v for row in printed for v in row]
    if sort == "valuesort":
        flat.sort()
    return flat


def hash_values(values: list[str]) -> str:
    """md5 hex of every value followed by a newline (the C runner's hash)."""
    h = hashlib.md5()
    for v in values:
        h.update(v.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def hash_line(values: list[str]) -> str:
    return "%d values hashing to %s" % (len(values), hash_values(values))


# -- engines -----------------------------------------------------------------------

class RecordTimeout(Exception):
    """A single record ran longer than the per-record time limit."""


class Engine:
    """A connection to one engine, opened fresh for every file."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "sqlite3":
            import sqlite3
            self.conn = sqlite3.connect(":memory:", isolation_level=None)
        elif name == "mvlite":
            root = str(Path(__file__).resolve().parents[2])
            if root not in sys.path:  # run as a script: make the repo importable
                sys.path.insert(0, root)
            import mvlite
            self.conn = mvlite.connect(":memory:", isolation_level=None)
        else:
            raise ValueError("unknown engine %r" % name)

    def statement(self, sql: str) -> None:
        # executescript: a few statement records hold several statements
        self.conn.executescript(sql)

    def query(self, sql: str) -> tuple[int, list[tuple]]:
        cur = self.conn.execute(sql)
        rows = cur.fetchall()
        ncols = len(cur.description) if cur.description else 0
        return ncols, rows

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass


# -- running -----------------------------------------------------------------------

@dataclass
class FileResult:
    path: str
    engine: str
    records: int = 0                     # statement + query records that applied
    passed: set[int] = field(default_factory=set)      # lines of passing records
    failures: dict[int, str] = field(default_factory=dict)  # line -> reason
    seconds: float = 0.0


def check_query(rec: Record, ncols: int, rows: list[tuple], threshold: int,
                labels: dict[str, str]) -> str | None:
    """None if the result matches ``rec``, else the reason it does not."""
    if ncols != len(rec.types):
        return "expected %d columns, got %d" % (len(rec.types), ncols)
    values = format_rows(rows, rec.types, rec.sort)
    expected = rec.expected or []
    if threshold > 0 and len(values) > threshold:
        got = [hash_line(values)]
    else:
        got = values
    if got != expected and len(expected) == 1 and _HASH_RE.match(expected[0]):
        got = [hash_line(values)]  # hashed although under the threshold: accept
    if got != expected:
        if len(got) == 1 and len(expected) == 1 and _HASH_RE.match(expected[0]):
            return "wrong result: %s, expected %s" % (got[0], expected[0])
        return "wrong result: %r, expected %r" % (got[:8], expected[:8])
    if rec.label is not None:
        digest = hash_values(values)
        seen = labels.setdefault(rec.label, digest)
        if seen != digest:
            return "label %s: result differs from an earlier query" % rec.label
    return None


def _on_alarm(signum: int, frame: Any) -> None:
    raise RecordTimeout()


def run_records(records: list[Record], engine: Engine, limit: int | None = None,
                timeout: float | None = None, path: str = "<string>") -> FileResult:
    """Run ``records`` in order on ``engine``; every error counts as a failure."""
    res = FileResult(path, engine.name)
    threshold = DEFAULT_HASH_THRESHOLD
    labels: dict[str, str] = {}
    use_alarm = bool(timeout) and hasattr(signal, "setitimer")
    old = signal.signal(signal.SIGALRM, _on_alarm) if use_alarm else None
    t0 = time.perf_counter()
    try:
        for rec in records:
            if not rec.applies():
                continue
            if rec.kind == "halt":
                break
            if rec.kind == "hash-threshold":
                threshold = rec.threshold
                continue
            if limit is not None and res.records >= limit:
                break
            res.records += 1
            reason: str | None = None
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                if rec.kind == "statement":
                    try:
                        engine.statement(rec.sql)
                        if rec.expect_error:
                            reason = "statement succeeded, expected an error"
                    except RecordTimeout:
                        raise
                    except Exception as e:  # noqa: BLE001 - any engine error fails
                        if not rec.expect_error:
                            reason = "%s: %s" % (type(e).__name__, e)
                else:
                    try:
                        ncols, rows = engine.query(rec.sql)
                        reason = check_query(rec, ncols, rows, threshold, labels)
                    except RecordTimeout:
                        raise
                    except Exception as e:  # noqa: BLE001
                        reason = "%s: %s" % (type(e).__name__, e)
            except RecordTimeout:
                reason = "timeout after %ss" % timeout
            finally:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            if reason is None:
                res.passed.add(rec.line)
            else:
                res.failures[rec.line] = reason
    finally:
        if use_alarm:
            signal.signal(signal.SIGALRM, old)
    res.seconds = time.perf_counter() - t0
    return res


def run_text(text: str, engine: str = "sqlite3", limit: int | None = None,
             timeout: float | None = None, path: str = "<string>") -> FileResult:
    """Parse and run one .test file's text on a fresh connection of ``engine``."""
    eng = Engine(engine)
    try:
        return run_records(parse(text), eng, limit=limit, timeout=timeout, path=path)
    finally:
        eng.close()


def run_file(path: str | Path, engine: str = "sqlite3", limit: int | None = None,
             timeout: float | None = None) -> FileResult:
    text = Path(path).read_text(encoding="utf-8", errors="surrogateescape")
    return run_text(text, engine, limit=limit, timeout=timeout, path=str(path))


def corpus_files() -> list[Path]:
    return sorted(CORPUS.rglob("*.test"))


# -- CLI -------------------------------------------------------------------------------

def _short(path: str) -> str:
    try:
        return str(Path(path).relative_to(CORPUS))
    except ValueError:
        return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="test files (default: the whole corpus)")
    ap.add_argument("--engine", choices=["mvlite", "sqlite3"], default="mvlite")
    ap.add_argument("--limit", type=int, default=None, help="records per file")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds per record on mvlite (0: none)")
    ap.add_argument("--report", action="store_true",
                    help="also list the commonest failure reasons and first failures")
    args = ap.parse_args(argv)
    files = [Path(f) for f in args.files] or corpus_files()
    tot_n = tot_ref = tot_ok = 0
    reasons: dict[str, int] = {}
    print("| file | records | sqlite3 pass | %s pass | %% of sqlite3 | s |" % args.engine
          if args.engine == "mvlite" else "| file | records | sqlite3 pass | % | s |")
    print("|---|---:|---:|---:|---:|---:|" if args.engine == "mvlite" else "|---|---:|---:|---:|---:|")
    for f in files:
        ref = run_file(f, "sqlite3", limit=args.limit)
        if args.engine == "sqlite3":
            res = ref
            ok = len(ref.passed)
        else:
            res = run_file(f, "mvlite", limit=args.limit, timeout=args.timeout or None)
            ok = len(res.passed & ref.passed)
        for line, why in res.failures.items():
            key = re.sub(r"'[^']*'|\d+", "_", why)[:90]
            reasons[key] = reasons.get(key, 0) + 1
        tot_n += ref.records
        tot_ref += len(ref.passed)
        tot_ok += ok
        if args.engine == "mvlite":
            pct = 100.0 * ok / len(ref.passed) if ref.passed else 0.0
            print("| %s | %d | %d | %d | %.1f | %.1f |" % (_short(str(f)), ref.records,
                  len(ref.passed), ok, pct, res.seconds))
        else:
            pct = 100.0 * ok / ref.records if ref.records else 0.0
            print("| %s | %d | %d | %.2f | %.1f |" % (_short(str(f)), ref.records, ok, pct,
                                                      ref.seconds))
        if args.report and res.failures:
            for line, why in sorted(res.failures.items())[:5]:
                print("    %s:%d: %s" % (_short(str(f)), line, why[:200]))
        sys.stdout.flush()
    if args.engine == "mvlite":
        pct = 100.0 * tot_ok / tot_ref if tot_ref else 0.0
        print("| **total** | %d | %d | %d | %.1f | |" % (tot_n, tot_ref, tot_ok, pct))
    else:
        pct = 100.0 * tot_ok / tot_n if tot_n else 0.0
        print("| **total** | %d | %d | %.2f | |" % (tot_n, tot_ok, pct))
    if args.report:
        print("\ncommonest failure reasons (%s):" % args.engine)
        for key, cnt in sorted(reasons.items(), key=lambda kv: -kv[1])[:25]:
            print("  %6d  %s" % (cnt, key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
