"""Isolation anomaly tests (Adya's phenomena as catalogued by Hermitage), step by step.

Each test interleaves two or three transactions on rows x (id 1, value 10) and
y (id 2, value 20). Under BEGIN CONCURRENT (snapshot isolation) every anomaly
but write skew (G2-item) is prevented; under plain BEGIN (one writer at a time,
stale snapshots refused) write skew is prevented too.
"""
from __future__ import annotations

import pytest

from mvcc.errors import ConflictError
from storage.errors import BusyError, OperationalError

X, Y = 1, 2


def begin(env, mode="concurrent"):
    return env.db.begin(mode, timeout=0.05)


def test_g0_dirty_write_prevented(env):
    t1, t2 = begin(env), begin(env)
    env.set(t1, X, 11)
    with pytest.raises(ConflictError):
        env.set(t2, X, 12)            # first updater wins, at once
    env.set(t1, Y, 21)
    t1.commit()
    t3 = begin(env)
    assert (env.value(t3, X), env.value(t3, Y)) == (11, 21)
    t3.commit()


def test_g1a_aborted_read_prevented(env):
    t1, t2 = begin(env), begin(env)
    env.set(t1, X, 101)
    assert env.value(t2, X) == 10
    t1.rollback()
    assert env.value(t2, X) == 10
    t2.commit()
    t3 = begin(env)
    assert env.value(t3, X) == 10


def test_g1b_intermediate_read_prevented(env):
    t1, t2 = begin(env), begin(env)
    env.set(t1, X, 101)
    assert env.value(t2, X) == 10
    env.set(t1, X, 11)
    t1.commit()
    assert env.value(t2, X) == 10     # neither the intermediate nor the final value
    t2.commit()


def test_g1c_circular_information_flow_prevented(env):
    t1, t2 = begin(env), begin(env)
    env.set(t1, X, 11)
    env.set(t2, Y, 22)
    assert env.value(t1, Y) == 20
    assert env.value(t2, X) == 10
    t1.commit()
    t2.commit()
    t3 = begin(env)
    assert (env.value(t3, X), env.value(t3, Y)) == (11, 22)


def test_otv_observed_transaction_vanishes_prevented(env):
    t1, t2, t3 = begin(env), begin(env), begin(env)
    env.set(t1, X, 11)
    env.set(t1, Y, 19)
    with pytest.raises(ConflictError):
        env.set(t2, X, 12)
    t1.commit()
    assert env.value(t3, X) == 10     # t3's snapshot predates t1
    assert env.value(t3, Y) == 20
    t4 = begin(env)
    assert (env.value(t4, X), env.value(t4, Y)) == (11, 19)


def test_pmp_predicate_many_preceders_prevented(env):
    t1, t2 = begin(env), begin(env)
    assert env.where(t1, lambda v: v == 30) == []
    t2.insert(env.t, 3, (None, 30))
    t2.commit()
    assert env.where(t1, lambda v: v % 3 == 0) == []   # the insert stays invisible
    t1.commit()
    t3 = begin(env)
    assert env.where(t3, lambda v: v % 3 == 0) == [(3, 30)]


def test_pmp_write_predicate_many_preceders_prevented(env):
    t1, t2 = begin(env), begin(env)
    for rowid, row in list(t1.rows(env.t)):
        t1.update(env.t, rowid, (None, row[1] + 10))
    assert env.where(t2, lambda v: v == 20) == [(Y, 20)]
    with pytest.raises(ConflictError):
        t2.delete(env.t, Y)            # t1 is changing it
    t1.commit()
    t3 = begin(env)
    assert env.where(t3, lambda v: True) == [(X, 20), (Y, 30)]


def test_p4_lost_update_prevented(env):
    t1, t2 = begin(env), begin(env)
    assert env.value(t1, X) == 10
    assert env.value(t2, X) == 10
    env.set(t1, X, 11)
    with pytest.raises(ConflictError):
        env.set(t2, X, 11)
    t1.commit()


def test_p4_lost_update_after_commit_prevented(env):
    t1, t2 = begin(env), begin(env)
    assert env.value(t2, X) == 10
    env.set(t1, X, 11)
    t1.commit()
    with pytest.raises(ConflictError):  # committed after t2's snapshot
        env.set(t2, X, 11)


def test_g_single_read_skew_prevented(env):
    t1, t2 = begin(env), begin(env)
    assert env.value(t1, X) == 10
    env.set(t2, X, 12)
    env.set(t2, Y, 18)
    t2.commit()
    assert env.value(t1, Y) == 20     # not 18: x + y stays 30 for t1
    t1.commit()


def test_g_single_predicate_read_skew_prevented(env):
    t1, t2 = begin(env), begin(env)
    assert env.where(t1, lambda v: v % 5 == 0) == [(X, 10), (Y, 20)]
    env.set(t2, X, 12)
    env.set(t2, Y, 18)
    t2.commit()
    assert env.where(t1, lambda v: v % 3 == 0) == []
    t1.commit()


def test_g_single_write_read_skew_prevented(env):
    t1, t2 = begin(env), begin(env)
    assert env.value(t1, X) == 10
    env.set(t2, X, 12)
    env.set(t2, Y, 18)
    t2.commit()
    with pytest.raises(ConflictError):
        t1.delete(env.t, Y)           # y changed after t1's snapshot


def test_g2_item_write_skew_allowed_under_concurrent(env):
    t1, t2 = begin(env), begin(env)
    assert env.value(t1, X) + env.value(t1, Y) == 30
    assert env.value(t2, X) + env.value(t2, Y) == 30
    env.set(t1, X, 11)
    env.set(t2, Y, 21)
    t1.commit()
    t2.commit()                        # snapshot isolation: both commit (documented)
    t3 = begin(env)
    assert (env.value(t3, X), env.value(t3, Y)) == (11, 21)


# -- plain BEGIN: one writer at a time; every anomaly, write skew included, prevented


@pytest.mark.parametrize("mode", ["deferred", "immediate"])
def test_g2_item_write_skew_prevented_under_plain_begin(env, mode):
    t1 = begin(env, mode)
    assert env.value(t1, X) + env.value(t1, Y) == 30
    t2 = begin(env, "deferred") if mode == "deferred" else None
    if t2 is not None:
        assert env.value(t2, X) + env.value(t2, Y) == 30
    env.set(t1, X, 11)
    if t2 is not None:
        with pytest.raises(BusyError):     # t1 holds the writer slot
            env.set(t2, Y, 21)
    t1.commit()
    if t2 is not None:
        with pytest.raises(ConflictError) as info:   # its snapshot is now stale
            env.set(t2, Y, 21)
        assert info.value.sqlite_errorcode == 517
    t3 = begin(env)
    assert (env.value(t3, X), env.value(t3, Y)) == (11, 20)


def test_plain_begin_dirty_write_and_lost_update_prevented(env):
    t1, t2 = begin(env, "deferred"), begin(env, "deferred")
    assert env.value(t2, X) == 10
    env.set(t1, X, 11)
    with pytest.raises(BusyError):
        env.set(t2, X, 12)
    t1.commit()
    with pytest.raises(ConflictError):
        env.set(t2, X, 12)


def test_plain_begin_read_skew_prevented(env):
    t1, t2 = begin(env, "deferred"), begin(env, "immediate")
    assert env.value(t1, X) == 10
    env.set(t2, X, 12)
    env.set(t2, Y, 18)
    t2.commit()
    assert env.value(t1, Y) == 20
    t1.commit()


def test_concurrent_cannot_commit_over_exclusive_writer(env):
    w = begin(env, "immediate")
    c = begin(env)
    env.set(c, Y, 21)
    env.set(w, X, 11)
    with pytest.raises(BusyError):
        c.commit()                     # waits for the slot, then SQLITE_BUSY
    w.commit()


def test_conflict_error_is_typed_and_rolls_back(env):
    t1, t2 = begin(env), begin(env)
    env.set(t1, X, 11)
    env.set(t2, Y, 22)
    with pytest.raises(ConflictError) as info:
        env.set(t2, X, 12)
    err = info.value
    assert isinstance(err, OperationalError)
    assert err.sqlite_errorcode == 517 and err.sqlite_errorname == "SQLITE_BUSY_SNAPSHOT"
    assert err.retryable is True
    with pytest.raises(OperationalError):
        env.value(t2, Y)               # t2 is rolled back: its y write is gone
    t1.commit()
    t3 = begin(env)
    assert (env.value(t3, X), env.value(t3, Y)) == (11, 20)


# -- the remaining anomalies under plain BEGIN (DEFERRED): the writer slot and the
#    stale-snapshot check take the place of first-updater-wins


def test_plain_g1a_aborted_read_prevented(env):
    t1, t2 = begin(env, "deferred"), begin(env, "deferred")
    env.set(t1, X, 101)
    assert env.value(t2, X) == 10
    t1.rollback()
    assert env.value(t2, X) == 10
    t2.commit()


def test_plain_g1b_intermediate_read_prevented(env):
    t1, t2 = begin(env, "deferred"), begin(env, "deferred")
    env.set(t1, X, 101)
    assert env.value(t2, X) == 10
    env.set(t1, X, 11)
    t1.commit()
    assert env.value(t2, X) == 10
    t2.commit()


def test_plain_g1c_circular_information_flow_prevented(env):
    t1, t2 = begin(env, "deferred"), begin(env, "deferred")
    env.set(t1, X, 11)
    with pytest.raises(BusyError):
        env.set(t2, Y, 22)            # only one writer at a time
    assert env.value(t2, X) == 10
    t1.commit()
    with pytest.raises(ConflictError):
        env.set(t2, Y, 22)            # t1 committed after t2's snapshot
    t3 = begin(env)
    assert (env.value(t3, X), env.value(t3, Y)) == (11, 20)


def test_plain_otv_prevented(env):
    t1, t2, t3 = begin(env, "deferred"), begin(env, "deferred"), begin(env, "deferred")
    env.set(t1, X, 11)
    env.set(t1, Y, 19)
    with pytest.raises(BusyError):
        env.set(t2, X, 12)
    t1.commit()
    assert (env.value(t3, X), env.value(t3, Y)) == (10, 20)
    t3.commit()


def test_plain_pmp_prevented(env):
    t1, t2 = begin(env, "deferred"), begin(env, "deferred")
    assert env.where(t1, lambda v: v == 30) == []
    t2.insert(env.t, 3, (None, 30))
    t2.commit()
    assert env.where(t1, lambda v: v % 3 == 0) == []
    t1.commit()


def test_plain_pmp_write_prevented(env):
    t1, t2 = begin(env, "deferred"), begin(env, "deferred")
    for rowid, row in list(t1.rows(env.t)):
        t1.update(env.t, rowid, (None, row[1] + 10))
    assert env.where(t2, lambda v: v == 20) == [(Y, 20)]
    with pytest.raises(BusyError):
        t2.delete(env.t, Y)
    t1.commit()
    with pytest.raises(ConflictError):
        t2.delete(env.t, Y)
    t3 = begin(env)
    assert env.where(t3, lambda v: True) == [(X, 20), (Y, 30)]


def test_plain_g_single_predicate_and_write_prevented(env):
    t1, t2 = begin(env, "deferred"), begin(env, "deferred")
    assert env.where(t1, lambda v: v % 5 == 0) == [(X, 10), (Y, 20)]
    env.set(t2, X, 12)
    env.set(t2, Y, 18)
    t2.commit()
    assert env.where(t1, lambda v: v % 3 == 0) == []
    with pytest.raises(ConflictError):
        t1.delete(env.t, Y)           # G-single-write: t1's snapshot is stale
