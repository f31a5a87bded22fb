"""The kill-me-anytime writer: a concurrent workload whose every acknowledged commit is printed.

Single job: give the SIGKILL test (``tests/mvcc/test_sigkill.py``) a process
that writes through ``mvcc`` with several threads under ``synchronous=FULL``
and announces each commit *after* ``commit()`` returned, so that whatever the
moment of the kill, every announced commit must survive and no transaction
may be half there. Durability rules: https://www.sqlite.org/wal.html; the
crash contract: ``docs/mvcc.md`` (Commit).

Tables (``create(path, threads)`` makes them with ``sqlite3``):

| table    | rows                                | invariant after any kill                  |
|----------|-------------------------------------|-------------------------------------------|
| pairs    | rowids 2*tag and 2*tag+1: (tag, h)  | both halves of a tag or neither           |
| accounts | 1..10, balance 100 each             | sum == 1000                               |
| tally    | one row per thread slot: commits    | sum == number of tags present             |

One transaction = insert both halves of a new tag + a transfer between two
accounts + ``tally[thread] += 1``; BEGIN CONCURRENT or plain BEGIN at random,
retried on ``ConflictError``/``BusyError``. Output protocol on stdout, one
flushed line each: ``READY`` once open, then ``C <tag>`` per acknowledged
commit. ``tag = run * 10**7 + thread * 10**6 + seq`` is unique across runs.

Public surface: ``create``, ``check_state``, ``read_sqlite``, ``read_mvcc``,
``writer_main`` (``python -m stress writer``; ``--autocheckpoint N`` frames, default
100, keeps the WAL short and puts checkpoints in the kill zone).
"""
from __future__ import annotations

import random
import sqlite3
import sys
import threading
from typing import Any

from mvcc.database import Database
from mvcc.errors import ConflictError
from storage.errors import BusyError
from storage.schema_table import read_schema

__all__ = ["create", "check_state", "read_sqlite", "read_mvcc", "writer_main", "TABLES"]

TABLES = ("pairs", "accounts", "tally")
ACCOUNTS = 10
TOTAL = ACCOUNTS * 100
MAX_THREADS = 16


def create(path: str) -> None:
    """Make the writer's database with the stdlib sqlite3."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE pairs(id INTEGER PRIMARY KEY, tag, half)")
    con.execute("CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance)")
    con.execute("CREATE TABLE tally(id INTEGER PRIMARY KEY, commits)")
    con.executemany("INSERT INTO accounts VALUES (?, 100)", [(i,) for i in range(1, ACCOUNTS + 1)])
    con.executemany("INSERT INTO tally VALUES (?, 0)", [(i,) for i in range(MAX_THREADS)])
    con.commit()
    con.close()


def check_state(tables: dict[str, dict[int, tuple]], acked: set[int]) -> list[str]:
    """Failure messages (empty = fine) for a state read after a kill."""
    bad = []
    halves: dict[int, set[int]] = {}
    for rowid, (tag, half) in tables["pairs"].items():
        if rowid != 2 * tag + half:
            bad.append(f"pairs row {rowid} holds ({tag}, {half})")
        halves.setdefault(tag, set()).add(half)
    torn = sorted(tag for tag, hs in halves.items() if hs != {0, 1})
    if torn:
        bad.append(f"half-applied transactions (one half of the pair only): {torn[:8]}")
    lost = sorted(acked - set(halves))
    if lost:
        bad.append(f"{len(lost)} acknowledged commits lost: {lost[:8]}")
    total = sum(v[0] for v in tables["accounts"].values())
    if total != TOTAL:
        bad.append(f"account total {total}, want {TOTAL} (a transfer was half-applied)")
    tally = sum(v[0] for v in tables["tally"].values())
    if tally != len(halves):
        bad.append(f"tally says {tally} commits, pairs hold {len(halves)} tags")
    return bad


def read_sqlite(path: str) -> tuple[str, dict[str, dict[int, tuple]]]:
    """(integrity_check result, every row) through the stdlib sqlite3."""
    con = sqlite3.connect(path)
    try:
        ok = "; ".join(r[0] for r in con.execute("PRAGMA integrity_check"))
        tables = {name: {r[0]: tuple(r[1:]) for r in con.execute(f"SELECT * FROM {name}")}
                  for name in TABLES}
    finally:
        con.close()
    return ok, tables


def _trees(db: Database) -> dict[str, Any]:
    r = db.pager.begin_read()
    try:
        roots = {row.name: row.rootpage for row in read_schema(r)}
    finally:
        r.end()
    return {name: db.table(roots[name]) for name in TABLES}


def read_mvcc(db: Database) -> dict[str, dict[int, tuple]]:
    """Every row through one mvcc snapshot."""
    trees = _trees(db)
    txn = db.begin()
    try:
        return {name: {rowid: tuple(row[1:]) for rowid, row in txn.rows(tree)}
                for name, tree in trees.items()}
    finally:
        txn.commit()


def _thread(db: Database, trees: dict[str, Any], run: int, i: int, seed: int, txns: int,
            out_lock: threading.Lock, errors: list[str]) -> None:
    rng = random.Random(f"mvlite-writer:{seed}:{run}:{i}")
    pairs, accounts, tally = trees["pairs"], trees["accounts"], trees["tally"]
    seq = 0
    write = sys.stdout.write
    flush = sys.stdout.flush
    try:
        while not txns or seq < txns:
            seq += 1
            tag = run * 10**7 + i * 10**6 + seq
            a, b = rng.sample(range(1, ACCOUNTS + 1), 2)
            amount = rng.randint(1, 20)
            while True:
                mode = "concurrent" if rng.random() < 0.7 else rng.choice(("deferred", "immediate"))
                try:
                    txn = db.begin(mode, timeout=2.0)
                except (BusyError, ConflictError):
                    continue
                try:
                    txn.insert(pairs, 2 * tag, (None, tag, 0))
                    ra, rb = txn.get(accounts, a), txn.get(accounts, b)
                    txn.update(accounts, a, (None, ra[1] - amount))
                    txn.update(accounts, b, (None, rb[1] + amount))
                    row = txn.get(tally, i)
                    txn.update(tally, i, (None, row[1] + 1))
                    txn.insert(pairs, 2 * tag + 1, (None, tag, 1))
                    txn.commit()
                except (ConflictError, BusyError):
                    txn.rollback()
                    continue
                except BaseException:
                    txn.rollback()
                    raise
                break
            with out_lock:  # acknowledged: the commit returned
                write(f"C {tag}\n")
                flush()
    except BaseException as exc:
        errors.append(f"thread {i}: {type(exc).__name__}: {exc}")


def writer_main(args: Any) -> int:
    """``python -m stress writer --path F --run N [--threads T] [--seed S] [--txns M]
    [--autocheckpoint FRAMES]``."""
    if not 1 <= args.threads <= MAX_THREADS:
        print(f"error: --threads must be 1..{MAX_THREADS}", file=sys.stderr)
        return 2
    db = Database.open(args.path, synchronous=2, wal_autocheckpoint=args.autocheckpoint)
    trees = _trees(db)
    out_lock = threading.Lock()
    errors: list[str] = []
    threads = [threading.Thread(target=_thread, args=(db, trees, args.run, i, args.seed,
                                                      args.txns, out_lock, errors))
               for i in range(args.threads)]
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    db.close()
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    return 1 if errors else 0
