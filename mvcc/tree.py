"""The version index of one B-tree: key → chain of versions.

One ``VersionedTree`` per table or index root page. Keys are rowids (tables)
or full index keys ``(values..., rowid)`` ordered by the index's ``KeyInfo``
(indexes). The chains overlay the B-tree: a key with a chain is decided by its
versions; a key without one is read from the B-tree at the reader's WAL mark.
Structure changes happen under ``lock``; readers copy what they need under it.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from sortedcontainers import SortedDict

from mvcc.version import Version

TABLE, INDEX = "table", "index"


class VersionedTree:
    """Chains for one tree; see the module docstring."""

    __slots__ = ("root", "kind", "keyinfo", "unique", "chains", "lock", "sort_key", "__weakref__")

    def __init__(self, root: int, kind: str, keyinfo: Any = None, unique: bool = False,
                 sort_key: Callable[[Any], Any] | None = None) -> None:
        self.root = root
        self.kind = kind
        self.keyinfo = keyinfo
        self.unique = unique
        self.sort_key = sort_key
        self.chains: SortedDict = SortedDict(sort_key) if sort_key else SortedDict()
        self.lock = threading.Lock()

    def chain(self, key: Any) -> list[Version] | None:
        with self.lock:
            return self.chains.get(key)

    def keys_between(self, lo: Any, hi: Any, reverse: bool = False) -> list[Any]:
        """A copy of the chain keys in [lo, hi] (None = unbounded), in tree order."""
        with self.lock:
            return list(self.chains.irange(lo, hi, reverse=reverse))

    def __len__(self) -> int:
        return len(self.chains)
