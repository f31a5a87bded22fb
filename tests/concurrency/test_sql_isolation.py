"""The isolation anomaly tests of tests/mvcc/test_anomalies.py, repeated through SQL.

Each test uses several ``mvlite`` connections to one file (explicit BEGIN /
BEGIN CONCURRENT, ``isolation_level=None``), on rows x (id 1, value 10) and
y (id 2, value 20). Under BEGIN CONCURRENT every phenomenon but write skew
(G2-item) is prevented; under plain BEGIN write skew is prevented too. A
write-write conflict is ``OperationalError`` with SQLite's SQLITE_BUSY_SNAPSHOT
code (517); waiting for the writer slot is "database is locked" (SQLITE_BUSY).
Last: threads with their own connections run read-modify-write
transactions under BEGIN CONCURRENT, retrying conflicts, and lose no update.
"""
from __future__ import annotations

import sqlite3
import threading

import pytest

import mvlite

X, Y = 1, 2


@pytest.fixture
def path(tmp_path):
    p = str(tmp_path / "iso.db")
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, value)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(1, 10), (2, 20)])
    con.commit()
    con.close()
    return p


@pytest.fixture
def connect(path):
    opened = []

    def make():
        c = mvlite.connect(path, isolation_level=None, timeout=0.05)
        opened.append(c)
        return c
    yield make
    for c in opened:
        c.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()


def begin(con, mode="CONCURRENT"):
    con.execute(f"BEGIN {mode}")
    return con


def value(con, rowid):
    row = con.execute("SELECT value FROM t WHERE id = ?", (rowid,)).fetchone()
    return None if row is None else row[0]


def set_(con, rowid, v):
    con.execute("UPDATE t SET value = ? WHERE id = ?", (v, rowid))


def where(con, cond):
    return con.execute(f"SELECT id, value FROM t WHERE {cond} ORDER BY id").fetchall()


def conflict():
    """The expected error of a write-write conflict: SQLITE_BUSY_SNAPSHOT."""
    return pytest.raises(mvlite.OperationalError, match="conflict|snapshot|locked")


def assert_conflict(info):
    assert info.value.sqlite_errorcode == 517, info.value


def busy():
    return pytest.raises(mvlite.OperationalError, match="database is locked")


# -- BEGIN CONCURRENT (snapshot isolation) ------------------------------------------

def test_g0_dirty_write_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    set_(t1, X, 11)
    with conflict() as info:
        set_(t2, X, 12)
    assert_conflict(info)
    assert not t2.in_transaction            # the conflict rolled t2 back
    set_(t1, Y, 21)
    t1.execute("COMMIT")
    t3 = connect()
    assert (value(t3, X), value(t3, Y)) == (11, 21)


def test_g1a_aborted_read_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    set_(t1, X, 101)
    assert value(t2, X) == 10
    t1.execute("ROLLBACK")
    assert value(t2, X) == 10
    t2.execute("COMMIT")
    assert value(connect(), X) == 10


def test_g1b_intermediate_read_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    set_(t1, X, 101)
    assert value(t2, X) == 10
    set_(t1, X, 11)
    t1.execute("COMMIT")
    assert value(t2, X) == 10
    t2.execute("COMMIT")
    assert value(connect(), X) == 11


def test_g1c_circular_information_flow_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    set_(t1, X, 11)
    set_(t2, Y, 22)
    assert value(t1, Y) == 20
    assert value(t2, X) == 10
    t1.execute("COMMIT")
    t2.execute("COMMIT")
    t3 = connect()
    assert (value(t3, X), value(t3, Y)) == (11, 22)


def test_otv_observed_transaction_vanishes_prevented(connect):
    t1, t2, t3 = begin(connect()), begin(connect()), begin(connect())
    set_(t1, X, 11)
    set_(t1, Y, 19)
    with conflict() as info:
        set_(t2, X, 12)
    assert_conflict(info)
    t1.execute("COMMIT")
    assert (value(t3, X), value(t3, Y)) == (10, 20)
    t3.execute("COMMIT")
    t4 = connect()
    assert (value(t4, X), value(t4, Y)) == (11, 19)


def test_pmp_predicate_many_preceders_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    assert where(t1, "value = 30") == []
    t2.execute("INSERT INTO t VALUES (3, 30)")
    t2.execute("COMMIT")
    assert where(t1, "value % 3 = 0") == []
    t1.execute("COMMIT")
    assert where(connect(), "value % 3 = 0") == [(3, 30)]


def test_pmp_write_predicate_many_preceders_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    t1.execute("UPDATE t SET value = value + 10")
    assert where(t2, "value = 20") == [(Y, 20)]
    with conflict() as info:
        t2.execute("DELETE FROM t WHERE value = 20")
    assert_conflict(info)
    t1.execute("COMMIT")
    assert where(connect(), "1") == [(X, 20), (Y, 30)]


def test_p4_lost_update_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    assert value(t1, X) == 10 and value(t2, X) == 10
    t1.execute("UPDATE t SET value = value + 1 WHERE id = 1")
    with conflict() as info:
        t2.execute("UPDATE t SET value = value + 1 WHERE id = 1")
    assert_conflict(info)
    t1.execute("COMMIT")
    assert value(connect(), X) == 11


def test_p4_lost_update_after_commit_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    assert value(t2, X) == 10
    set_(t1, X, 11)
    t1.execute("COMMIT")
    with conflict() as info:
        set_(t2, X, 11)
    assert_conflict(info)


def test_g_single_read_skew_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    assert value(t1, X) == 10
    set_(t2, X, 12)
    set_(t2, Y, 18)
    t2.execute("COMMIT")
    assert value(t1, Y) == 20
    t1.execute("COMMIT")


def test_g_single_predicate_read_skew_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    assert where(t1, "value % 5 = 0") == [(X, 10), (Y, 20)]
    set_(t2, X, 12)
    set_(t2, Y, 18)
    t2.execute("COMMIT")
    assert where(t1, "value % 3 = 0") == []
    t1.execute("COMMIT")


def test_g_single_write_read_skew_prevented(connect):
    t1, t2 = begin(connect()), begin(connect())
    assert value(t1, X) == 10
    set_(t2, X, 12)
    set_(t2, Y, 18)
    t2.execute("COMMIT")
    with conflict() as info:
        t1.execute("DELETE FROM t WHERE id = 2")
    assert_conflict(info)


def test_g2_item_write_skew_allowed_under_concurrent(connect):
    t1, t2 = begin(connect()), begin(connect())
    assert value(t1, X) + value(t1, Y) == 30
    assert value(t2, X) + value(t2, Y) == 30
    set_(t1, X, 11)
    set_(t2, Y, 21)
    t1.execute("COMMIT")
    t2.execute("COMMIT")                    # snapshot isolation: documented
    t3 = connect()
    assert (value(t3, X), value(t3, Y)) == (11, 21)


# -- plain BEGIN: one writer at a time; write skew prevented too ------------------------

@pytest.mark.parametrize("mode", ["DEFERRED", "IMMEDIATE"])
def test_g2_item_write_skew_prevented_under_plain_begin(connect, mode):
    t1 = begin(connect(), mode)
    assert value(t1, X) + value(t1, Y) == 30
    t2 = begin(connect(), "DEFERRED") if mode == "DEFERRED" else None
    if t2 is not None:
        assert value(t2, X) + value(t2, Y) == 30
    set_(t1, X, 11)
    if t2 is not None:
        with busy():
            set_(t2, Y, 21)
    t1.execute("COMMIT")
    if t2 is not None:
        with conflict() as info:
            set_(t2, Y, 21)
        assert_conflict(info)
    t3 = connect()
    assert (value(t3, X), value(t3, Y)) == (11, 20)


def test_plain_lost_update_prevented(connect):
    t1, t2 = begin(connect(), "DEFERRED"), begin(connect(), "DEFERRED")
    assert value(t2, X) == 10
    t1.execute("UPDATE t SET value = value + 1 WHERE id = 1")
    with busy():
        t2.execute("UPDATE t SET value = value + 1 WHERE id = 1")
    t1.execute("COMMIT")
    with conflict() as info:
        t2.execute("UPDATE t SET value = value + 1 WHERE id = 1")
    assert_conflict(info)
    assert value(connect(), X) == 11


def test_plain_read_skew_prevented(connect):
    t1, t2 = begin(connect(), "DEFERRED"), begin(connect(), "IMMEDIATE")
    assert value(t1, X) == 10
    set_(t2, X, 12)
    set_(t2, Y, 18)
    t2.execute("COMMIT")
    assert value(t1, Y) == 20
    t1.execute("COMMIT")


def test_plain_pmp_prevented(connect):
    t1, t2 = begin(connect(), "DEFERRED"), begin(connect(), "DEFERRED")
    assert where(t1, "value = 30") == []
    t2.execute("INSERT INTO t VALUES (3, 30)")
    t2.execute("COMMIT")
    assert where(t1, "value % 3 = 0") == []
    t1.execute("COMMIT")


def test_concurrent_cannot_commit_over_exclusive_writer(connect):
    w = begin(connect(), "IMMEDIATE")
    c = begin(connect())
    set_(c, Y, 21)
    set_(w, X, 11)
    with busy():
        c.execute("COMMIT")
    w.execute("COMMIT")


def test_autocommit_statement_retries_its_conflict(connect, path):
    """An autocommit UPDATE that meets a conflict retries itself: no error, no lost update."""
    t1 = begin(connect())
    t1.execute("UPDATE t SET value = value + 1 WHERE id = 1")
    other = mvlite.connect(path, isolation_level=None, timeout=5.0, check_same_thread=False)
    done = threading.Event()
    errors = []

    def auto():
        try:
            other.execute("UPDATE t SET value = value + 100 WHERE id = 1")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        done.set()
    th = threading.Thread(target=auto)
    th.start()
    assert not done.wait(0.2)               # it waits for t1, as SQLite's busy handler does
    t1.execute("COMMIT")
    th.join(10)
    other.close()
    assert done.is_set() and not errors, errors
    assert value(connect(), X) == 111


# -- threads, each with its own connection: no lost update ---------------------------

@pytest.mark.parametrize("hot_rows", [1, 4])
def test_concurrent_read_modify_write_loses_no_update(path, hot_rows):
    threads, per_thread = 6, 60
    setup = mvlite.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE counters(id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    for i in range(hot_rows):
        setup.execute("INSERT INTO counters VALUES (?, 0)", (i,))
    setup.close()
    conflicts = [0] * threads
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        con = mvlite.connect(path, isolation_level=None, timeout=5.0)
        try:
            for j in range(per_thread):
                rid = (k + j) % hot_rows
                while True:
                    try:
                        con.execute("BEGIN CONCURRENT")
                        (n,) = con.execute("SELECT n FROM counters WHERE id = ?",
                                           (rid,)).fetchone()
                        con.execute("UPDATE counters SET n = ? WHERE id = ?", (n + 1, rid))
                        con.execute("COMMIT")
                        break
                    except mvlite.OperationalError as e:
                        if e.sqlite_errorcode != 517:
                            raise
                        conflicts[k] += 1
                        if con.in_transaction:
                            con.execute("ROLLBACK")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            con.close()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors, errors
    con = sqlite3.connect(path)
    total = con.execute("SELECT sum(n) FROM counters").fetchone()[0]
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    assert total == threads * per_thread          # every increment survived
    if hot_rows == 1:
        assert sum(conflicts) > 0                 # and they really did collide
