"""A transaction: snapshot reads through the version index with B-tree fallback, and writes.

Owns the per-transaction rules: what a read sees (``mvcc.version``), when a
write conflicts (first updater wins), the undo log that serves ROLLBACK and
ROLLBACK TO, and the savepoint stack. Committing is the database's job
(``mvcc.database``: phase 1 validation, phase 2 group commit); a transaction
only hands itself over.

Rows are tuples (decoded records) above ``storage``; index entries are key
tuples ``(values..., rowid)``.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Iterator

from storage import btree

from storage.errors import BusyError, DiskFullError

from mvcc.errors import ConflictError, KeyExistsError
from mvcc.tree import VersionedTree
from mvcc.version import (
    ABORTED, ACTIVE, COMMITTED, INF, PREPARING, STATE_NAMES, Version, effective_ts,
    visible_version,
)

# undo-log actions
_APPEND, _END, _PAYLOAD, _CHAIN = range(4)

#: guards the lazy creation of Transaction.done against its final mark_done()
_DONE_LOCK = threading.Lock()

_MISSING = object()
MAX_ROWID = (1 << 63) - 1


def _one_thread(fn: Callable) -> Callable:
    """Let one thread at a time into a transaction; a second one gets SQLITE_BUSY.

    A transaction (like the connection that drives it) is used by one thread at
    a time; two at once must never corrupt anything, so the second caller gets
    ``OperationalError("database is locked")`` at once instead of racing.
    """
    @functools.wraps(fn)
    def guarded(self: "Transaction", *args: Any, **kw: Any) -> Any:
        if not self._entered.acquire(False):
            raise BusyError()
        try:
            return fn(self, *args, **kw)
        finally:
            self._entered.release()
    return guarded


class _NoRows:
    """The B-tree side of a tree created by the running transaction: empty."""

    def first(self) -> bool:
        return False

    last = next = prev = first

    def seek(self, key: Any, op: str) -> bool:
        return False


class Transaction:
    """One transaction. Not thread-safe by itself: one thread drives it at a time."""

    def __init__(self, db: Any, txid: int, begin_ts: int, read: Any, exclusive: bool) -> None:
        self.db = db
        self.id = txid
        self.begin_ts = begin_ts
        self.commit_ts: int | None = None
        self.state = ACTIVE
        #: the pager snapshot (WAL read mark) every B-tree read goes through
        self.read = read
        #: holds (or will take at first write) the single-writer slot
        self.exclusive = exclusive
        self.holds_writer_slot = False
        #: set when the transaction ends; made on first use (``done``): most
        #: transactions are never waited for, and an Event is costly to build
        self._done: threading.Event | None = None
        self._entered = threading.RLock()
        #: (tree, key, chain, action, version, extra) in execution order
        self.undo: list[tuple] = []
        #: (name, undo-log length, deferred-row count) at each SAVEPOINT
        self.savepoints: list[tuple[str, int, int]] = []
        self.schema_version = db.schema_version
        self.error: BaseException | None = None
        #: publication sequence number current when we began / when we were published (GC)
        self.seen_seq = 0
        self.published_seq: int | None = None
        #: busy timeout in seconds for the writer slot
        self.timeout = 5.0
        #: set by the SQL layer for DDL: needs the writer slot, bumps the schema version
        self.changes_schema = False
        #: publication sequence our ``read`` snapshot was taken at; open scans
        self.read_seq = 0
        self._cursors = 0
        #: AUTOINCREMENT table name -> largest rowid this transaction inserted
        self.autoinc: dict[str, int] = {}
        #: trees this (DDL) transaction creates / drops; materialised at commit
        self.new_trees: list[VersionedTree] = []
        self.dropped_trees: list[VersionedTree] = []
        #: rows whose rowid the commit leader assigns (``insert_deferred``), in order:
        #: (tree, payload tuple or zero-argument callable, AUTOINCREMENT name or None)
        self.deferred: list[tuple[VersionedTree, Any, str | None]] = []

    @property
    def done(self) -> threading.Event:
        """An Event set once the transaction is committed or aborted."""
        ev = self._done
        if ev is None:
            with _DONE_LOCK:
                ev = self._done
                if ev is None:
                    ev = threading.Event()
                    if self.state in (COMMITTED, ABORTED):
                        ev.set()
                    self._done = ev
        return ev

    def mark_done(self) -> None:
        """Wake waiters; the caller has already set the final ``state``."""
        if self._done is None:
            with _DONE_LOCK:  # a waiter making the Event now sees the final state
                ev = self._done
        else:
            ev = self._done
        if ev is not None:
            ev.set()

    def __repr__(self) -> str:
        return f"<Transaction {self.id} b={self.begin_ts} c={self.commit_ts} {STATE_NAMES[self.state]}>"

    # -- reads -----------------------------------------------------------------

    def _fresh_read(self) -> None:
        """Move our pager snapshot to the newest mark when the WAL wants to restart.

        Safe between operations: a key changed after our snapshot keeps its chain
        until every transaction that began before the change has ended (GC goes by
        ``seen_seq``, which does not move), so the B-tree is consulted only for keys
        that read the same at every mark since. Without this, a steady stream of
        overlapping transactions pins old marks and the WAL never restarts.
        """
        db = self.db
        if db.want_fresh_reads and not self._cursors and self.read_seq != db.published_seq:
            old = self.read
            self.read_seq = db.published_seq
            self.read = db.pager.begin_read()
            old.end()

    @_one_thread
    def get(self, tree: VersionedTree, rowid: int) -> tuple | None:
        """The row with this rowid as this transaction sees it, or None."""
        self._check_active()
        self._fresh_read()
        chain = tree.chains.get(rowid)
        if chain is not None:
            v = visible_version(chain[:], self)
            return None if v is None else v.payload
        return self._btree_row(tree, rowid)

    @_one_thread
    def index_contains(self, tree: VersionedTree, key: tuple) -> bool:
        self._check_active()
        self._fresh_read()
        chain = tree.chains.get(key)
        if chain is not None:
            return visible_version(chain[:], self) is not None
        if tree.root < 0:
            return False
        cur = btree.IndexCursor(self.read, tree.root, tree.keyinfo)
        return cur.seek(key, "=") and tuple(cur.key) == tuple(key)

    def rows(self, tree: VersionedTree, lo: int | None = None, hi: int | None = None,
             reverse: bool = False) -> Iterator[tuple[int, tuple]]:
        """(rowid, row) for every visible row with lo <= rowid <= hi, in rowid order.

        Merges the B-tree at this transaction's WAL mark with the chains; keys
        first changed after the scan started are not seen (the SQL layer
        materialises where a statement could meet its own writes).
        """
        self._check_active()
        self._fresh_read()
        keys = tree.keys_between(lo, hi, reverse)
        self._cursors += 1
        try:
            yield from self._merge_rows(tree, keys, lo, hi, reverse)
        finally:
            self._cursors -= 1

    def _merge_rows(self, tree: VersionedTree, keys: list, lo: int | None, hi: int | None,
                    reverse: bool) -> Iterator[tuple[int, tuple]]:
        # The same merge as _merge_keys, kept as its own loop on purpose: this is
        # the table-scan hot path, compared on plain rowids; a shared generic merge
        # would add a call per row for key extraction and comparison.
        cur = btree.TableCursor(self.read, tree.root) if tree.root > 0 else _NoRows()
        if reverse:
            ok = cur.seek(hi, "<=") if hi is not None else cur.last()
            step = cur.prev
        else:
            ok = cur.seek(lo, ">=") if lo is not None else cur.first()
            step = cur.next
        if not keys and not reverse:
            # nothing of this range lives in chains: a plain B-tree scan, a leaf at
            # a time (the common case for tables nobody is writing)
            if ok:
                if hi is None:
                    yield from cur.iter_rows()
                else:
                    for item in cur.iter_rows():
                        if item[0] > hi:
                            return
                        yield item
            return
        chains = tree.chains
        nkeys = len(keys)
        i = 0
        while True:
            if ok:
                bkey = cur.rowid
                if (hi is not None and not reverse and bkey > hi) or (
                        lo is not None and reverse and bkey < lo):
                    ok = False
            if i < nkeys:
                ckey = keys[i]
                if ok and (cur.rowid > ckey if reverse else cur.rowid < ckey):
                    yield cur.rowid, cur.record()
                    ok = step()
                    continue
                chain = chains.get(ckey)
                if chain is None:  # collected since the scan began: the B-tree has it
                    if ok and cur.rowid == ckey:
                        yield ckey, cur.record()
                else:
                    v = visible_version(chain[:], self)
                    if v is not None:
                        yield ckey, v.payload
                if ok and cur.rowid == ckey:
                    ok = step()
                i += 1
            elif ok:
                yield cur.rowid, cur.record()
                ok = step()
            else:
                return

    def index_keys(self, tree: VersionedTree, lo: tuple | None = None, hi: tuple | None = None,
                   reverse: bool = False) -> Iterator[tuple]:
        """Every visible index key k with lo <= k <= hi (prefix bounds allowed), in index order."""
        self._check_active()
        self._fresh_read()
        sk = tree.sort_key
        lo_s = None if lo is None else sk(lo)
        hi_s = None if hi is None else sk(hi)
        with tree.lock:
            if hi_s is None:
                keys = list(tree.chains.irange_key(lo_s, None))
            else:
                # hi may be a prefix: every key that starts with it is in range, and
                # such keys sort after the bare prefix, so irange_key(.., hi_s) would
                # miss them
                n = len(hi_s)
                keys = []
                for k in tree.chains.irange_key(lo_s, None):
                    if sk(k)[:n] > hi_s:
                        break
                    keys.append(k)
        if reverse:
            keys.reverse()
        self._cursors += 1
        try:
            yield from self._merge_keys(tree, keys, lo, hi, lo_s, hi_s, reverse)
        finally:
            self._cursors -= 1

    def _merge_keys(self, tree: VersionedTree, keys: list, lo: tuple | None, hi: tuple | None,
                    lo_s: Any, hi_s: Any, reverse: bool) -> Iterator[tuple]:
        sk = tree.sort_key
        cur = (btree.IndexCursor(self.read, tree.root, tree.keyinfo) if tree.root > 0
               else _NoRows())
        if reverse:
            ok = cur.seek(hi, "<=") if hi is not None else cur.last()
            step = cur.prev
        else:
            ok = cur.seek(lo, ">=") if lo is not None else cur.first()
            step = cur.next
        chains = tree.chains
        nkeys = len(keys)
        i = 0
        while True:
            bkey = None
            if ok:
                bkey = tuple(cur.key)
                bs = sk(bkey)
                if (hi_s is not None and not reverse and bs[:len(hi_s)] > hi_s) or (
                        lo_s is not None and reverse and bs[:len(lo_s)] < lo_s):
                    ok = False
                    bkey = None
            if i < nkeys:
                ckey = keys[i]
                cs = sk(ckey)
                if bkey is not None and (bs > cs if reverse else bs < cs):
                    yield bkey
                    ok = step()
                    continue
                chain = chains.get(ckey)
                if chain is None:
                    if bkey is not None and bs == cs:
                        yield bkey
                elif visible_version(chain[:], self) is not None:
                    yield ckey
                if bkey is not None and bs == cs:
                    ok = step()
                i += 1
            elif bkey is not None:
                yield bkey
                ok = step()
            else:
                return

    # -- writes ----------------------------------------------------------------

    @_one_thread
    def insert(self, tree: VersionedTree, rowid: int, row: tuple) -> None:
        """Insert a row with an explicit rowid; KeyExistsError if it is visible to us."""
        self._write(tree, rowid, row, "insert")

    @_one_thread
    def insert_auto(self, tree: VersionedTree, row: tuple, autoincrement: str | None = None) -> int:
        """Insert a row under a fresh rowid from the shared allocator; never conflicts.

        The rowid is max(newest B-tree rowid, any rowid in the version index) + 1,
        taken under the tree lock, so concurrent inserters never collide; like
        SQLite, a rolled-back or deleted maximum may be handed out again. For an AUTOINCREMENT
        table pass its name: the rowid is also above every value ``sqlite_sequence``
        ever held, and the commit records it there (see ``note_rowid``).
        """
        self._before_write()
        self._fresh_read()
        floor = self.db.sequence_value(autoincrement) if autoincrement else 0
        with tree.lock:
            # Under the lock: a chain is collected only after its commit is in
            # the B-tree, so "newest B-tree max" and "chain keys" together cover
            # every rowid handed out, committed or not.
            base_max = self.db.latest_max_rowid(tree)
            last = tree.chains.peekitem(-1)[0] if tree.chains else None
            reserved = self.db.deferred_reserved(tree)
            rowid = max(base_max or 0, last or 0, floor, reserved) + 1
            if rowid > MAX_ROWID:
                if autoincrement:
                    raise DiskFullError()
                rowid = self._random_free_rowid(tree)
            chain: list[Version] = []
            tree.chains[rowid] = chain
            self.undo.append((tree, rowid, chain, _CHAIN, None, None))
            v = Version(self, INF, row)
            chain.append(v)
            self.undo.append((tree, rowid, chain, _APPEND, v, None))
        if autoincrement:
            self.note_rowid(autoincrement, rowid)
        return rowid

    @_one_thread
    def insert_deferred(self, tree: VersionedTree, payload: Any,
                        autoincrement: str | None = None) -> None:
        """Append a row whose rowid the group-commit leader assigns at COMMIT.

        For append-only logs written beside the data (change capture): the rows
        take rowids above every rowid the table holds, in commit order, so the
        rowid sequence is strictly increasing in commit order; they never enter
        the version index, so they cannot conflict with anything, and this
        transaction does not see them before it commits. ``payload`` is the
        record tuple, or a zero-argument callable returning it that the leader
        calls just before writing (after provisional roots became real).
        ROLLBACK, ROLLBACK TO and a failed statement drop them like any write.
        For an AUTOINCREMENT table pass its name: ``sqlite_sequence`` follows.
        """
        self._before_write()
        self.deferred.append((tree, payload, autoincrement))

    def note_rowid(self, table_name: str, rowid: int) -> None:
        """Record a rowid inserted into an AUTOINCREMENT table (explicit rowids too).

        The group-commit leader raises ``sqlite_sequence`` to the largest noted
        rowid when this transaction commits; nothing is written if it rolls back.
        The sequence table is written only by the leader, so it never conflicts.
        """
        if rowid > self.autoinc.get(table_name, 0):
            self.autoinc[table_name] = rowid

    def _random_free_rowid(self, tree: VersionedTree) -> int:
        """SQLite's fallback once rowid 2**63-1 is taken: try random unused rowids."""
        import random
        rnd = random.Random()
        for _ in range(100):
            candidate = rnd.randint(1, MAX_ROWID)
            if candidate not in tree.chains and self._btree_row(tree, candidate) is None:
                return candidate
        raise DiskFullError()

    @_one_thread
    def update(self, tree: VersionedTree, rowid: int, row: tuple) -> bool:
        """Replace a visible row; False if it does not exist for us."""
        return self._write(tree, rowid, row, "update")

    @_one_thread
    def delete(self, tree: VersionedTree, rowid: int) -> bool:
        """Delete a visible row; False if it does not exist for us."""
        return self._write(tree, rowid, None, "delete")

    @_one_thread
    def index_add(self, tree: VersionedTree, key: tuple) -> None:
        self._write(tree, tuple(key), True, "insert")

    @_one_thread
    def index_remove(self, tree: VersionedTree, key: tuple) -> bool:
        return self._write(tree, tuple(key), None, "delete")

    def _btree_row(self, tree: VersionedTree, rowid: int) -> tuple | None:
        if tree.root < 0:
            return None  # created by this transaction: nothing on disk yet
        cur = btree.TableCursor(self.read, tree.root)
        return cur.record() if cur.seek(rowid, "=") else None

    def _btree_base(self, tree: VersionedTree, key: Any) -> Any:
        if tree.kind == "table":
            return self._btree_row(tree, key)
        if tree.root < 0:
            return None
        cur = btree.IndexCursor(self.read, tree.root, tree.keyinfo)
        return True if cur.seek(key, "=") and tuple(cur.key) == key else None

    def _write(self, tree: VersionedTree, key: Any, payload: Any, mode: str) -> bool:
        self._before_write()
        self._fresh_read()
        base = _MISSING
        if tree.chains.get(key) is None:
            base = self._btree_base(tree, key)  # I/O outside the tree lock
        with tree.lock:
            result = self._write_locked(tree, key, payload, mode, base)
        if result is None:
            self._conflict()  # after releasing the lock: the abort takes it again
        return result

    def _write_locked(self, tree: VersionedTree, key: Any, payload: Any, mode: str,
                      base: Any) -> bool | None:
        """The write proper, under ``tree.lock``; None means a write-write conflict."""
        chain = tree.chains.get(key)
        created = chain is None
        if created:
            if base is _MISSING:  # the chain was collected between our look and the lock
                base = self._btree_base(tree, key)
            chain = [] if base is None else [Version(0, INF, base)]
        cur = chain[-1] if chain else None
        state = self._classify(cur)
        if state is None:
            return None
        exists, own = state
        if mode != "insert" and not exists:
            return False  # nothing to change; a chain made just now is not kept
        if mode == "insert" and exists:
            raise KeyExistsError("key exists")
        if created:
            tree.chains[key] = chain
            self.undo.append((tree, key, chain, _CHAIN, None, None))
        if mode == "insert":
            v = Version(self, INF, payload)
            chain.append(v)
            self.undo.append((tree, key, chain, _APPEND, v, None))
            return True
        if own:
            if payload is None:
                # our own version becomes a tombstone [us, us): invisible to all,
                # but other writers still conflict on it, so ROLLBACK TO can
                # bring it back without ever stacking on another writer's insert
                cur.end = self
                self.undo.append((tree, key, chain, _END, cur, None))
            else:
                self.undo.append((tree, key, chain, _PAYLOAD, cur, cur.payload))
                cur.payload = payload
            return True
        cur.end = self
        self.undo.append((tree, key, chain, _END, cur, None))
        if payload is not None:
            v = Version(self, INF, payload)
            chain.append(v)
            self.undo.append((tree, key, chain, _APPEND, v, None))
        return True

    def _classify(self, cur: Version | None) -> tuple[bool, bool] | None:
        """(exists for us, is our own version) for the newest version; None on conflict."""
        if cur is None:
            return False, False
        b = cur.begin
        if b is self:
            return cur.end is not self, True
        bts = effective_ts(b)
        if bts is None or bts > self.begin_ts:
            return None  # uncommitted by another, or committed after our snapshot
        e = cur.end
        if e == INF:
            return True, False
        if e is self:
            return False, False
        ets = effective_ts(e)
        if ets is None or ets > self.begin_ts:
            return None  # another is changing it, or changed it after our snapshot
        return False, False

    def _conflict(self) -> None:
        self.db.stats["conflicts"] += 1
        err = ConflictError()
        self.db.abort(self, err)
        raise err

    def _before_write(self) -> None:
        self._check_active()
        if not self.holds_writer_slot and self.exclusive:
            self.db.acquire_writer_slot(self)

    def _check_active(self) -> None:
        if self.state != ACTIVE:
            from storage.errors import OperationalError
            raise OperationalError(f"transaction is {STATE_NAMES[self.state].lower()}"
                                   + (f": {self.error}" if self.error else ""))

    @_one_thread
    def begin_schema_change(self) -> None:
        """Called by the SQL layer before DDL: schema changes need the writer slot,
        and committing bumps the schema version (others then get SQLITE_SCHEMA)."""
        self._check_active()
        if not self.holds_writer_slot:
            self.db.acquire_writer_slot(self)
        self.changes_schema = True

    @_one_thread
    def create_tree(self, kind: str, keyinfo: Any = None, unique: bool = False) -> VersionedTree:
        """A new table or index tree, usable at once inside this transaction.

        Its root is a provisional negative number until commit, when the leader
        allocates the real root page and rewrites every ``sqlite_schema`` row this
        transaction wrote whose rootpage column holds the provisional number.
        """
        self.begin_schema_change()
        tree = self.db.new_provisional_tree(kind, keyinfo, unique)
        self.new_trees.append(tree)
        return tree

    @_one_thread
    def drop_tree(self, tree: VersionedTree) -> None:
        """Free ``tree``'s pages when this transaction commits (DROP TABLE/INDEX)."""
        self.begin_schema_change()
        if tree in self.new_trees:
            self.new_trees.remove(tree)
            self.db.forget_tree(tree)
        else:
            self.dropped_trees.append(tree)

    # -- savepoints and undo ---------------------------------------------------

    @_one_thread
    def savepoint(self, name: str) -> None:
        self._check_active()
        self.savepoints.append((name.lower(), len(self.undo), len(self.deferred)))

    def _find_savepoint(self, name: str) -> int:
        lname = name.lower()
        for i in range(len(self.savepoints) - 1, -1, -1):
            if self.savepoints[i][0] == lname:
                return i
        from storage.errors import OperationalError
        raise OperationalError(f"no such savepoint: {name}")

    @_one_thread
    def release(self, name: str) -> None:
        """RELEASE: forget the savepoint and every one after it; keep the changes."""
        i = self._find_savepoint(name)
        del self.savepoints[i:]

    @_one_thread
    def rollback_to(self, name: str) -> None:
        """ROLLBACK TO: undo every change since the savepoint; the savepoint stays."""
        self._check_active()
        i = self._find_savepoint(name)
        _name, mark, deferred_mark = self.savepoints[i]
        self._undo_to(mark, deferred_mark)
        del self.savepoints[i + 1:]

    def _undo_to(self, mark: int, deferred_mark: int = 0) -> None:
        del self.deferred[deferred_mark:]
        undo = self.undo
        while len(undo) > mark:
            tree, key, chain, action, v, extra = undo.pop()
            with tree.lock:
                if action == _APPEND:
                    chain.remove(v)
                elif action == _END:
                    v.end = INF
                elif action == _PAYLOAD:
                    v.payload = extra
                elif action == _CHAIN:
                    if tree.chains.get(key) is chain and all(
                            type(x.begin) is int and x.end == INF for x in chain):
                        del tree.chains[key]

    # -- end -------------------------------------------------------------------

    @property
    def has_writes(self) -> bool:
        return bool(self.undo or self.deferred)

    @_one_thread
    def commit(self) -> None:
        self.db.commit(self)

    @_one_thread
    def rollback(self) -> None:
        if self.state == ACTIVE:
            self.db.abort(self, None)


__all__ = ["Transaction", "ACTIVE", "PREPARING", "COMMITTED", "ABORTED"]
