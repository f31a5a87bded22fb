"""Hot rollback journals left by a real sqlite3 process that died mid-transaction
(journal_mode=DELETE, a tiny cache so pages spill into the db file) are rolled
back on open: the file is byte for byte its pre-transaction self."""
from __future__ import annotations

import os
import sqlite3
import struct
import subprocess
import sys
import textwrap

import pytest

from storage import journal
from storage.errors import ReadOnlyError
from storage.io import MemoryVFS, OsVFS
from storage.pager import Pager

_CHILD = textwrap.dedent("""
    import os, sqlite3, sys
    path, sync = sys.argv[1], sys.argv[2]
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA synchronous=" + sync)
    con.execute("PRAGMA cache_size=5")
    con.execute("BEGIN")
    con.execute("UPDATE t SET b = b || 'changed-by-a-dying-writer'")
    con.executemany("INSERT INTO t(b) VALUES (?)", [("new" * 50,) for _ in range(1500)])
    con.execute("DELETE FROM t WHERE a % 4 = 0")
    os._exit(0)  # die with the transaction open: the journal stays hot
""")


def _make(path, page_size=1024):
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)")
    con.execute("CREATE INDEX tb ON t(b)")
    con.executemany("INSERT INTO t(b) VALUES (?)", [("row%05d" % i * 8,) for i in range(600)])
    con.commit()
    rows = con.execute("SELECT * FROM t ORDER BY a").fetchall()
    con.close()
    return rows


def _die_mid_transaction(path, sync):
    subprocess.run([sys.executable, "-c", _CHILD, path, sync], check=True, timeout=60)


def _segments(jbytes, sector):
    return sum(1 for off in range(0, len(jbytes), sector) if jbytes[off:off + 8] == journal.JOURNAL_MAGIC)


@pytest.mark.parametrize("sync", ["FULL", "OFF"])
def test_hot_journal_from_a_dead_sqlite3_is_rolled_back(tmp_path, sync):
    p = str(tmp_path / "h.db")
    rows = _make(p)
    before = open(p, "rb").read()
    _die_mid_transaction(p, sync)
    jp = p + "-journal"
    assert os.path.exists(jp)
    after_crash = open(p, "rb").read()
    assert after_crash != before  # pages really spilled into the db file
    jbytes = open(jp, "rb").read()
    n_rec, _, init_pages, sector, ps = struct.unpack(">IIIII", jbytes[8:28])
    assert init_pages * ps == len(before)
    if sync == "OFF":
        assert n_rec == 0xFFFFFFFF  # no-sync journals: count from the file size
    else:
        assert _segments(jbytes, sector) >= 2  # one segment per journal sync
    pager = Pager.open(p)
    assert not os.path.exists(jp)
    assert open(p, "rb").read() == before  # rolled back on open, byte for byte
    with pager.begin_read() as r:
        assert r.db_size == len(before) // 1024
        assert r.page(2).data == before[1024:2048]
    pager.close()
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT * FROM t ORDER BY a").fetchall() == rows
    con.close()


def test_sqlite3_agrees_with_our_rollback(tmp_path):
    """The same hot journal rolled back by sqlite3 gives the same file."""
    p = str(tmp_path / "h.db")
    _make(p)
    _die_mid_transaction(p, "FULL")
    q = str(tmp_path / "q.db")
    for suffix in ("", "-journal"):
        with open(p + suffix, "rb") as src, open(q + suffix, "wb") as dst:
            dst.write(src.read())
    con = sqlite3.connect(q)
    con.execute("SELECT count(*) FROM t").fetchone()  # sqlite3 rolls back here
    con.close()
    Pager.open(p, vfs=OsVFS()).close()
    assert open(p, "rb").read() == open(q, "rb").read()


def test_hot_journal_refused_read_only(tmp_path):
    p = str(tmp_path / "h.db")
    _make(p)
    _die_mid_transaction(p, "FULL")
    with pytest.raises(ReadOnlyError):
        Pager.open(p, readonly=True)
    assert os.path.exists(p + "-journal")


def _fake_db(vfs, path, pages, ps=512):
    data = b"".join(bytes([i]) * ps for i in range(1, pages + 1))
    vfs.write_bytes(path, data)
    return data


def _journal_bytes(records, init_pages, ps=512, sector=512, nonce=77, n_rec=None, tail=b""):
    hdr = struct.pack(">8sIIIII", journal.JOURNAL_MAGIC,
                      len(records) if n_rec is None else n_rec, nonce, init_pages, sector, ps)
    out = bytearray(hdr.ljust(sector, b"\x00"))
    for pgno, data in records:
        ck = nonce
        i = ps - 200
        while i > 0:
            ck += data[i]
            i -= 200
        out += struct.pack(">I", pgno) + data + struct.pack(">I", ck & 0xFFFFFFFF)
    return bytes(out) + tail


def test_playback_rules_on_hand_made_journals():
    vfs = MemoryVFS()
    ps = 512
    orig = _fake_db(vfs, "/j/a.db", 4, ps)
    # the "transaction" grew the file to 6 pages and changed pages 2 and 3
    vfs.write_bytes("/j/a.db", orig[:ps] + b"X" * ps + b"Y" * ps + orig[3 * ps:] + b"Z" * 2 * ps)
    good = [(2, orig[ps:2 * ps]), (3, orig[2 * ps:3 * ps])]
    vfs.write_bytes("/j/a.db-journal", _journal_bytes(good, 4))
    db = vfs.open("/j/a.db")
    assert journal.rollback_hot_journal(vfs, db, "/j/a.db") == 2
    assert vfs.read_bytes("/j/a.db") == orig and not vfs.exists("/j/a.db-journal")
    # a record with a bad checksum ends playback (it was never synced)
    vfs.write_bytes("/j/a.db", orig[:ps] + b"X" * ps + b"Y" * ps + orig[3 * ps:])
    bad = bytearray(_journal_bytes(good, 4))
    bad[512 + (ps + 8) + 4 + ps - 200] ^= 0xFF  # record 2, byte ps-200 (summed)
    vfs.write_bytes("/j/a.db-journal", bytes(bad))
    assert journal.rollback_hot_journal(vfs, db, "/j/a.db") == 1
    assert vfs.read_bytes("/j/a.db")[ps:2 * ps] == orig[ps:2 * ps]
    assert vfs.read_bytes("/j/a.db")[2 * ps:3 * ps] == b"Y" * ps
    # a super-journal that no longer exists: the transaction committed, no playback
    vfs.write_bytes("/j/a.db", b"N" * 4 * ps)
    name = b"/j/gone-super"
    tail = (struct.pack(">I", 0x40000000 // ps + 1) + name + struct.pack(">II", len(name), sum(name))
            + journal.JOURNAL_MAGIC)
    vfs.write_bytes("/j/a.db-journal", _journal_bytes(good, 4, tail=tail))
    assert journal.rollback_hot_journal(vfs, db, "/j/a.db") == 0
    assert vfs.read_bytes("/j/a.db") == b"N" * 4 * ps and not vfs.exists("/j/a.db-journal")
    # a zeroed header (PERSIST mode after commit) is not hot
    vfs.write_bytes("/j/a.db-journal", bytes(1024))
    assert journal.rollback_hot_journal(vfs, db, "/j/a.db") is None
    assert vfs.exists("/j/a.db-journal")


def test_creation_journal_rolls_back_to_an_empty_file():
    vfs = MemoryVFS()
    vfs.write_bytes("/j/n.db", b"SQLite format 3\x00torn")
    journal.write_creation_journal(vfs, "/j/n.db", 4096)
    pager = Pager.open("/j/n.db", vfs=vfs)  # rolls back to 0 bytes, then creates
    assert pager.db_size == 1 and pager.page_size == 4096
    pager.close()
    assert len(vfs.read_bytes("/j/n.db")) == 4096
    assert not vfs.exists("/j/n.db-journal")


def test_short_reads_during_rollback_never_lose_the_journal():
    """A short read while deciding hotness or playing back: either the rollback
    completes, or it fails with DiskIOError leaving the journal for next time."""
    from storage.errors import DiskIOError
    from storage.header import new_database_page1
    from storage.io import FaultVFS
    ps = 512
    orig = new_database_page1(ps)[:100] + bytes(ps - 100)  # a header-only "database"
    orig = bytearray(orig)
    orig[100] = 13
    orig[28:32] = (4).to_bytes(4, "big")
    orig = bytes(orig) + b"".join(bytes([i]) * ps for i in range(2, 5))
    dirty = orig[:ps] + b"X" * ps + b"Y" * ps + orig[3 * ps:] + b"Z" * ps
    jbytes = _journal_bytes([(2, orig[ps:2 * ps]), (3, orig[2 * ps:3 * ps])], 4)
    outcomes = set()
    for n in range(1, 12):
        vfs = FaultVFS(seed=n)
        vfs.base.write_bytes("/j/a.db", dirty)
        vfs.base.write_bytes("/j/a.db-journal", jbytes)
        vfs.short_read_at(n)
        try:
            Pager.open("/j/a.db", vfs=vfs, page_size=ps)._abandon()
            outcomes.add("ok")
        except DiskIOError:
            outcomes.add("error")
            assert vfs.exists("/j/a.db-journal")
            Pager.open("/j/a.db", vfs=vfs, page_size=ps)._abandon()
        assert vfs.base.read_bytes("/j/a.db") == orig, n
        assert not vfs.exists("/j/a.db-journal")
    assert "ok" in outcomes
