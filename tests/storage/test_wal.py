"""The WAL format both ways, with stdlib sqlite3 as the oracle.

- checksum: equal to a plain transcription of SQLite's loop, both byte orders;
- recovery: a WAL written by sqlite3 (copied while its connection is open, with
  autocheckpoint off and an uncommitted, spilled transaction at the tail) is
  read by us page for page as sqlite3 itself sees it after a checkpoint; the
  same holds after we damage the tail (torn, garbage, bad checksum, bad salt,
  bad header);
- writing: pages we commit are read back by sqlite3 from a copy of db + WAL,
  with native and with big-endian checksums.
"""
from __future__ import annotations

import os
import random
import shutil
import sqlite3
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import storage.pager as pager_mod
from storage import wal
from storage.errors import CorruptError
from storage.io import MemoryVFS, OsVFS
from storage.pager import Pager
from storage.wal import (
    FRAME_HEADER_SIZE,
    WAL_HEADER_SIZE,
    WAL_MAGIC_BE,
    WAL_MAGIC_LE,
    WalHeader,
    WalIndex,
    checksum,
    frame_offset,
    recover,
)


def _reference_checksum(data: bytes, s0: int, s1: int, big: bool) -> tuple[int, int]:
    words = struct.unpack((">" if big else "<") + f"{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 300).map(lambda n: n * 8).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.booleans())
def test_checksum_matches_reference(data, s0, s1, big):
    assert checksum(data, s0, s1, big) == _reference_checksum(data, s0, s1, big)


def test_checksum_of_full_pages_both_orders():
    rnd = random.Random(5)
    for ps in (512, 4096, 65536):
        data = rnd.randbytes(ps)
        for big in (False, True):
            assert checksum(data, 7, 9, big) == _reference_checksum(data, 7, 9, big)
    with pytest.raises(ValueError):
        checksum(b"1234")


def test_wal_header_round_trip_and_rejections():
    for magic in (WAL_MAGIC_LE, WAL_MAGIC_BE):
        h = WalHeader.new(4096, 3, 0xFFFFFFFF, 77, magic)
        raw = h.serialize()
        assert len(raw) == 32
        back = WalHeader.parse(raw)
        assert back == h and back.big_endian == (magic == WAL_MAGIC_BE)
        for off, val in [(0, 0x377F0684), (4, 3007001), (8, 1000), (8, 256), (24, h.cksum1 ^ 1),
                         (28, h.cksum2 ^ 1)]:
            bad = bytearray(raw)
            struct.pack_into(">I", bad, off, val)
            assert WalHeader.parse(bytes(bad)) is None
        assert WalHeader.parse(raw[:31]) is None
    assert WalHeader.new(65536, 0, 1, 2).serialize()[8:12] == (65536).to_bytes(4, "big")


def test_wal_index_find_and_latest():
    idx = WalIndex()
    for pgno, f in [(1, 1), (2, 2), (1, 3), (3, 4), (1, 7), (2, 9)]:
        idx.add(pgno, f)
    assert idx.find(1, 0) == 0
    assert [idx.find(1, m) for m in range(1, 10)] == [1, 1, 3, 3, 3, 3, 7, 7, 7]
    assert idx.find(2, 1) == 0 and idx.find(2, 8) == 2 and idx.find(2, 9) == 9
    assert idx.find(4, 9) == 0
    assert idx.latest_upto(4) == {1: 3, 2: 2, 3: 4}
    assert idx.latest_upto(1) == {1: 1}


# --------------------------------------------------------------- sqlite3 WAL

def _sqlite_wal_db(dirpath, page_size, spill_tail=True):
    """A WAL-mode db with several commits all still in the WAL, plus (optionally)
    an uncommitted transaction whose spilled frames sit at the WAL's tail.
    Returns (db_path, connection-still-open) so the WAL is not checkpointed."""
    p = os.path.join(dirpath, "src.db")
    con = sqlite3.connect(p, isolation_level=None)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)")
    con.execute("CREATE INDEX tb ON t(b)")
    rnd = random.Random(page_size)
    for i in range(12):
        con.execute("BEGIN")
        con.executemany("INSERT INTO t(b) VALUES (?)",
                        [(rnd.randbytes(rnd.randrange(1, 400)).hex(),) for _ in range(30)])
        if i % 3 == 2:
            con.execute("DELETE FROM t WHERE a % 5 = ?", (i % 5,))
        con.execute("COMMIT")
    if spill_tail:
        con.execute("PRAGMA cache_size=2")
        con.execute("BEGIN")
        con.executemany("INSERT INTO t(b) VALUES (?)", [("z" * 300,) for _ in range(400)])
    return p, con


def _copy_pair(src_db, dst_dir, name="c.db", wal_bytes=None):
    os.makedirs(dst_dir, exist_ok=True)
    dst = os.path.join(dst_dir, name)
    shutil.copyfile(src_db, dst)
    if wal_bytes is None:
        shutil.copyfile(src_db + "-wal", dst + "-wal")
    else:
        with open(dst + "-wal", "wb") as f:
            f.write(wal_bytes)
    return dst


def _sqlite3_view(db_path, wal_bytes, tmp):
    """What sqlite3 sees in db + this WAL: checkpoint a copy, return the db bytes."""
    c = _copy_pair(db_path, tmp, "oracle.db", wal_bytes)
    con = sqlite3.connect(c)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    with open(c, "rb") as f:
        return f.read()


def _our_view(db_path, wal_bytes, tmp):
    c = _copy_pair(db_path, tmp, "ours.db", wal_bytes)
    pager = Pager.open(c, readonly=True)
    try:
        r = pager.begin_read()
        pages = [r.page(i).data for i in range(1, r.db_size + 1)]
        r.end()
        return pager.page_size, pages
    finally:
        pager.close()


def _assert_same_view(db_path, wal_bytes, tmp):
    expected = _sqlite3_view(db_path, wal_bytes, os.path.join(tmp, "o"))
    ps, pages = _our_view(db_path, wal_bytes, os.path.join(tmp, "u"))
    assert len(expected) == ps * len(pages)
    for i, data in enumerate(pages):
        assert data == expected[i * ps:(i + 1) * ps], f"page {i + 1} differs"
    return len(pages)


@pytest.mark.parametrize("page_size", [1024, 4096, 65536])
def test_recover_wal_written_by_sqlite3(tmp_path, page_size):
    src, con = _sqlite_wal_db(str(tmp_path), page_size)
    try:
        with open(src + "-wal", "rb") as f:
            wal_bytes = f.read()
        db_path = _copy_pair(src, str(tmp_path / "frozen"), "f.db", wal_bytes)
    finally:
        con.close()
    rec = recover(OsVFS().open(db_path + "-wal"))
    n_frames = (len(wal_bytes) - 32) // (page_size + 24)
    assert rec.header is not None and rec.header.page_size == page_size
    assert 12 <= len(rec.commits) and rec.mx_frame < n_frames  # the spilled tail is ignored
    _assert_same_view(db_path, wal_bytes, str(tmp_path))


def test_damaged_tails_are_ignored_like_sqlite3(tmp_path):
    ps = 1024
    src, con = _sqlite_wal_db(str(tmp_path), ps, spill_tail=False)
    try:
        with open(src + "-wal", "rb") as f:
            good = f.read()
        db_path = _copy_pair(src, str(tmp_path / "frozen"), "f.db", good)
    finally:
        con.close()
    rec = recover(OsVFS().open(db_path + "-wal"))
    commits = sorted(rec.commits)
    last, prev = commits[-1], commits[-2]
    fsz = ps + FRAME_HEADER_SIZE
    rnd = random.Random(1)

    def check(name, data, want_mx):
        mem = MemoryVFS()
        mem.write_bytes("/w", data)
        assert recover(mem.open("/w")).mx_frame == want_mx, name
        _assert_same_view(db_path, data, str(tmp_path / name))

    end_last = WAL_HEADER_SIZE + last * fsz
    check("torn", good[:end_last - 100], prev)
    check("garbage", good[:end_last] + rnd.randbytes(3 * fsz + 17), last)
    flipped = bytearray(good)
    flipped[end_last - 10] ^= 0x40  # in the commit frame's page data
    check("badsum", bytes(flipped), prev)
    salted = bytearray(good)
    mid = commits[len(commits) // 2]
    salted[frame_offset(mid, ps) + 8] ^= 1  # salt-1 of a middle commit frame
    check("badsalt", bytes(salted), commits[len(commits) // 2 - 1])
    badhdr = bytearray(good)
    badhdr[12] ^= 1  # checkpoint sequence: header checksum fails, WAL is empty
    check("badheader", bytes(badhdr), 0)
    check("empty", b"", 0)


# ------------------------------------------------------------ our WAL -> sqlite3

def _two_versions(dirpath, page_size):
    """Database A, and B = A after more changes (rollback mode, self-contained)."""
    a = os.path.join(dirpath, "a.db")
    con = sqlite3.connect(a)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)")
    con.executemany("INSERT INTO t(b) VALUES (?)", [("a%d" % i * 20,) for i in range(300)])
    con.commit()
    con.close()
    b = os.path.join(dirpath, "b.db")
    shutil.copyfile(a, b)
    con = sqlite3.connect(b)
    con.execute("UPDATE t SET b = b || 'changed' WHERE a % 3 = 0")
    con.execute("DELETE FROM t WHERE a % 7 = 0")
    con.executemany("INSERT INTO t(b) VALUES (?)", [("new%d" % i * 30,) for i in range(200)])
    con.execute("CREATE TABLE u(x)")
    con.commit()
    rows = con.execute("SELECT * FROM t ORDER BY a").fetchall()
    con.close()
    return a, b, rows


def _commit_image(pager, image: bytes, chunks=3):
    """Make the database equal to ``image`` (page for page) in ``chunks`` commits."""
    ps = pager.page_size
    n = len(image) // ps
    pgnos = list(range(1, n + 1))
    for k in range(chunks):
        txn = pager.begin_write()
        while txn.db_size < n:
            txn.append_page()
        for pgno in pgnos[k::chunks]:
            p = txn.writable(pgno)
            p.data[:] = image[(pgno - 1) * ps:pgno * ps]
            p.cells = None
        txn.commit()


@pytest.mark.parametrize("magic,page_size", [(WAL_MAGIC_LE, 1024), (WAL_MAGIC_BE, 1024),
                                             (WAL_MAGIC_LE, 65536), (WAL_MAGIC_BE, 512)])
def test_sqlite3_reads_the_wal_we_write(tmp_path, monkeypatch, magic, page_size):
    monkeypatch.setattr(pager_mod, "_new_wal_magic", magic)
    a, b, rows = _two_versions(str(tmp_path), page_size)
    image = open(b, "rb").read()
    pager = Pager.open(a, wal_autocheckpoint=0)
    try:
        _commit_image(pager, image)
        wal_bytes = open(a + "-wal", "rb").read()
        assert struct.unpack(">I", wal_bytes[:4])[0] == magic
        c = _copy_pair(a, str(tmp_path / "copy"))  # db + WAL while we hold them open
    finally:
        pager.close()
    con = sqlite3.connect(c)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT * FROM t ORDER BY a").fetchall() == rows
    assert con.execute("SELECT count(*) FROM u").fetchone()[0] == 0
    con.close()
    # and after our close (checkpoint + WAL removed) the file alone is right
    assert not os.path.exists(a + "-wal")
    con = sqlite3.connect(a)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT * FROM t ORDER BY a").fetchall() == rows
    con.close()


def test_sqlite3_reads_our_wal_after_restart(tmp_path):
    """After a checkpoint + restart the WAL has a new header and old frames behind
    the new ones; sqlite3 must see only the new generation."""
    a, b, rows = _two_versions(str(tmp_path), 1024)
    image_b = open(b, "rb").read()
    image_a = open(a, "rb").read()
    pager = Pager.open(a, wal_autocheckpoint=0)
    try:
        _commit_image(pager, image_b, chunks=4)
        old_hdr = WalHeader.parse(open(a + "-wal", "rb").read(32))
        assert pager.checkpoint("PASSIVE")[0] == 0
        # one small commit: restarts the WAL, frames from 1 again
        txn = pager.begin_write()
        p = txn.writable(2)
        p.data[:] = image_b[1024:2048]
        txn.commit()
        assert pager.mx_frame == 1 and pager.stats["wal_restarts"] == 1
        new_hdr = WalHeader.parse(open(a + "-wal", "rb").read(32))
        assert new_hdr.checkpoint_seq == old_hdr.checkpoint_seq + 1
        assert new_hdr.salt1 == (old_hdr.salt1 + 1) & 0xFFFFFFFF
        assert os.path.getsize(a + "-wal") > frame_offset(3, 1024)  # old frames still there
        c = _copy_pair(a, str(tmp_path / "copy"))
    finally:
        pager.close()
    assert image_a != image_b
    con = sqlite3.connect(c)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT * FROM t ORDER BY a").fetchall() == rows
    con.close()


def test_recover_our_own_wal_on_memory_vfs():
    vfs = MemoryVFS()
    pager = Pager.open("/m/x.db", vfs=vfs, page_size=512, wal_autocheckpoint=0)
    want = {}
    for t in range(5):
        txn = pager.begin_write()
        for _ in range(3):
            p = txn.append_page()
            p.data[:] = bytes([t + 1]) * 512
            want[p.pgno] = bytes(p.data)
        txn.commit()
    snapshot_wal = vfs.read_bytes("/m/x.db-wal")
    snapshot_db = vfs.read_bytes("/m/x.db")
    pager._abandon()  # "crash": no checkpoint, WAL left behind
    vfs2 = MemoryVFS()
    vfs2.write_bytes("/m/x.db", snapshot_db)
    vfs2.write_bytes("/m/x.db-wal", snapshot_wal)
    rec = wal.recover(vfs2.open("/m/x.db-wal"))
    assert rec.mx_frame == 5 * 4  # 3 new pages + page 1 per commit
    assert len(rec.commits) == 5
    pager = Pager.open("/m/x.db", vfs=vfs2)
    r = pager.begin_read()
    assert r.db_size == 16
    for pgno, data in want.items():
        assert r.page(pgno).data == data
    r.end()
    pager.close()


def _rechecksum(wal_bytes: bytearray, ps: int) -> None:
    """Recompute every frame's cumulative checksum (after editing frame headers)."""
    big = bool(struct.unpack_from(">I", wal_bytes, 0)[0] & 1)
    s0, s1 = struct.unpack_from(">II", wal_bytes, 24)
    off = WAL_HEADER_SIZE
    while off + FRAME_HEADER_SIZE + ps <= len(wal_bytes):
        s0, s1 = _reference_checksum(bytes(wal_bytes[off:off + 8]), s0, s1, big)
        s0, s1 = _reference_checksum(bytes(wal_bytes[off + 24:off + 24 + ps]), s0, s1, big)
        struct.pack_into(">II", wal_bytes, off + 16, s0, s1)
        off += FRAME_HEADER_SIZE + ps


def test_commit_frame_size_vs_in_header_size_like_sqlite3(tmp_path):
    """A commit frame claiming more pages than page 1's valid in-header size: the
    in-header size wins (SQLite's lockBtree rule); claiming fewer: corrupt."""
    ps = 1024
    src, con = _sqlite_wal_db(str(tmp_path), ps, spill_tail=False)
    try:
        good = bytearray(open(src + "-wal", "rb").read())
        db_path = _copy_pair(src, str(tmp_path / "frozen"), "f.db", bytes(good))
    finally:
        con.close()
    rec = recover(OsVFS().open(db_path + "-wal"))
    last = rec.mx_frame
    real = rec.commits[last]
    big = bytearray(good)
    struct.pack_into(">I", big, frame_offset(last, ps) + 4, 0xFFFFFFFF)
    _rechecksum(big, ps)
    c = _copy_pair(db_path, str(tmp_path / "big-theirs"), "b.db", bytes(big))
    con = sqlite3.connect(c)
    assert con.execute("PRAGMA page_count").fetchone()[0] == real
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert _our_view(db_path, bytes(big), str(tmp_path / "big")) == \
        _our_view(db_path, bytes(good), str(tmp_path / "good"))
    assert len(_our_view(db_path, bytes(big), str(tmp_path / "big2"))[1]) == real
    small = bytearray(good)
    struct.pack_into(">I", small, frame_offset(last, ps) + 4, real - 1)
    _rechecksum(small, ps)
    c = _copy_pair(db_path, str(tmp_path / "small-theirs"), "s.db", bytes(small))
    con = sqlite3.connect(c)
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        con.execute("SELECT count(*) FROM t").fetchone()
    con.close()
    c = _copy_pair(db_path, str(tmp_path / "small-ours"), "s.db", bytes(small))
    with pytest.raises(CorruptError):
        Pager.open(c, readonly=True)
