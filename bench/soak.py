"""Memory soak: steady concurrent updates plus a periodic long reader; memory must stay bounded.

Writers (``--threads``) run ``BEGIN CONCURRENT`` transactions on a real file:
mostly increment a random row of their own block, sometimes one of 10 hot
rows (conflicts are retried), and every 20th transaction inserts a row and
deletes the thread's oldest inserted one (the live row count stays constant).
Every ``--reader-every`` seconds a reader pins one snapshot for
``--reader-hold`` seconds, summing the table at the start and at the end (the
two sums must be equal: snapshot isolation); while it holds, garbage
collection and checkpoints cannot pass its mark, so versions and the WAL grow,
and must shrink again after.

Every ``--sample`` seconds a row is printed: RSS (``/proc/self/statm``),
``db.version_count()``, chains, WAL file size, commits and conflicts so far.
After the warm-up (2 minutes, or a fifth of a shorter run) it checks:

  B1  versions stay bounded: with no long reader, <= 10 x threads (only the
      versions of transactions in flight: GC drops a chain soon after its
      commit); while a long reader holds its snapshot, <= 3 x chains +
      10 x threads (a chain keeps the version the reader sees, the current
      one and at most one a writer's snapshot still sees, never the whole
      history of a hot row);
  B2  RSS growth < 20%: the largest RSS of the last window is below 1.2 x the
      largest RSS of the first window after warm-up (a window is one reader
      cycle or more, so both windows contain a reader's peak);
  B3  at the end, sqlite3's ``PRAGMA integrity_check`` is ok, the sum of the
      counters equals the committed increments, the row count is unchanged;
  B4  the WAL restarts (``pager.stats["wal_restarts"]`` grows) after the
      warm-up: otherwise the -wal file and the pager's in-memory wal-index
      (one entry per frame) grow for as long as the load lasts.

Exits 1 if any check fails.

    python -m bench.soak [--minutes 10] [--threads 4] [--synchronous NORMAL]
"""
from __future__ import annotations

import argparse
import datetime
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import traceback
from typing import Any

from mvcc.database import Database
from mvcc.errors import ConflictError
from storage.schema_table import read_schema

SYNC_LEVELS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}
ROWS_PER_THREAD = 500
HOT_ROWS = 10
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process now (Linux; falls back to the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Soak:
    """The running workload: writer threads, the long reader, shared counters."""

    def __init__(self, path: str, threads: int, sync: int, reader_every: float,
                 reader_hold: float) -> None:
        self.path = path
        self.n = threads
        self.rows = threads * ROWS_PER_THREAD
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, value INTEGER)")
        con.executemany("INSERT INTO t VALUES (?, 0)", ((i,) for i in range(1, self.rows + 1)))
        con.commit()
        con.close()
        self.db = Database.open(path, synchronous=sync)
        r = self.db.pager.begin_read()
        self.tree = self.db.table({o.name: o.rootpage for o in read_schema(r)}["t"])
        r.end()
        self.stop = threading.Event()
        self.restarts_at_warmup: int | None = None
        self.increments = [0] * threads
        self.conflicts = [0] * threads
        self.inserted = [0] * threads
        self.deleted = [0] * threads
        self.reads = 0
        self.reader_active = False
        self.reader_ended = 0.0  # time.monotonic() when the last long read ended
        self.errors: list[str] = []
        self.tracebacks: list[str] = []
        self.reader_every = reader_every
        self.reader_hold = reader_hold

    # -- writers -----------------------------------------------------------------

    def _txn(self, i: int, fn: Any) -> Any:
        """Run ``fn(txn)`` in a concurrent transaction until it commits."""
        db = self.db
        while True:
            txn = db.begin("concurrent")
            try:
                out = fn(txn)
                txn.commit()
                return out
            except ConflictError:
                self.conflicts[i] += 1

    def writer(self, i: int) -> None:
        rnd = random.Random(i)
        tree = self.tree
        base = i * ROWS_PER_THREAD
        mine: list[int] = []  # rows this thread inserted, oldest first

        def bump(txn: Any, rowid: int) -> None:
            row = txn.get(tree, rowid)
            txn.update(tree, rowid, (None, row[1] + 1))

        try:
            k = 0
            while not self.stop.is_set():
                k += 1
                if k % 20 == 0:
                    rowid = self._txn(i, lambda txn: txn.insert_auto(tree, (None, 0)))
                    mine.append(rowid)
                    self.inserted[i] += 1
                    if len(mine) > 50:
                        old = mine.pop(0)
                        if not self._txn(i, lambda txn: txn.delete(tree, old)):
                            self.errors.append(f"writer {i}: inserted row {old} vanished")
                        self.deleted[i] += 1
                    continue
                rowid = rnd.randint(1, HOT_ROWS) if rnd.random() < 0.1 else base + rnd.randint(
                    1, ROWS_PER_THREAD)
                self._txn(i, lambda txn: bump(txn, rowid))
                self.increments[i] += 1
        except BaseException as exc:  # reported by the main loop
            self.errors.append(f"writer {i}: {exc!r}")
            self.tracebacks.append(traceback.format_exc(limit=-4))
            self.stop.set()

    # -- the long reader -----------------------------------------------------------

    def reader(self) -> None:
        try:
            while not self.stop.wait(self.reader_every):
                txn = self.db.begin("concurrent")
                self.reader_active = True
                try:
                    first = sum(row[1] for _rowid, row in txn.rows(self.tree))
                    self.stop.wait(self.reader_hold)
                    second = sum(row[1] for _rowid, row in txn.rows(self.tree))
                    if first != second:
                        self.errors.append(f"reader: snapshot moved, {first} then {second}")
                        self.stop.set()
                    self.reads += 1
                finally:
                    txn.commit()
                    self.reader_ended = time.monotonic()
                    self.reader_active = False
        except BaseException as exc:
            self.errors.append(f"reader: {exc!r}")
            self.tracebacks.append(traceback.format_exc(limit=-4))
            self.stop.set()

    # -- samples ---------------------------------------------------------------------

    def sample(self, t: float) -> dict[str, Any]:
        """One row of measurements. ``reader`` is True if a long read was holding
        its snapshot at any point of the sample, or ended less than a second
        before (its versions go at the next commit's garbage collection)."""
        db = self.db
        reader = self.reader_active or time.monotonic() - self.reader_ended < 1.0
        try:
            wal = os.path.getsize(self.path + "-wal")
        except OSError:
            wal = 0
        return {
            "t": t, "rss": rss_bytes(), "versions": db.version_count(),
            "chains": sum(len(tr.chains) for tr in list(db.trees.values())),
            "wal": wal, "commits": db.stats["commits"], "groups": db.stats["groups"],
            "conflicts": sum(self.conflicts), "reader": reader or self.reader_active,
            "active": len(db.active),
        }


def _row(s: dict[str, Any]) -> str:
    return (f"| {s['t']:6.0f} | {s['rss'] / 2**20:7.1f} | {s['versions']:8} | {s['chains']:7} "
            f"| {s['wal'] / 2**20:7.2f} | {s['commits']:9} | {s['conflicts']:9} "
            f"| {'yes' if s['reader'] else '':6} |")


HEADER = ("|  t (s) | RSS MiB | versions |  chains | WAL MiB |   commits | conflicts | reader |\n"
          "|-------:|--------:|---------:|--------:|--------:|----------:|----------:|:-------|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--synchronous", default="NORMAL", type=str.upper, choices=list(SYNC_LEVELS))
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--reader-every", type=float, default=30.0,
                    help="seconds between long readers")
    ap.add_argument("--reader-hold", type=float, default=10.0,
                    help="seconds a long reader holds its snapshot")
    ap.add_argument("--dir", default=None, help="where the database file goes")
    args = ap.parse_args(argv)
    duration = args.minutes * 60
    warmup = min(120.0, duration / 5)
    window = max(args.reader_every + args.reader_hold, args.sample * 2)
    print(f"soak: {args.minutes:g} min, {args.threads} writer threads, "
          f"synchronous={args.synchronous}, long reader every {args.reader_every:g} s holding "
          f"{args.reader_hold:g} s, warm-up {warmup:g} s; {os.cpu_count()} CPUs, "
          f"{datetime.date.today()}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        path = os.path.join(d, "soak.db")
        soak = Soak(path, args.threads, SYNC_LEVELS[args.synchronous], args.reader_every,
                    args.reader_hold)
        rows0 = soak.rows
        threads = [threading.Thread(target=soak.writer, args=(i,), daemon=True)
                   for i in range(args.threads)]
        threads.append(threading.Thread(target=soak.reader, daemon=True))
        print(HEADER, flush=True)
        samples = []
        t0 = time.monotonic()
        for th in threads:
            th.start()
        try:
            while True:
                left = t0 + duration - time.monotonic()
                if soak.stop.wait(min(args.sample, max(left, 0))) or left <= 0:
                    break
                s = soak.sample(time.monotonic() - t0)
                samples.append(s)
                if soak.restarts_at_warmup is None and s["t"] >= warmup:
                    soak.restarts_at_warmup = soak.db.pager.stats["wal_restarts"]
                print(_row(s), flush=True)
        finally:
            soak.stop.set()
            for th in threads:
                th.join(60)
        db = soak.db
        db.collect_garbage()  # nothing is active: every chain must go
        final = soak.sample(time.monotonic() - t0)
        print(_row(final) + " after the workload stopped and one GC pass")
        if final["versions"] or final["chains"]:
            failures_end = [f"B1 {final['versions']} versions in {final['chains']} chains left "
                            "after the workload stopped and a GC pass"]
        else:
            failures_end = []
        gc_dropped = db.stats["gc_dropped"]
        pager_stats = db.pager.stats
        db.close()
        failures = list(soak.errors) + failures_end

        # B1: versions bounded after warm-up
        late = [x for x in samples if x["t"] >= warmup]
        idle_bound = 10 * args.threads
        idle = [x["versions"] for x in late if not x["reader"]]
        held = [(x["versions"], x["chains"]) for x in late if x["reader"]]
        worst_idle = max(idle, default=0)
        worst_held = max(held, default=(0, 0))
        if worst_idle > idle_bound:
            failures.append(f"B1 versions without a long reader: {worst_idle} > {idle_bound}")
        for versions, chains in held:
            if versions > 3 * chains + idle_bound:
                failures.append(f"B1 versions under a long reader: {versions} > 3 x {chains} "
                                f"chains + {idle_bound}")
                break
        # B2: RSS growth between the first window after warm-up and the last window
        first = [x["rss"] for x in late if x["t"] < warmup + window]
        last = [x["rss"] for x in late if x["t"] > samples[-1]["t"] - window]
        growth = max(last) / max(first) - 1 if first and last else 0.0
        if not first or not last:
            failures.append("B2: run too short for two RSS windows after warm-up")
        elif growth >= 0.20:
            failures.append(f"B2 RSS growth {growth:.1%} >= 20%")
        # B3: the file, read by sqlite3
        con = sqlite3.connect(path)
        check = con.execute("PRAGMA integrity_check").fetchone()[0]
        total, count = con.execute("SELECT total(value), count(*) FROM t").fetchone()
        con.close()
        expect_rows = rows0 + sum(soak.inserted) - sum(soak.deleted)
        if check != "ok":
            failures.append(f"B3 integrity_check: {check}")
        if total != sum(soak.increments):
            failures.append(f"B3 sum {total} != committed increments {sum(soak.increments)}")
        if count != expect_rows:
            failures.append(f"B3 row count {count} != {expect_rows}")

        # B4: the WAL keeps being restarted
        restarts_late = pager_stats["wal_restarts"] - (soak.restarts_at_warmup or 0)
        if soak.restarts_at_warmup is None or restarts_late <= 0:
            failures.append(f"B4 no WAL restart after warm-up (WAL reached "
                            f"{max(x['wal'] for x in samples + [final]) / 2**20:.0f} MiB)")

        elapsed = final["t"]
        peak_wal = max(x["wal"] for x in samples + [final])
        print(f"\ncommits {final['commits']} in {elapsed:.0f} s "
              f"({final['commits'] / elapsed:.0f}/s), WAL transactions "
              f"{final['groups']}, conflicts {final['conflicts']}, long reads {soak.reads}, "
              f"chains dropped by GC {gc_dropped}, checkpoints {pager_stats['checkpoints']}, "
              f"WAL restarts {pager_stats['wal_restarts']}, peak WAL {peak_wal / 2**20:.1f} MiB")
        print(f"B1 versions after warm-up: without a long reader max {worst_idle} "
              f"(bound {idle_bound}); under a long reader max {worst_held[0]} with "
              f"{worst_held[1]} chains (bound 3 x chains + {idle_bound})")
        if first and last:
            print(f"B2 RSS: first window after warm-up max {max(first) / 2**20:.1f} MiB, "
                  f"last window max {max(last) / 2**20:.1f} MiB, growth {growth:+.1%} (bound +20%)")
        print(f"B3 integrity_check {check}; sum {total:.0f} = increments "
              f"{sum(soak.increments)}; rows {count} (expected {expect_rows})")
        print(f"B4 WAL restarts after warm-up: {restarts_late} (must be > 0)")
        for tb in soak.tracebacks:
            print(tb, end="")
        print("result: " + ("ok" if not failures else "FAILED: " + "; ".join(failures)))
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
