"""Varints, the record format and record sort keys, with sqlite3 as the oracle."""
from __future__ import annotations

import functools
import math
import sqlite3
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import record
from storage.errors import CorruptError, DataError
from storage.record import (
    SORT_HI, decode_columns, decode_record, encode_record, get_varint, put_varint,
    serial_type_size, sort_key, values_sort_key, varint_len,
)

EDGE_INTS = [0, 1, -1, 2, 127, 128, -128, -129, 255, 256, 2**15 - 1, -2**15, 2**15, -2**15 - 1,
             2**23 - 1, -2**23, 2**23, -2**23 - 1, 2**31 - 1, -2**31, 2**31, -2**31 - 1,
             2**47 - 1, -2**47, 2**47, -2**47 - 1, 2**63 - 1, -2**63, 2**56 - 1, 2**56,
             2**62, -2**62]

values = st.one_of(
    st.none(),
    st.integers(min_value=-2**63, max_value=2**63 - 1),
    st.sampled_from(EDGE_INTS),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    st.binary(max_size=80),
    st.booleans(),
)


def same(a, b) -> bool:
    """Equality that also checks types (1 == 1.0 == True in Python)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if type(x) is bool:
            x = int(x)
        if type(y) is bool:
            y = int(y)
        if type(x) is not type(y):
            return False
        if isinstance(x, float) and math.isnan(x) != math.isnan(y):
            return False
        if isinstance(x, float) and not math.isnan(x) and x != y:
            return False
        if not isinstance(x, float) and x != y:
            return False
        if isinstance(x, float) and x == 0 and math.copysign(1, x) != math.copysign(1, y):
            return False
    return True


# -- varints -------------------------------------------------------------------

@pytest.mark.parametrize("v,n", [(0, 1), (127, 1), (128, 2), (16383, 2), (16384, 3),
                                 (2**21 - 1, 3), (2**28 - 1, 4), (2**56 - 1, 8), (2**56, 9),
                                 (2**63 - 1, 9), (-1, 9), (-2**63, 9)])
def test_varint_lengths(v, n):
    b = put_varint(v)
    assert len(b) == n == varint_len(v)
    assert get_varint(b, 0) == (v, n)
    # decoding at an offset inside a bigger buffer
    assert get_varint(b"\xff" + b + b"\x00", 1) == (v, n + 1)


@given(st.integers(min_value=-2**63, max_value=2**63 - 1))
def test_varint_roundtrip(v):
    b = put_varint(v)
    assert get_varint(b, 0) == (v, len(b))
    assert varint_len(v) == len(b)


def test_varint_known_bytes():
    # values from the file format document's description: 7 bits per byte, 9th byte whole
    assert put_varint(0x81) == b"\x81\x01"
    assert put_varint(0xFFFFFFFFFFFFFFFF & -1) == b"\xff" * 9
    assert get_varint(b"\x81\x80\x00", 0) == (0x4000, 3)


def test_varint_truncated_is_indexerror_then_corrupt():
    with pytest.raises(IndexError):
        get_varint(b"\x81", 0)
    with pytest.raises(CorruptError):
        decode_record(b"\x81")


# -- serial types and encoding -----------------------------------------------------

def test_serial_type_sizes():
    assert [serial_type_size(t) for t in range(10)] == [0, 1, 2, 3, 4, 6, 8, 8, 0, 0]
    assert serial_type_size(12) == 0 and serial_type_size(13) == 0
    assert serial_type_size(20) == 4 and serial_type_size(21) == 4
    for t in (10, 11):
        with pytest.raises(CorruptError):
            serial_type_size(t)


@pytest.mark.parametrize("v,t", [(None, 0), (0, 8), (1, 9), (2, 1), (-1, 1), (127, 1), (128, 2),
                                 (-32768, 2), (32768, 3), (2**23, 4), (2**31, 5), (2**47 - 1, 5),
                                 (2**47, 6), (-2**63, 6), (1.5, 7), (0.0, 7), ("", 13), ("ab", 17),
                                 (b"", 12), (b"abc", 18), (True, 9), (False, 8)])
def test_smallest_serial_type(v, t):
    rec = encode_record((v,))
    assert rec[0] == 2 and rec[1] == t


def test_nan_is_stored_as_null():
    assert decode_record(encode_record((float("nan"), 1))) == (None, 1)


def test_out_of_range_int_and_bad_type():
    with pytest.raises(DataError):
        encode_record((2**63,))
    with pytest.raises(DataError):
        encode_record((object(),))


def test_long_header_varint():
    vals = tuple("x" * 70 for _ in range(3)) + tuple(range(200))
    rec = encode_record(vals)
    hs, p = get_varint(rec, 0)
    assert hs > 127 and p == 2
    assert decode_record(rec) == vals


def test_header_size_boundary():
    # header sizes around 127/128 (the header-size varint growing to 2 bytes)
    for n in range(120, 135):
        vals = (None,) * n
        rec = encode_record(vals)
        assert get_varint(rec, 0)[0] == len(rec)
        assert decode_record(rec) == vals


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(values, max_size=12))
def test_encode_decode_roundtrip(vals):
    rec = encode_record(vals)
    expect = [int(v) if type(v) is bool else v for v in vals]
    for _ in range(3):  # the fast decoder compiles a header on its second sighting
        assert same(decode_record(rec), expect)
        assert same(record._decode_loop(rec, 0, len(rec), -1), expect)
    for n in range(len(vals) + 2):
        assert same(decode_columns(rec, n), expect[:n])


def test_big_blob_and_unicode():
    vals = ("héllo wörld ✓ 𝄞", b"\x00\xff" * 50000, "x" * 100000, "")
    assert decode_record(encode_record(vals)) == vals


def test_invalid_utf8_roundtrips_bytes_exactly():
    raw = b"ok\xff\xfe\x80end"
    s = raw.decode("utf-8", "surrogateescape")
    rec = encode_record((s,))
    assert rec[2:] == raw
    assert decode_record(rec) == (s,)


def test_fewer_columns_is_legal():
    rec = encode_record((1, "a"))
    assert decode_columns(rec, 5) == (1, "a")


@pytest.mark.parametrize("bad", [
    b"",                      # no header at all
    b"\x05\x01",              # header size past the end
    b"\x02\x0a",              # reserved serial type 10
    b"\x02\x0b",              # reserved serial type 11
    b"\x02\x06\x00",          # 8-byte int with 1 byte of body
    b"\x02\x15ab",            # 4-byte text with 2 bytes
    b"\x00",                  # header size 0 (smaller than itself)
    b"\x03\x81",              # serial-type varint running past the header
])
def test_damaged_records(bad):
    for _ in range(3):
        with pytest.raises(CorruptError):
            decode_record(bad)
        with pytest.raises(CorruptError):
            record.decode_columns(bad, 3) if bad not in (b"\x02\x06\x00", b"\x02\x15ab") \
                else decode_record(bad)
        with pytest.raises(Exception) as ei:
            sort_key(bad, 0, len(bad))
        assert isinstance(ei.value, (CorruptError, IndexError, struct.error))


# -- sqlite3 as the oracle ------------------------------------------------------------

def _sqlite_records(tmp_path, rows):
    """Write rows with sqlite3, return [(rowid, payload bytes)] read from its file."""
    import sys
    import os
    sys.path.insert(0, os.path.dirname(__file__))
    from fakestore import FakeStore
    from storage import btree
    p = str(tmp_path / "rec.db")
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t(a, b, c, d)")
    con.executemany("INSERT INTO t VALUES (?,?,?,?)", rows)
    con.commit()
    expect = con.execute("SELECT rowid, a, b, c, d FROM t ORDER BY rowid").fetchall()
    con.close()
    store = FakeStore.load(p)
    txn = store.read()
    root = None
    cur = btree.TableCursor(txn, 1)
    ok = cur.first()
    while ok:
        r = cur.record()
        if r[1] == "t":
            root = r[3]
        ok = cur.next()
    cur = btree.TableCursor(txn, root)
    got = []
    ok = cur.first()
    while ok:
        got.append((cur.rowid, cur.payload()))
        ok = cur.next()
    return expect, got


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(values, values, values, values), min_size=1, max_size=20))
def test_records_written_by_sqlite3_decode_equal(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("r")
    expect, got = _sqlite_records(tmp, rows)
    assert len(expect) == len(got)
    for (rid, *vals), (grid, payload) in zip(expect, got):
        assert rid == grid
        assert same(decode_record(payload), vals)


def test_sqlite3_stores_what_we_encode(tmp_path):
    """Our encoding of each value equals sqlite3's (after the REAL-as-int optimisation
    that sqlite3 applies only to REAL-affinity columns, absent here)."""
    rows = [(v, None, None, None) for v in EDGE_INTS] + [(1.25, "é", b"\x00", None)]
    expect, got = _sqlite_records(tmp_path, rows)
    for (rid, *vals), (_, payload) in zip(expect, got):
        assert encode_record(vals) == payload


# -- sort keys -------------------------------------------------------------------------

def _cls(v):
    if v is None:
        return 0
    if isinstance(v, (int, float)):
        return 1
    if isinstance(v, str):
        return 2
    return 3


def sqlite_cmp(a, b) -> int:
    """SQLite's record comparison (BINARY, ASC), written independently of record.py."""
    for x, y in zip(a, b):
        cx, cy = _cls(x), _cls(y)
        if cx != cy:
            return -1 if cx < cy else 1
        if cx == 0:
            continue
        if cx == 2:
            x, y = x.encode("utf-8", "surrogateescape"), y.encode("utf-8", "surrogateescape")
        if x != y:
            return -1 if x < y else 1
    return (len(a) > len(b)) - (len(a) < len(b))


key_values = st.one_of(st.none(), st.integers(-300, 300), st.sampled_from(EDGE_INTS),
                       st.floats(allow_nan=False, allow_infinity=True), st.text(max_size=5),
                       st.binary(max_size=5))


@settings(max_examples=300)
@given(st.lists(key_values, max_size=4), st.lists(key_values, max_size=4))
def test_sort_key_order_matches_sqlite_comparison(a, b):
    ka = sort_key(encode_record(a), 0, len(encode_record(a)))
    kb = values_sort_key(b)
    assert values_sort_key(a) == ka
    expect = sqlite_cmp(a, b)
    got = (ka > kb) - (ka < kb)
    assert got == expect
    # a prefix plus SORT_HI is above every key that starts with it
    if len(a) <= len(b) and sqlite_cmp(a, b[:len(a)]) == 0:
        assert ka + SORT_HI > kb


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(key_values, key_values), min_size=1, max_size=30))
def test_sort_key_order_matches_sqlite_order_by(rows):
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t(a, b)")
    con.executemany("INSERT INTO t VALUES (?,?)", rows)
    expect = con.execute("SELECT a, b, rowid FROM t ORDER BY a, b, rowid").fetchall()
    mine = sorted(con.execute("SELECT a, b, rowid FROM t").fetchall(), key=values_sort_key)
    assert [r[2] for r in mine] == [r[2] for r in expect]
    assert sorted(mine, key=functools.cmp_to_key(sqlite_cmp)) == mine
