"""Crash safety with the fault injector: for each scenario, count the write /
sync / truncate operations of the action under test, then for every point k
crash there (SimulatedCrash before the k-th op), lose power (``vfs.crash()``
with seeded torn/dropped/kept writes), reopen, and check the exact state.

The rule checked: every transaction whose ``commit()`` returned is there; the
one in flight is either entirely there or entirely absent (never half); a
checkpoint or close in flight changes nothing visible. Also: fsync failure
and ENOSPC are ordinary errors after which the pager stays usable and
consistent, and a failed commit never resurfaces after a crash.
"""
from __future__ import annotations

import pytest

from storage.errors import DiskFullError, DiskIOError
from storage.header import DatabaseHeader, new_database_page1
from storage.io import FaultVFS, SimulatedCrash
from storage.pager import Pager

PS = 512
PATH = "/crash/t.db"
KINDS = ("write", "sync", "truncate")


def _fill(t: int, pgno: int) -> bytes:
    return (f"T{t}P{pgno};".encode() * PS)[:PS]


class Model:
    """Committed states: size + page contents (2..size) after each transaction."""

    def __init__(self) -> None:
        self.size = 1
        self.pages: dict[int, bytes] = {}

    def state(self):
        return (self.size, dict(self.pages))


def _open(vfs, **kw):
    kw.setdefault("page_size", PS)
    kw.setdefault("wal_autocheckpoint", 0)
    return Pager.open(PATH, vfs=vfs, **kw)


def _commit(pager, model, t, pgnos=(), grow_to=None, truncate_to=None):
    txn = pager.begin_write()
    if truncate_to:
        txn.truncate(truncate_to)
    while grow_to and txn.db_size < grow_to:
        txn.append_page()
    for pgno in pgnos:
        txn.writable(pgno).data[:] = _fill(t, pgno)
    txn.commit()
    if model is not None:
        model.size = txn.db_size
        model.pages = {p: d for p, d in model.pages.items() if p <= model.size}
        for p in range(2, model.size + 1):
            model.pages.setdefault(p, bytes(PS))
        for pgno in pgnos:
            model.pages[pgno] = _fill(t, pgno)


def _read_state(vfs):
    pager = _open(vfs)
    try:
        pager._check()
        with pager.begin_read() as r:
            h = DatabaseHeader.parse(r.page(1).data)
            assert h.db_size == r.db_size and h.db_size_valid
            state = (r.db_size, {p: bytes(r.page(p).data) for p in range(2, r.db_size + 1)})
        # the recovered database stays writable and consistent
        _commit(pager, None, 99, [2], grow_to=2)
        pager.checkpoint("PASSIVE")
        with pager.begin_read() as r:
            assert r.page(2).data == _fill(99, 2)
    finally:
        pager._abandon()
    return state


# ------------------------------------------------------------------ scenarios
# each: setup(vfs, model) -> pager ; action(pager, model_after) ; is_commit

def _s_first_commit(vfs, m):
    return _open(vfs)


def _s_append(vfs, m):
    p = _open(vfs)
    _commit(p, m, 1, range(2, 9), grow_to=8)
    _commit(p, m, 2, [3, 6])
    return p


def _s_restart(vfs, m):
    p = _s_append(vfs, m)
    assert p.checkpoint("PASSIVE")[2] == p.mx_frame
    return p


def _s_big(vfs, m):
    p = _open(vfs)
    _commit(p, m, 1, range(2, 21), grow_to=20)
    _commit(p, m, 2, range(2, 21, 2))
    _commit(p, m, 3, [5, 17])
    return p


def _s_scattered(vfs, m):
    p = _open(vfs)
    _commit(p, m, 1, range(2, 21), grow_to=20)
    p.checkpoint("PASSIVE")
    _commit(p, m, 2, [2, 5, 9, 17])
    _commit(p, m, 3, [5, 11], grow_to=23)
    return p


def _s_shrunk(vfs, m):
    p = _open(vfs)
    _commit(p, m, 1, range(2, 13), grow_to=12)
    p.checkpoint("PASSIVE")
    _commit(p, m, 2, [2, 3], truncate_to=5)
    return p


def _a_commit(p, m):
    _commit(p, m, 7, [2, 4, 5], grow_to=9)


def _a_commit_shrink(p, m):
    _commit(p, m, 7, [3], truncate_to=4)


def _a_passive(p, m):
    p.checkpoint("PASSIVE")


def _a_truncate(p, m):
    p.checkpoint("TRUNCATE")


def _a_close(p, m):
    p.close()


SCENARIOS = {
    "first-commit": (_s_first_commit, _a_commit, True),
    "append-commit": (_s_append, _a_commit, True),
    "restart-commit": (_s_restart, _a_commit, True),
    "shrink-commit": (_s_append, _a_commit_shrink, True),
    "checkpoint-passive": (_s_big, _a_passive, False),
    "checkpoint-scattered": (_s_scattered, _a_passive, False),
    "checkpoint-truncate-shrunk": (_s_shrunk, _a_truncate, False),
    "close": (_s_big, _a_close, False),
}


def _ops(vfs):
    return vfs.writes + vfs.syncs + vfs.truncates


def _count_ops(setup, action):
    vfs = FaultVFS(seed=0)
    m = Model()
    pager = setup(vfs, m)
    before = m.state()
    n0 = _ops(vfs)
    action(pager, m)
    n = _ops(vfs) - n0
    after = m.state()
    # a completed action survives any power loss
    vfs.crash()
    assert _read_state(vfs) == after
    return n, before, after


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_crash_at_every_point(name):
    setup, action, is_commit = SCENARIOS[name]
    n, before, after = _count_ops(setup, action)
    assert n >= 2
    if not is_commit:
        assert before == after
    outcomes = set()
    for k in range(1, n + 1):
        for seed, policy in [(s, "random") for s in range(8)] + [(100, "drop"), (101, "keep")]:
            vfs = FaultVFS(seed=seed * 1000 + k)
            m = Model()
            pager = setup(vfs, m)
            assert m.state() == before
            vfs.crash_at(k, kinds=KINDS)
            with pytest.raises(SimulatedCrash):
                action(pager, Model())
            vfs.crash(policy=policy)
            got = _read_state(vfs)
            assert got in (before, after), (name, k, seed, policy)
            if policy == "drop":
                assert got == before, (name, k)  # nothing unsynced survives
            outcomes.add(got == after)
    if is_commit:
        # a crash at the last op (the WAL fsync) with every write kept shows the commit
        assert outcomes == {False, True}


def test_crash_while_creating_a_database():
    vfs = FaultVFS(seed=1)
    n0 = _ops(vfs)
    _open(vfs)._abandon()
    n = _ops(vfs) - n0
    assert n >= 3  # journal write + sync, page 1 write + sync (+ journal truncate)
    for k in range(1, n + 1):
        for seed in range(6):
            vfs = FaultVFS(seed=seed + 10 * k, tear="any")
            vfs.crash_at(k, kinds=KINDS)
            with pytest.raises(SimulatedCrash):
                _open(vfs)
            vfs.crash()
            assert _read_state(vfs) == (1, {})  # an empty, valid database


def test_crash_during_switch_from_rollback_journal_mode():
    page1 = bytearray(new_database_page1(PS))
    page1[18] = page1[19] = 1  # a legacy (rollback-journal) database

    def setup(vfs, m):
        vfs.base.write_bytes(PATH, bytes(page1))
        return _open(vfs)

    n, before, after = _count_ops(setup, _a_commit)
    assert n == 6  # bytes 18/19 + fsync, WAL header + fsync (before any frame), frames + fsync
    for k in range(1, n + 1):
        for seed in range(6):
            vfs = FaultVFS(seed=seed + 7 * k)
            pager = setup(vfs, Model())
            vfs.crash_at(k, kinds=KINDS)
            with pytest.raises(SimulatedCrash):
                _a_commit(pager, Model())
            vfs.crash()
            assert _read_state(vfs) in (before, after)


def test_fsync_failure_fails_the_commit_and_it_never_resurfaces():
    for seed in range(6):
        vfs = FaultVFS(seed=seed)
        m = Model()
        pager = _s_append(vfs, m)
        before = m.state()
        vfs.fail_sync_at(1)
        with pytest.raises(DiskIOError) as ei:
            _a_commit(pager, Model())
        assert ei.value.sqlite_errorname == "SQLITE_IOERR_FSYNC"
        pager._check()
        with pager.begin_read() as r:
            assert (r.db_size, {p: r.page(p).data for p in range(2, r.db_size + 1)}) == before
        if seed % 2:
            # crash right away: the failed transaction must not come back
            vfs.crash()
            assert _read_state(vfs) == before
        else:
            # still usable: the next commit works and is durable
            _commit(pager, m, 8, [2, 3])
            vfs.crash()
            assert _read_state(vfs) == m.state()


def test_fsync_failure_during_checkpoint_changes_nothing():
    vfs = FaultVFS(seed=3)
    m = Model()
    pager = _s_big(vfs, m)
    vfs.fail_sync_at(1)
    with pytest.raises(DiskIOError):
        pager.checkpoint("PASSIVE")
    assert pager.backfilled == 0
    pager._check()
    assert pager.checkpoint("PASSIVE")[2] == pager.mx_frame
    vfs.crash()
    assert _read_state(vfs) == m.state()


def test_disk_full_commit_is_invisible_and_pager_recovers():
    vfs = FaultVFS(seed=4)
    m = Model()
    pager = _s_append(vfs, m)
    before = m.state()
    vfs.enospc_after(300)  # less than one frame
    with pytest.raises(DiskFullError):
        _commit(pager, Model(), 9, range(2, 9))
    with pager.begin_read() as r:
        assert r.db_size == before[0] and r.page(3).data == before[1][3]
    pager._check()
    vfs.enospc_after(None)
    _commit(pager, m, 10, [4])
    vfs.crash()
    assert _read_state(vfs) == m.state()


def test_short_read_is_retried():
    vfs = FaultVFS(seed=5)
    m = Model()
    pager = _s_append(vfs, m)
    pager._cache.clear()
    vfs.short_read_at(1)
    with pager.begin_read() as r:
        assert r.page(3).data == _fill(2, 3)
    pager._abandon()


def test_every_returned_commit_survives_power_loss_under_many_seeds():
    """Many small commits, then power loss with random fates for anything unsynced."""
    for seed in range(5):
        vfs = FaultVFS(seed=seed, tear="mixed")
        m = Model()
        pager = _open(vfs, wal_autocheckpoint=7)
        for t in range(1, 25):
            _commit(pager, m, t, [2 + t % 5, 2 + (t * 3) % 7], grow_to=9)
        vfs.crash()
        assert _read_state(vfs) == m.state()


def test_short_reads_during_recovery_never_give_a_wrong_state():
    """Each read of an open (WAL recovery) and a full scan may come back short:
    the result is the exact committed state or DiskIOError, never a lost commit."""
    base = FaultVFS(seed=9)
    m = Model()
    pager = _s_big(base, m)
    pager._abandon()  # the WAL must be recovered on the next open
    files = {p: base.base.read_bytes(p) for p in base.base.listdir()}

    def attempt(n):
        vfs = FaultVFS(seed=n)
        for p, data in files.items():
            vfs.base.write_bytes(p, data)
        r0 = vfs.reads
        if n:
            vfs.short_read_at(n)
        p = _open(vfs)
        try:
            with p.begin_read() as r:
                got = (r.db_size, {i: bytes(r.page(i).data) for i in range(2, r.db_size + 1)})
        finally:
            p._abandon()
        return got, vfs.reads - r0

    got, n_reads = attempt(0)
    assert got == m.state() and n_reads >= 3
    outcomes = set()
    for n in range(1, n_reads + 1):
        try:
            got, _ = attempt(n)
        except DiskIOError:
            outcomes.add("error")
            continue
        assert got == m.state(), n
        outcomes.add("ok")
    assert "ok" in outcomes
