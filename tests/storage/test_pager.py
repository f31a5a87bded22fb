"""Pager behaviour: snapshots, the writer slot, the page cache, rollback-journal
databases switching to WAL, read-only opens, threads. Raw page contents (a
pattern per page and transaction) make every check exact."""
from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from storage.api import Page
from storage.errors import (
    BusyError,
    CantOpenError,
    CorruptError,
    NotADatabaseError,
    ProgrammingError,
    ReadOnlyError,
)
from storage.header import DatabaseHeader
from storage.io import MemoryVFS, OsVFS
from storage.pager import Pager

PS = 512


def _fill(t: int, pgno: int) -> bytes:
    """Recognisable content: transaction t wrote page pgno."""
    return (f"t{t:05d}p{pgno:07d}|".encode() * 40)[:PS]


def _open(vfs=None, path="/db/t.db", **kw):
    kw.setdefault("page_size", PS)
    kw.setdefault("wal_autocheckpoint", 0)
    return Pager.open(path, vfs=vfs or MemoryVFS(), **kw)


def _commit(pager, t, pgnos, grow_to=None):
    txn = pager.begin_write()
    if grow_to:
        while txn.db_size < grow_to:
            txn.append_page()
    for pgno in pgnos:
        p = txn.writable(pgno)
        p.data[:] = _fill(t, pgno)
        p.cells = None
    txn.commit()


def _contents(txn, upto=None):
    return {i: bytes(txn.page(i).data) for i in range(2, (upto or txn.db_size) + 1)}


def test_new_database_and_reopen():
    vfs = MemoryVFS()
    pager = _open(vfs)
    assert pager.page_size == PS and pager.db_size == 1 and pager.header.is_wal
    r = pager.begin_read()
    assert r.db_size == 1 and r.page(1).data[100] == 13
    with pytest.raises(CorruptError):
        r.page(0)
    with pytest.raises(CorruptError):
        r.page(2)
    r.end()
    r.end()  # idempotent
    with pytest.raises(ProgrammingError):
        r.page(1)
    _commit(pager, 1, [2, 3], grow_to=3)
    pager.close()
    assert not vfs.exists("/db/t.db-wal")
    assert len(vfs.read_bytes("/db/t.db")) == 3 * PS
    pager = _open(vfs, page_size=4096)  # page size of an existing file wins
    assert pager.page_size == PS
    with pager.begin_read() as r:
        assert _contents(r) == {2: _fill(1, 2), 3: _fill(1, 3)}
    h = pager.header
    assert h.db_size == 3 and h.db_size_valid and h.change_counter == 2
    pager.close()
    with pytest.raises(ProgrammingError):
        pager.begin_read()


def test_commit_updates_header_fields():
    pager = _open()
    _commit(pager, 1, [2], grow_to=2)
    with pager.begin_read() as r:
        h = DatabaseHeader.parse(r.page(1).data)
    assert (h.change_counter, h.version_valid_for, h.db_size) == (2, 2, 2)
    assert h.sqlite_version == 3040001 and h.is_wal
    # a commit that neither grows nor touches page 1 leaves page 1 alone
    _commit(pager, 2, [2])
    assert pager.header.change_counter == 2
    assert pager.stats["frames_written"] == 2 + 1
    # truncate shrinks and rewrites page 1
    txn = pager.begin_write()
    txn.truncate(1)
    with pytest.raises(CorruptError):
        txn.page(2)
    txn.commit()
    assert pager.db_size == 1 and pager.header.db_size == 1 and pager.header.change_counter == 3
    pager.close()


def test_empty_commit_and_rollback_write_nothing():
    vfs = MemoryVFS()
    pager = _open(vfs)
    txn = pager.begin_write()
    txn.commit()
    txn = pager.begin_write()
    txn.append_page().data[:] = b"x" * PS
    txn.writable(1)
    txn.rollback()
    assert pager.mx_frame == 0 and pager.db_size == 1
    assert not vfs.exists("/db/t.db-wal")
    with pytest.raises(ProgrammingError):
        txn.commit()
    pager.close()


def test_reader_keeps_its_snapshot_through_commits_and_checkpoints():
    vfs = MemoryVFS()
    pager = _open(vfs)
    _commit(pager, 1, range(2, 11), grow_to=10)
    r1 = pager.begin_read()
    old = _contents(r1)
    _commit(pager, 2, [2, 3, 4])
    r2 = pager.begin_read()
    _commit(pager, 3, [3, 5], grow_to=12)
    assert r1.db_size == 10 and r2.db_size == 10
    # PASSIVE: backfills only up to r1's mark
    busy, log, done = pager.checkpoint("PASSIVE")
    assert (busy, log, done) == (0, pager.mx_frame, r1._snap.mark)
    pager._check()
    assert _contents(r1) == old
    assert _contents(r2) == {**old, 2: _fill(2, 2), 3: _fill(2, 3), 4: _fill(2, 4)}
    # the db file holds exactly r1's state for the pages r1 reads from it
    db = vfs.read_bytes("/db/t.db")
    assert all(db[(p - 1) * PS:p * PS] == d for p, d in old.items())
    # FULL reports busy while a reader is below mxFrame
    assert pager.checkpoint("FULL")[0] == 1
    r1.end()
    busy, log, done = pager.checkpoint("PASSIVE")
    assert done == r2._snap.mark < log
    assert _contents(r2)[2] == _fill(2, 2)
    r2.end()
    assert pager.checkpoint("FULL") == (0, pager.mx_frame, pager.mx_frame)
    db = vfs.read_bytes("/db/t.db")
    assert len(db) == 12 * PS
    assert db[2 * PS:3 * PS] == _fill(3, 3) and db[11 * PS:12 * PS] == _fill(0, 0)[:0] + bytes(PS)
    pager._check()
    pager.close()


def test_restart_after_all_readers_leave_and_reader_survives_restart():
    vfs = MemoryVFS()
    pager = _open(vfs)
    _commit(pager, 1, range(2, 6), grow_to=5)
    _commit(pager, 2, [2, 3])
    assert pager.checkpoint("PASSIVE")[2] == pager.mx_frame
    r = pager.begin_read()  # at mxFrame, everything backfilled
    before = _contents(r)
    salt_before = vfs.read_bytes("/db/t.db-wal")[16:20]
    _commit(pager, 3, [2, 4])  # restarts the WAL: new generation
    assert pager.stats["wal_restarts"] == 1 and pager.mx_frame == 2
    assert vfs.read_bytes("/db/t.db-wal")[16:20] != salt_before
    pager._check()
    assert _contents(r) == before  # now read from the db file (mark 0)
    assert r._snap.mark == 0
    # the converted reader pins the db file: nothing can be backfilled
    assert pager.checkpoint("PASSIVE") == (0, 2, 0)
    assert _contents(r) == before
    with pager.begin_read() as r2:
        assert _contents(r2)[2] == _fill(3, 2) and _contents(r2)[3] == _fill(2, 3)
    r.end()
    assert pager.checkpoint("RESTART") == (0, 2, 2)
    assert pager.mx_frame == 0 and pager.stats["wal_restarts"] == 2
    _commit(pager, 4, [5])
    assert pager.mx_frame == 1
    assert pager.checkpoint("TRUNCATE") == (0, 0, 0)
    assert len(vfs.read_bytes("/db/t.db-wal")) == 0
    _commit(pager, 5, [3])
    with pager.begin_read() as r3:
        assert _contents(r3) == {2: _fill(3, 2), 3: _fill(5, 3), 4: _fill(3, 4), 5: _fill(4, 5)}
    pager.close()
    pager = _open(vfs)
    with pager.begin_read() as r4:
        assert _contents(r4) == {2: _fill(3, 2), 3: _fill(5, 3), 4: _fill(3, 4), 5: _fill(4, 5)}
    pager.close()


def test_checkpoint_modes_and_busy_writer():
    pager = _open()
    with pytest.raises(ProgrammingError):
        pager.checkpoint("SOMETIMES")
    _commit(pager, 1, [2], grow_to=2)
    txn = pager.begin_write()
    # FULL needs the writer slot: busy, but the PASSIVE part still happened
    assert pager.checkpoint("FULL") == (1, 2, 2)
    assert pager.checkpoint("restart")[0] == 1
    txn.rollback()
    assert pager.checkpoint("TRUNCATE") == (0, 0, 0)
    pager.close()


def test_writer_slot_busy_and_timeout():
    pager = _open()
    txn = pager.begin_write()
    with pytest.raises(BusyError):
        pager.begin_write()
    with pytest.raises(BusyError):
        pager.begin_write(timeout=0.05)
    got = []

    def other():
        t = pager.begin_write(timeout=5)
        got.append(t.db_size)
        t.rollback()

    th = threading.Thread(target=other)
    th.start()
    txn.append_page()
    txn.commit()
    th.join(5)
    assert got == [2]  # it waited, then started from the newest state
    pager.close()


def test_cache_is_bounded_keeps_cells_and_shrinks():
    pager = _open(cache_size=20)
    _commit(pager, 1, range(2, 61), grow_to=60)
    assert len(pager._cache) <= 20
    r = pager.begin_read()
    p = r.page(2)
    p.cells = ["decoded"]
    assert r.page(2) is p and r.page(2).cells == ["decoded"]
    hits = pager.stats["cache_hits"]
    r.page(2)
    assert pager.stats["cache_hits"] == hits + 1
    for i in range(3, 61):
        r.page(i)
    assert len(pager._cache) == 20
    assert r.page(2) is not p  # evicted, read again
    pager.cache_size = -2  # 2 KiB = 4 pages of 512 -> the minimum of 10
    assert len(pager._cache) == 10
    r.end()
    # committed pages enter the cache with the writer's cells
    txn = pager.begin_write()
    w = txn.writable(5)
    w.data[:] = _fill(2, 5)
    w.cells = ("cells of 5",)
    txn.commit()
    with pager.begin_read() as r2:
        assert r2.page(5).cells == ("cells of 5",) and isinstance(r2.page(5).data, bytes)
    pager._check()
    pager.close()


def test_writable_is_private_copy():
    pager = _open()
    _commit(pager, 1, [2], grow_to=2)
    r = pager.begin_read()
    committed = r.page(2)
    txn = pager.begin_write()
    w = txn.writable(2)
    assert isinstance(w.data, bytearray) and txn.writable(2) is w and txn.page(2) is w
    w.data[:4] = b"XXXX"
    assert committed.data == _fill(1, 2) and r.page(2).data == _fill(1, 2)
    txn.rollback()
    r.end()
    pager.close()


def test_append_page_skips_lock_byte_page():
    pager = _open()
    txn = pager.begin_write()
    txn._lock_page = 3  # pretend the lock-byte page is page 3 (really 2097153 at 512 B)
    assert txn.append_page().pgno == 2
    assert txn.append_page().pgno == 4
    with pytest.raises(CorruptError):
        txn.writable(3)
    txn.rollback()
    pager.close()


def test_rollback_journal_database_switches_to_wal_on_first_write(tmp_path):
    p = str(tmp_path / "r.db")
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t(a)")
    con.executemany("INSERT INTO t VALUES (?)", [("row%d" % i,) for i in range(100)])
    con.commit()
    con.close()
    before = open(p, "rb").read()
    vfs = OsVFS()
    pager = Pager.open(p, vfs=vfs)
    assert not pager.header.is_wal
    with pager.begin_read() as r:
        assert r.db_size == len(before) // 4096
        assert all(r.page(i).data == before[(i - 1) * 4096:i * 4096] for i in range(1, r.db_size + 1))
    pager.close()
    assert open(p, "rb").read() == before  # reading changed nothing
    assert not os.path.exists(p + "-wal")
    pager = Pager.open(p, vfs=vfs)
    txn = pager.begin_write()
    pg = txn.writable(2)  # rewrite a leaf with its own bytes: content unchanged
    txn.commit()
    raw = open(p, "rb").read(20)
    assert raw[18:20] == b"\x02\x02"  # switched before the WAL frame was written
    assert os.path.exists(p + "-wal") and pg.pgno == 2
    con = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        con.execute("SELECT count(*) FROM t").fetchone()
    con.close()
    pager.close()
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 100
    con.close()


def test_read_only_open(tmp_path):
    vfs = MemoryVFS()
    pager = _open(vfs)
    _commit(pager, 1, [2], grow_to=2)
    pager._abandon()  # leave the WAL behind, as after a crash
    ro = _open(vfs, readonly=True)
    with ro.begin_read() as r:
        assert r.page(2).data == _fill(1, 2)
    with pytest.raises(ReadOnlyError):
        ro.begin_write()
    with pytest.raises(ReadOnlyError):
        ro.checkpoint()
    ro.close()
    assert vfs.exists("/db/t.db-wal")  # a read-only close never removes the WAL
    with pytest.raises(CantOpenError):
        _open(vfs, path="/db/missing.db", readonly=True)
    with pytest.raises(CantOpenError):
        Pager.open(str(tmp_path / "nope.db"), create=False)


def test_empty_file_read_only_is_an_empty_database(tmp_path):
    p = tmp_path / "e.db"
    p.write_bytes(b"")
    pager = Pager.open(str(p), readonly=True)
    with pager.begin_read() as r:
        assert r.db_size == 1 and r.page(1).data[100] == 13
    pager.close()
    assert p.read_bytes() == b""


def test_not_a_database_and_lock_conflicts(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"hello world" * 100)
    with pytest.raises(NotADatabaseError):
        Pager.open(str(p))
    q = str(tmp_path / "q.db")
    pager = Pager.open(q)
    with pytest.raises(BusyError):
        Pager.open(q)
    pager.close()
    Pager.open(q).close()


def test_in_header_size_larger_than_file_is_corrupt(tmp_path):
    p = tmp_path / "c.db"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t(a)")
    con.commit()
    con.close()
    data = bytearray(p.read_bytes())
    data[28:32] = (50).to_bytes(4, "big")
    p.write_bytes(bytes(data))
    with pytest.raises(CorruptError):
        Pager.open(str(p))
    # an invalid in-header size (counter != version-valid-for) falls back to the file size
    data[92:96] = (12345).to_bytes(4, "big")
    p.write_bytes(bytes(data))
    pager = Pager.open(str(p))
    assert pager.db_size == 2
    pager.close()


def test_threads_read_consistent_snapshots_while_writer_commits():
    """Every snapshot sees one transaction's pattern on every page, never a mix."""
    pager = _open(cache_size=30, wal_autocheckpoint=25)
    n = 20
    _commit(pager, 0, range(2, n + 1), grow_to=n)
    stop = threading.Event()
    errors: list[str] = []

    def reader():
        while not stop.is_set():
            with pager.begin_read() as r:
                seen = {r.page(i).data[:6] for i in range(2, n + 1)}
                if len(seen) != 1:
                    errors.append(repr(seen))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    try:
        for t in range(1, 60):
            _commit(pager, t, range(2, n + 1))
            if t % 10 == 0:
                pager.checkpoint("PASSIVE")
    finally:
        stop.set()
        for th in threads:
            th.join(10)
    assert not errors
    assert pager.stats["checkpoints"] > 0
    pager._check()
    with pager.begin_read() as r:
        assert all(r.page(i).data == _fill(59, i) for i in range(2, n + 1))
    pager.close()


def test_read_racing_a_wal_restart_is_retried(monkeypatch):
    """A reader that found its page in frame f of generation g and reads the
    file while a commit restarts the WAL (overwriting frame f) must notice the
    new generation and read again (from the db file, which has its state)."""
    pager = _open(cache_size=10)
    _commit(pager, 1, range(2, 30), grow_to=29)
    assert pager.checkpoint("PASSIVE")[2] == pager.mx_frame
    r = pager.begin_read()
    real = pager._read_frame
    fired = []

    def racing_read(frame):
        if not fired:
            fired.append(frame)
            _commit(pager, 2, range(2, 30))  # restarts: frames 1.. now hold t2 pages
        return real(frame)

    monkeypatch.setattr(pager, "_read_frame", racing_read)
    assert r.page(2).data == _fill(1, 2)  # page 2 fell out of the small cache
    assert fired and pager.stats["wal_restarts"] == 1
    monkeypatch.undo()
    assert _contents(r) == {i: _fill(1, i) for i in range(2, 30)}
    r.end()
    with pager.begin_read() as r2:
        assert _contents(r2) == {i: _fill(2, i) for i in range(2, 30)}
    pager.close()


def test_autocheckpoint_keeps_the_wal_short():
    vfs = MemoryVFS()
    pager = _open(vfs, wal_autocheckpoint=10)
    for t in range(40):
        _commit(pager, t, [2, 3], grow_to=3)
    assert pager.stats["checkpoints"] >= 3 and pager.stats["wal_restarts"] >= 3
    frame = PS + 24
    assert len(vfs.read_bytes("/db/t.db-wal")) <= 32 + 12 * frame
    pager.synchronous = 1
    assert pager.synchronous == 1
    with pytest.raises(ProgrammingError):
        pager.synchronous = 7
    pager.close()


def test_page_objects_are_api_pages():
    pager = _open()
    with pager.begin_read() as r:
        p = r.page(1)
        assert isinstance(p, Page) and isinstance(p.data, bytes) and p.pgno == 1
        assert r.page_size == PS and r.usable_size == PS
    pager.close()


@pytest.mark.parametrize("sync,per_commit", [(2, 1), (1, 0), (0, 0)])
def test_one_write_and_at_most_one_fsync_per_commit(sync, per_commit):
    from storage.io import FaultVFS
    vfs = FaultVFS(seed=1)
    pager = _open(vfs, synchronous=sync)
    _commit(pager, 1, range(2, 30), grow_to=29)  # creates the WAL
    for t in range(2, 6):
        w0, s0 = vfs.writes, vfs.syncs
        _commit(pager, t, range(2, 30, 2))
        assert vfs.writes - w0 == 1  # every frame of the transaction in one write
        assert vfs.syncs - s0 == per_commit
    s0 = vfs.syncs
    pager.checkpoint("PASSIVE")
    # NORMAL: the checkpoint syncs the WAL, then the db; FULL: only the db; OFF: nothing
    assert vfs.syncs - s0 == {2: 1, 1: 2, 0: 0}[sync]
    pager.close()


def test_checkpoints_of_every_mode_race_commits_and_readers():
    vfs = MemoryVFS()
    pager = _open(vfs, cache_size=15)
    n = 12
    _commit(pager, 0, range(2, n + 1), grow_to=n)
    stop = threading.Event()
    errors: list[str] = []
    results: list[tuple] = []

    def reader():
        while not stop.is_set():
            with pager.begin_read() as r:
                seen = {r.page(i).data[:6] for i in range(2, n + 1)}
                if len(seen) != 1:
                    errors.append(repr(seen))

    def checkpointer():
        modes = ["PASSIVE", "FULL", "RESTART", "TRUNCATE"]
        i = 0
        while not stop.is_set():
            results.append(pager.checkpoint(modes[i % 4]))
            i += 1

    threads = [threading.Thread(target=reader) for _ in range(2)] + [threading.Thread(target=checkpointer)]
    for th in threads:
        th.start()
    try:
        for t in range(1, 80):
            txn = pager.begin_write(timeout=5)
            for i in range(2, n + 1):
                txn.writable(i).data[:] = _fill(t, i)
            txn.commit()
    finally:
        stop.set()
        for th in threads:
            th.join(10)
    assert not errors
    assert results and all(b in (0, 1) and 0 <= done <= log or (b, log, done) == (0, 0, 0)
                           for b, log, done in results)
    pager._check()
    pager.close()
    pager = _open(vfs)
    with pager.begin_read() as r:
        assert all(r.page(i).data == _fill(79, i) for i in range(2, n + 1))
    pager.close()
