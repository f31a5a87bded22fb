"""Concurrency stress runs and the deterministic simulator for mvlite's MVCC engine.

Single job: try hard to break ``mvcc`` + ``storage`` and say so with numbers.
Two tools, both behind ``python -m stress`` (``stress/__main__.py``):

- ``stress.runner``: N real threads x M transactions on a real file (bank
  transfers, counters, auto-rowid inserts, deletes, savepoints), invariants
  checked with numbers, then ``sqlite3``'s ``PRAGMA integrity_check`` and a
  reopen (``python -m stress run``).
- ``stress.simulator``: one thread drives many transactions in a seeded random
  interleaving over a fault-injecting VFS (crashes, fsync errors, ENOSPC,
  short reads); a serial model of the acknowledged commits is the oracle
  (``python -m stress sim``).

``stress.workloads`` holds the kill-me-anytime writer that ``tests/mvcc/
test_sigkill.py`` SIGKILLs. The MVCC contract the oracles check is
``docs/mvcc.md``.
"""
