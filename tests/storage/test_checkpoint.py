"""Checkpoints write cached pages instead of re-reading the WAL, and the bytes
are exactly the WAL frames' (debug mode re-reads and compares)."""
from __future__ import annotations

import shutil
import sqlite3

import pytest

from storage.api import Page
from storage.errors import InternalError
from storage.io import MemoryVFS
from storage.pager import Pager
from storage.wal import FRAME_HEADER_SIZE, frame_offset, recover

PS = 1024


def _fill(t: int, pgno: int) -> bytes:
    return (f"<{t}:{pgno}>".encode() * PS)[:PS]


def _commit(pager, t, pgnos, grow_to=None):
    txn = pager.begin_write()
    while grow_to and txn.db_size < grow_to:
        txn.append_page()
    for pgno in pgnos:
        txn.writable(pgno).data[:] = _fill(t, pgno)
    txn.commit()


def _wal_pages(vfs, path):
    """pgno -> bytes of its latest committed frame, straight from the WAL file."""
    wal_bytes = vfs.read_bytes(path + "-wal")
    rec = recover(vfs.open(path + "-wal"))
    out = {}
    for pgno, frames in rec.index.items():
        off = frame_offset(frames[-1], PS) + FRAME_HEADER_SIZE
        out[pgno] = wal_bytes[off:off + PS]
    return out, rec


def test_checkpoint_writes_cached_pages_identical_to_wal_frames():
    vfs = MemoryVFS()
    pager = Pager.open("/c/t.db", vfs=vfs, page_size=PS, wal_autocheckpoint=0, debug=True,
                       cache_size=1000)
    _commit(pager, 1, range(2, 41), grow_to=40)
    _commit(pager, 2, range(2, 41, 3))
    frames, rec = _wal_pages(vfs, "/c/t.db")
    assert rec.mx_frame == pager.mx_frame
    busy, log, done = pager.checkpoint("PASSIVE")
    assert (busy, log, done) == (0, rec.mx_frame, rec.mx_frame)
    # every page came from the cache (all 40 latest frames are cached) ...
    assert pager.stats["ckpt_pages_from_cache"] == 40
    assert pager.stats["ckpt_pages_from_wal"] == 0
    # ... and the db file now holds exactly the WAL's latest frames
    db = vfs.read_bytes("/c/t.db")
    assert len(db) == 40 * PS
    for pgno, data in frames.items():
        assert db[(pgno - 1) * PS:pgno * PS] == data, pgno
    assert db[PS:2 * PS] == _fill(2, 2) and db[2 * PS:3 * PS] == _fill(1, 3)
    pager.close()


def test_checkpoint_with_a_small_cache_reads_the_rest_from_the_wal():
    vfs = MemoryVFS()
    pager = Pager.open("/c/t.db", vfs=vfs, page_size=PS, wal_autocheckpoint=0, debug=True,
                       cache_size=12)
    _commit(pager, 1, range(2, 51), grow_to=50)
    frames, _ = _wal_pages(vfs, "/c/t.db")
    pager.checkpoint("PASSIVE")
    cached, from_wal = pager.stats["ckpt_pages_from_cache"], pager.stats["ckpt_pages_from_wal"]
    assert cached == 12 and from_wal == 50 - 12
    db = vfs.read_bytes("/c/t.db")
    assert all(db[(p - 1) * PS:p * PS] == d for p, d in frames.items())
    pager.close()


def test_debug_mode_catches_a_cached_page_that_differs_from_its_frame():
    vfs = MemoryVFS()
    pager = Pager.open("/c/t.db", vfs=vfs, page_size=PS, wal_autocheckpoint=0, debug=True)
    _commit(pager, 1, [2, 3], grow_to=3)
    key = next(k for k in pager._cache if k[0] == 3)
    pager._cache[key] = Page(3, b"\x00" * PS)  # a cache bug
    with pytest.raises(InternalError, match="page 3"):
        pager.checkpoint("PASSIVE")
    assert pager.backfilled == 0  # nothing was declared backfilled
    pager._cache.clear()
    assert pager.checkpoint("PASSIVE")[2] == pager.mx_frame
    pager.close()


def test_checkpointed_file_is_what_sqlite3_sees(tmp_path):
    """Rewrite a sqlite3 database page by page with the pages of another
    version of it; checkpoint (no close): the db file alone, with the WAL
    deleted, is that other version for sqlite3."""
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    con = sqlite3.connect(a)
    con.execute("PRAGMA page_size=1024")
    con.execute("CREATE TABLE t(x INTEGER PRIMARY KEY, y)")
    con.executemany("INSERT INTO t(y) VALUES (?)", [("v%d" % i * 9,) for i in range(400)])
    con.commit()
    con.close()
    shutil.copyfile(a, b)
    con = sqlite3.connect(b)
    con.execute("DELETE FROM t WHERE x % 2 = 0")
    con.executemany("INSERT INTO t(y) VALUES (?)", [("w%d" % i * 30,) for i in range(300)])
    con.commit()
    rows = con.execute("SELECT * FROM t").fetchall()
    con.close()
    image = open(b, "rb").read()
    pager = Pager.open(a, wal_autocheckpoint=0, debug=True)
    txn = pager.begin_write()
    n = len(image) // 1024
    while txn.db_size < n:
        txn.append_page()
    for pgno in range(1, n + 1):
        txn.writable(pgno).data[:] = image[(pgno - 1) * 1024:pgno * 1024]
    txn.commit()
    assert pager.checkpoint("FULL") == (0, n, n)
    assert pager.stats["ckpt_pages_from_cache"] + pager.stats["ckpt_pages_from_wal"] == n
    only_db = str(tmp_path / "only.db")
    shutil.copyfile(a, only_db)  # without the WAL
    pager.close()
    con = sqlite3.connect(only_db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT * FROM t").fetchall() == rows
    con.close()


def test_cache_rekeyed_across_restart_keeps_hot_pages():
    """After a restart, pages cached at their latest frame are still cache hits
    (now as db-file pages), with their decoded cells."""
    pager = Pager.open("/c/t.db", vfs=MemoryVFS(), page_size=PS, wal_autocheckpoint=0)
    _commit(pager, 1, range(2, 6), grow_to=5)
    with pager.begin_read() as r:
        r.page(4).cells = "decoded-4"
    pager.checkpoint("RESTART")
    misses = pager.stats["cache_misses"]
    with pager.begin_read() as r:
        assert r._snap.mark == 0
        assert r.page(4).cells == "decoded-4" and r.page(4).data == _fill(1, 4)
        assert all(r.page(i).data == _fill(1, i) for i in range(2, 6))
    assert pager.stats["cache_misses"] == misses
    pager._check()
    pager.close()
