"""sqlite3 as the oracle for value tests: one value as (storage class, comparable value).

Shared by test_values, test_functions and test_aggregates. Text is compared by
its UTF-8 bytes (connections use ``text_factory=bytes``), reals by ``repr`` so
that -0.0 and 0.0 differ.
"""
from __future__ import annotations

import sqlite3

from sql import values as V


def oracle_connection() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.text_factory = bytes
    return con


def norm(v):
    """Comparable (storage class, value) of one of our results."""
    t = type(v)
    if t is str:
        return ("text", V.text_bytes(v))
    if t is float:
        return ("real", repr(v))
    if t is int:
        return ("integer", v)
    if t is bytes:
        return ("blob", v)
    assert v is None, repr(v)
    return ("null", None)


def sqlite_value(con: sqlite3.Connection, expr: str, params=(), catch=sqlite3.OperationalError):
    """sqlite3's (storage class, value) of an SQL expression, or ('error', message)."""
    try:
        v, ty = con.execute(f"SELECT v, typeof(v) FROM (SELECT {expr} AS v)", params).fetchone()
    except catch as e:
        return ("error", str(e))
    ty = ty.decode()
    return ("real", repr(v)) if ty == "real" else (ty, v)
