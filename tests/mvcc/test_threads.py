"""Threaded runs: read-modify-write increments and bank transfers under BEGIN CONCURRENT.

Numbers are the invariants: the sum of the counters equals the number of
committed increments; the total of the accounts never changes, and no reader
ever sees another total. ``sqlite3``'s integrity_check must say ok after.
"""
from __future__ import annotations

import os
import random
import sqlite3
import threading

import pytest

from mvcc.database import Database
from mvcc.errors import ConflictError
from storage.schema_table import read_schema

THREADS = 8
TXNS = int(os.environ.get("MVLITE_THREAD_TXNS", "2000"))


def _make(path: str, rows: int, value: int) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, value)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, value) for i in range(1, rows + 1)])
    con.commit()
    con.close()


def _open(path: str):
    db = Database.open(path, synchronous=0)
    r = db.pager.begin_read()
    root = {o.name: o.rootpage for o in read_schema(r)}["t"]
    r.end()
    return db, db.table(root)


def _run_threads(target) -> None:
    errors: list[BaseException] = []

    def wrap(i):
        try:
            target(i)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:3]


def _sqlite_check(path: str) -> list[tuple]:
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = con.execute("SELECT id, value FROM t ORDER BY id").fetchall()
    con.close()
    return rows


@pytest.mark.parametrize("shape", ["hot", "disjoint"])
def test_increments_lose_nothing(tmp_path, shape):
    path = str(tmp_path / "inc.db")
    rows = 10 if shape == "hot" else THREADS * 10
    _make(path, rows, 0)
    db, t = _open(path)
    committed = [0] * THREADS
    conflicts = [0] * THREADS

    def worker(i: int) -> None:
        rnd = random.Random(i)
        for _ in range(TXNS):
            rowid = rnd.randint(1, 10) if shape == "hot" else i * 10 + rnd.randint(1, 10)
            while True:
                txn = db.begin("concurrent")
                try:
                    row = txn.get(t, rowid)
                    txn.update(t, rowid, (None, row[1] + 1))
                    txn.commit()
                    committed[i] += 1
                    break
                except ConflictError:
                    conflicts[i] += 1

    _run_threads(worker)
    txn = db.begin()
    total = sum(row[1] for _, row in txn.rows(t))
    txn.commit()
    assert total == sum(committed) == THREADS * TXNS
    if shape == "disjoint":
        assert sum(conflicts) == 0
    db._check()
    db.close()
    assert sum(v for _, v in _sqlite_check(path)) == THREADS * TXNS


def test_bank_transfers_keep_the_total(tmp_path):
    path = str(tmp_path / "bank.db")
    accounts, start = 20, 1000
    _make(path, accounts, start)
    db, t = _open(path)
    stop = threading.Event()
    seen_totals: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            txn = db.begin()
            seen_totals.add(sum(row[1] for _, row in txn.rows(t)))
            txn.commit()

    def worker(i: int) -> None:
        rnd = random.Random(100 + i)
        for _ in range(TXNS // 2):
            a, b = rnd.sample(range(1, accounts + 1), 2)
            amount = rnd.randint(1, 50)
            while True:
                txn = db.begin("concurrent")
                try:
                    ra, rb = txn.get(t, a), txn.get(t, b)
                    txn.update(t, a, (None, ra[1] - amount))
                    txn.update(t, b, (None, rb[1] + amount))
                    txn.commit()
                    break
                except ConflictError:
                    pass

    r = threading.Thread(target=reader)
    r.start()
    try:
        _run_threads(worker)
    finally:
        stop.set()
        r.join()
    assert seen_totals == {accounts * start}
    db.close()
    assert sum(v for _, v in _sqlite_check(path)) == accounts * start
