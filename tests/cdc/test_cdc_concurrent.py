"""Capture under BEGIN CONCURRENT, the deferred-row primitive, and a replaying consumer.

Eight writer threads change disjoint rows with capture on: no transaction may
fail because of the capture table, change ids must be strictly increasing in
commit order (each transaction's rows contiguous), and there must be exactly
one change row per row change. A consumer then replays the feed into a stdlib
``sqlite3`` database that must end identical to the source.
"""
from __future__ import annotations

import itertools
import random
import sqlite3
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mvlite
import sql.cdc  # noqa: F401  (registers the PRAGMA and the functions)
from mvcc.database import Database
from mvcc.errors import ConflictError
from storage.record import decode_record

PRAGMA = "PRAGMA unstable_capture_data_changes_conn"
THREADS = 8
TXNS = 12


def test_concurrent_writers_never_conflict_on_the_capture_table(tmp_path):
    path = str(tmp_path / "w.db")
    setup = mvlite.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, owner, n)")
    for i in range(THREADS * 4):
        setup.execute("INSERT INTO t VALUES (?, ?, 0)", (i, i % THREADS))
    setup.execute(f"{PRAGMA}('full')")  # creates turso_cdc before the writers start
    commits: list[tuple[int, int, int]] = []  # (commit_ts, thread, changes)
    conflicts: list[BaseException] = []
    lock = threading.Lock()

    barrier = threading.Barrier(THREADS)

    def writer(me: int) -> None:
        con = mvlite.connect(path, isolation_level=None)
        con.execute(f"{PRAGMA}('full')")
        rnd = random.Random(me)
        mine = [i for i in range(THREADS * 4) if i % THREADS == me]
        for k in range(TXNS):
            txn = None
            try:
                con.execute("BEGIN CONCURRENT")
                txn = con._txn
                rid = rnd.choice(mine)
                con.execute("UPDATE t SET n = n + 1 WHERE id = ?", (rid,))
                con.execute("INSERT INTO t VALUES (?, ?, ?)", (1000 + me * 100 + k, me, k))
            except ConflictError as e:
                with lock:
                    conflicts.append(e)
                txn = None
            barrier.wait()  # every round: all eight transactions open at once
            if txn is None:
                continue
            try:
                con.execute("COMMIT")
            except ConflictError as e:
                with lock:
                    conflicts.append(e)
                continue
            with lock:
                commits.append((txn.commit_ts, me, 2))
        con.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert conflicts == []
    feed = setup.execute("SELECT change_id, change_type, table_name, id FROM turso_cdc "
                         "ORDER BY change_id").fetchall()
    assert len(commits) == THREADS * TXNS
    assert len(feed) == sum(c[2] for c in commits)  # one change row per row change
    ids = [r[0] for r in feed]
    assert len(set(ids)) == len(ids)
    # commit order = change-id order, and each transaction's rows are contiguous
    pos = 0
    last = 0
    for _ts, me, n in sorted(commits):
        chunk = feed[pos:pos + n]
        pos += n
        assert [r[1] for r in chunk] == [0, 1]
        assert chunk[0][0] > last and chunk[1][0] == chunk[0][0] + 1
        last = chunk[1][0]
        inserted = chunk[1][3]
        assert (inserted - 1000) // 100 == me and chunk[0][3] % THREADS == me
    setup.close()
    o = sqlite3.connect(path)
    assert o.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert o.execute("SELECT count(*), max(change_id) FROM turso_cdc").fetchall() \
        == [(len(feed), len(feed))]
    o.close()


def test_deferred_rows_get_rowids_at_commit_in_commit_order(tmp_path):
    con = sqlite3.connect(str(tmp_path / "d.db"))
    con.execute("CREATE TABLE log (k INTEGER PRIMARY KEY, v)")
    con.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v)")
    con.execute("INSERT INTO log VALUES (5, 'old')")
    con.commit()
    roots = dict(con.execute("SELECT name, rootpage FROM sqlite_schema"))
    con.close()
    db = Database.open(str(tmp_path / "d.db"))
    try:
        log, t = db.table(roots["log"]), db.table(roots["t"])
        a, b, c = db.begin(), db.begin(), db.begin()
        a.insert_deferred(log, (None, "a1"))
        b.insert_deferred(log, (None, "b1"))
        a.insert(t, 1, (None, "x"))
        b.insert(t, 2, (None, "y"))
        c.insert(t, 3, (None, "z"))
        c.savepoint("s")
        c.insert_deferred(log, (None, "c-undone"))
        c.rollback_to("s")
        c.insert_deferred(log, lambda: (None, "c1"))  # resolved by the leader
        a.insert_deferred(log, (None, "a2"))
        assert len(log.chains) == 0  # never in the version index: nothing to conflict on
        b.commit()
        c.commit()
        a.commit()
        r = db.begin()
        got = [(k, v[1]) for k, v in r.rows(log)]
        r.rollback()
        assert got == [(5, "old"), (6, "b1"), (7, "c1"), (8, "a1"), (9, "a2")]
        # insert_auto stays above rowids a leader reserved but has not published
        db._deferred_max[log] = 50
        w = db.begin()
        assert w.insert_auto(log, (None, "auto")) == 51
        w.rollback()
        # a rolled-back transaction's deferred rows vanish
        x = db.begin()
        x.insert_deferred(log, (None, "never"))
        x.rollback()
        r = db.begin()
        assert [v[1] for _k, v in r.rows(log)][-1] == "a2"
        r.rollback()
    finally:
        db.close()


_example = itertools.count()
_ops = st.lists(st.tuples(st.sampled_from(["ins", "upd", "del", "rekey", "replace"]),
                          st.integers(1, 12), st.one_of(st.none(), st.integers(-5, 5),
                                                        st.text(max_size=3), st.floats(-2, 2))),
                min_size=1, max_size=25)


def _replay(feed: list[tuple], dst: sqlite3.Connection) -> None:
    """A consumer: apply a 'full' change feed (schema and rows) to another database."""
    for _cid, kind, table, rid, before, after in feed:
        if table == "sqlite_schema":
            rec = decode_record(after if kind == 1 else before)
            if rec[4] is None or rec[1] == "sqlite_sequence":
                continue  # automatic indexes and sqlite_sequence come with their table
            if kind == 1:
                dst.execute(rec[4])
            elif kind == -1:
                dst.execute(f'DROP {rec[0].upper()} IF EXISTS "{rec[1]}"')
            continue
        if kind == -1:
            dst.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rid,))
        else:
            vals = decode_record(after)
            marks = ", ".join("?" * (len(vals) + 1))
            dst.execute(f'INSERT OR REPLACE INTO "{table}"(rowid, k, v, w) VALUES ({marks})',
                        (rid,) + vals)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_ops)
def test_replaying_the_feed_reproduces_the_database(tmp_path, ops):
    path = tmp_path / f"src{next(_example)}.db"  # a fresh file per example
    src = mvlite.connect(str(path), isolation_level=None)
    try:
        feed, want = _run_ops(src, ops)
    finally:
        src.close()
    dst = sqlite3.connect(":memory:")
    _replay(feed, dst)
    assert dst.execute("SELECT k, v, w FROM d ORDER BY k").fetchall() == want
    assert [r[0] for r in dst.execute("SELECT name FROM sqlite_schema WHERE sql IS NOT NULL "
                                      "ORDER BY name")] == ["d", "d_v"]
    o = sqlite3.connect(str(path))
    assert o.execute("SELECT k, v, w FROM d ORDER BY k").fetchall() == want
    o.close()


def _run_ops(src, ops) -> tuple[list, list]:
    src.execute(f"{PRAGMA}('full')")
    src.execute("CREATE TABLE d (k INTEGER PRIMARY KEY, v, w UNIQUE)")
    src.execute("CREATE INDEX d_v ON d(v)")
    src.execute("BEGIN")
    for i, (op, k, v) in enumerate(ops):
        try:
            if op == "ins":
                src.execute("INSERT INTO d VALUES (?, ?, ?)", (k, v, i))
            elif op == "upd":
                src.execute("UPDATE d SET v = ?, w = ? WHERE k = ?", (v, -i, k))
            elif op == "del":
                src.execute("DELETE FROM d WHERE k = ?", (k,))
            elif op == "replace":  # deletes the rows it conflicts with, then inserts
                src.execute("REPLACE INTO d VALUES (?, ?, ?)", (k, v, i % 4))
            else:
                src.execute("UPDATE d SET k = ? WHERE k = ?", (k + 20, k))
        except mvlite.IntegrityError:
            pass  # a failed statement must leave no change rows
        if i % 7 == 6:
            src.execute("COMMIT")
            src.execute("BEGIN")
    src.execute("COMMIT")
    feed = src.execute("SELECT change_id, change_type, table_name, id, before, after "
                       "FROM turso_cdc ORDER BY change_id").fetchall()
    want = src.execute("SELECT k, v, w FROM d ORDER BY k").fetchall()
    return feed, want
