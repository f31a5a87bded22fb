"""Hypothesis state machine: random commits (growing, shrinking), readers that
come and go, checkpoints of every mode, cache resizing, clean reopens and
power losses, against a model of committed states.

Checked after every step: the pager's invariants (``_check``), every live
reader still sees exactly its snapshot, checkpoint results obey SQLite's
rules (never past the oldest reader, busy only when a reader is behind), and
after a power loss the database is exactly the last committed state
(synchronous=FULL) or one of the states since the last durable point
(synchronous=NORMAL). MVLITE_SLOW=1 runs 3000 examples instead of 200.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from storage.io import FaultVFS, SimulatedCrash
from storage.pager import Pager

PS = 512
PATH = "/sm/t.db"


def _fill(t: int, pgno: int) -> bytes:
    return (f"[{t}/{pgno}]".encode() * PS)[:PS]


class PagerMachine(RuleBasedStateMachine):
    @initialize(seed=st.integers(0, 10**6), sync=st.sampled_from([1, 2]),
                cache=st.sampled_from([10, 50, -2000]), auto=st.sampled_from([0, 5, 30]))
    def start(self, seed, sync, cache, auto):
        self.vfs = FaultVFS(seed=seed)
        self.sync, self.cache, self.auto = sync, cache, auto
        self.t = 0
        self.states = [(1, {})]  # committed states, oldest first
        self.durable = 0  # index of the oldest state a power loss may bring back
        self.readers = []  # (ReadTxn, state index)
        self.in_flight = None  # the state a commit in progress would make
        self._open()

    def _open(self):
        self.pager = Pager.open(PATH, vfs=self.vfs, page_size=PS, synchronous=self.sync,
                                cache_size=self.cache, wal_autocheckpoint=self.auto)

    def _read_all(self, txn):
        return (txn.db_size, {p: bytes(txn.page(p).data) for p in range(2, txn.db_size + 1)})

    def _do_commit(self, pages, grow, shrink):
        """Commit; returns the new state (appended to the model only if it returned)."""
        size, content = self.states[-1]
        txn = self.pager.begin_write()
        new = dict(content)
        if shrink and size - shrink >= 1:
            txn.truncate(size - shrink)
            new = {p: d for p, d in new.items() if p <= size - shrink}
        for _ in range(grow):
            pg = txn.append_page()
            new[pg.pgno] = bytes(PS)
        self.t += 1
        for p in pages:
            if p <= txn.db_size:
                txn.writable(p).data[:] = _fill(self.t, p)
                new[p] = _fill(self.t, p)
        state = (txn.db_size, new)
        self.in_flight = state
        before = self.pager.stats["wal_syncs"]
        txn.commit()
        self.in_flight = None
        self.states.append(state)
        if self.sync == 2 or self.pager.stats["wal_syncs"] > before:
            self.durable = len(self.states) - 1
        return state

    @rule(pages=st.lists(st.integers(2, 40), max_size=8), grow=st.integers(0, 6),
          shrink=st.integers(0, 3))
    def commit(self, pages, grow, shrink):
        self._do_commit(pages, grow, shrink)

    @rule(k=st.integers(1, 10), op=st.sampled_from(["commit", "passive", "truncate", "close"]),
          pages=st.lists(st.integers(2, 40), max_size=8), grow=st.integers(0, 3),
          policy=st.sampled_from(["random", "drop", "keep"]))
    def crash_during(self, k, op, pages, grow, policy):
        """Power loss at the k-th write/sync/truncate of an operation (if it has k)."""
        self.in_flight = None
        self.vfs.crash_at(k, kinds=("write", "sync", "truncate"))
        try:
            if op == "commit":
                self._do_commit(pages, grow, 0)
            elif op == "close":
                for txn, _ in self.readers:
                    txn.end()
                self.readers = []
                self.pager.close()
                self.durable = len(self.states) - 1
            else:
                self.checkpoint(op.upper())
        except SimulatedCrash:
            pass
        self.vfs.disarm()
        self._lose_power(policy, extra=self.in_flight)

    def _lose_power(self, policy, extra=None):
        self.readers = []
        self.vfs.crash(policy=policy)
        self._open()
        with self.pager.begin_read() as r:
            got = self._read_all(r)
        candidates = self.states[self.durable:]
        if extra is not None:
            candidates = candidates + [extra]
        assert got in candidates
        # continue from what survived
        idx = len(candidates) - 1 - candidates[::-1].index(got)
        self.states = (self.states[:self.durable] + candidates)[:self.durable + idx + 1]
        self.durable = len(self.states) - 1

    @rule()
    def begin_read(self):
        self.readers.append((self.pager.begin_read(), len(self.states) - 1))

    @precondition(lambda self: self.readers)
    @rule(i=st.integers(0, 10))
    def end_read(self, i):
        txn, _ = self.readers.pop(i % len(self.readers))
        txn.end()

    @rule(mode=st.sampled_from(["PASSIVE", "FULL", "RESTART", "TRUNCATE"]))
    def checkpoint(self, mode):
        mx_before = self.pager.mx_frame
        oldest = min((r._snap.mark for r, _ in self.readers), default=mx_before)
        behind = any(r._snap.mark < mx_before for r, _ in self.readers)
        syncs = self.pager.stats["wal_syncs"]
        busy, log, done = self.pager.checkpoint(mode)
        if mode == "PASSIVE":
            assert busy == 0 and log == mx_before and done <= min(oldest, log)
        elif behind:
            assert busy == 1 and done <= oldest
        elif mode == "TRUNCATE":
            assert (busy, log, done) == (0, 0, 0)
        else:
            assert (busy, log, done) == (0, mx_before, mx_before)
        if self.pager.stats["wal_syncs"] > syncs or done == log:
            # it synced the whole WAL, or the db file (synced) holds the newest state
            self.durable = len(self.states) - 1

    @rule(cache=st.sampled_from([10, 25, 200]))
    def resize_cache(self, cache):
        self.pager.cache_size = cache

    @rule()
    def reopen(self):
        for txn, _ in self.readers:
            txn.end()
        self.readers = []
        self.pager.close()
        assert not self.vfs.exists(PATH + "-wal")
        self._open()
        self.durable = len(self.states) - 1
        with self.pager.begin_read() as r:
            assert self._read_all(r) == self.states[-1]

    @rule(policy=st.sampled_from(["random", "drop", "keep"]))
    def power_loss(self, policy):
        self._lose_power(policy)

    @invariant()
    def consistent(self):
        self.pager._check()
        for txn, idx in self.readers:
            assert self._read_all(txn) == self.states[idx]

    def teardown(self):
        try:
            self.pager._abandon()
        except AttributeError:
            pass


PagerMachine.TestCase.settings = settings(
    max_examples=3000 if os.environ.get("MVLITE_SLOW") == "1" else 200, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_pager_state_machine = PagerMachine.TestCase
