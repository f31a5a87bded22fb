"""Collating sequences: how two TEXT values compare (and sort) in SQLite.

Single job: the three built-in collations of SQLite ("Datatypes In SQLite",
datatype3.html section 7) plus a registry for user collations, each both as a
compare function ``(str, str) -> int`` (for ``=``/``<`` and friends) and as a
sort-key function ``str -> key`` (for ORDER BY, GROUP BY, DISTINCT, indexes).

* BINARY: memcmp of the UTF-8 bytes, which is code point order, which is how
  Python compares ``str``.
* NOCASE: like BINARY after folding the 26 ASCII upper case letters to lower
  case (SQLite does no Unicode case folding).
* RTRIM: like BINARY with trailing U+0020 spaces ignored.

Collation names are case-insensitive. Collations apply only to text-text
comparisons; the class order NULL < numbers < text < blob is in sql/values.py.
Known gap: SQLite's NOCASE stops at an embedded NUL and then compares lengths;
we compare the whole strings.
"""
from __future__ import annotations

from functools import cmp_to_key
from typing import Any, Callable

import attrs

from storage.errors import OperationalError

__all__ = ["Collation", "BINARY", "NOCASE", "RTRIM", "get_collation",
           "register_collation", "unregister_collation", "collation_names"]

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


@attrs.frozen(slots=True)
class Collation:
    """A named collation: ``compare`` gives <0/0/>0, ``key`` a sort key with the same order."""

    name: str
    compare: Callable[[str, str], int]
    key: Callable[[str], Any]
    builtin: bool = False


def _binary_compare(a: str, b: str) -> int:
    return (a > b) - (a < b)


def _binary_key(a: str) -> str:
    return a


def _nocase_key(a: str) -> str:
    return a.translate(_ASCII_LOWER)


def _nocase_compare(a: str, b: str) -> int:
    a = a.translate(_ASCII_LOWER)
    b = b.translate(_ASCII_LOWER)
    return (a > b) - (a < b)


def _rtrim_key(a: str) -> str:
    return a.rstrip(" ")


def _rtrim_compare(a: str, b: str) -> int:
    a = a.rstrip(" ")
    b = b.rstrip(" ")
    return (a > b) - (a < b)


BINARY = Collation("BINARY", _binary_compare, _binary_key, True)
NOCASE = Collation("NOCASE", _nocase_compare, _nocase_key, True)
RTRIM = Collation("RTRIM", _rtrim_compare, _rtrim_key, True)

_REGISTRY: dict[str, Collation] = {c.name: c for c in (BINARY, NOCASE, RTRIM)}


_ASCII_UPPER = {c + 32: c for c in range(ord("A"), ord("Z") + 1)}


def _norm(name: str) -> str:
    # SQLite folds collation names with its ASCII-only upper/lower table
    return name.translate(_ASCII_UPPER)


def get_collation(name: str) -> Collation:
    """The collation called ``name`` (any case); OperationalError if there is none."""
    try:
        return _REGISTRY[_norm(name)]
    except KeyError:
        raise OperationalError(f"no such collation sequence: {name}") from None


def register_collation(name: str, compare: Callable[[str, str], int]) -> Collation:
    """Add or replace a user collation (``Connection.create_collation``)."""
    if not callable(compare):
        raise TypeError("parameter must be callable")
    key = _norm(name)
    if key in _REGISTRY and _REGISTRY[key].builtin:
        # SQLite lets users override built-ins per connection; we keep the
        # built-ins process-wide and immutable so that indexes stay valid.
        raise OperationalError(f"cannot redefine built-in collation {name}")
    coll = Collation(name, compare, cmp_to_key(compare), False)
    _REGISTRY[key] = coll
    return coll


def unregister_collation(name: str) -> None:
    """Remove a user collation (``create_collation(name, None)``)."""
    key = _norm(name)
    c = _REGISTRY.get(key)
    if c is not None and not c.builtin:
        del _REGISTRY[key]


def collation_names() -> list[str]:
    """Names of every collation known now (PRAGMA collation_list)."""
    return [c.name for c in _REGISTRY.values()]
