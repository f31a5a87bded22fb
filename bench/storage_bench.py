"""Storage benchmark: mvlite's storage layer beside stdlib sqlite3, same process, same machine.

Operations: a 100k-row insert in one transaction, 100k random point seeks by
rowid, and a full scan decoding every row. sqlite3 runs the equivalent SQL
(``executemany`` INSERT in one transaction, ``SELECT * FROM t WHERE rowid=?``,
``SELECT * FROM t``) in WAL mode with synchronous=FULL, like us. Reported as
medians of ``--runs`` runs and as the mvlite/sqlite3 throughput ratio.

    python -m bench.storage_bench [--rows 100000] [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile

from bench.common import median_seconds, report
from storage import btree
from storage.pager import Pager
from storage.record import encode_record


def _rows(n: int) -> list[tuple]:
    rnd = random.Random(42)
    return [(i, rnd.randrange(1 << 40), f"name-{i}-{rnd.random():.6f}", rnd.random() * 1000)
            for i in range(1, n + 1)]


def _ours(path: str, rows: list[tuple], keys: list[int], runs: int,
          cache_size: int | None = None) -> dict[str, float]:
    results = {}
    state = {}

    def insert() -> None:
        for suffix in ("", "-wal"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        pager = Pager.open(path, synchronous=2, **_cache(cache_size))
        txn = pager.begin_write()
        root = btree.create_tree(txn, btree.TABLE)
        ins = btree.table_insert
        for r in rows:
            ins(txn, root, r[0], encode_record(r[1:]))
        txn.commit()
        state["pager"], state["root"] = pager, root

    results["insert"] = median_seconds(lambda: (state.get("pager") and state["pager"].close(), insert()), runs)[0]
    pager, root = state["pager"], state["root"]
    txn = pager.begin_read()

    def seeks() -> None:
        cur = btree.TableCursor(txn, root)
        seek = cur.seek
        for k in keys:
            if seek(k, "="):
                cur.record()

    def scan() -> int:
        cur = btree.TableCursor(txn, root)
        n = 0
        ok = cur.first()
        nxt, rec = cur.next, cur.record
        while ok:
            rec()
            n += 1
            ok = nxt()
        assert n == len(rows)
        return n

    results["seek"] = median_seconds(seeks, runs)[0]
    results["scan"] = median_seconds(scan, runs)[0]
    txn.end()
    pager.close()

    def cold_scan() -> None:
        """A fresh pager each time: pages read and records decoded from scratch."""
        nonlocal txn
        p = Pager.open(path, **_cache(cache_size))
        txn = p.begin_read()
        scan()
        txn.end()
        p.close()

    results["cold_scan"] = median_seconds(cold_scan, runs)[0]
    return results


def _cache(cache_size: int | None) -> dict:
    return {} if cache_size is None else {"cache_size": cache_size}


def _sqlite(path: str, rows: list[tuple], keys: list[int], runs: int) -> dict[str, float]:
    results = {}
    state = {}

    def insert() -> None:
        if "con" in state:
            state["con"].close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("CREATE TABLE t(a, b, c)")
        con.execute("BEGIN")
        con.executemany("INSERT INTO t(rowid, a, b, c) VALUES (?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        state["con"] = con

    results["insert"] = median_seconds(insert, runs)[0]
    con = state["con"]

    def seeks() -> None:
        ex = con.execute
        for k in keys:
            ex("SELECT * FROM t WHERE rowid=?", (k,)).fetchone()

    def scan() -> int:
        n = len(con.execute("SELECT * FROM t").fetchall())
        assert n == len(rows)
        return n

    results["seek"] = median_seconds(seeks, runs)[0]
    results["scan"] = median_seconds(scan, runs)[0]
    con.close()

    def cold_scan() -> None:
        nonlocal con
        con = sqlite3.connect(path)
        scan()
        con.close()

    results["cold_scan"] = median_seconds(cold_scan, runs)[0]
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache-size", type=int, default=None,
                    help="mvlite page cache (PRAGMA cache_size units: pages, or -KiB); default the pager's")
    args = ap.parse_args(argv)
    rows = _rows(args.rows)
    keys = [random.Random(7).randint(1, args.rows) for _ in range(args.rows)]
    with tempfile.TemporaryDirectory() as d:
        ours = _ours(os.path.join(d, "ours.db"), rows, keys, args.runs, args.cache_size)
        theirs = _sqlite(os.path.join(d, "theirs.db"), rows, keys, args.runs)
    n = args.rows
    cache = "pager default" if args.cache_size is None else args.cache_size
    print(f"storage benchmark: {n} rows, median of {args.runs} runs, mvlite cache_size {cache}\n")
    print(report([
        (f"insert {n} rows, one transaction", n, ours["insert"], theirs["insert"]),
        (f"{n} random point seeks by rowid", n, ours["seek"], theirs["seek"]),
        (f"full scan of {n} rows, warm cache", n, ours["scan"], theirs["scan"]),
        (f"full scan of {n} rows, freshly opened", n, ours["cold_scan"], theirs["cold_scan"]),
    ]))


if __name__ == "__main__":
    main()
