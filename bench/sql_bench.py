"""SQL benchmarks: mvlite against stdlib sqlite3, same process, same machine, same files.

Issue 4's list, each as an mvlite/sqlite3 throughput ratio (median of
``--runs`` runs; each run uses fresh files made the same way for both):

- bulk insert: ``--rows`` rows (default 100k) by ``executemany`` in one transaction;
- point select: 100k ``SELECT * FROM t WHERE id = ?`` on random primary keys;
- index lookup: 20k ``SELECT id FROM t WHERE k = ?`` through a secondary index;
- scan aggregate: ``SELECT count(*), sum(a), max(k), avg(length(s)) FROM t`` over all rows;
- one-row transactions: 5,000 autocommit ``INSERT``s (each its own transaction, synchronous FULL);
- concurrent writers: 1/2/4/8 threads, each with its own connection, running small
  read-modify-write transactions for ``--seconds``: mvlite ``BEGIN CONCURRENT`` (conflicts
  retried) against sqlite3 ``BEGIN IMMEDIATE`` with a 30 s busy timeout, on disjoint rows and
  on 10 hot rows, with ``synchronous`` FULL and NORMAL. Every run checks that no update was lost.

Targets (issue 4): point select and index lookup >= 0.5, bulk insert >= 0.25, scan aggregate
>= 0.2, one-row transactions >= 0.5, 8 writers with FULL >= 3.0 on disjoint rows and >= 1.0 on
hot rows.

    python -m bench.sql_bench [--rows 100000] [--runs 3] [--seconds 3] [--only NAMES]
                              [--threads 1,2,4,8] [--dir DIR] [--profile NAME]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from typing import Any, Callable

import mvlite

SYNC = {"FULL": 2, "NORMAL": 1}
TARGETS = {"bulk insert": 0.25, "point select": 0.5, "index lookup": 0.5,
           "scan aggregate": 0.2, "one-row transactions": 0.5}


def _row(i: int, rnd: random.Random) -> tuple:
    return (i, rnd.randrange(1_000_000), rnd.randrange(50_000), "x" * rnd.randrange(5, 40))


def _rows(n: int) -> list[tuple]:
    rnd = random.Random(42)
    return [_row(i, rnd) for i in range(1, n + 1)]


SCHEMA = "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, k INTEGER, s TEXT)"
INDEX = "CREATE INDEX t_k ON t(k)"


def _connect(mod: Any, path: str, sync: int = 2) -> Any:
    if mod is sqlite3:
        con = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA synchronous={sync}")
        return con
    return mvlite.connect(path, isolation_level=None, timeout=30, check_same_thread=False,
                          synchronous=sync)


def _fill(mod: Any, path: str, rows: list[tuple]) -> float:
    """Create t + its index and insert ``rows`` in one transaction; return the insert seconds."""
    con = _connect(mod, path)
    try:
        con.execute(SCHEMA)
        con.execute(INDEX)
        t0 = time.perf_counter()
        con.execute("BEGIN")
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        return time.perf_counter() - t0
    finally:
        con.close()


def _time(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def single_thread(mod: Any, d: str, rows: list[tuple], only: set[str]) -> dict[str, tuple[int, float]]:
    """One run of the single-threaded benchmarks for ``mod``: name -> (ops, seconds)."""
    out: dict[str, tuple[int, float]] = {}
    path = os.path.join(d, f"{mod.__name__}-single.db")
    for p in (path, path + "-wal", path + "-shm"):
        if os.path.exists(p):
            os.remove(p)
    n = len(rows)
    out["bulk insert"] = (n, _fill(mod, path, rows))
    con = _connect(mod, path)
    try:
        rnd = random.Random(7)
        if "point select" in only:
            keys = [rnd.randrange(1, n + 1) for _ in range(100_000)]
            ex = con.execute

            def points() -> None:
                for k in keys:
                    ex("SELECT * FROM t WHERE id = ?", (k,)).fetchone()
            out["point select"] = (len(keys), _time(points))
        if "index lookup" in only:
            ks = [rows[rnd.randrange(n)][2] for _ in range(20_000)]
            ex = con.execute

            def lookups() -> None:
                for k in ks:
                    ex("SELECT id FROM t WHERE k = ?", (k,)).fetchall()
            out["index lookup"] = (len(ks), _time(lookups))
        if "scan aggregate" in only:
            q = "SELECT count(*), sum(a), max(k), avg(length(s)) FROM t"
            con.execute(q).fetchall()  # warm the cache like a second query would
            out["scan aggregate"] = (n, _time(lambda: con.execute(q).fetchall()))
        if "one-row transactions" in only:
            ex = con.execute
            base = n + 1

            def singles() -> None:
                for i in range(5_000):
                    ex("INSERT INTO t VALUES (?, ?, ?, ?)", (base + i, i, i, "y"))
            out["one-row transactions"] = (5_000, _time(singles))
    finally:
        con.close()
    return out


# -- concurrent writers -------------------------------------------------------------

def _make_counter_db(mod: Any, path: str, nrows: int) -> None:
    con = _connect(mod, path)
    con.execute("CREATE TABLE c(id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO c VALUES (?, 0)", [(i,) for i in range(nrows)])
    con.execute("COMMIT")
    con.close()


def _writers(mod: Any, path: str, threads: int, seconds: float, workload: str,
             sync: int) -> tuple[int, int, float]:
    """(commits, conflicts or busy retries, elapsed) for ``threads`` writers."""
    stop = threading.Event()
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    begin = "BEGIN CONCURRENT" if mod is mvlite else "BEGIN IMMEDIATE"

    def body(i: int) -> None:
        con = _connect(mod, path, sync)
        rnd = random.Random(i)
        ex = con.execute
        commits = retries = 0
        try:
            start.wait()
            while not stop.is_set():
                rid = rnd.randrange(10) if workload == "hot" else i * 1000 + rnd.randrange(1000)
                while True:
                    try:
                        ex(begin)
                        (v,) = ex("SELECT n FROM c WHERE id = ?", (rid,)).fetchone()
                        ex("UPDATE c SET n = ? WHERE id = ?", (v + 1, rid))
                        ex("COMMIT")
                        break
                    except (mvlite.OperationalError, sqlite3.OperationalError):
                        retries += 1
                        if con.in_transaction:
                            ex("ROLLBACK")
                commits += 1
            results.append((commits, retries))
        except BaseException as e:  # pragma: no cover - surfaced below
            errors.append(e)
        finally:
            con.close()

    ts = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    commits = sum(r[0] for r in results)
    con = sqlite3.connect(path)
    total = con.execute("SELECT sum(n) FROM c").fetchone()[0]
    con.close()
    if total != commits:
        raise AssertionError(f"{mod.__name__} lost updates: {total} != {commits}")
    return commits, sum(r[1] for r in results), elapsed


def concurrent(d: str, threads: list[int], seconds: float, runs: int) -> list[dict[str, Any]]:
    table = []
    for sync_name, sync in SYNC.items():
        for workload in ("disjoint", "hot"):
            for n in threads:
                rates: dict[str, list[float]] = {"mvlite": [], "sqlite3": []}
                for _ in range(runs):
                    for mod in (mvlite, sqlite3):
                        path = os.path.join(d, f"w-{mod.__name__}.db")
                        for p in (path, path + "-wal", path + "-shm"):
                            if os.path.exists(p):
                                os.remove(p)
                        _make_counter_db(mod, path, 8 * 1000)
                        commits, _retries, el = _writers(mod, path, n, seconds, workload, sync)
                        rates["mvlite" if mod is mvlite else "sqlite3"].append(commits / el)
                m, s = statistics.median(rates["mvlite"]), statistics.median(rates["sqlite3"])
                table.append({"sync": sync_name, "workload": workload, "threads": n,
                              "mvlite": m, "sqlite3": s, "ratio": m / s})
                print(f"  {sync_name:6} {workload:8} {n} threads: mvlite {m:8.0f}/s  "
                      f"sqlite3 {s:8.0f}/s  ratio {m / s:.2f}", flush=True)
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", default="1,2,4,8")
    ap.add_argument("--only", default=",".join(list(TARGETS) + ["concurrent"]),
                    help="comma-separated benchmark names")
    ap.add_argument("--dir", default=None, help="where the files go (default: a temp dir)")
    ap.add_argument("--profile", default=None, help="profile mvlite on one single-thread run")
    args = ap.parse_args(argv)
    only = {x.strip() for x in args.only.split(",")}
    d = args.dir or tempfile.mkdtemp(prefix="mvlite-sqlbench-")
    rows = _rows(args.rows)
    try:
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            single_thread(mvlite, d, rows, {args.profile})
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
            return 0
        samples: dict[str, dict[str, list[float]]] = {}
        ops: dict[str, int] = {}
        if only & set(TARGETS):
            for _ in range(args.runs):
                for mod in (mvlite, sqlite3):
                    for name, (n, sec) in single_thread(mod, d, rows, only).items():
                        ops[name] = n
                        samples.setdefault(name, {}).setdefault(mod.__name__, []).append(sec)
            print("| benchmark | ops | mvlite ops/s | sqlite3 ops/s | ratio | target |")
            print("|---|---:|---:|---:|---:|---:|")
            for name in TARGETS:
                if name not in samples:
                    continue
                m = statistics.median(samples[name]["mvlite"])
                s = statistics.median(samples[name]["sqlite3"])
                n = ops[name]
                print(f"| {name} | {n:,} | {n / m:,.0f} | {n / s:,.0f} | {s / m:.3f} | "
                      f">= {TARGETS[name]} |", flush=True)
        if "concurrent" in only:
            threads = [int(x) for x in args.threads.split(",")]
            table = concurrent(d, threads, args.seconds, args.runs)
            print("\n| synchronous | workload | threads | mvlite commits/s | sqlite3 commits/s "
                  "| ratio |")
            print("|---|---|---:|---:|---:|---:|")
            for r in table:
                print(f"| {r['sync']} | {r['workload']} | {r['threads']} | {r['mvlite']:,.0f} | "
                      f"{r['sqlite3']:,.0f} | {r['ratio']:.2f} |")
    finally:
        if args.dir is None:
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
