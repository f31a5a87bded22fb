"""The threaded stress run: N threads x M transactions on a real file, checked with numbers.

Single job: run a mixed workload through ``mvcc`` with real threads and prove,
with counts, that nothing was lost, duplicated, half-applied or seen out of
snapshot. The contract is ``docs/mvcc.md``; the file must stay a valid SQLite
database (https://www.sqlite.org/fileformat2.html), which the stdlib
``sqlite3`` judges at the end.

Tables (made by ``sqlite3`` before the run):

| table    | rows                                   | invariant checked at the end            |
|----------|----------------------------------------|-----------------------------------------|
| counters | 1..8 hot (all threads), 1000+10i+j own | value == committed increments of it     |
| accounts | 1..32, balance 1000 each               | sum == 32000, in every snapshot too     |
| items    | insert_auto rows (owner, seq, note)    | exactly the committed inserts minus the |
|          |                                        | committed deletes; rowids unique        |

Transactions (each retried on ``ConflictError`` / ``BusyError`` until it
commits): hot increment, own increment, bank transfer, 1-3 auto-rowid
inserts, delete of a random live item (deleted exactly once), and a savepoint
mix (own +1 kept; hot +1000 and an insert undone by ROLLBACK TO). A fraction
``mix`` run as BEGIN CONCURRENT, the rest as plain BEGIN (deferred or
immediate). A reader thread checks every snapshot's account total and that
the counter total never goes backwards.

Public surface: ``Config``, ``run(config) -> Report``, ``main(args) -> int``
(the ``python -m stress run`` command).
"""
from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mvcc.database import Database
from mvcc.errors import ConflictError
from storage.errors import BusyError
from storage.schema_table import read_schema

__all__ = ["Config", "Report", "run", "main", "SYNC_MODES"]

SYNC_MODES = {"FULL": 2, "NORMAL": 1, "OFF": 0}
HOT = 8
OWN = 10
ACCOUNTS = 32
START_BALANCE = 1000
TOTAL = ACCOUNTS * START_BALANCE
_KINDS = ("hot", "own", "transfer", "insert", "delete", "savepoint")
_WEIGHTS = (20, 20, 25, 15, 10, 10)


@dataclass
class Config:
    threads: int = 8
    txns: int = 2000
    path: str | None = None
    mix: float = 0.7
    synchronous: str = "FULL"
    seed: int = 0
    busy_timeout: float = 2.0


@dataclass
class Report:
    """Counters of a run and the failures found (empty = success)."""

    config: Config
    path: str = ""
    elapsed: float = 0.0
    counts: Counter = field(default_factory=Counter)
    db_stats: dict[str, int] = field(default_factory=dict)
    pager_stats: dict[str, int] = field(default_factory=dict)
    versions_left: int = 0
    reader_snapshots: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        c, cfg = self.counts, self.config
        commits = c["commits"]
        rate = commits / self.elapsed if self.elapsed else 0.0
        groups = self.db_stats.get("groups", 0)
        per_group = self.db_stats.get("commits", 0) / groups if groups else 0.0
        lines = [
            f"stress run: {cfg.threads} threads x {cfg.txns} txns, mix {cfg.mix:.2f} concurrent, "
            f"synchronous {cfg.synchronous}, seed {cfg.seed}",
            f"  file        {self.path}",
            f"  commits     {commits} ({c['commits_concurrent']} concurrent, "
            f"{c['commits_plain']} plain) in {self.elapsed:.2f}s = {rate:.0f} commits/s",
            f"  conflicts   {c['conflicts']} (BUSY_SNAPSHOT and write-write; {c['begin_stale']} at "
            f"BEGIN IMMEDIATE), busy {c['busy']}, retries {c['retries']}",
            f"  by kind     " + ", ".join(f"{k} {c['kind_' + k]}" for k in _KINDS),
            f"  items       {c['inserted']} inserted, {c['deleted']} deleted, "
            f"{c['delete_missed']} deletes found the row gone",
            f"  groups      {groups} ({per_group:.2f} commits/group), fsyncs "
            f"{self.pager_stats.get('syncs', 0)}, checkpoints {self.pager_stats.get('checkpoints', 0)}",
            f"  reader      {self.reader_snapshots} snapshots, every total {TOTAL}",
            f"  versions    {self.versions_left} left in memory before close",
        ]
        if self.failures:
            lines += [f"FAIL {f}" for f in self.failures[:20]]
            if len(self.failures) > 20:
                lines.append(f"FAIL ... {len(self.failures) - 20} more")
        else:
            lines.append("OK: invariants hold; sqlite3 integrity_check ok; reopen ok")
        return "\n".join(lines)


def _create(path: str, threads: int) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE counters(id INTEGER PRIMARY KEY, value)")
    con.execute("CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance)")
    con.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, owner, seq, note)")
    rows = [(i, 0) for i in range(1, HOT + 1)]
    rows += [(_own_row(t, j), 0) for t in range(threads) for j in range(OWN)]
    con.executemany("INSERT INTO counters VALUES (?, ?)", rows)
    con.executemany("INSERT INTO accounts VALUES (?, ?)",
                    [(i, START_BALANCE) for i in range(1, ACCOUNTS + 1)])
    con.commit()
    con.close()


def _own_row(thread: int, j: int) -> int:
    return 1000 + thread * OWN + j


class _Shared:
    """What the threads agree on: the committed items, under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[int, tuple[int, int]] = {}  # rowid -> (owner, seq)
        self.failures: list[str] = []
        self.stop = threading.Event()

    def fail(self, msg: str) -> None:
        with self.lock:
            self.failures.append(msg)
        self.stop.set()


class _Worker:
    """One thread's transactions and its own tally of what it committed."""

    def __init__(self, i: int, db: Database, trees: dict[str, Any], shared: _Shared,
                 cfg: Config) -> None:
        self.i = i
        self.db = db
        self.trees = trees
        self.shared = shared
        self.cfg = cfg
        self.rng = random.Random(f"mvlite-stress:{cfg.seed}:{i}")
        self.increments: Counter = Counter()
        self.counts: Counter = Counter()
        self.seq = 0

    def run(self) -> None:
        rng = self.rng
        try:
            for _ in range(self.cfg.txns):
                if self.shared.stop.is_set():
                    return
                kind = rng.choices(_KINDS, _WEIGHTS)[0]
                self._until_committed(kind)
                self.counts["kind_" + kind] += 1
        except BaseException as exc:  # reported, and stops the others
            self.shared.fail(f"thread {self.i}: {type(exc).__name__}: {exc}")

    def _until_committed(self, kind: str) -> None:
        rng = self.rng
        for attempt in range(10_000):
            if attempt:
                self.counts["retries"] += 1
            concurrent = rng.random() < self.cfg.mix
            mode = "concurrent" if concurrent else rng.choice(("deferred", "immediate"))
            try:
                txn = self.db.begin(mode, timeout=self.cfg.busy_timeout)
            except BusyError:
                self.counts["busy"] += 1
                continue
            except ConflictError as exc:
                # SQLite's BEGIN IMMEDIATE starts its snapshot once it holds the write
                # lock, so it can never be stale: a conflict here is an engine bug
                self.counts["conflicts"] += 1
                if not self.counts["begin_stale"]:
                    self.shared.fail(f"BEGIN {mode.upper()} raised {exc!r}")
                self.counts["begin_stale"] += 1
                continue
            try:
                after = getattr(self, "_" + kind)(txn)
                txn.commit()
            except ConflictError:
                self.counts["conflicts"] += 1
                continue
            except BusyError:
                txn.rollback()
                self.counts["busy"] += 1
                continue
            except BaseException:
                txn.rollback()
                raise
            self.counts["commits"] += 1
            self.counts["commits_concurrent" if concurrent else "commits_plain"] += 1
            if after is not None:
                after()
            return
        raise AssertionError(f"{kind} did not commit in 10000 attempts")

    # -- transaction bodies: each returns what to record once committed -------

    def _bump(self, txn: Any, rowid: int, by: int) -> None:
        t = self.trees["counters"]
        row = txn.get(t, rowid)
        if row is None:
            raise AssertionError(f"counter {rowid} is missing")
        if not txn.update(t, rowid, (None, row[1] + by)):
            raise AssertionError(f"counter {rowid} vanished between get and update")

    def _hot(self, txn: Any):
        rowid = self.rng.randint(1, HOT)
        self._bump(txn, rowid, 1)
        return lambda: self.increments.update((rowid,))

    def _own(self, txn: Any):
        rowid = _own_row(self.i, self.rng.randrange(OWN))
        self._bump(txn, rowid, 1)
        return lambda: self.increments.update((rowid,))

    def _transfer(self, txn: Any):
        t = self.trees["accounts"]
        a, b = self.rng.sample(range(1, ACCOUNTS + 1), 2)
        amount = self.rng.randint(1, 100)
        ra, rb = txn.get(t, a), txn.get(t, b)
        txn.update(t, a, (None, ra[1] - amount))
        txn.update(t, b, (None, rb[1] + amount))
        total = sum(row[1] for _, row in txn.rows(t))
        if total != TOTAL:
            raise AssertionError(f"inside a transfer the total is {total}, not {TOTAL}")
        return None

    def _insert(self, txn: Any):
        t = self.trees["items"]
        made = []
        for _ in range(self.rng.randint(1, 3)):
            self.seq += 1
            row = (None, self.i, self.seq, "n" * self.rng.randint(0, 60))
            made.append((txn.insert_auto(t, row), self.seq))
        if len({r for r, _ in made}) != len(made):
            raise AssertionError(f"insert_auto handed out a rowid twice: {made}")

        def record() -> None:
            with self.shared.lock:
                for rowid, seq in made:
                    if rowid in self.shared.items:
                        self.shared.failures.append(
                            f"rowid {rowid} committed twice: {self.shared.items[rowid]} and "
                            f"{(self.i, seq)}")
                    self.shared.items[rowid] = (self.i, seq)
            self.counts["inserted"] += len(made)
        return record

    def _delete(self, txn: Any):
        with self.shared.lock:
            live = list(self.shared.items)
        if not live:
            return None
        rowid = self.rng.choice(live)
        if not txn.delete(self.trees["items"], rowid):
            self.counts["delete_missed"] += 1  # someone deleted it first; nothing to record
            return None

        def record() -> None:
            with self.shared.lock:
                if self.shared.items.pop(rowid, None) is None:
                    self.shared.failures.append(f"item {rowid} deleted twice")
            self.counts["deleted"] += 1
        return record

    def _savepoint(self, txn: Any):
        own = _own_row(self.i, self.rng.randrange(OWN))
        self._bump(txn, own, 1)
        txn.savepoint("sp")
        self._bump(txn, self.rng.randint(1, HOT), 1000)
        txn.insert_auto(self.trees["items"], (None, -1, -1, "must be rolled back"))
        txn.savepoint("inner")
        self._bump(txn, own, 1000)
        txn.release("inner")
        txn.rollback_to("sp")
        txn.release("sp")
        row = txn.get(self.trees["counters"], own)
        if row[1] >= 1000:
            raise AssertionError(f"ROLLBACK TO left counter {own} at {row[1]}")
        return lambda: self.increments.update((own,))


def _reader(db: Database, trees: dict[str, Any], shared: _Shared, done: threading.Event,
            out: list[int]) -> None:
    """Check every snapshot: the account total and that counter totals never go back."""
    last = -1
    n = 0
    try:
        while not done.is_set() and not shared.stop.is_set():
            mode = "concurrent" if n % 3 else "deferred"
            txn = db.begin(mode)
            try:
                total = sum(row[1] for _, row in txn.rows(trees["accounts"]))
                counted = sum(row[1] for _, row in txn.rows(trees["counters"]))
            finally:
                txn.commit()
            n += 1
            if total != TOTAL:
                shared.fail(f"reader saw an account total of {total}, not {TOTAL}")
            if counted < last:
                shared.fail(f"reader saw the counter total go back from {last} to {counted}")
            last = counted
            time.sleep(0.001)
    except BaseException as exc:
        shared.fail(f"reader: {type(exc).__name__}: {exc}")
    out.append(n)


def _roots(db: Database) -> dict[str, Any]:
    r = db.pager.begin_read()
    try:
        roots = {row.name: row.rootpage for row in read_schema(r)}
    finally:
        r.end()
    return {name: db.table(roots[name]) for name in ("counters", "accounts", "items")}


def _expected(workers: list[_Worker], shared: _Shared, threads: int) -> dict[str, dict[int, tuple]]:
    inc: Counter = Counter()
    for w in workers:
        inc.update(w.increments)
    counters = {i: (inc[i],) for i in range(1, HOT + 1)}
    counters.update({_own_row(t, j): (inc[_own_row(t, j)],)
                     for t in range(threads) for j in range(OWN)})
    return {"counters": counters, "items": {k: v for k, v in shared.items.items()}}


def _compare(where: str, tables: dict[str, dict[int, tuple]],
             want: dict[str, dict[int, tuple]]) -> list[str]:
    """The rows read back against the tally; returns failure messages."""
    bad = []
    got_c, want_c = tables["counters"], want["counters"]
    if got_c != want_c:
        diff = [(k, got_c.get(k), want_c.get(k)) for k in sorted(set(got_c) | set(want_c))
                if got_c.get(k) != want_c.get(k)]
        bad.append(f"{where}: counters != committed increments (rowid, got, want): {diff[:6]}")
    total = sum(v[0] for v in tables["accounts"].values())
    if total != TOTAL or len(tables["accounts"]) != ACCOUNTS:
        bad.append(f"{where}: {len(tables['accounts'])} accounts with total {total}, "
                   f"want {ACCOUNTS} with {TOTAL}")
    got_i = {k: v[:2] for k, v in tables["items"].items()}
    want_i = want["items"]
    if got_i != want_i:
        lost = sorted(set(want_i) - set(got_i))
        phantom = sorted(set(got_i) - set(want_i))
        changed = sorted(k for k in set(got_i) & set(want_i) if got_i[k] != want_i[k])
        bad.append(f"{where}: items: {len(got_i)} rows, want {len(want_i)}; lost {lost[:6]}, "
                   f"phantom {phantom[:6]}, changed {changed[:6]}")
    return bad


def _read_mvcc(db: Database, trees: dict[str, Any]) -> dict[str, dict[int, tuple]]:
    txn = db.begin()
    try:
        return {name: {rowid: tuple(row[1:]) for rowid, row in txn.rows(tree)}
                for name, tree in trees.items()}
    finally:
        txn.commit()


def _read_sqlite(path: str) -> tuple[str, dict[str, dict[int, tuple]]]:
    con = sqlite3.connect(path)
    try:
        ok = "; ".join(r[0] for r in con.execute("PRAGMA integrity_check"))
        tables = {
            "counters": {r[0]: tuple(r[1:]) for r in con.execute("SELECT id, value FROM counters")},
            "accounts": {r[0]: tuple(r[1:]) for r in con.execute("SELECT id, balance FROM accounts")},
            "items": {r[0]: tuple(r[1:]) for r in con.execute("SELECT id, owner, seq, note FROM items")},
        }
    finally:
        con.close()
    return ok, tables


def run(cfg: Config) -> Report:
    """Create the file, run the threads, check everything; never raises for a failed check."""
    if cfg.synchronous not in SYNC_MODES:
        raise ValueError(f"synchronous must be one of {sorted(SYNC_MODES)}")
    report = Report(cfg)
    path = cfg.path
    tmpdir = None
    if path is None:
        tmpdir = tempfile.mkdtemp(prefix="mvlite-stress-")
        path = os.path.join(tmpdir, "stress.db")
    elif os.path.exists(path):
        raise FileExistsError(f"{path} exists; the stress run creates its own file")
    report.path = path
    _create(path, cfg.threads)
    db = Database.open(path, synchronous=SYNC_MODES[cfg.synchronous])
    trees = _roots(db)
    shared = _Shared()
    workers = [_Worker(i, db, trees, shared, cfg) for i in range(cfg.threads)]
    threads = [threading.Thread(target=w.run, name=f"stress-{w.i}") for w in workers]
    done = threading.Event()
    reader_out: list[int] = []
    reader = threading.Thread(target=_reader, args=(db, trees, shared, done, reader_out))
    t0 = time.perf_counter()
    reader.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    report.elapsed = time.perf_counter() - t0
    done.set()
    reader.join()
    report.reader_snapshots = reader_out[0] if reader_out else 0
    for w in workers:
        report.counts.update(w.counts)
    failures = report.failures
    failures += shared.failures
    want = _expected(workers, shared, cfg.threads)
    try:
        failures += _compare("mvcc before close", _read_mvcc(db, trees), want)
        db._check()
        db.pager._check()
    except AssertionError as exc:
        failures.append(f"invariant: {exc!r}")
    report.db_stats = dict(db.stats)
    report.pager_stats = dict(db.pager.stats)
    report.versions_left = db.version_count()
    db.close()
    try:
        ok, tables = _read_sqlite(path)
        if ok != "ok":
            failures.append(f"sqlite3 integrity_check: {ok[:300]}")
        failures += _compare("sqlite3 after close", tables, want)
    except sqlite3.Error as exc:
        failures.append(f"sqlite3 cannot read the file: {exc!r}")
    try:
        db = Database.open(path)
        try:
            failures += _compare("mvcc after reopen", _read_mvcc(db, _roots(db)), want)
            db._check()
        finally:
            db.close()
    except Exception as exc:
        failures.append(f"reopen with mvcc: {type(exc).__name__}: {exc}")
    if tmpdir is not None and not failures:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return report


def main(args: Any) -> int:
    """``python -m stress run``: exit 0 if every invariant held, 1 otherwise."""
    cfg = Config(threads=args.threads, txns=args.txns, path=args.path, mix=args.mix,
                 synchronous=args.synchronous, seed=args.seed)
    try:
        report = run(cfg)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    print(report.summary(), flush=True)
    return 0 if report.ok else 1
