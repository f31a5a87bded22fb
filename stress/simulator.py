"""The deterministic simulator: one thread, many transactions, injected faults, a serial oracle.

Single job: for one seed, drive several ``mvcc`` transactions through a seeded
random interleaving of steps (begin, get, scan, insert, insert_auto, update,
delete, savepoint, rollback to, release, commit, rollback, clean reopen) on a
``storage.io.FaultVFS`` that injects crash points (then power loss, abandon,
reopen), fsync failures, ENOSPC and short reads; and check every outcome
against a serial model of the acknowledged commits. The contract checked is
``docs/mvcc.md`` (snapshot isolation, first updater wins, the writer slot of
plain BEGIN); the on-disk side is SQLite's (https://www.sqlite.org/
fileformat2.html, https://www.sqlite.org/walformat.html), judged by the stdlib
``sqlite3`` at the end of every seed.

The oracle, rule by rule (``T`` the transaction doing the step):

- reads: ``get``/``rows`` equal T's snapshot (the model state when T began:
  every acknowledged commit so far, since a commit runs to completion within
  one step) overlaid with T's own writes;
- writes: a ``ConflictError`` is *allowed* only if another transaction that is
  live, or committed after T's snapshot, touched the key (its write log after
  any ROLLBACK TO); it is *required* if such a transaction left a net change
  on the key (first updater wins, at once); never otherwise. ``update``/
  ``delete`` return whether the row exists for T; ``insert`` of a row T sees
  raises ``KeyExistsError``; ``insert_auto`` returns a rowid above every row
  and every live write;
- the writer slot (plain BEGIN): ``BusyError`` exactly when another live
  transaction holds it (timeouts are 0: one thread cannot wait); a DEFERRED
  transaction's first write after any commit since its snapshot gets
  SQLITE_BUSY_SNAPSHOT;
- commit: never a lost update (no net change of T over a net change of a
  transaction that committed after T's snapshot); an fsync/ENOSPC failure
  raises, leaves T aborted and the database usable;
- crash: after power loss + reopen the database equals the model, or the
  model plus the commit that was in flight (synchronous=FULL), or any prefix
  of the acknowledged commits (synchronous=NORMAL) - never anything else;
- always: ``Database._check()`` and ``Pager._check()`` after every step;
  ``PRAGMA integrity_check`` = ok and the same rows through ``sqlite3`` at the
  end of every seed (after a clean close or a power loss).

Public surface: ``run_seed(seed, *, steps=None, verbose=False) -> SeedResult``,
``run_seeds(seeds, ...) -> SimSummary``, ``SimFailure`` (carries the seed and
the replay command ``python -m stress sim --seed N -v``).
"""
from __future__ import annotations

import os
import random
import shutil
import sqlite3
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from mvcc.database import Database
from mvcc.errors import ConflictError, KeyExistsError
from mvcc.version import ABORTED, ACTIVE, COMMITTED
from storage.errors import SQLITE_BUSY_SNAPSHOT, BusyError, DiskFullError, DiskIOError
from storage.io import FaultVFS, SimulatedCrash
from storage.schema_table import read_schema

__all__ = ["SimFailure", "SeedResult", "SimSummary", "run_seed", "run_seeds", "replay_command"]

PATH = "/sim/db.sqlite"
TABLES = ("t", "u")
#: initial rows: t has rowids 1..8, u has 1..4
_INITIAL = {"t": {i: i * 10 for i in range(1, 9)}, "u": {i: f"u{i}" for i in range(1, 5)}}
_ABSENT = object()  # "no such row" in views and write logs (None is SQL NULL)
_MAX_LIVE = 4
_SAVEPOINTS = ("a", "b", "c")

Key = tuple[str, int]


def replay_command(seed: int) -> str:
    return f"python -m stress sim --seed {seed} -v"


class SimFailure(AssertionError):
    """The engine did something the model forbids; carries the seed and a replay command."""

    def __init__(self, seed: int, step: int, message: str, log: list[str]) -> None:
        self.seed = seed
        self.step = step
        self.message = message
        self.log = log
        super().__init__(str(self))

    def __str__(self) -> str:
        tail = "\n    ".join(self.log[-25:])
        return (f"simulator seed {self.seed}, step {self.step}: {self.message}\n"
                f"  last steps:\n    {tail}\n  replay: {replay_command(self.seed)}")


@dataclass
class SeedResult:
    """What one seed did (counters are summed into ``SimSummary``)."""

    seed: int
    steps: int = 0
    commits: int = 0
    conflicts: int = 0
    busy: int = 0
    crashes: int = 0
    io_errors: int = 0
    reads: int = 0
    reopens: int = 0
    crash_in_flight_kept: int = 0
    crash_in_flight_lost: int = 0


@dataclass
class SimSummary:
    seeds: int = 0
    elapsed: float = 0.0
    totals: dict[str, int] = field(default_factory=dict)
    failures: list[SimFailure] = field(default_factory=list)

    def add(self, r: SeedResult) -> None:
        self.seeds += 1
        for k, v in vars(r).items():
            if k != "seed":
                self.totals[k] = self.totals.get(k, 0) + v


# -- database templates made by sqlite3 ----------------------------------------

_templates: dict[tuple[str, int], bytes] = {}


def _template(journal: str, page_size: int) -> bytes:
    """The bytes of a fresh database made by stdlib sqlite3 (cached per process)."""
    key = (journal, page_size)
    data = _templates.get(key)
    if data is None:
        with tempfile.TemporaryDirectory(prefix="mvlite-sim-") as d:
            p = os.path.join(d, "template.db")
            con = sqlite3.connect(p)
            con.execute(f"PRAGMA page_size={page_size}")
            if journal == "wal":
                con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, value)")
            con.execute("CREATE TABLE u(id INTEGER PRIMARY KEY, value)")
            for name in TABLES:
                con.executemany(f"INSERT INTO {name} VALUES (?, ?)", _INITIAL[name].items())
            con.commit()
            con.close()  # a WAL-mode file is checkpointed and its -wal removed here
            with open(p, "rb") as f:
                data = _templates[key] = f.read()
    return data


def _initial_state() -> dict[Key, Any]:
    return {(name, k): v for name in TABLES for k, v in _INITIAL[name].items()}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _show(v: Any) -> str:
    if v is _ABSENT:
        return "<absent>"
    r = repr(v)
    return r if len(r) <= 40 else f"{r[:30]}...({len(v)})"


def _diff(want: dict[Key, Any], got: dict[Key, Any]) -> str:
    out = []
    for k in sorted(set(want) | set(got)):
        a, b = want.get(k, _ABSENT), got.get(k, _ABSENT)
        if not _same(a, b):
            out.append(f"{k[0]}[{k[1]}]: model {_show(a)} db {_show(b)}")
    return "; ".join(out[:8]) + (" ..." if len(out) > 8 else "")


# -- the model of one transaction ---------------------------------------------

class _Txn:
    """The model's side of a live transaction: snapshot, write log, savepoints."""

    __slots__ = ("name", "txn", "mode", "snap", "snap_index", "events_at_begin", "log",
                 "savepoints", "holds_slot")

    def __init__(self, name: str, txn: Any, mode: str, snap: dict[Key, Any], snap_index: int,
                 events: int, holds_slot: bool) -> None:
        self.name = name
        self.txn = txn
        self.mode = mode
        self.snap = snap
        #: number of acknowledged commits in the snapshot
        self.snap_index = snap_index
        #: commit attempts that reached the log before we began (DEFERRED's stale check)
        self.events_at_begin = events
        #: (key, value or _ABSENT), in execution order
        self.log: list[tuple[Key, Any]] = []
        self.savepoints: list[tuple[str, int]] = []
        self.holds_slot = holds_slot

    def view(self, key: Key) -> Any:
        for k, v in reversed(self.log):
            if k == key:
                return v
        return self.snap.get(key, _ABSENT)

    def touched(self) -> set[Key]:
        return {k for k, _ in self.log}

    def net(self) -> dict[Key, Any]:
        """Keys whose final value differs from the snapshot (the changes it commits)."""
        out = {}
        for k in self.touched():
            v = self.view(k)
            if not _same(v, self.snap.get(k, _ABSENT)):
                out[k] = v
        return out

    def rows(self, table: str) -> dict[int, Any]:
        out = {k[1]: v for k, v in self.snap.items() if k[0] == table}
        for k, v in self.log:
            if k[0] == table:
                if v is _ABSENT:
                    out.pop(k[1], None)
                else:
                    out[k[1]] = v
        return out


# -- the simulator ---------------------------------------------------------------

class _Sim:
    def __init__(self, seed: int, steps: int | None, verbose: bool,
                 printer: Callable[[str], None]) -> None:
        self.seed = seed
        self.rng = random.Random(f"mvlite-sim:{seed}")
        rng = self.rng
        if steps is None:  # mostly short seeds, some long ones (old snapshots, deep chains)
            steps = rng.randint(40, 90) if rng.random() < 0.9 else rng.randint(150, 300)
        self.steps = steps
        self.verbose = verbose
        self.printer = printer
        self.result = SeedResult(seed)
        self.step_no = 0
        self.logbuf: list[str] = []
        # configuration drawn from the seed
        self.sync = 2 if rng.random() < 0.85 else 1
        self.page_size = rng.choice((512, 512, 1024, 4096))
        self.journal = rng.choice(("delete", "wal"))
        self.autockpt = rng.choice((4, 16, 1000))
        self.cache = rng.choice((-2000, 12))
        self.vfs = FaultVFS(seed)
        self.vfs.base.write_bytes(PATH, _template(self.journal, self.page_size))
        # faults armed at the start (more may be armed after each crash)
        self.crash_plan = rng.random() < 0.4
        self.sync_fault = rng.random() < 0.12
        self.enospc = rng.random() < 0.12
        self.short_read = rng.random() < 0.12
        # the model
        self.history: list[dict[Key, Any]] = [_initial_state()]
        #: per acknowledged commit: (touched keys, net changes)
        self.commits: list[tuple[set[Key], dict[Key, Any]]] = []
        self.events = 0
        self.live: dict[str, _Txn] = {}
        self.slot: _Txn | None = None
        self.next_name = 1
        self.in_flight: _Txn | None = None
        self.db: Database | None = None
        self.trees: dict[str, Any] = {}

    # -- logging and failing -------------------------------------------------

    def log(self, msg: str) -> None:
        line = f"{self.step_no:3d} {msg}"
        self.logbuf.append(line)
        if self.verbose:
            self.printer(line)

    def fail(self, msg: str) -> None:
        raise SimFailure(self.seed, self.step_no, msg, self.logbuf)

    def check(self, cond: bool, msg: str) -> None:
        if not cond:
            self.fail(msg)

    # -- opening ---------------------------------------------------------------

    def open(self) -> None:
        self.db = Database.open(PATH, vfs=self.vfs, synchronous=self.sync,
                                wal_autocheckpoint=self.autockpt, cache_size=self.cache)
        r = self.db.pager.begin_read()
        try:
            roots = {row.name: row.rootpage for row in read_schema(r)}
        finally:
            r.end()
        self.trees = {name: self.db.table(roots[name]) for name in TABLES}
        self.result.reopens += 1

    def arm_faults(self, first: bool) -> None:
        rng, vfs = self.rng, self.vfs
        if self.crash_plan and (first or rng.random() < 0.35):
            n = rng.randint(1, 16)
            vfs.crash_at(n)
            self.log(f"arm crash_at({n})")
        if first and self.sync_fault:
            n = rng.randint(1, 12)
            vfs.fail_sync_at(n)
            self.log(f"arm fail_sync_at({n})")
        if first and self.enospc:
            n = rng.randint(0, 40000)
            vfs.enospc_after(n)
            self.log(f"arm enospc_after({n})")
        if first and self.short_read:
            n = rng.randint(1, 120)
            vfs.short_read_at(n)
            self.log(f"arm short_read_at({n})")

    # -- helpers ---------------------------------------------------------------

    @property
    def state(self) -> dict[Key, Any]:
        return self.history[-1]

    def read_db(self) -> dict[Key, Any]:
        """Every row through a fresh transaction."""
        assert self.db is not None
        txn = self.db.begin("concurrent", timeout=0)
        try:
            out = {}
            for name in TABLES:
                for rowid, row in txn.rows(self.trees[name]):
                    self.check(len(row) == 2 and row[0] is None, f"bad row {name}[{rowid}] {row!r}")
                    out[(name, rowid)] = row[1]
        finally:
            txn.rollback()
        return out

    def verify(self, why: str) -> None:
        got = self.read_db()
        self.check(got == self.state and all(_same(got[k], self.state[k]) for k in got),
                   f"{why}: database differs from the model: {_diff(self.state, got)}")
        self.log(f"verify ({why}): {len(got)} rows ok")

    def end(self, t: _Txn, how: str) -> None:
        self.live.pop(t.name, None)
        if self.slot is t:
            self.slot = None
        want = COMMITTED if how == "committed" else ABORTED
        self.check(t.txn.state == want,
                   f"{t.name} should be {how} but its state is {t.txn.state}")

    def conflict_sets(self, t: _Txn) -> tuple[set[Key], set[Key]]:
        """(keys a conflict is allowed on, keys a conflict is required on) for T."""
        allowed: set[Key] = set()
        required: set[Key] = set()
        for u in self.live.values():
            if u is not t:
                allowed |= u.touched()
                required |= set(u.net())
        for touched, net in self.commits[t.snap_index:]:
            allowed |= touched
            required |= set(net)
        return allowed, required

    def pick_key(self, t: _Txn, table: str) -> int:
        rng = self.rng
        pool = set(range(1, 13))
        pool.update(k[1] for k in self.state if k[0] == table)
        pool.update(k[1] for u in self.live.values() for k in u.touched() if k[0] == table)
        r = rng.random()
        if r < 0.4:  # a row it sees
            mine = [k for k in t.rows(table)]
            if mine:
                return rng.choice(sorted(mine))
        elif r < 0.65:  # contention: a key another transaction touched, live or lately
            hot = {k[1] for u in self.live.values() if u is not t for k in u.touched()
                   if k[0] == table}
            hot.update(k[1] for touched, _ in self.commits[-3:] for k in touched if k[0] == table)
            hot.update(k[1] for k, _ in t.log if k[0] == table)
            if hot:
                return rng.choice(sorted(hot))
        return rng.choice(sorted(pool))

    def value(self) -> Any:
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            return rng.randint(-1000, 1000)
        if r < 0.55:
            return rng.choice((0, 1, -1, 127, 128, 2**31, -2**31 - 1, 2**47 + 5, 2**63 - 1, -2**63))
        if r < 0.78:
            return "".join(rng.choice("abcxyz é€") for _ in range(rng.randint(0, 30)))
        if r < 0.88:
            return rng.randbytes(rng.randint(0, 30))
        if r < 0.93:
            return None
        return "L" * rng.randint(300, 2500)  # spills to overflow pages

    # -- steps -------------------------------------------------------------------

    def step_begin(self) -> None:
        assert self.db is not None
        rng = self.rng
        mode = rng.choices(("concurrent", "deferred", "immediate", "exclusive"), (70, 15, 10, 5))[0]
        name = f"T{self.next_name}"
        self.next_name += 1
        takes_slot = mode in ("immediate", "exclusive")
        busy = takes_slot and self.slot is not None
        try:
            txn = self.db.begin(mode, timeout=0)
        except BusyError:
            self.check(busy, f"BEGIN {mode} {name}: BusyError but the writer slot is free")
            self.result.busy += 1
            self.log(f"{name} BEGIN {mode} -> busy")
            return
        self.check(not busy, f"BEGIN {mode} {name}: expected BusyError, {self.slot and self.slot.name}"
                             " holds the writer slot")
        t = _Txn(name, txn, mode, dict(self.state), len(self.commits), self.events, takes_slot)
        self.live[name] = t
        if takes_slot:
            self.slot = t
        self.log(f"{name} BEGIN {mode}")

    def step_get(self, t: _Txn) -> None:
        table = self.rng.choice(TABLES)
        rowid = self.pick_key(t, table)
        row = t.txn.get(self.trees[table], rowid)
        want = t.view((table, rowid))
        got = _ABSENT if row is None else row[1]
        self.result.reads += 1
        self.log(f"{t.name} get {table}[{rowid}] -> {_show(got)}")
        self.check(_same(got, want), f"{t.name} read {table}[{rowid}] = {_show(got)}, "
                                     f"its snapshot + own writes say {_show(want)}")

    def step_scan(self, t: _Txn) -> None:
        rng = self.rng
        table = rng.choice(TABLES)
        lo = rng.choice((None, rng.randint(0, 14)))
        hi = rng.choice((None, rng.randint(0, 30)))
        reverse = rng.random() < 0.3
        got = list(t.txn.rows(self.trees[table], lo, hi, reverse))
        mine = t.rows(table)
        keys = sorted((k for k in mine if (lo is None or k >= lo) and (hi is None or k <= hi)),
                      reverse=reverse)
        want = [(k, mine[k]) for k in keys]
        self.result.reads += 1
        self.log(f"{t.name} rows {table} [{lo}, {hi}] rev={reverse} -> {len(got)} rows")
        gotv = [(k, row[1]) for k, row in got]
        self.check(len(gotv) == len(want) and all(a[0] == b[0] and _same(a[1], b[1])
                                                  for a, b in zip(gotv, want)),
                   f"{t.name} scan {table} [{lo}, {hi}] reverse={reverse}: got "
                   f"{[(k, _show(v)) for k, v in gotv]}, want {[(k, _show(v)) for k, v in want]}")

    def _slot_rule(self, t: _Txn) -> tuple[bool, bool, bool]:
        """(needs the slot now, must get BusyError, must get BUSY_SNAPSHOT)."""
        need = t.mode != "concurrent" and not t.holds_slot
        busy = need and self.slot is not None and self.slot is not t
        stale = need and not busy and self.events > t.events_at_begin
        return need, busy, stale

    def _took_slot(self, t: _Txn) -> None:
        t.holds_slot = True
        self.slot = t

    def step_write(self, t: _Txn, kind: str) -> None:
        rng = self.rng
        table = rng.choice(TABLES)
        tree = self.trees[table]
        need, busy, stale = self._slot_rule(t)
        if kind == "insert_auto":
            value = self.value()
            # Above every committed rowid and every rowid a live transaction holds:
            # SQLite's max+1 rule. A rowid given back by a rollback (or a deleted
            # maximum) may be handed out again, as SQLite does.
            floor = max([r for (tb, r) in self.state if tb == table]
                        + [k[1] for u in self.live.values() for k in u.touched() if k[0] == table]
                        + [0])
            try:
                rowid = t.txn.insert_auto(tree, (None, value))
            except BusyError:
                self.check(busy, f"{t.name} insert_auto: BusyError but the slot is free")
                self.result.busy += 1
                self.log(f"{t.name} insert_auto {table} -> busy")
                return
            except ConflictError as exc:
                self.check(stale and exc.sqlite_errorcode == SQLITE_BUSY_SNAPSHOT,
                           f"{t.name} insert_auto {table}: ConflictError, but insert_auto never "
                           "conflicts (and the snapshot is not stale)")
                self.result.conflicts += 1
                self.log(f"{t.name} insert_auto {table} -> BUSY_SNAPSHOT")
                self.end(t, "aborted")
                return
            self.check(not busy, f"{t.name} insert_auto: expected BusyError")
            self.check(not stale, f"{t.name} insert_auto: expected BUSY_SNAPSHOT (a commit "
                                  "happened since its snapshot)")
            if need:
                self._took_slot(t)
            self.log(f"{t.name} insert_auto {table} = {_show(value)} -> rowid {rowid}")
            self.check(type(rowid) is int and rowid > floor,
                       f"{t.name} insert_auto {table} returned rowid {rowid!r}, not above {floor} "
                       "(the largest committed or live rowid)")
            t.log.append(((table, rowid), value))
            return
        rowid = self.pick_key(t, table)
        key = (table, rowid)
        value = self.value() if kind != "delete" else _ABSENT
        allowed, required = self.conflict_sets(t)
        exists = t.view(key) is not _ABSENT
        what = f"{t.name} {kind} {table}[{rowid}]" + ("" if kind == "delete" else f" = {_show(value)}")
        try:
            if kind == "update":
                res = t.txn.update(tree, rowid, (None, value))
            elif kind == "delete":
                res = t.txn.delete(tree, rowid)
            else:
                t.txn.insert(tree, rowid, (None, value))
                res = True
        except BusyError:
            self.check(busy, f"{what}: BusyError but the writer slot is free")
            self.result.busy += 1
            self.log(f"{what} -> busy")
            self.check(t.txn.state == ACTIVE, f"{what}: BusyError must leave it active")
            return
        except ConflictError as exc:
            self.result.conflicts += 1
            self.log(f"{what} -> conflict ({exc.sqlite_errorname})")
            self.check(not busy, f"{what}: ConflictError, expected BusyError")
            if not stale:
                self.check(key in allowed, f"{what}: spurious ConflictError: no live or newer "
                                           "committed transaction touched this key")
            self.end(t, "aborted")
            return
        except KeyExistsError:
            self.log(f"{what} -> key exists")
            self.check(not busy and not stale, f"{what}: KeyExistsError, expected a slot error")
            if need:
                self._took_slot(t)
            self.check(kind == "insert" and exists, f"{what}: KeyExistsError but the row does not "
                                                    "exist for the transaction")
            self.check(key not in required, f"{what}: lost update: KeyExistsError instead of "
                                            "ConflictError on a key another writer changed")
            return
        self.log(f"{what} -> {res}")
        self.check(not busy, f"{what}: expected BusyError (slot held by "
                             f"{self.slot and self.slot.name})")
        self.check(not stale, f"{what}: expected BUSY_SNAPSHOT: a commit happened since the "
                              "DEFERRED transaction's snapshot")
        if need:
            self._took_slot(t)
        self.check(key not in required, f"{what}: write-write conflict not detected: another "
                                        "transaction (live, or committed after this snapshot) "
                                        "changed this key (first updater must win)")
        if kind == "insert":
            self.check(not exists, f"{what}: insert succeeded over a row the transaction sees")
            t.log.append((key, value))
        else:
            self.check(res is exists, f"{what} returned {res!r}; the row "
                                      f"{'exists' if exists else 'does not exist'} for it")
            if res:
                t.log.append((key, value))

    def step_savepoint(self, t: _Txn) -> None:
        rng = self.rng
        op = rng.choices(("savepoint", "rollback_to", "release"), (5, 3, 2))[0]
        if op == "savepoint" or not t.savepoints:
            name = rng.choice(_SAVEPOINTS)
            t.txn.savepoint(name)
            t.savepoints.append((name, len(t.log)))
            self.log(f"{t.name} SAVEPOINT {name}")
            return
        name = rng.choice([n for n, _ in t.savepoints])
        i = max(j for j, (n, _) in enumerate(t.savepoints) if n == name)
        if op == "rollback_to":
            t.txn.rollback_to(name)
            del t.log[t.savepoints[i][1]:]
            del t.savepoints[i + 1:]
        else:
            t.txn.release(name)
            del t.savepoints[i:]
        self.log(f"{t.name} {op.upper()} {name} (log now {len(t.log)})")

    def step_rollback(self, t: _Txn) -> None:
        t.txn.rollback()
        self.log(f"{t.name} ROLLBACK")
        self.end(t, "aborted")

    def step_commit(self, t: _Txn) -> None:
        has_writes = t.txn.has_writes
        busy = (t.mode == "concurrent" and has_writes and self.slot is not None
                and self.slot is not t)
        allowed, _ = self.conflict_sets(t)
        io_armed = self.vfs._fail_sync_at is not None or self.vfs._enospc_left is not None
        self.in_flight = t  # read by one_step if a SimulatedCrash escapes
        try:
            t.txn.commit()
        except BusyError:
            self.check(busy, f"{t.name} COMMIT: BusyError but nobody else holds the writer slot")
            self.result.busy += 1
            self.log(f"{t.name} COMMIT -> busy")
            self.in_flight = None
            self.check(t.txn.state == ACTIVE, f"{t.name}: still active after a busy COMMIT")
            return
        except ConflictError:
            self.result.conflicts += 1
            self.log(f"{t.name} COMMIT -> conflict")
            self.check(not busy, f"{t.name} COMMIT: ConflictError, expected BusyError")
            self.check(bool(t.touched() & allowed), f"{t.name} COMMIT: spurious ConflictError: "
                                                    "its writes overlap no concurrent writer")
            self.end(t, "aborted")
            return
        except (DiskIOError, DiskFullError) as exc:
            self.result.io_errors += 1
            self.log(f"{t.name} COMMIT -> {type(exc).__name__} ({exc.sqlite_errorname})")
            self.check(io_armed, f"{t.name} COMMIT raised {exc!r} with no I/O fault armed")
            self.check(not busy, f"{t.name} COMMIT: I/O error, expected BusyError")
            if has_writes:
                self.events += 1
            self.end(t, "aborted")
            if isinstance(exc, DiskFullError):
                self.vfs.enospc_after(None)  # space was freed
                self.log("disk space freed (ENOSPC disarmed)")
            self.verify("after a failed commit")  # still usable, nothing of T applied
            return
        self.check(not busy, f"{t.name} COMMIT succeeded while "
                             f"{self.slot and self.slot.name} holds the writer slot")
        net = t.net()
        for i, (_touched, other) in enumerate(self.commits[t.snap_index:], t.snap_index):
            lost = set(net) & set(other)
            self.check(not lost, f"{t.name} COMMIT: lost update on {sorted(lost)}: commit #{i + 1} "
                                 "changed it after this transaction's snapshot")
        if has_writes:
            self.events += 1
        self.apply_commit(t.touched(), net)
        self.result.commits += 1
        self.log(f"{t.name} COMMIT -> ok ({len(net)} changes; commit #{len(self.commits)})")
        self.end(t, "committed")

    def apply_commit(self, touched: set[Key], net: dict[Key, Any]) -> None:
        new = dict(self.state)
        for k, v in net.items():
            if v is _ABSENT:
                new.pop(k, None)
            else:
                new[k] = v
        self.history.append(new)
        self.commits.append((touched, net))

    def step_reopen(self) -> None:
        """Clean close (aborting leftovers) and reopen."""
        assert self.db is not None
        self.log(f"CLOSE (aborts {sorted(self.live)}) and reopen")
        leftovers = list(self.live.values())
        io_armed = self.vfs._fail_sync_at is not None or self.vfs._enospc_left is not None
        try:
            self.db.close()
        except (DiskIOError, DiskFullError) as exc:
            self.check(io_armed, f"close raised {exc!r} with no I/O fault armed")
            self.log(f"close -> {type(exc).__name__}")
            self.vfs.enospc_after(None)
        for t in leftovers:
            self.end(t, "aborted")
        self.open()
        self.verify("after a clean reopen")

    # -- crashes -----------------------------------------------------------------

    def after_crash(self, in_flight: _Txn | None) -> None:
        self.result.crashes += 1
        self.vfs.crash()
        torn = sum(1 for x in self.vfs.last_crash if x[4].startswith("torn"))
        self.log(f"POWER LOSS ({len(self.vfs.last_crash)} unsynced changes, {torn} torn); "
                 f"in flight: {in_flight.name if in_flight else None}")
        assert self.db is not None
        self.db.abandon()
        self.live.clear()
        self.slot = None
        self.events = 0
        try:
            self.open()
        except Exception as exc:
            self.fail(f"reopen after power loss failed: {exc!r}")
        got = self.read_db()
        candidates: list[tuple[str, dict[Key, Any]]] = []
        if in_flight is not None:
            net = in_flight.net()
            new = dict(self.state)
            for k, v in net.items():
                if v is _ABSENT:
                    new.pop(k, None)
                else:
                    new[k] = v
            candidates.append(("in-flight", new))
        first = len(self.history) - 1 if self.sync >= 2 else 0
        for i in range(len(self.history) - 1, first - 1, -1):
            candidates.append((f"prefix {i}", self.history[i]))
        for label, st in candidates:
            if got == st and all(_same(got[k], st[k]) for k in got):
                break
        else:
            self.fail(f"after power loss the database matches no allowed state "
                      f"(sync={self.sync}): vs the acknowledged commits: {_diff(self.state, got)}")
        if label == "in-flight":
            assert in_flight is not None
            self.apply_commit(in_flight.touched(), in_flight.net())
            self.result.crash_in_flight_kept += 1
        else:
            if in_flight is not None:
                self.result.crash_in_flight_lost += 1
            i = int(label.split()[1])
            del self.history[i + 1:]
            del self.commits[i:]
        self.log(f"reopened: {len(got)} rows = {label}")
        self.db._check()
        self.db.pager._check()
        self.arm_faults(first=False)

    # -- the run -------------------------------------------------------------------

    def run(self) -> SeedResult:
        self.log(f"seed {self.seed}: steps={self.steps} sync={self.sync} page_size={self.page_size} "
                 f"template={self.journal} autocheckpoint={self.autockpt} cache={self.cache}")
        try:
            try:
                self.open()
                self.arm_faults(first=True)
                for self.step_no in range(1, self.steps + 1):
                    self.one_step()
                self.step_no += 1
                self.finish()
            except SimFailure:
                raise
            except SimulatedCrash:
                self.fail(f"SimulatedCrash escaped: {traceback.format_exc(limit=-6)}")
            except Exception as exc:
                self.fail(f"unexpected {type(exc).__name__}: {exc}\n"
                          + traceback.format_exc(limit=-8))
        finally:
            if self.db is not None and not self.db.closed:
                try:
                    self.db.abandon()
                except BaseException:
                    pass
        self.result.steps = self.steps
        return self.result

    def one_step(self) -> None:
        rng = self.rng
        choices = ["begin"] if len(self.live) < _MAX_LIVE else []
        weights = [12] if choices else []
        if self.live:
            for op, w in (("get", 14), ("scan", 6), ("update", 18), ("insert", 6),
                          ("insert_auto", 6), ("delete", 6), ("savepoint", 8), ("commit", 15),
                          ("rollback", 3)):
                choices.append(op)
                weights.append(w)
        choices += ["verify", "reopen"]
        weights += [2, 1]
        op = rng.choices(choices, weights)[0]
        t = self.live[rng.choice(sorted(self.live))] if self.live else None
        self.in_flight = None
        try:
            if op == "begin":
                self.step_begin()
            elif op == "verify":
                self.verify("check point")
            elif op == "reopen":
                self.step_reopen()
            else:
                assert t is not None
                if op == "get":
                    self.step_get(t)
                elif op == "scan":
                    self.step_scan(t)
                elif op in ("update", "insert", "insert_auto", "delete"):
                    self.step_write(t, op)
                elif op == "savepoint":
                    self.step_savepoint(t)
                elif op == "commit":
                    self.step_commit(t)
                else:
                    self.step_rollback(t)
        except SimulatedCrash:
            self.after_crash(self.in_flight)
            self.in_flight = None
            return
        assert self.db is not None
        try:
            self.db._check()
            self.db.pager._check()
        except AssertionError as exc:
            if isinstance(exc, SimFailure):
                raise
            self.fail(f"invariant broken: {exc!r}")

    def finish(self) -> None:
        """Roll back the leftovers, verify, then close cleanly or lose power, and ask sqlite3."""
        assert self.db is not None
        self.vfs.disarm()
        for t in list(self.live.values()):
            t.txn.rollback()
            self.end(t, "aborted")
        self.verify("end of run")
        if self.rng.random() < 0.5:
            self.log("final clean close")
            self.db.close()
            allowed = [self.state]
        else:
            self.vfs.crash()
            self.log(f"final power loss ({len(self.vfs.last_crash)} unsynced changes)")
            self.db.abandon()
            allowed = [self.state] if self.sync >= 2 else self.history
        self.sqlite_check(allowed)

    def sqlite_check(self, allowed: list[dict[Key, Any]]) -> None:
        """Hand the files to the stdlib sqlite3: integrity ok, and an allowed state."""
        base = self.vfs.base
        d = _scratch_dir()
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = os.path.join(d, "db.sqlite" + suffix)
            if os.path.exists(p):
                os.remove(p)
        for suffix in ("", "-wal", "-journal"):
            if base.exists(PATH + suffix):
                with open(os.path.join(d, "db.sqlite" + suffix), "wb") as f:
                    f.write(base.read_bytes(PATH + suffix))
        con = sqlite3.connect(os.path.join(d, "db.sqlite"))
        try:
            con.execute("PRAGMA synchronous=OFF")  # scratch copy: no fsync at its checkpoint
            ok = con.execute("PRAGMA integrity_check").fetchall()
            self.check(ok == [("ok",)], f"sqlite3 integrity_check: {ok[:5]}")
            got = {(name, rowid): v for name in TABLES
                   for rowid, v in con.execute(f"SELECT id, value FROM {name}")}
        except sqlite3.Error as exc:
            self.fail(f"sqlite3 cannot read our file: {exc!r}")
        finally:
            con.close()
        for st in reversed(allowed):
            if got == st and all(_same(got[k], st[k]) for k in got):
                self.log(f"sqlite3: integrity ok, {len(got)} rows as expected")
                return
        self.fail(f"sqlite3 reads another state: {_diff(self.state, got)}")


_scratch: str | None = None


def _scratch_dir() -> str:
    """One private temporary directory per process for the sqlite3 checks."""
    global _scratch
    if _scratch is None or not os.path.isdir(_scratch):
        shm = "/dev/shm"  # tmpfs where there is one: the copies are tiny and thrown away
        where = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
        _scratch = tempfile.mkdtemp(prefix="mvlite-sim-", dir=where)
        import atexit
        atexit.register(shutil.rmtree, _scratch, True)
    return _scratch


# -- public entry points ----------------------------------------------------------

def run_seed(seed: int, *, steps: int | None = None, verbose: bool = False,
             printer: Callable[[str], None] = print) -> SeedResult:
    """Run one seed; raises ``SimFailure`` (with the replay command) on any violation."""
    return _Sim(seed, steps, verbose, printer).run()


def run_seeds(seeds: Iterable[int], *, steps: int | None = None, stop_on_failure: bool = True,
              progress: Callable[[SeedResult], None] | None = None) -> SimSummary:
    """Run many seeds; failures are collected (the first one stops the run by default)."""
    summary = SimSummary()
    t0 = time.perf_counter()
    for seed in seeds:
        try:
            r = run_seed(seed, steps=steps)
        except SimFailure as exc:
            summary.failures.append(exc)
            if stop_on_failure:
                break
            continue
        summary.add(r)
        if progress is not None:
            progress(r)
    summary.elapsed = time.perf_counter() - t0
    return summary
