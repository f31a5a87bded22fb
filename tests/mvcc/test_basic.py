"""MVCC basics: own writes, savepoints, rowid allocation, index trees, schema changes, files."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from mvcc.database import Database
from mvcc.errors import ConflictError, KeyExistsError, SchemaChangedError
from storage import btree
from storage.errors import BusyError
from storage.schema_table import read_schema

KEYINFO = btree.KeyInfo(collations=(None,), desc=(False,))


def _make(path, rows=((1, 10), (2, 20))):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, value)")
    con.execute("CREATE INDEX tv ON t(value)")
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    con.commit()
    con.close()


@pytest.fixture
def db_t_i(tmp_path):
    path = str(tmp_path / "b.db")
    _make(path)
    db = Database.open(path)
    r = db.pager.begin_read()
    roots = {o.name: o.rootpage for o in read_schema(r)}
    r.end()
    yield db, db.table(roots["t"]), db.index(roots["tv"], KEYINFO), path
    db._check()
    if not db.closed:
        db.close()


def _sqlite_rows(path):
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = con.execute("SELECT id, value FROM t ORDER BY id").fetchall()
    via_index = con.execute("SELECT id, value FROM t INDEXED BY tv WHERE value > -1e9 ORDER BY value, id").fetchall()
    con.close()
    return rows, via_index


def _put(txn, t, i, rowid, value):
    """Insert a row and its index entry, as the SQL layer will."""
    txn.insert(t, rowid, (None, value))
    txn.index_add(i, (value, rowid))


def _set(txn, t, i, rowid, value):
    old = txn.get(t, rowid)
    txn.update(t, rowid, (None, value))
    txn.index_remove(i, (old[1], rowid))
    txn.index_add(i, (value, rowid))


def test_own_writes_visible_and_others_not(db_t_i):
    db, t, i, _ = db_t_i
    a, b = db.begin(), db.begin()
    _put(a, t, i, 3, 30)
    assert a.get(t, 3) == (None, 30)
    assert b.get(t, 3) is None
    assert list(a.index_keys(i)) == [(10, 1), (20, 2), (30, 3)]
    assert list(b.index_keys(i)) == [(10, 1), (20, 2)]
    a.commit()
    assert b.get(t, 3) is None           # still b's snapshot
    b.commit()
    c = db.begin()
    assert [r for r, _ in c.rows(t)] == [1, 2, 3]
    assert [r for r, _ in c.rows(t, reverse=True)] == [3, 2, 1]
    assert [r for r, _ in c.rows(t, 2, 3)] == [2, 3]
    c.commit()


def test_insert_existing_rowid_is_key_exists(db_t_i):
    db, t, i, _ = db_t_i
    a = db.begin()
    with pytest.raises(KeyExistsError):
        a.insert(t, 1, (None, 99))
    a.delete(t, 1)
    a.insert(t, 1, (None, 99))          # after our own delete it is free
    assert a.get(t, 1) == (None, 99)
    a.commit()


def test_savepoints_nest_and_roll_back(db_t_i):
    db, t, i, path = db_t_i
    a = db.begin()
    _set(a, t, i, 1, 11)
    a.savepoint("s1")
    _set(a, t, i, 1, 12)
    _put(a, t, i, 5, 50)
    a.savepoint("s2")
    a.delete(t, 2)
    a.index_remove(i, (20, 2))
    assert a.get(t, 2) is None
    a.rollback_to("s2")
    assert a.get(t, 2) == (None, 20)
    a.rollback_to("s1")
    assert a.get(t, 1) == (None, 11) and a.get(t, 5) is None
    assert list(a.index_keys(i)) == [(11, 1), (20, 2)]
    a.release("s1")
    a.commit()
    db.close()
    rows, via_index = _sqlite_rows(path)
    assert rows == [(1, 11), (2, 20)] and via_index == [(1, 11), (2, 20)]


def test_rollback_leaves_nothing(db_t_i):
    db, t, i, path = db_t_i
    a = db.begin()
    _set(a, t, i, 1, 111)
    _put(a, t, i, 7, 70)
    a.rollback()
    b = db.begin()
    assert b.get(t, 1) == (None, 10) and b.get(t, 7) is None
    b.commit()
    assert len(t.chains) == 0 and len(i.chains) == 0
    db.close()
    assert _sqlite_rows(path)[0] == [(1, 10), (2, 20)]


def test_concurrent_auto_rowids_never_conflict(db_t_i):
    db, t, i, path = db_t_i
    got: list[int] = []
    lock = threading.Lock()

    def worker(n):
        for k in range(200):
            txn = db.begin()
            rowid = txn.insert_auto(t, (None, n * 1000 + k))
            txn.index_add(i, (n * 1000 + k, rowid))
            txn.commit()                   # ConflictError here would fail the test
            with lock:
                got.append(rowid)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(got) == len(set(got)) == 800
    assert min(got) == 3                  # after the existing max rowid 2
    db.close()
    rows, via_index = _sqlite_rows(path)
    assert len(rows) == 802 and sorted(via_index) == sorted(rows)


def test_interleaved_auto_rowids_in_open_transactions(db_t_i):
    db, t, i, _ = db_t_i
    a, b = db.begin(), db.begin()
    ra = a.insert_auto(t, (None, 1))
    rb = b.insert_auto(t, (None, 2))
    assert ra != rb
    a.commit()
    b.commit()
    c = db.begin()
    assert c.get(t, ra) == (None, 1) and c.get(t, rb) == (None, 2)


def test_unique_index_validation_catches_concurrent_duplicates(tmp_path):
    path = str(tmp_path / "u.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE u(id INTEGER PRIMARY KEY, email)")
    con.execute("CREATE UNIQUE INDEX ue ON u(email)")
    con.commit()
    con.close()
    db = Database.open(path)
    r = db.pager.begin_read()
    roots = {o.name: o.rootpage for o in read_schema(r)}
    r.end()
    t, ui = db.table(roots["u"]), db.index(roots["ue"], KEYINFO, unique=True)
    a, b = db.begin(), db.begin()
    for txn, rowid in ((a, 1), (b, 2)):
        txn.insert(t, rowid, (None, "x@example.com"))
        txn.index_add(ui, ("x@example.com", rowid))
    a.commit()
    with pytest.raises(ConflictError):
        b.commit()
    db.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT * FROM u").fetchall() == [(1, "x@example.com")]
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_schema_change_makes_older_concurrent_transactions_fail(db_t_i):
    db, t, i, _ = db_t_i
    old = db.begin()
    old.update(t, 1, (None, 5))
    ddl = db.begin("deferred")
    ddl.begin_schema_change()
    assert ddl.holds_writer_slot
    ddl.commit()
    with pytest.raises(SchemaChangedError) as info:
        old.commit()
    assert info.value.sqlite_errorcode == 17


def test_writer_slot_waits_for_busy_timeout(db_t_i):
    db, t, i, _ = db_t_i
    w = db.begin("immediate")
    released = threading.Timer(0.2, w.commit)
    released.start()
    w2 = db.begin("immediate", timeout=5.0)   # waits ~0.2 s for the slot, then gets it
    assert w2.holds_writer_slot
    w2.commit()
    released.join()
    w3 = db.begin("immediate", timeout=0.0)
    with pytest.raises(BusyError):
        db.begin("immediate", timeout=0.05)
    w3.rollback()


def test_memory_stays_bounded_under_updates_with_a_long_reader(db_t_i):
    db, t, i, _ = db_t_i
    reader = db.begin()
    assert reader.get(t, 1) == (None, 10)
    for n in range(500):
        txn = db.begin()
        txn.update(t, 1 + n % 2, (None, n))
        txn.commit()
    assert db.version_count() <= 6        # per row: what the reader sees + current
    assert reader.get(t, 1) == (None, 10)
    reader.commit()
    txn = db.begin()
    txn.update(t, 1, (None, 0))
    txn.commit()
    assert db.version_count() == 0


def test_committed_data_survives_reopen_and_sqlite3_reads_it(db_t_i):
    db, t, i, path = db_t_i
    for n in range(50):
        txn = db.begin()
        rowid = txn.insert_auto(t, (None, n * 7))
        txn.index_add(i, (n * 7, rowid))
        txn.commit()
    db.close()
    db2 = Database.open(path)
    txn = db2.begin()
    t2 = db2.table(t.root)
    assert len(list(txn.rows(t2))) == 52
    txn.commit()
    db2.close()
    rows, via_index = _sqlite_rows(path)
    assert len(rows) == 52 and sorted(via_index) == rows


def test_autoincrement_concurrent_inserts_keep_sqlite_sequence_right(tmp_path):
    path = str(tmp_path / "ai.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, v)")
    con.execute("INSERT INTO a(v) VALUES ('x')")
    con.execute("DELETE FROM a")                       # sqlite_sequence keeps 1
    con.commit()
    con.close()
    db = Database.open(path)
    r = db.pager.begin_read()
    roots = {o.name: o.rootpage for o in read_schema(r)}
    r.end()
    db.sequence_root = roots["sqlite_sequence"]
    t = db.table(roots["a"])
    got, lock = [], threading.Lock()

    def worker(n):
        for k in range(100):
            txn = db.begin()
            rowid = txn.insert_auto(t, (None, f"{n}-{k}"), autoincrement="a")
            txn.commit()                               # never a ConflictError
            with lock:
                got.append(rowid)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(got) == list(range(2, 402))          # 1 is never reused
    rolled = db.begin()
    lost = rolled.insert_auto(t, (None, "gone"), autoincrement="a")
    rolled.rollback()
    assert lost == 402
    txn = db.begin()
    txn.delete(t, 401)
    txn.commit()
    txn = db.begin()
    assert txn.insert_auto(t, (None, "after delete"), autoincrement="a") == 402   # not 401
    txn.commit()
    db.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT seq FROM sqlite_sequence WHERE name='a'").fetchone() == (402,)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.execute("INSERT INTO a(v) VALUES ('sqlite3')")
    assert con.execute("SELECT max(id) FROM a").fetchone() == (403,)
    con.close()


def test_transaction_entered_by_a_second_thread_is_locked(db_t_i, monkeypatch):
    db, t, i, path = db_t_i
    txn = db.begin()
    inside, release = threading.Event(), threading.Event()
    real_row = txn._btree_row

    def slow_row(tree, rowid):
        inside.set()
        release.wait(5)
        return real_row(tree, rowid)

    monkeypatch.setattr(txn, "_btree_row", slow_row)
    got = []
    reader = threading.Thread(target=lambda: got.append(txn.get(t, 1)))
    reader.start()
    assert inside.wait(5)                      # the first thread is inside get()
    with pytest.raises(BusyError) as info:
        txn.update(t, 2, (None, 99))           # a second thread: refused at once
    assert str(info.value) == "database is locked"
    release.set()
    reader.join()
    assert got == [(None, 10)]
    monkeypatch.undo()
    assert txn.update(t, 2, (None, 99))         # usable again afterwards
    txn.commit()


def test_transaction_hammered_by_threads_stays_consistent(db_t_i):
    import sys
    db, t, i, path = db_t_i
    txn = db.begin()
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)                 # make the threads interleave finely

    def hammer(n):
        start.wait()
        for k in range(2000):
            try:
                row = txn.get(t, 1 + (k % 2))
                txn.update(t, 1 + (k % 2), (None, row[1] + 1))
                res = "ok"
            except BusyError as exc:
                assert str(exc) == "database is locked"
                res = "locked"
            with lock:
                outcomes.append(res)

    try:
        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old_interval)
    assert len(outcomes) == 8000
    txn.commit()
    check = db.begin()
    total = check.get(t, 1)[1] + check.get(t, 2)[1]
    check.commit()
    # every increment whose get and update both ran is in; interleaved get/update
    # pairs of two threads may overwrite each other's value (one transaction),
    # but nothing outside [30, 30 + ok] can appear and the chains stay valid
    assert 30 < total <= 30 + outcomes.count("ok")
    db._check()
