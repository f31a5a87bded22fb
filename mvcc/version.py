"""Row versions and the visibility rule (Hekaton, Larson et al. VLDB 2011, section 2).

A ``Version`` lives in a chain (a list, oldest first) under one key of one tree.
``begin`` and ``end`` are commit timestamps (ints) or the ``Transaction`` that is
still writing them; ``INF`` means "not ended". This module owns only the
rule "is this version visible to that transaction", including the wait on a
Preparing writer; chains and their locks belong to ``mvcc.tree``.
"""
from __future__ import annotations

from typing import Any

INF = 1 << 62

# Transaction states, drawn in docs/mvcc.md.
ACTIVE, PREPARING, COMMITTED, ABORTED = 0, 1, 2, 3
STATE_NAMES = ("Active", "Preparing", "Committed", "Aborted")


class Version:
    """One version of a key: ``payload`` is the record bytes (tables) or True (indexes)."""

    __slots__ = ("begin", "end", "payload")

    def __init__(self, begin: Any, end: Any, payload: Any) -> None:
        self.begin = begin
        self.end = end
        self.payload = payload

    def __repr__(self) -> str:
        def show(x: Any) -> str:
            return "INF" if x == INF else (str(x) if type(x) is int else f"T{x.id}")
        return f"<Version [{show(self.begin)}, {show(self.end)}) {self.payload!r:.40}>"


def _stamp_before(stamp: Any, txn: Any) -> bool:
    """True if ``stamp`` (a timestamp or a writer) took effect before ``txn``'s snapshot.

    Our own writes count as "before". A writer in Preparing with a commit
    timestamp below our begin timestamp is waited for: its outcome decides, and
    we never read a state that may still abort (DESIGN: Transactions).
    """
    if type(stamp) is int:
        return stamp < txn.begin_ts
    if stamp is txn:
        return True
    while True:
        state = stamp.state
        if state == COMMITTED:
            return stamp.commit_ts < txn.begin_ts
        if state == PREPARING and stamp.commit_ts < txn.begin_ts:
            stamp.done.wait()
            continue
        return False  # Active, Aborted, or Preparing after our snapshot


def is_visible(v: Version, txn: Any) -> bool:
    """Whether transaction ``txn`` sees version ``v``."""
    return _stamp_before(v.begin, txn) and not _stamp_before(v.end, txn)


def visible_version(chain: list[Version], txn: Any) -> Version | None:
    """The version of ``chain`` that ``txn`` sees, or None (the key does not exist for it)."""
    for i in range(len(chain) - 1, -1, -1):
        v = chain[i]
        if _stamp_before(v.begin, txn):
            return None if _stamp_before(v.end, txn) else v
    return None


def effective_ts(stamp: Any) -> int | None:
    """A stamp's commit timestamp if it is committed, else None (still live or aborted)."""
    if type(stamp) is int:
        return stamp
    return stamp.commit_ts if stamp.state == COMMITTED else None
