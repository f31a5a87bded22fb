"""Commit benchmark: many threads committing tiny write transactions, mvlite's group commit vs sqlite3.

Each thread runs, for ``--seconds``, transactions that read one row and write
it back incremented, on a real file in WAL mode with ``synchronous=FULL``
(``--synchronous NORMAL`` as the option). Two workloads: ``disjoint`` (thread
*i* only touches rows of its own block, so no two transactions conflict) and
``hot`` (every thread picks among the same 10 rows; conflicts are retried
from the start). mvlite runs ``BEGIN CONCURRENT`` transactions through
``mvcc.Database``; its group commit (docs/mvcc.md, "Commit") should make one
WAL transaction and one fsync serve several commits. stdlib ``sqlite3`` runs
the same workload with one connection per thread, ``BEGIN IMMEDIATE`` +
``UPDATE`` + ``COMMIT`` and a 30 s busy timeout. Reported per workload and
thread count: commits/s (median of ``--runs`` runs), and from the median run
the WAL transactions (groups), fsyncs (``pager.stats["syncs"]``: WAL syncs at
commit plus checkpoint syncs), fsyncs per commit, checkpoints and WAL
restarts, conflicts, and the
mvlite/sqlite3 throughput ratio; also the median latency of a 4 KiB
overwrite + fsync probed in the same directory before each run (on a shared
machine it swings by orders of magnitude, and every rate follows it). Every
run checks that the sum of the counters in the file equals the number of
commits (nothing lost). Exits 1 if fsyncs/commit is not below 1 at 8 threads
under FULL (group commit broken).

    python -m bench.commit_bench [--threads 1,2,4,8] [--seconds 5] [--runs 3]
                                 [--synchronous FULL] [--workloads disjoint,hot]
                                 [--profile FILE]
"""
from __future__ import annotations

import argparse
import cProfile
import datetime
import os
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from typing import Any, Callable

from mvcc.database import Database
from mvcc.errors import ConflictError
from storage.schema_table import read_schema

SYNC_LEVELS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}
ROWS_PER_THREAD = 1000  # disjoint: thread i owns rows i*1000+1 .. i*1000+1000
HOT_ROWS = 10


def fsync_latency_ms(d: str | None, n: int = 50) -> float:
    """Median time of one 4 KiB overwrite + fsync in ``d``: what one commit's sync costs here."""
    fd, path = tempfile.mkstemp(dir=d)
    try:
        os.pwrite(fd, bytes(4096 * 8), 0)
        os.fsync(fd)
        samples = []
        for i in range(n):
            t0 = time.perf_counter()
            os.pwrite(fd, b"x" * 4096, (i % 8) * 4096)
            os.fsync(fd)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples) * 1e3
    finally:
        os.close(fd)
        os.remove(path)


def _make_db(path: str, rows: int) -> None:
    """The table every run starts from: t(id INTEGER PRIMARY KEY, value) with value 0."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, value INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, 0)", ((i,) for i in range(1, rows + 1)))
    con.commit()
    con.close()


def _sum_values(path: str) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT total(value) FROM t").fetchone()[0]
    finally:
        con.close()


def _picker(workload: str, i: int) -> Callable[[], int]:
    rnd = random.Random(i)
    if workload == "hot":
        return lambda: rnd.randint(1, HOT_ROWS)
    base = i * ROWS_PER_THREAD
    return lambda: base + rnd.randint(1, ROWS_PER_THREAD)


def _run_threads(n: int, seconds: float, body: Callable[[int, Callable[[], bool]], tuple[int, int]]
                 ) -> tuple[float, int, int]:
    """Start ``n`` threads running ``body(i, running)`` together; (elapsed, commits, conflicts).

    ``running()`` turns False once ``seconds`` have passed since the common
    start; elapsed runs until the last thread has finished its transaction.
    """
    state: dict[str, float] = {}
    barrier = threading.Barrier(n, action=lambda: state.__setitem__("t0", time.perf_counter()))
    results: list[tuple[int, int]] = [(0, 0)] * n
    errors: list[BaseException] = []

    def wrap(i: int) -> None:
        try:
            barrier.wait()
            deadline = state["t0"] + seconds
            clock = time.perf_counter
            results[i] = body(i, lambda: clock() < deadline)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,), name=f"bench-{i}") for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - state.get("t0", time.perf_counter())
    if errors:
        raise errors[0]
    return elapsed, sum(r[0] for r in results), sum(r[1] for r in results)


def _run_mvlite(path: str, workload: str, n: int, seconds: float, sync: int,
                profiles: list[cProfile.Profile] | None) -> dict[str, Any]:
    db = Database.open(path, synchronous=sync)
    try:
        r = db.pager.begin_read()
        root = {o.name: o.rootpage for o in read_schema(r)}["t"]
        r.end()
        tree = db.table(root)
        before_db, before_pager = dict(db.stats), db.pager.stats

        def body(i: int, running: Callable[[], bool]) -> tuple[int, int]:
            prof = cProfile.Profile() if profiles is not None else None
            if prof is not None:
                prof.enable()
            pick = _picker(workload, i)
            begin = db.begin
            commits = conflicts = 0
            while running():
                rowid = pick()
                while True:
                    txn = begin("concurrent")
                    try:
                        row = txn.get(tree, rowid)
                        txn.update(tree, rowid, (None, row[1] + 1))
                        txn.commit()
                        break
                    except ConflictError:
                        conflicts += 1  # rolled back already; run it again
                commits += 1
            if prof is not None:
                prof.disable()
                profiles.append(prof)
            return commits, conflicts

        elapsed, commits, conflicts = _run_threads(n, seconds, body)
        ps = db.pager.stats
        out = {
            "elapsed": elapsed, "commits": commits, "conflicts": conflicts,
            "groups": db.stats["groups"] - before_db.get("groups", 0),
            "wal_commits": ps["commits"] - before_pager["commits"],
            "fsyncs": ps["syncs"] - before_pager["syncs"],
            "wal_syncs": ps["wal_syncs"] - before_pager["wal_syncs"],
            "checkpoints": ps["checkpoints"] - before_pager["checkpoints"],
            "restarts": ps["wal_restarts"] - before_pager["wal_restarts"],
        }
        if db.stats["commits"] - before_db.get("commits", 0) != commits:
            raise AssertionError(f"db.stats commits {db.stats['commits']} != counted {commits}")
    finally:
        db.close()
    total = _sum_values(path)
    if total != out["commits"]:
        raise AssertionError(f"mvlite lost updates: sum {total} != commits {out['commits']}")
    return out


def _run_sqlite(path: str, workload: str, n: int, seconds: float, sync: int) -> dict[str, Any]:
    def body(i: int, running: Callable[[], bool]) -> tuple[int, int]:
        con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            con.execute(f"PRAGMA synchronous={sync}")  # per connection
            pick = _picker(workload, i)
            ex = con.execute
            commits = busy = 0
            while running():
                rowid = pick()
                while True:
                    try:
                        ex("BEGIN IMMEDIATE")
                    except sqlite3.OperationalError:
                        busy += 1  # busy timeout expired (not expected with 30 s)
                        continue
                    ex("UPDATE t SET value = value + 1 WHERE id = ?", (rowid,))
                    ex("COMMIT")
                    break
                commits += 1
            return commits, busy
        finally:
            con.close()

    elapsed, commits, busy = _run_threads(n, seconds, body)
    total = _sum_values(path)
    if total != commits:
        raise AssertionError(f"sqlite3 lost updates: sum {total} != commits {commits}")
    return {"elapsed": elapsed, "commits": commits, "conflicts": busy}


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose commits/s is the (lower) median; its counters describe it."""
    ranked = sorted(runs, key=lambda r: r["commits"] / r["elapsed"])
    out = dict(ranked[(len(ranked) - 1) // 2])
    out["rate"] = statistics.median(r["commits"] / r["elapsed"] for r in runs)
    out["rates"] = [r["commits"] / r["elapsed"] for r in runs]
    return out


def _fresh(d: str, name: str, rows: int) -> str:
    path = os.path.join(d, name)
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    _make_db(path, rows)
    return path


def run(threads: list[int], seconds: float, runs: int, sync: int, workloads: list[str],
        tmpdir: str | None = None, profiles: list[cProfile.Profile] | None = None,
        log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """Run every (workload, threads) case on both engines; one result row per case."""
    rows = ROWS_PER_THREAD * max(threads)
    table = []
    with tempfile.TemporaryDirectory(dir=tmpdir) as d:
        for workload in workloads:
            for n in threads:
                ours, theirs, probes = [], [], []
                for k in range(runs):  # interleaved, so drift hits both engines alike
                    probes.append(fsync_latency_ms(d, 20))
                    ours.append(_run_mvlite(_fresh(d, "mv.db", rows), workload, n, seconds, sync,
                                            profiles if n == max(threads) else None))
                    theirs.append(_run_sqlite(_fresh(d, "sq.db", rows), workload, n, seconds, sync))
                    log(f"  {workload:8} threads={n} run {k + 1}/{runs} (fsync {probes[-1]:.2f} ms): "
                        f"mvlite {ours[-1]['commits'] / ours[-1]['elapsed']:7.1f}/s "
                        f"(groups {ours[-1]['groups']}, fsyncs {ours[-1]['fsyncs']}), "
                        f"sqlite3 {theirs[-1]['commits'] / theirs[-1]['elapsed']:7.1f}/s")
                table.append({"workload": workload, "threads": n, "fsync_ms": statistics.median(probes),
                              "mvlite": _median_run(ours), "sqlite3": _median_run(theirs)})
    return table


def format_table(table: list[dict[str, Any]]) -> str:
    out = ["| workload | threads | fsync ms | mvlite commits/s | commits | WAL txns (groups) | commits/group "
           "| fsyncs | fsyncs/commit | checkpoints / WAL restarts | conflicts | sqlite3 commits/s "
           "| ratio mvlite/sqlite3 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in table:
        m, s = row["mvlite"], row["sqlite3"]
        groups = m["groups"] or 1
        out.append(
            f"| {row['workload']} | {row['threads']} | {row['fsync_ms']:.2f} | {m['rate']:,.0f} "
            f"| {m['commits']} "
            f"| {m['groups']} | {m['commits'] / groups:.2f} | {m['fsyncs']} "
            f"| {m['fsyncs'] / max(m['commits'], 1):.3f} | {m['checkpoints']} / {m['restarts']} "
            f"| {m['conflicts']} "
            f"| {s['rate']:,.0f} | {m['rate'] / s['rate']:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2,4,8", help="comma-separated thread counts")
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of one run")
    ap.add_argument("--runs", type=int, default=3, help="runs per case (median reported)")
    ap.add_argument("--synchronous", default="FULL", type=str.upper, choices=list(SYNC_LEVELS))
    ap.add_argument("--workloads", default="disjoint,hot")
    ap.add_argument("--dir", default=None, help="where the database files go (a real disk)")
    ap.add_argument("--profile", default=None, metavar="FILE",
                    help="cProfile every mvlite thread of the largest thread count into FILE")
    args = ap.parse_args(argv)
    threads = [int(x) for x in args.threads.split(",") if x]
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in ("disjoint", "hot"):
            ap.error(f"unknown workload {w!r}")
    sync = SYNC_LEVELS[args.synchronous]
    profiles: list[cProfile.Profile] | None = [] if args.profile else None
    print(f"commit benchmark: synchronous={args.synchronous}, {args.seconds:g} s per run, "
          f"median of {args.runs} runs; {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"sqlite3 {sqlite3.sqlite_version}, {datetime.date.today()}; "
          f"4 KiB overwrite+fsync: {fsync_latency_ms(args.dir):.2f} ms (median)", flush=True)
    table = run(threads, args.seconds, args.runs, sync, workloads, args.dir, profiles,
                log=lambda s: print(s, file=sys.stderr, flush=True))
    print()
    print(format_table(table))
    print(f"\n4 KiB overwrite+fsync after the runs: {fsync_latency_ms(args.dir):.2f} ms (median)")
    if profiles:
        stats = pstats.Stats(profiles[0])
        for p in profiles[1:]:
            stats.add(p)
        stats.dump_stats(args.profile)
        stats.sort_stats("cumulative").print_stats(25)
    status = 0
    if sync >= 2 and 8 in threads:
        for row in table:
            if row["threads"] == 8:
                m = row["mvlite"]
                per = m["fsyncs"] / max(m["commits"], 1)
                ok = per < 1
                print(f"\ngroup commit check ({row['workload']}, 8 threads, FULL): "
                      f"{per:.3f} fsyncs/commit -> {'ok' if ok else 'FAILED (must be < 1)'}")
                status |= 0 if ok else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
