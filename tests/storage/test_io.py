"""Tests for storage/io.py: one File/VFS conformance suite run on all three
VFSes (ZODB-style mixin), OsFile's errno mapping and SQLite-compatible
locking (the stdlib ``sqlite3`` is the oracle), and FaultVFS's faults."""
from __future__ import annotations

import errno
import itertools
import os
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storage.io as io
from storage.errors import (
    SQLITE_IOERR_FSYNC,
    SQLITE_IOERR_READ,
    SQLITE_IOERR_TRUNCATE,
    SQLITE_IOERR_WRITE,
    BusyError,
    CantOpenError,
    DiskFullError,
    DiskIOError,
    Error,
    ReadOnlyError,
)
from storage.io import FaultVFS, MemoryVFS, OsVFS, SimulatedCrash, default_vfs


# =============================================================================
# Conformance suite: the same tests for every VFS
# =============================================================================

class VFSConformance:
    """The File/VFS contract. Subclasses provide ``vfs`` and ``path(name)``."""

    @pytest.fixture(autouse=True)
    def _setup(self, tmp_path):
        self.tmp = tmp_path
        self.vfs = self.make_vfs()
        self._names = itertools.count()
        yield

    def make_vfs(self):
        raise NotImplementedError

    def path(self, name: str) -> str:
        raise NotImplementedError

    def fresh(self) -> str:
        return self.path(f"f{next(self._names)}.db")

    # -- open / exists / delete ------------------------------------------------

    def test_open_missing_without_create_fails(self):
        p = self.fresh()
        with pytest.raises(CantOpenError):
            self.vfs.open(p, create=False)
        with pytest.raises(CantOpenError):
            self.vfs.open(p, readonly=True)
        assert not self.vfs.exists(p)

    def test_create_makes_empty_file(self):
        p = self.fresh()
        f = self.vfs.open(p)
        assert self.vfs.exists(p)
        assert f.size() == 0
        assert f.read(0, 100) == b""
        assert f.path == p or self.vfs.realpath(f.path) == self.vfs.realpath(p)
        f.close()

    def test_delete(self):
        p = self.fresh()
        f = self.vfs.open(p)
        f.write(0, b"data")
        f.close()
        self.vfs.delete(p)
        assert not self.vfs.exists(p)
        with pytest.raises(CantOpenError):
            self.vfs.open(p, create=False)
        self.vfs.delete(p)  # missing: no error
        g = self.vfs.open(p)  # recreated: empty
        assert g.size() == 0
        g.close()

    # -- read / write / size / truncate ------------------------------------------

    def test_write_read_roundtrip_and_overwrite(self):
        f = self.vfs.open(self.fresh())
        f.write(0, b"hello world")
        assert f.read(0, 11) == b"hello world"
        f.write(6, b"WORLD!")
        assert f.read(0, 100) == b"hello WORLD!"
        assert f.size() == 12
        assert f.read(3, 4) == b"lo W"
        f.close()

    def test_short_read_at_eof(self):
        f = self.vfs.open(self.fresh())
        f.write(0, bytes(range(10)))
        assert f.read(7, 10) == bytes([7, 8, 9])
        assert f.read(10, 5) == b""
        assert f.read(1000, 5) == b""
        assert f.read(0, 0) == b""
        f.close()

    def test_write_past_end_zero_fills_gap(self):
        f = self.vfs.open(self.fresh())
        f.write(0, b"ab")
        f.write(10, b"cd")
        assert f.size() == 12
        assert f.read(0, 12) == b"ab" + bytes(8) + b"cd"
        f.close()

    def test_truncate_shrinks_and_extends(self):
        f = self.vfs.open(self.fresh())
        f.write(0, b"x" * 100)
        f.truncate(40)
        assert f.size() == 40
        assert f.read(0, 100) == b"x" * 40
        f.truncate(60)
        assert f.size() == 60
        assert f.read(0, 100) == b"x" * 40 + bytes(20)
        f.truncate(0)
        assert f.size() == 0
        f.close()

    def test_large_write(self):
        f = self.vfs.open(self.fresh())
        blob = os.urandom(1 << 20)
        f.write(4096, blob)
        f.sync()
        assert f.size() == 4096 + len(blob)
        assert f.read(4096, len(blob)) == blob
        assert f.read(0, 4096) == bytes(4096)
        f.close()

    def test_accepts_bytearray_and_memoryview(self):
        f = self.vfs.open(self.fresh())
        f.write(0, bytearray(b"abc"))
        f.write(3, memoryview(b"defgh")[1:3])
        assert f.read(0, 10) == b"abcef"
        assert isinstance(f.read(0, 10), bytes)
        f.close()

    def test_reopen_sees_data_and_handles_share(self):
        p = self.fresh()
        f = self.vfs.open(p)
        f.write(0, b"first")
        f.sync()
        f.close()
        g = self.vfs.open(p, create=False)
        assert g.read(0, 10) == b"first"
        h = self.vfs.open(p)
        h.write(5, b"+second")
        assert g.read(0, 100) == b"first+second"
        assert g.size() == h.size() == 12
        g.close()
        h.close()

    def test_realpath_spellings_name_one_file(self):
        p = self.fresh()
        d, name = os.path.split(p)
        alias = os.path.join(d, "sub", "..", name)
        if isinstance(self.vfs, OsVFS):
            os.mkdir(os.path.join(d, "sub"))
        assert self.vfs.realpath(alias) == self.vfs.realpath(p)
        f = self.vfs.open(p)
        f.write(0, b"same")
        g = self.vfs.open(alias, create=False)
        assert g.read(0, 4) == b"same"
        assert self.vfs.exists(alias)
        f.close()
        g.close()

    def test_readonly(self):
        p = self.fresh()
        f = self.vfs.open(p)
        f.write(0, b"abc")
        f.close()
        r = self.vfs.open(p, readonly=True)
        assert r.read(0, 3) == b"abc"
        with pytest.raises(ReadOnlyError):
            r.write(0, b"z")
        with pytest.raises(ReadOnlyError):
            r.truncate(0)
        assert r.read(0, 3) == b"abc"
        r.close()

    def test_closed_file_raises_storage_errors(self):
        f = self.vfs.open(self.fresh())
        f.write(0, b"x")
        f.close()
        f.close()  # idempotent
        for call in (lambda: f.read(0, 1), lambda: f.write(0, b"y"), f.sync,
                     f.size, lambda: f.truncate(0), f.lock_exclusive):
            with pytest.raises(DiskIOError):
                call()

    def test_negative_offset_is_a_storage_error(self):
        f = self.vfs.open(self.fresh())
        with pytest.raises(Error):
            f.read(-1, 4)
        with pytest.raises(Error):
            f.write(-1, b"x")
        f.close()

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.differing_executors])
    @given(st.lists(st.one_of(
        st.tuples(st.just("w"), st.integers(0, 3000), st.binary(min_size=0, max_size=700)),
        st.tuples(st.just("t"), st.integers(0, 3500), st.just(b"")),
        st.tuples(st.just("r"), st.integers(0, 3500), st.integers(0, 800)),
    ), max_size=25))
    def test_matches_bytearray_model(self, ops):
        f = self.vfs.open(self.fresh())
        model = bytearray()
        for kind, off, arg in ops:
            if kind == "w":
                f.write(off, arg)
                if not arg:  # like pwrite: an empty write does not extend
                    continue
                if off > len(model):
                    model.extend(bytes(off - len(model)))
                model[off:off + len(arg)] = arg
            elif kind == "t":
                f.truncate(off)
                del model[off:]
                model.extend(bytes(off - len(model)))
            else:
                assert f.read(off, arg) == bytes(model[off:off + arg])
            assert f.size() == len(model)
        assert f.read(0, len(model) + 10) == bytes(model)
        f.close()

    # -- locks ---------------------------------------------------------------------

    def test_lock_conflict_between_opens(self):
        p = self.fresh()
        a = self.vfs.open(p)
        b = self.vfs.open(p)
        a.lock_exclusive()
        a.lock_exclusive()  # re-locking our own lock is fine
        with pytest.raises(BusyError) as info:
            b.lock_exclusive()
        assert str(info.value) == "database is locked"
        assert info.value.sqlite_errorname == "SQLITE_BUSY"
        a.unlock()
        b.lock_exclusive()
        with pytest.raises(BusyError):
            a.lock_exclusive()
        b.unlock()
        b.unlock()  # idempotent
        a.lock_exclusive()
        a.close()
        b.close()

    def test_close_releases_lock(self):
        p = self.fresh()
        a = self.vfs.open(p)
        b = self.vfs.open(p)
        a.lock_exclusive()
        a.close()
        b.lock_exclusive()
        b.close()

    def test_readonly_locks_are_shared_but_keep_writers_out(self):
        p = self.fresh()
        self.vfs.open(p).close()
        r1 = self.vfs.open(p, readonly=True)
        r2 = self.vfs.open(p, readonly=True)
        w = self.vfs.open(p)
        r1.lock_exclusive()
        r2.lock_exclusive()
        with pytest.raises(BusyError):
            w.lock_exclusive()
        r1.unlock()
        r2.close()
        w.lock_exclusive()
        with pytest.raises(BusyError):
            r1.lock_exclusive()
        for f in (r1, w):
            f.close()

    def test_locks_of_different_files_are_independent(self):
        a = self.vfs.open(self.fresh())
        b = self.vfs.open(self.fresh())
        a.lock_exclusive()
        b.lock_exclusive()
        a.close()
        b.close()


class TestOsVFS(VFSConformance):
    def make_vfs(self):
        return OsVFS()

    def path(self, name):
        return str(self.tmp / name)


class TestMemoryVFS(VFSConformance):
    def make_vfs(self):
        return MemoryVFS()

    def path(self, name):
        return "/mem/" + name


class TestFaultVFSConformance(VFSConformance):
    """FaultVFS with nothing armed must behave exactly like the others."""

    def make_vfs(self):
        return FaultVFS(seed=7)

    def path(self, name):
        return "/mem/" + name


# =============================================================================
# OsVFS specifics: errno mapping, short syscalls, open errors
# =============================================================================

def test_default_vfs_is_a_shared_osvfs():
    assert isinstance(default_vfs(), OsVFS)
    assert default_vfs() is default_vfs()


def test_os_open_errors(tmp_path):
    vfs = OsVFS()
    with pytest.raises(CantOpenError):
        vfs.open(str(tmp_path / "no" / "such" / "dir.db"))
    with pytest.raises(CantOpenError):
        vfs.open(str(tmp_path))  # a directory, read-write
    with pytest.raises(CantOpenError):
        vfs.open(str(tmp_path), readonly=True)  # O_RDONLY would accept it
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(CantOpenError):
        vfs.open(str(tmp_path / "file" / "x.db"))  # ENOTDIR
    with pytest.raises(CantOpenError):
        vfs.open(str(tmp_path / "nul\0.db"))


def test_os_open_eacces_maps_to_cantopen(tmp_path, monkeypatch):
    # We may run as root (permission bits ignored), so inject the errno.
    def denied(*args, **kw):
        raise PermissionError(errno.EACCES, "denied")
    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(CantOpenError):
        OsVFS().open(str(tmp_path / "x.db"))


@pytest.mark.parametrize("func, call, code", [
    ("pread", lambda f: f.read(0, 4), SQLITE_IOERR_READ),
    ("pwrite", lambda f: f.write(0, b"abcd"), SQLITE_IOERR_WRITE),
    ("fdatasync" if hasattr(os, "fdatasync") else "fsync", lambda f: f.sync(),
     SQLITE_IOERR_FSYNC),
    ("ftruncate", lambda f: f.truncate(0), SQLITE_IOERR_TRUNCATE),
])
def test_os_errno_mapping(tmp_path, monkeypatch, func, call, code):
    f = OsVFS().open(str(tmp_path / "x.db"))
    f.write(0, b"data")

    def fail_eio(*args):
        raise OSError(errno.EIO, "I/O error")

    def fail_enospc(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, func, fail_eio)
    with pytest.raises(DiskIOError) as info:
        call(f)
    assert info.value.sqlite_errorcode == code
    assert str(info.value) == "disk I/O error"
    monkeypatch.setattr(os, func, fail_enospc)
    with pytest.raises(DiskFullError):
        call(f)
    monkeypatch.undo()
    f.close()


def test_os_short_syscalls_are_looped(tmp_path, monkeypatch):
    f = OsVFS().open(str(tmp_path / "x.db"))
    real_pread, real_pwrite = os.pread, os.pwrite
    calls = {"r": 0, "w": 0}

    def pread1(fd, n, off):  # one byte at a time
        calls["r"] += 1
        return real_pread(fd, min(n, 1), off)

    def pwrite3(fd, data, off):  # at most three bytes at a time
        calls["w"] += 1
        return real_pwrite(fd, bytes(data[:3]), off)

    monkeypatch.setattr(os, "pwrite", pwrite3)
    f.write(0, b"0123456789")
    assert calls["w"] == 4
    monkeypatch.setattr(os, "pread", pread1)
    assert f.read(2, 100) == b"23456789"
    assert calls["r"] == 9  # 8 bytes + the empty read at EOF
    monkeypatch.undo()
    assert f.read(0, 10) == b"0123456789"
    f.close()


# =============================================================================
# Locking against the real sqlite3 (the oracle)
# =============================================================================

def _make_db(path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t(x)")
    con.execute("INSERT INTO t VALUES (42)")
    con.commit()
    con.close()


_CHILD = r"""
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=0)
try:
    if sys.argv[2] == "read":
        print("ok", con.execute("SELECT x FROM t").fetchall())
    else:
        con.execute("INSERT INTO t VALUES (1)")
        con.commit()
        print("ok write")
except sqlite3.OperationalError as e:
    print("error", e)
"""


def _child(path, mode) -> str:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), mode],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_lock_blocks_sqlite3_in_same_process(tmp_path):
    db = str(tmp_path / "t.db")
    _make_db(db)
    f = OsVFS().open(db)
    con = sqlite3.connect(db, timeout=0)
    try:
        f.lock_exclusive()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            con.execute("SELECT * FROM sqlite_master").fetchall()
        f.unlock()
        assert con.execute("SELECT x FROM t").fetchall() == [(42,)]
        # sqlite3 now holds no lock between statements: we can lock again.
        f.lock_exclusive()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            con.execute("SELECT x FROM t").fetchall()
        f.close()  # closing releases
        assert con.execute("SELECT x FROM t").fetchall() == [(42,)]
    finally:
        con.close()
        f.close()


def test_sqlite3_transaction_makes_us_busy(tmp_path):
    db = str(tmp_path / "t.db")
    _make_db(db)
    con = sqlite3.connect(db, timeout=0, isolation_level=None)
    f = OsVFS().open(db)
    try:
        con.execute("BEGIN")
        con.execute("SELECT x FROM t").fetchall()  # SHARED lock held
        with pytest.raises(BusyError):
            f.lock_exclusive()
        con.execute("COMMIT")
        f.lock_exclusive()
    finally:
        f.close()
        con.close()


def test_lock_blocks_sqlite3_in_subprocess(tmp_path):
    db = tmp_path / "t.db"
    _make_db(db)
    f = OsVFS().open(str(db))
    f.lock_exclusive()
    assert _child(db, "read") == "error database is locked"
    assert _child(db, "write") == "error database is locked"
    f.unlock()
    assert _child(db, "read") == "ok [(42,)]"
    f.close()


def test_readonly_lock_lets_sqlite3_read_but_not_write(tmp_path):
    db = tmp_path / "t.db"
    _make_db(db)
    r = OsVFS().open(str(db), readonly=True)
    r.lock_exclusive()
    con = sqlite3.connect(str(db), timeout=0)
    try:
        assert con.execute("SELECT x FROM t").fetchall() == [(42,)]
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            con.execute("INSERT INTO t VALUES (2)")
            con.commit()
        con.rollback()
        assert _child(db, "write") == "error database is locked"
        r.unlock()
        assert _child(db, "write") == "ok write"
    finally:
        con.close()
        r.close()


def test_lockf_fallback_still_blocks_other_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "_OFD_SETLK", None)
    db = tmp_path / "t.db"
    _make_db(db)
    f = OsVFS().open(str(db))
    f.lock_exclusive()
    assert _child(db, "read") == "error database is locked"
    f.unlock()
    assert _child(db, "read") == "ok [(42,)]"
    f.close()


# =============================================================================
# FaultVFS
# =============================================================================

def _file(vfs, path="/db", data=None, *, sync=True):
    f = vfs.open(path)
    if data is not None:
        f.write(0, data)
        if sync:
            f.sync()
    return f


def test_memoryvfs_test_helpers():
    vfs = MemoryVFS()
    vfs.write_bytes("/a", b"abc")
    f = vfs.open("/a", create=False)
    assert f.read(0, 3) == b"abc"
    vfs.write_bytes("/a", b"Z")
    assert f.read(0, 3) == b"Z"
    assert vfs.read_bytes("/a") == b"Z"
    assert vfs.listdir() == ["/a"]
    with pytest.raises(CantOpenError):
        vfs.read_bytes("/missing")


def test_memory_delete_keeps_open_handle_bytes():
    vfs = MemoryVFS()
    f = _file(vfs, data=b"old")
    vfs.delete("/db")
    assert f.read(0, 3) == b"old"
    g = vfs.open("/db")
    assert g.size() == 0
    g.lock_exclusive()
    f.lock_exclusive()  # different inode: no conflict


def test_crash_keeps_synced_and_drop_loses_unsynced():
    vfs = FaultVFS(seed=1)
    f = _file(vfs, data=b"A" * 1000)
    f.write(0, b"B" * 10)
    f.write(2000, b"C")
    assert f.read(0, 10) == b"B" * 10  # volatile state is what reads see
    assert vfs.durable_bytes("/db") == b"A" * 1000
    vfs.crash(policy="drop")
    with pytest.raises(DiskIOError):
        f.read(0, 1)
    g = vfs.open("/db")
    assert g.read(0, 5000) == b"A" * 1000


def test_crash_keep_policy_applies_everything_in_order():
    vfs = FaultVFS(seed=1)
    f = _file(vfs, data=b"A" * 100)
    f.write(0, b"B" * 50)
    f.truncate(80)
    f.write(70, b"C" * 20)
    expect = f.read(0, 1000)
    vfs.crash(policy="keep")
    assert vfs.open("/db").read(0, 1000) == expect == b"B" * 50 + b"A" * 20 + b"C" * 20


def test_sync_on_any_handle_makes_the_file_durable():
    vfs = FaultVFS(seed=3)
    a = _file(vfs)
    b = vfs.open("/db")
    a.write(0, b"from a")
    b.sync()
    vfs.crash(policy="drop")
    assert vfs.open("/db").read(0, 100) == b"from a"


def test_sync_is_per_file():
    vfs = FaultVFS(seed=3)
    a = _file(vfs, "/a")
    b = _file(vfs, "/b")
    a.write(0, b"aaa")
    b.write(0, b"bbb")
    a.sync()
    vfs.crash(policy="drop")
    assert vfs.open("/a").read(0, 9) == b"aaa"
    assert vfs.open("/b").read(0, 9) == b""


def test_crash_releases_locks_and_unhalts():
    vfs = FaultVFS(seed=0)
    f = _file(vfs)
    f.lock_exclusive()
    with pytest.raises(BusyError):
        vfs.open("/db").lock_exclusive()
    vfs.crash()
    g = vfs.open("/db")
    g.lock_exclusive()
    for call in (lambda: f.write(0, b"x"), f.sync, f.size, f.lock_exclusive):
        with pytest.raises(DiskIOError):
            call()
    f.unlock()  # allowed on a dead file, and does not drop g's lock
    f.close()
    with pytest.raises(BusyError):
        vfs.open("/db").lock_exclusive()


def test_existing_base_content_counts_as_durable():
    base = MemoryVFS()
    base.write_bytes("/db", b"durable")
    vfs = FaultVFS(seed=5, base=base)
    f = vfs.open("/db", create=False)
    f.write(0, b"XXXXXXX")
    vfs.crash(policy="drop")
    assert base.read_bytes("/db") == b"durable"


def _one_unsynced_write(seed, tear, *, offset=100, n=3000):
    """Durable zeros, then one unsynced write of non-zero bytes, then crash."""
    vfs = FaultVFS(seed=seed, tear=tear)
    f = _file(vfs, data=bytes(offset + n + 100))
    payload = bytes((i % 251) + 1 for i in range(n))
    f.write(offset, payload)
    vfs.crash()
    after = vfs.open("/db").read(0, 1 << 20)
    # The result must be durable content + some prefix of the write.
    kept = n - after[offset:offset + n].count(0)
    assert after == bytes(offset) + payload[:kept] + bytes(n - kept + 100)
    (_, _, _, reported, fate) = vfs.last_crash[0]
    assert reported == kept
    return kept, fate


@pytest.mark.parametrize("tear", ["sector", "any", "mixed"])
def test_random_crash_is_deterministic_per_seed_and_varies_across_seeds(tear):
    results = [_one_unsynced_write(seed, tear) for seed in range(40)]
    assert results == [_one_unsynced_write(seed, tear) for seed in range(40)]
    fates = {fate for _, fate in results}
    assert "whole" in fates and "drop" in fates
    kept_torn = {kept for kept, fate in results if fate.startswith("torn")}
    assert len({kept for kept, _ in results}) >= 4
    if tear == "sector":
        # Cuts fall on absolute 512-byte boundaries inside the write.
        assert all(kept == 0 or (100 + kept) % 512 == 0 for kept in kept_torn)
        assert any(kept > 0 for kept in kept_torn)
        assert fates <= {"whole", "drop", "torn-sector"}
    elif tear == "any":
        assert any((100 + kept) % 512 for kept in kept_torn)
        assert fates <= {"whole", "drop", "torn-any"}
    else:
        assert {"torn-sector", "torn-any"} <= fates


def test_random_crash_of_many_writes_is_deterministic():
    def run(seed):
        vfs = FaultVFS(seed=seed)
        f = _file(vfs, data=bytes(8192))
        for i in range(20):
            f.write(i * 400, bytes([i + 1]) * 700)
        f.truncate(9000)
        vfs.crash()
        return vfs.open("/db").read(0, 1 << 16), vfs.last_crash
    assert run(11) == run(11)
    assert len({run(s)[0] for s in range(8)}) == 8


def test_crash_at_fires_at_exactly_the_nth_op():
    vfs = FaultVFS(seed=0)
    f = _file(vfs)
    start = vfs.op_count
    vfs.crash_at(3)
    f.write(0, b"1")      # op 1
    f.sync()              # op 2
    f.read(0, 1)          # not counted
    f.truncate(1)         # not counted by default
    with pytest.raises(SimulatedCrash):
        f.write(1, b"2")  # op 3: raises before doing anything
    assert vfs.op_count - start == 3
    assert vfs.halted
    # Halted: nothing more happens until crash().
    with pytest.raises(SimulatedCrash):
        f.write(1, b"3")
    with pytest.raises(SimulatedCrash):
        f.read(0, 1)
    with pytest.raises(SimulatedCrash):
        vfs.open("/other")
    f.close()
    vfs.crash(policy="keep")
    assert not vfs.halted
    assert vfs.open("/db").read(0, 10) == b"1"


def test_simulated_crash_is_not_an_exception():
    assert not issubclass(SimulatedCrash, Exception)
    vfs = FaultVFS(seed=0)
    f = _file(vfs)
    vfs.crash_at(1)
    with pytest.raises(SimulatedCrash):
        try:
            f.write(0, b"x")
        except Exception:  # what engine code might do  # noqa: BLE001
            pytest.fail("SimulatedCrash was caught by except Exception")


def test_crash_at_kinds():
    vfs = FaultVFS(seed=0)
    f = _file(vfs)
    vfs.crash_at(2, kinds=("sync",))
    f.write(0, b"a")
    f.sync()
    f.write(1, b"b")
    f.write(2, b"c")
    with pytest.raises(SimulatedCrash):
        f.sync()
    vfs.crash(policy="drop")
    assert vfs.open("/db").read(0, 10) == b"a"
    with pytest.raises(ValueError):
        vfs.crash_at(1, kinds=("bogus",))


def _mini_commit(vfs):
    """A toy two-file commit: journal write + sync, db writes + sync, delete journal."""
    j = vfs.open("/db-journal")
    j.write(0, b"J" * 600)
    j.sync()
    d = vfs.open("/db")
    d.write(0, b"N" * 512)
    d.write(512, b"N" * 512)
    d.sync()
    j.close()
    vfs.delete("/db-journal")
    d.close()


def test_count_then_crash_at_every_point():
    counter = FaultVFS(seed=0)
    _file(counter, data=b"O" * 1024).close()
    before = counter.op_count
    _mini_commit(counter)
    n_ops = counter.op_count - before
    assert n_ops == 5
    outcomes = set()
    for k in range(1, n_ops + 1):
        vfs = FaultVFS(seed=k)
        _file(vfs, data=b"O" * 1024).close()
        before = vfs.op_count
        vfs.crash_at(k)
        with pytest.raises(SimulatedCrash):
            _mini_commit(vfs)
        assert vfs.op_count - before == k
        vfs.crash()
        db = vfs.open("/db").read(0, 2048)
        # Before the db sync (op 5) nothing on the db is durable; only
        # whole-or-torn prefixes of the two N writes may appear.
        assert len(db) == 1024 and set(db) <= {ord("O"), ord("N")}
        if k <= 3:
            assert db == b"O" * 1024
        outcomes.add(db)
    assert b"O" * 1024 in outcomes


def test_fail_sync_at():
    vfs = FaultVFS(seed=0)
    f = _file(vfs)
    vfs.fail_sync_at(2)
    f.write(0, b"one")
    f.sync()
    f.write(3, b"two")
    with pytest.raises(DiskIOError) as info:
        f.sync()
    assert info.value.sqlite_errorcode == SQLITE_IOERR_FSYNC
    assert vfs.durable_bytes("/db") == b"one"
    f.write(6, b"three")
    f.sync()  # one-shot: the next sync works
    assert vfs.durable_bytes("/db") == b"onetwothree"


def test_short_read_at():
    def run(seed):
        vfs = FaultVFS(seed=seed)
        f = _file(vfs, data=bytes(range(200)))
        vfs.short_read_at(2)
        first = f.read(0, 100)
        short = f.read(0, 100)
        third = f.read(0, 100)
        assert first == third == bytes(range(100))
        assert len(short) < 100 and short == bytes(range(len(short)))
        return len(short)
    lengths = [run(s) for s in range(20)]
    assert lengths == [run(s) for s in range(20)]
    assert len(set(lengths)) > 5


def test_enospc_after():
    vfs = FaultVFS(seed=0)
    f = _file(vfs, data=b"x" * 10)
    vfs.enospc_after(100)
    f.write(10, b"a" * 60)
    with pytest.raises(DiskFullError) as info:
        f.write(70, b"b" * 50)
    assert info.value.sqlite_errorname == "SQLITE_FULL"
    assert f.size() == 70 and f.read(0, 100) == b"x" * 10 + b"a" * 60
    f.write(70, b"c" * 40)  # still fits
    with pytest.raises(DiskFullError):
        f.write(0, b"d")
    vfs.enospc_after(None)
    f.write(0, b"d")
    assert f.read(0, 1) == b"d"


def test_counters_and_disarm():
    vfs = FaultVFS(seed=0)
    f = _file(vfs, data=b"abc")
    f.read(0, 3)
    f.truncate(1)
    assert (vfs.reads, vfs.writes, vfs.syncs, vfs.truncates) == (1, 1, 1, 1)
    assert vfs.op_count == 2
    vfs.crash_at(1)
    vfs.fail_sync_at(1)
    vfs.short_read_at(1)
    vfs.enospc_after(0)
    vfs.disarm()
    f.write(0, b"zz")
    f.sync()
    assert f.read(0, 2) == b"zz"


def test_fault_delete_is_durable_and_recreate_starts_empty():
    vfs = FaultVFS(seed=0)
    _file(vfs, data=b"old").close()
    vfs.delete("/db")
    g = vfs.open("/db")
    g.write(0, b"new")
    vfs.crash(policy="drop")
    assert vfs.exists("/db")
    assert vfs.open("/db").read(0, 10) == b""


def test_fault_readonly():
    vfs = FaultVFS(seed=0)
    _file(vfs, data=b"abc").close()
    r = vfs.open("/db", readonly=True)
    with pytest.raises(ReadOnlyError):
        r.write(0, b"x")
    with pytest.raises(ReadOnlyError):
        r.truncate(0)
    assert r.read(0, 3) == b"abc"
