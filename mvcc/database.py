"""The MVCC database: one per file per process; begins, commits and aborts transactions.

Owns the clock, the version index of every tree (``VersionedTree``), the set
of active transactions, the single-writer slot of plain BEGIN transactions, the
two-phase commit with group commit into ``storage.pager``, and garbage
collection of versions. Design and invariants: ``docs/mvcc.md``.

Commit, in named phases (Hekaton's, simplified):
  prepare   take the commit timestamp, state Preparing         (under _commit_lock)
  validate  re-check the write set: rowids and UNIQUE keys      (under _commit_lock)
  log       the group leader applies every queued transaction's write set, in
            timestamp order, to the B-trees and appends one WAL transaction;
            one fsync for the group                       (one leader at a time)
  finalize  versions get the commit timestamp; waiters wake; GC
Write skew is not prevented under BEGIN CONCURRENT (snapshot isolation).
"""
from __future__ import annotations

import bisect
import itertools
import threading
import time
import weakref
from collections import Counter, deque
from typing import Any

from storage import btree
from storage.errors import SQLITE_BUSY_SNAPSHOT, BusyError, OperationalError
from storage.pager import Pager
from storage.record import encode_record

from mvcc.errors import ConflictError, SchemaChangedError
from mvcc.transaction import _CHAIN, Transaction
from mvcc.tree import INDEX, TABLE, VersionedTree
from mvcc.version import ABORTED, ACTIVE, COMMITTED, INF, PREPARING

MODES = ("concurrent", "deferred", "immediate", "exclusive")

_registry: dict[str, "Database"] = {}
_registry_lock = threading.RLock()  # re-entered when GC closes a dropped connection


def _bump_schema_cookie(w: Any) -> None:
    """Header offset 40: other SQLite connections reload their schema when it changes."""
    page = w.writable(1)
    d = page.data
    cookie = (int.from_bytes(d[40:44], "big") + 1) & 0xFFFFFFFF
    d[40:44] = cookie.to_bytes(4, "big")
    page.cells = None


def _no_snapshot_between(begins: list[int], lo: int, hi: int) -> bool:
    """True if no begin timestamp b in the sorted list has lo < b <= hi."""
    i = bisect.bisect_right(begins, lo)
    return i == len(begins) or begins[i] > hi


class Database:
    """See the module docstring. Obtain through ``Database.open`` (shared per path)."""

    def __init__(self, pager: Pager, key: str | None) -> None:
        self.pager = pager
        self._key = key
        self._users = 0
        self._clock = itertools.count(1)
        self._txids = itertools.count(1)
        self.trees: dict[int, VersionedTree] = {}
        self._provisional_roots = itertools.count(-1, -1)
        self._trees_lock = threading.Lock()
        self.active: set[Transaction] = set()
        self._active_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._flush_cv = threading.Condition(threading.Lock())
        self._flushing = False
        self._queue: list[Transaction] = []
        self._slot = threading.Condition()
        self._slot_owner: Transaction | None = None
        self.last_commit_ts = 0
        self.published_seq = 0
        self.schema_version = 0
        #: the WAL has reached wal_autocheckpoint frames: transactions move their
        #: pager snapshots forward between operations so the WAL can restart
        self.want_fresh_reads = False
        #: root page of sqlite_sequence (set by the SQL layer), and its values
        self.sequence_root: int | None = None
        self._sequence: dict[str, int] | None = None
        self._sequence_lock = threading.Lock()
        #: per table tree: the largest rowid a leader gave a deferred row (not yet
        #: necessarily published); ``insert_auto`` allocates above it
        self._deferred_max: "weakref.WeakKeyDictionary[VersionedTree, int]" = \
            weakref.WeakKeyDictionary()
        self._gc_pending: deque[tuple[int, list[tuple[VersionedTree, Any]]]] = deque()
        self._gc_last: dict[tuple[int, Any], int] = {}
        self._gc_lock = threading.Lock()
        self.stats: Counter = Counter()
        self.closed = False

    # -- opening and closing ---------------------------------------------------

    @classmethod
    def open(cls, path: str, *, vfs: Any = None, **pager_options: Any) -> "Database":
        """The process-wide Database for ``path`` (opened on first use, shared after)."""
        from storage.io import default_vfs
        vfs = vfs or default_vfs()
        key = f"{id(vfs)}:{vfs.realpath(path)}"
        with _registry_lock:
            db = _registry.get(key)
            if db is None or db.closed:
                db = cls(Pager.open(path, vfs=vfs, **pager_options), key)
                _registry[key] = db
            db._users += 1
            return db

    def close(self) -> None:
        """Drop one user; the last one aborts leftovers and closes the pager (checkpoint)."""
        with _registry_lock:
            self._users -= 1
            if self._users > 0:
                return
            if self._key is not None:
                _registry.pop(self._key, None)
        for txn in list(self.active):
            self.abort(txn, None)
        self.closed = True
        self.pager.close()

    def abandon(self) -> None:
        """Forget this database without touching its files (after a simulated crash).

        The next ``Database.open`` of the path starts from what is on disk, the
        way a new process would after power loss.
        """
        with _registry_lock:
            if self._key is not None and _registry.get(self._key) is self:
                del _registry[self._key]
        self.closed = True
        self.pager._abandon()

    # -- trees -----------------------------------------------------------------

    def table(self, root: int) -> VersionedTree:
        tree = self.trees.get(root)
        if tree is None:
            with self._trees_lock:
                tree = self.trees.setdefault(root, VersionedTree(root, TABLE))
        return tree

    def index(self, root: int, keyinfo: Any, unique: bool = False) -> VersionedTree:
        tree = self.trees.get(root)
        if tree is None:
            with self._trees_lock:
                tree = self.trees.get(root)
                if tree is None:
                    tree = VersionedTree(root, INDEX, keyinfo, unique, sort_key=keyinfo.sort_key)
                    self.trees[root] = tree
        return tree

    def new_provisional_tree(self, kind: str, keyinfo: Any = None, unique: bool = False) -> VersionedTree:
        """A tree with a provisional negative root (see ``Transaction.create_tree``)."""
        root = next(self._provisional_roots)
        tree = VersionedTree(root, kind, keyinfo, unique,
                             sort_key=keyinfo.sort_key if kind == INDEX else None)
        with self._trees_lock:
            self.trees[root] = tree
        return tree

    def forget_tree(self, tree: VersionedTree) -> None:
        with self._trees_lock:
            if self.trees.get(tree.root) is tree:
                del self.trees[tree.root]

    def latest_max_rowid(self, tree: VersionedTree) -> int | None:
        """The largest rowid in the B-tree at the newest committed state."""
        if tree.root < 0:
            return None
        r = self.pager.begin_read()
        try:
            cur = btree.TableCursor(r, tree.root)
            return cur.rowid if cur.last() else None
        finally:
            r.end()

    # -- AUTOINCREMENT ------------------------------------------------------------

    def sequence_value(self, name: str) -> int:
        """The committed ``sqlite_sequence`` value for table ``name`` (0 if none)."""
        with self._sequence_lock:
            if self._sequence is None:
                self._sequence = self._load_sequence()
            return self._sequence.get(name, 0)

    def _load_sequence(self) -> dict[str, int]:
        values: dict[str, int] = {}
        if not self.sequence_root or self.sequence_root < 0:
            return values  # none yet, or created by a transaction still running
        r = self.pager.begin_read()
        try:
            cur = btree.TableCursor(r, self.sequence_root)
            ok = cur.first()
            while ok:
                rec = cur.record()
                if len(rec) >= 2 and type(rec[1]) is int:
                    values[rec[0]] = max(values.get(rec[0], 0), rec[1])
                ok = cur.next()
        finally:
            r.end()
        return values

    def _apply_sequence(self, w: Any, group: list[Transaction]) -> None:
        """Raise sqlite_sequence rows to the group's largest AUTOINCREMENT rowids."""
        wanted: dict[str, int] = {}
        for t in group:
            for name, rowid in t.autoinc.items():
                if rowid > wanted.get(name, 0):
                    wanted[name] = rowid
        if not wanted or not self.sequence_root:
            return
        root = self.sequence_root
        found: dict[str, tuple[int, int]] = {}
        last_rowid = 0
        cur = btree.TableCursor(w, root)
        ok = cur.first()
        while ok:
            rec = cur.record()
            if rec and rec[0] in wanted:
                found[rec[0]] = (cur.rowid, rec[1] if len(rec) > 1 and type(rec[1]) is int else 0)
            last_rowid = cur.rowid
            ok = cur.next()
        with self._sequence_lock:
            cache = self._sequence if self._sequence is not None else {}
            for name, value in wanted.items():
                rowid, old = found.get(name, (None, 0))
                if value <= old:
                    continue
                if rowid is None:
                    last_rowid += 1
                    rowid = last_rowid
                btree.table_insert(w, root, rowid, encode_record((name, value)))
                cache[name] = value
            self._sequence = cache

    # -- deferred rows (Transaction.insert_deferred) -------------------------------

    def deferred_reserved(self, tree: VersionedTree) -> int:
        """The largest rowid a commit leader assigned to a deferred row of ``tree``.

        Read under ``tree.lock`` by ``insert_auto``: between the leader's
        assignment and the publication of its WAL transaction, the newest
        committed B-tree does not show those rows yet.
        """
        return self._deferred_max.get(tree, 0)

    def _apply_deferred(self, w: Any, t: Transaction) -> None:
        """Give ``t``'s deferred rows rowids in order and write them (leader only).

        The next rowid is above the B-tree's largest (as of this write, so it
        includes the earlier transactions of the group), every chain key
        (uncommitted inserts of others), every rowid already reserved, and the
        AUTOINCREMENT sequence; the table's chains are untouched, so no
        transaction ever conflicts on these rows.
        """
        nxt: dict[VersionedTree, int] = {}
        for tree, payload, auto in t.deferred:
            if callable(payload):
                payload = payload()
            rowid = nxt.get(tree)
            if rowid is None:
                cur = btree.TableCursor(w, tree.root)
                base = max(cur.rowid if cur.last() else 0,
                           self.sequence_value(auto) if auto else 0)
            with tree.lock:
                if rowid is None:
                    last = tree.chains.peekitem(-1)[0] if tree.chains else 0
                    rowid = max(base, last, self._deferred_max.get(tree, 0)) + 1
                self._deferred_max[tree] = rowid
            nxt[tree] = rowid + 1
            btree.table_insert(w, tree.root, rowid, encode_record(payload))
            if auto:
                t.note_rowid(auto, rowid)

    # -- begin -----------------------------------------------------------------

    def begin(self, mode: str = "concurrent", *, timeout: float = 5.0) -> Transaction:
        """Start a transaction. ``mode`` is concurrent, deferred, immediate or exclusive."""
        if mode not in MODES:
            raise ValueError(f"unknown transaction mode {mode!r}")
        if self.closed:
            raise OperationalError("database is closed")
        exclusive = mode != "concurrent"
        txn = None
        if mode in ("immediate", "exclusive"):
            # take the slot first, then the snapshot: a writer that waited for
            # the slot must see what the previous writer committed
            token = object()
            self._take_slot(token, timeout)
            try:
                txn = self._new_txn(exclusive=True)
            except BaseException:
                self._give_slot(token)
                raise
            txn.timeout = timeout
            with self._slot:
                self._slot_owner = txn
            txn.holds_writer_slot = True
            return txn
        txn = self._new_txn(exclusive)
        txn.timeout = timeout
        return txn

    def _new_txn(self, exclusive: bool) -> Transaction:
        # Pin the WAL mark first, then take the begin timestamp: "my mark includes
        # T" then implies "T's commit timestamp is below mine" (docs/mvcc.md).
        with self._active_lock:
            read = self.pager.begin_read()
            seen = self.published_seq
            txn = Transaction(self, next(self._txids), next(self._clock), read, exclusive)
            txn.seen_seq = txn.read_seq = seen
            txn.timeout = 5.0
            self.active.add(txn)
        return txn

    # -- the single-writer slot --------------------------------------------------

    def _take_slot(self, owner: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._slot:
            while self._slot_owner is not None and self._slot_owner is not owner:
                left = deadline - time.monotonic()
                if left <= 0 or not self._slot.wait(left):
                    if self._slot_owner is not None and self._slot_owner is not owner:
                        raise BusyError()
            self._slot_owner = owner

    def _give_slot(self, owner: object) -> None:
        with self._slot:
            if self._slot_owner is owner:
                self._slot_owner = None
                self._slot.notify_all()

    def acquire_writer_slot(self, txn: Transaction, timeout: float | None = None) -> None:
        """Take the slot for a plain (non-concurrent) transaction at its first write.

        SQLite's DEFERRED: if anything committed after our snapshot, writing now
        would not be serializable, so we refuse with SQLITE_BUSY_SNAPSHOT.
        """
        self._take_slot(txn, txn.timeout if timeout is None else timeout)
        txn.holds_writer_slot = True
        if self.last_commit_ts > txn.begin_ts:
            # someone committed after our snapshot: writing now would not be
            # serializable (SQLite WAL mode's SQLITE_BUSY_SNAPSHOT)
            self._release_slot(txn)
            err = ConflictError("database is locked: snapshot is stale, transaction rolled back",
                                code=SQLITE_BUSY_SNAPSHOT)
            self.abort(txn, err)
            raise err

    def _release_slot(self, txn: Transaction) -> None:
        if txn.holds_writer_slot:
            self._give_slot(txn)
            txn.holds_writer_slot = False

    # -- commit ----------------------------------------------------------------

    def commit(self, txn: Transaction) -> None:
        """Make ``txn`` durable (per synchronous) and visible, or raise and roll it back."""
        if txn.state != ACTIVE:
            raise OperationalError("cannot commit - no transaction is active")
        if not txn.undo and not txn.deferred:
            if txn.changes_schema:
                with self._commit_lock:
                    self.schema_version += 1
            self._finish(txn, COMMITTED)
            return
        if txn.holds_writer_slot:
            self._prepare(txn)
        else:
            # a concurrent transaction may not commit over an exclusive writer
            deadline = time.monotonic() + txn.timeout
            with self._slot:
                while self._slot_owner is not None:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._slot.wait(left):
                        if self._slot_owner is not None:
                            raise BusyError()
                self._prepare(txn)
        self._group_commit(txn)
        if txn.state != COMMITTED:
            raise txn.error or OperationalError("commit failed")

    def _prepare(self, txn: Transaction) -> None:
        with self._commit_lock:
            if txn.schema_version != self.schema_version and not txn.changes_schema:
                err = SchemaChangedError()
                self.abort(txn, err)
                raise err
            txn.commit_ts = next(self._clock)
            txn.state = PREPARING
            try:
                self._validate(txn)
            except ConflictError as err:
                self.abort(txn, err)
                raise
            self.last_commit_ts = txn.commit_ts
            if txn.changes_schema:
                self.schema_version += 1
            self._queue.append(txn)
        # From here on the transaction reads only chains (the leader applies its
        # write set from them): release its pager snapshot now, so that queued
        # transactions do not hold back WAL checkpoints and restarts
        # (bench/commit_bench.py at 8 threads, measured out of tree: 2330
        # checkpoints and 0 WAL restarts before, 15 and 15 after; 0.43 → 0.23
        # fsyncs per commit). end() is idempotent; _finish calls it again.
        txn.read.end()

    def _validate(self, txn: Transaction) -> None:
        """Phase 1 re-check: every key we wrote still has us as its only live writer,
        and no UNIQUE key we added was added by a transaction that committed first."""
        checked = set()
        for tree, key, chain, action, _v, _ in txn.undo:
            if action == _CHAIN or id(chain) in checked:
                continue
            checked.add(id(chain))
            last = chain[-1] if chain else None
            if txn._classify(last) is None:  # the same rule as at write time
                self.stats["validation_failures"] += 1
                raise ConflictError()
            if (tree.unique and tree.kind == INDEX and last is not None
                    and last.begin is txn and last.end is not txn):
                self._validate_unique(txn, tree, key)

    def _validate_unique(self, txn: Transaction, tree: VersionedTree, key: tuple) -> None:
        prefix = key[:-1]
        if any(x is None for x in prefix):
            return  # NULLs are distinct in UNIQUE indexes
        sk = tree.sort_key
        lo = sk(prefix)
        with tree.lock:
            for other in tree.chains.irange_key(lo, None):
                if sk(other)[:len(lo)] != lo:
                    break
                if other == key:
                    continue
                for w in tree.chains[other]:
                    b = w.begin
                    if type(b) is not int and b is not txn and b.state in (PREPARING, COMMITTED):
                        if w.end == INF:
                            self.stats["validation_failures"] += 1
                            raise ConflictError()
                    elif type(b) is int and b > txn.begin_ts and w.end == INF:
                        self.stats["validation_failures"] += 1
                        raise ConflictError()

    def _group_commit(self, txn: Transaction) -> None:
        """Phase 2: become the leader and write a group, or wait for a leader to.

        Followers wait on a condition, not on the leader's lock: when a group is
        written they all wake at once, those in it return, and one that is not
        becomes the next leader — so committed transactions start their next
        work without queueing behind the next fsync (measured in
        bench/commit_bench.py: commits per group at 8 threads 2.3 → 4.5).
        """
        cv = self._flush_cv
        with cv:
            while self._flushing and txn.state == PREPARING:
                cv.wait()
            if txn.state != PREPARING:
                return  # an earlier leader committed (or failed) us
            self._flushing = True
        try:
            touched = self._lead()
        finally:
            with cv:
                self._flushing = False
                cv.notify_all()
        if touched is not None:
            self.collect_garbage(touched)

    def _lead(self) -> list | None:
        """Write every queued transaction as one WAL transaction; returns what it touched."""
        with self._commit_lock:
            group, self._queue = self._queue, []
        if self.want_fresh_reads:
            # readers have had a group's time to move forward: backfill now
            # so that this commit can restart the WAL (pager: restart when
            # every frame is backfilled)
            try:
                self.pager.checkpoint("PASSIVE")
            except Exception:
                self.stats["checkpoint_errors"] += 1
        w = self.pager.begin_write()
        remapped: list[tuple[VersionedTree, int]] = []
        try:
            for t in group:
                if t.new_trees or t.dropped_trees:
                    self._apply_ddl_trees(w, t, remapped)
                self._apply(w, t)
                if t.deferred:
                    self._apply_deferred(w, t)
                for tree in t.dropped_trees:
                    btree.drop_tree(w, tree.root)
            if any(t.changes_schema for t in group):
                _bump_schema_cookie(w)
            self._apply_sequence(w, group)
            w.commit()
        except Exception as exc:  # I/O error, disk full...: the whole group fails
            try:
                w.rollback()
            except Exception:
                pass
            self._unmap_trees(remapped)
            for t in group:
                self.abort(t, exc)
            with self._sequence_lock:
                self._sequence = None  # reload: the cache may hold the failed values
            return
        self.stats["groups"] += 1
        self.stats["commits"] += len(group)
        with self._active_lock:
            self.published_seq += 1
            seq = self.published_seq
        ac = self.pager.wal_autocheckpoint
        self.want_fresh_reads = ac > 0 and self.pager.mx_frame >= ac
        touched: list[tuple[VersionedTree, Any]] = []
        seen: set[tuple[int, Any]] = set()
        for t in group:
            for tree, key, _chain, _a, _v, _x in t.undo:
                if (tree.root, key) not in seen:
                    seen.add((tree.root, key))
                    touched.append((tree, key))
        # Record each key's newest publication BEFORE finalize turns its stamps
        # into timestamps: a collector working on an older entry for the same
        # key then skips it (it checks under the tree lock, which finalize
        # also takes), so a chain a reader still needs is never dropped.
        for tree, key in touched:
            self._gc_last[(tree.root, key)] = seq
        for t in group:
            self._finalize(t, seq)
        self._gc_pending.append((seq, touched))
        return touched

    def _apply_ddl_trees(self, w: Any, t: Transaction, remapped: list) -> None:
        """Give ``t``'s new trees real root pages and patch its sqlite_schema rows."""
        real_of: dict[int, int] = {}
        for tree in t.new_trees:
            prov = tree.root
            real = btree.create_tree(w, btree.TABLE if tree.kind == TABLE else btree.INDEX)
            with self._trees_lock:
                self.trees.pop(prov, None)
                tree.root = real
                self.trees[real] = tree
            remapped.append((tree, prov))
            real_of[prov] = real
            if self.sequence_root == prov:  # sqlite_sequence made by this transaction
                self.sequence_root = real
        if not real_of:
            return
        schema = self.trees.get(1)
        if schema is None:
            return
        with schema.lock:
            for chain in schema.chains.values():
                for v in chain:
                    p = v.payload
                    if (v.begin is t and type(p) is tuple and len(p) > 3
                            and type(p[3]) is int and p[3] in real_of):
                        v.payload = p[:3] + (real_of[p[3]],) + p[4:]

    def _unmap_trees(self, remapped: list) -> None:
        with self._trees_lock:
            for tree, prov in remapped:
                if self.sequence_root == tree.root:
                    self.sequence_root = prov
                self.trees.pop(tree.root, None)
                tree.root = prov
                self.trees[prov] = tree

    def _apply(self, w: Any, t: Transaction) -> None:
        """Write ``t``'s final state of every key it touched into the B-trees."""
        seen: dict[tuple[int, Any], tuple[VersionedTree, Any, list]] = {}
        for tree, key, chain, _a, _v, _x in t.undo:
            seen.setdefault((tree.root, key), (tree, key, chain))
        for tree, key, chain in seen.values():
            new = None
            ended = False
            for v in chain:
                if v.begin is t and v.end is not t:
                    new = v
                if v.end is t and v.begin is not t:
                    ended = True  # a version from before t: its key is in the B-tree
            if tree.kind == TABLE:
                if new is not None:
                    btree.table_insert(w, tree.root, key, encode_record(new.payload))
                elif ended:
                    btree.table_delete(w, tree.root, key)
            else:
                if new is not None:
                    if not ended:
                        btree.index_insert(w, tree.root, key, tree.keyinfo)
                elif ended:
                    btree.index_delete(w, tree.root, key, tree.keyinfo)

    def _finalize(self, t: Transaction, seq: int) -> None:
        for tree in t.dropped_trees:
            self.forget_tree(tree)
        c = t.commit_ts
        t.published_seq = seq
        t.state = COMMITTED
        done = set()
        for tree, key, chain, _a, _v, _x in t.undo:
            if id(chain) in done:
                continue
            done.add(id(chain))
            with tree.lock:
                for v in chain:
                    if v.begin is t:
                        v.begin = c
                    if v.end is t:
                        v.end = c
        self._finish(t, COMMITTED)

    # -- abort and finish --------------------------------------------------------

    def abort(self, txn: Transaction, error: BaseException | None) -> None:
        """Roll ``txn`` back: its versions leave every chain; waiters wake."""
        if txn.state in (COMMITTED, ABORTED):
            return
        txn.error = error
        txn._undo_to(0)
        for tree in txn.new_trees:
            self.forget_tree(tree)
        self._finish(txn, ABORTED)

    def _finish(self, txn: Transaction, state: int) -> None:
        txn.state = state
        txn.mark_done()
        self._release_slot(txn)
        self._forget(txn)

    def _forget(self, txn: Transaction) -> None:
        with self._active_lock:
            self.active.discard(txn)
        txn.read.end()

    # -- garbage collection ------------------------------------------------------

    def collect_garbage(self, recent: list | None = None) -> int:
        """Drop chains whose newest change every active transaction reads from the B-tree.

        Returns the number of chains dropped. Runs after every commit group.
        """
        if not self._gc_lock.acquire(blocking=False):
            return 0  # another committer is collecting; the next commit catches up
        try:
            return self._collect(recent)
        finally:
            self._gc_lock.release()

    def _collect(self, recent: list | None) -> int:
        with self._active_lock:
            horizon = min((t.seen_seq for t in self.active), default=self.published_seq)
            begins = sorted(t.begin_ts for t in self.active)
        dropped = 0
        pending = self._gc_pending
        while pending and pending[0][0] <= horizon:
            seq, touched = pending.popleft()
            for tree, key in touched:
                if self._gc_last.get((tree.root, key)) != seq:
                    continue  # a later commit touched it; its own entry decides
                with tree.lock:
                    chain = tree.chains.get(key)
                    if chain is not None and all(
                            type(v.begin) is int and type(v.end) is int for v in chain):
                        del tree.chains[key]
                        dropped += 1
                        self._gc_last.pop((tree.root, key), None)
        # prune, inside the chains just committed that must stay, the versions
        # that no snapshot can see any more (hot rows under a long reader): a
        # committed version [begin, end) is seen only by snapshots begin < b <= end
        for tree, key in recent or ():
            with tree.lock:
                chain = tree.chains.get(key)
                if chain and len(chain) > 1:
                    keep = [v for v in chain
                            if not (type(v.begin) is int and type(v.end) is int and v.end != INF
                                    and _no_snapshot_between(begins, v.begin, v.end))]
                    if len(keep) < len(chain):
                        chain[:] = keep
        self.stats["gc_dropped"] += dropped
        return dropped

    def version_count(self) -> int:
        """Versions held in memory (for the soak test and the docs)."""
        return sum(len(c) for t in list(self.trees.values()) for c in list(t.chains.values()))

    def _check(self) -> None:
        """Assert the invariants of docs/mvcc.md (tests call this)."""
        for tree in list(self.trees.values()):
            with tree.lock:
                for key, chain in tree.chains.items():
                    current = ending = 0
                    for v in chain:
                        if type(v.begin) is int and type(v.end) is int:
                            assert v.begin <= v.end, (key, chain)
                        if v.end == INF:
                            current += 1
                        elif type(v.end) is not int and v.end is not v.begin:
                            ending += 1
                        for stamp in (v.begin, v.end):
                            if type(stamp) is not int:
                                assert stamp.state in (ACTIVE, PREPARING), (key, chain)
                    assert current <= 1 and ending <= 1, (key, chain)
