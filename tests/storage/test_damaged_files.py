"""Damaged files never crash or hang the storage layer (DESIGN: typed errors only).

From three small sqlite3-made seed databases (512-byte pages, a few pages
each, with an overflow row, an index, a freelist; one auto-vacuum file with
pointer-map pages, one WITHOUT ROWID table whose index keys overflow) we derive
10,000+ damaged files: bit flips (anywhere, or aimed at page headers, cell
pointers and cells), truncations, garbage pages, header field changes,
self-referencing and crossed child/overflow/freelist pointers, record-header
damage; plus a WAL-mode seed whose ``-wal`` file is damaged (raw flips and
cuts, and frame fields / frame pages changed with re-computed checksums).
That is 20,000 files. Each is opened through ``Pager`` on a ``MemoryVFS``,
read completely with ``inspect.scan_database`` and checked with
``integrity.check``. The only exceptions allowed out are
``storage.errors.DatabaseError`` subclasses (``CorruptError``,
``NotADatabaseError``, ``NotSupportedError``); each file must finish within
a wall-clock limit, and pytest-timeout bounds every test. Whatever the B-tree
refuses, the independent checker must also report. Finally our checker and
sqlite3's ``PRAGMA integrity_check`` must reach the same verdict on a sample.

Everything is seeded: file ``i`` of mutation kind ``k`` is always made by
``random.Random(f"{k}:{i}")``, so a failure message names its reproducer
(``_damaged(k, i)``). A summary of the outcomes (exception types and counts)
is printed per kind (``pytest -s`` shows it).
"""
from __future__ import annotations

import collections
import random
import sqlite3
import struct
import time
import traceback

import pytest

from storage import integrity
from storage.errors import CorruptError, DatabaseError, NotADatabaseError, NotSupportedError
from storage.inspect import scan_database
from storage.io import MemoryVFS
from storage.pager import Pager

ALLOWED = (CorruptError, NotADatabaseError, NotSupportedError)
# A hang detector, not a speed test: the slowest of these files takes ~30 ms on an
# idle machine, but CI's 2 cores may stall a process for a second or more.
PER_FILE_SECONDS = 10.0
FILES_PER_KIND = 2000


# -- seeds ------------------------------------------------------------------------

def _seed_plain(con):
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB)")
    con.execute("CREATE INDEX t_b ON t(b)")
    rows = [(i, f"row {i}" * (1 + i % 3), bytes([i]) * (i % 7)) for i in range(1, 31)]
    rows.append((1000, "big " * 400, b"\x01\x02" * 300))  # spills to overflow pages
    rows.append((-5, None, 2.5))
    con.executemany("INSERT INTO t VALUES (?,?,?)", rows)
    con.execute("DELETE FROM t WHERE a BETWEEN 10 AND 25")  # leaves free pages


def _seed_autovacuum(con):
    con.execute("PRAGMA auto_vacuum=INCREMENTAL")
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)")
    con.execute("CREATE INDEX t_b ON t(b DESC)")
    con.executemany("INSERT INTO t VALUES (?,?)",
                    [(i, "v" * (i * 37 % 120)) for i in range(1, 30)] + [(99, "w" * 1500)])
    con.execute("DELETE FROM t WHERE a % 3 = 0")


def _seed_without_rowid(con):
    con.execute("CREATE TABLE w(k TEXT PRIMARY KEY, v INT) WITHOUT ROWID")
    con.execute("CREATE TABLE s(x REAL, y)")
    con.execute("CREATE INDEX s_xy ON s(y, x)")
    con.executemany("INSERT INTO w VALUES (?,?)",
                    [(f"key{i:03d}" + "k" * (i % 5) * 20, i) for i in range(25)] + [("K" * 900, -1)])
    con.executemany("INSERT INTO s VALUES (?,?)", [(i / 3, "y" * (i % 4) * 40) for i in range(20)])
    con.execute("DELETE FROM w WHERE v % 4 = 1")


SEEDS = {"plain": _seed_plain, "autovacuum": _seed_autovacuum, "without_rowid": _seed_without_rowid}


def _pages_by_type(path):
    con = sqlite3.connect(path)
    try:
        out = collections.defaultdict(list)
        for pg, typ in con.execute("SELECT pageno, pagetype FROM dbstat ORDER BY pageno"):
            out[typ].append(pg)
        return dict(out)
    finally:
        con.close()


class Seed:
    def __init__(self, data: bytes, types: dict) -> None:
        self.data = data
        self.ps = 512
        self.npages = len(data) // 512
        self.interior = types.get("internal", [])
        self.leaves = types.get("leaf", [])
        self.overflow = types.get("overflow", [])
        self.tree = sorted(self.interior + self.leaves)
        trunk = struct.unpack_from(">I", data, 32)[0]
        self.free_trunks = [trunk] if trunk else []


def _build_seeds(tmp_path) -> list[Seed]:
    seeds = []
    for name, fill in SEEDS.items():
        p = tmp_path / f"{name}.db"
        p.unlink(missing_ok=True)
        con = sqlite3.connect(p)
        con.execute("PRAGMA page_size=512")
        fill(con)
        con.commit()
        con.close()
        chk = sqlite3.connect(p)
        assert chk.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        chk.close()
        seeds.append(Seed(p.read_bytes(), _pages_by_type(p)))
    return seeds


class _Seeds(list):
    """The seed list, plus ``wal_seed`` (a Seed with ``wal`` bytes)."""

    wal_seed: Seed


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    d = tmp_path_factory.mktemp("damage-seeds")
    s = _Seeds(_build_seeds(d))
    db, wal = _build_wal_seed(d)
    s.wal_seed = _reseed(s[0], db)
    s.wal_seed.wal = wal
    s.wal_seed.npages = int.from_bytes(db[28:32], "big")
    assert len(wal) > 32 + 5 * (24 + 512)
    # the seeds have what the damage needs
    assert all(sd.interior and sd.overflow for sd in s)
    assert sum(bool(sd.free_trunks) for sd in s) >= 2
    assert all(4 <= sd.npages <= 32 for sd in s), [sd.npages for sd in s]
    return s


# -- mutations (each: (rnd, seed) -> bytes) ------------------------------------------

def _page_off(pgno):
    return (pgno - 1) * 512


def _hdr_off(pgno):
    return _page_off(pgno) + (100 if pgno == 1 else 0)


def _cell_ptr_offsets(data, pgno):
    h = _hdr_off(pgno)
    if data[h] not in (2, 5, 10, 13):
        return []
    n = struct.unpack_from(">H", data, h + 3)[0]
    first = h + (8 if data[h] in (10, 13) else 12)
    return [first + 2 * i for i in range(min(n, 60))]


def _cells(data, pgno):
    base = _page_off(pgno)
    out = []
    for p in _cell_ptr_offsets(data, pgno):
        pc = struct.unpack_from(">H", data, p)[0]
        if 0 < pc < 512:
            out.append(base + pc)
    return out


def _interesting_value(rnd, seed, nbytes):
    top = (1 << (8 * nbytes)) - 1
    return rnd.choice([0, 1, 2, 3, seed.npages, seed.npages + 1, seed.npages - 1, top, top - 1,
                       rnd.randrange(top + 1), 100, 480, 511, 512, rnd.randrange(1, seed.npages + 3)]) & top


def _put(data, off, nbytes, value):
    if off + nbytes <= len(data):
        data[off:off + nbytes] = value.to_bytes(nbytes, "big")


def m_bitflip(rnd, seed):
    data = bytearray(seed.data)
    for _ in range(rnd.randrange(1, 5)):
        i = rnd.randrange(len(data))
        data[i] ^= 1 << rnd.randrange(8)
    return data


def m_structural_flip(rnd, seed):
    """Bit flips aimed at what the parsers trust most: page headers, cell pointers, cell starts."""
    data = bytearray(seed.data)
    for _ in range(rnd.randrange(1, 4)):
        pg = rnd.choice(seed.tree)
        target = rnd.random()
        if target < 0.4:
            at = _hdr_off(pg) + rnd.randrange(12)
        elif target < 0.7 and _cell_ptr_offsets(data, pg):
            at = rnd.choice(_cell_ptr_offsets(data, pg)) + rnd.randrange(2)
        elif _cells(data, pg):
            at = rnd.choice(_cells(data, pg)) + rnd.randrange(12)
        else:
            at = _hdr_off(pg)
        if at < len(data):
            data[at] ^= 1 << rnd.randrange(8)
    return data


def m_truncate(rnd, seed):
    n = len(seed.data)
    cut = rnd.choice([rnd.randrange(n), rnd.randrange(seed.npages) * 512, rnd.randrange(0, 120),
                      n - rnd.randrange(1, 512)])
    return bytearray(seed.data[:max(0, cut)])


def m_garbage_page(rnd, seed):
    data = bytearray(seed.data)
    pg = rnd.randrange(1, seed.npages + 1)
    off = _page_off(pg)
    start = 100 if pg == 1 and rnd.random() < 0.7 else 0
    how = rnd.randrange(5)
    if how == 0:
        fill = rnd.randbytes(512 - start)
    elif how == 1:
        fill = bytes(512 - start)
    elif how == 2:
        fill = b"\xff" * (512 - start)
    elif how == 3:
        other = rnd.randrange(1, seed.npages + 1)
        fill = seed.data[_page_off(other) + start:_page_off(other) + 512]
    else:  # a plausible header with random content
        fill = bytes([rnd.choice([2, 5, 10, 13])]) + rnd.randbytes(511 - start)
    data[off + start:off + 512] = fill
    return data


_HEADER_FIELDS = [(16, 2), (18, 1), (19, 1), (20, 1), (21, 1), (22, 1), (23, 1), (24, 4),
                  (28, 4), (32, 4), (36, 4), (40, 4), (44, 4), (48, 4), (52, 4), (56, 4),
                  (64, 4), (92, 4), (96, 4)]


def m_header_field(rnd, seed):
    data = bytearray(seed.data)
    for _ in range(rnd.randrange(1, 3)):
        off, size = rnd.choice(_HEADER_FIELDS)
        if off == 16:
            v = rnd.choice([1, 256, 511, 513, 1024, 4096, 32768, 0, 0xFFFF, 512])
        elif size == 1:
            v = rnd.choice([0, 1, 2, 3, 4, 31, 32, 33, 63, 64, 65, 255, rnd.randrange(256)])
        else:
            v = _interesting_value(rnd, seed, size)
        _put(data, off, size, v)
    return data


def m_pointers(rnd, seed):
    """Child, overflow and freelist pointers aimed at themselves or at used pages."""
    data = bytearray(seed.data)
    choices = ["child", "right", "overflow_next", "cell_overflow", "trunk_next", "trunk_leaf",
               "header_trunk"]
    kind = rnd.choice(choices)
    target = rnd.choice(["self", "page1", "tree", "overflow", "zero", "beyond", "random"])

    def pick(own):
        return {"self": own, "page1": 1, "tree": rnd.choice(seed.tree),
                "overflow": rnd.choice(seed.overflow), "zero": 0,
                "beyond": seed.npages + rnd.randrange(1, 5),
                "random": rnd.randrange(1 << 32)}[target]

    if kind in ("child", "right") and seed.interior:
        pg = rnd.choice(seed.interior)
        if kind == "right" or not _cells(data, pg):
            _put(data, _hdr_off(pg) + 8, 4, pick(pg))
        else:
            _put(data, rnd.choice(_cells(data, pg)), 4, pick(pg))
    elif kind == "overflow_next" and seed.overflow:
        pg = rnd.choice(seed.overflow)
        _put(data, _page_off(pg), 4, pick(pg))
    elif kind == "cell_overflow":
        # the 4-byte overflow pointer is the last 4 bytes of a spilled cell:
        # aim at a random 4-byte slot near each cell start instead
        pg = rnd.choice(seed.leaves)
        cells = _cells(data, pg)
        if cells:
            _put(data, rnd.choice(cells) + rnd.randrange(0, 40), 4, pick(pg))
    elif kind in ("trunk_next", "trunk_leaf") and seed.free_trunks:
        pg = seed.free_trunks[0]
        if kind == "trunk_next":
            _put(data, _page_off(pg), 4, pick(pg))
        else:
            n = struct.unpack_from(">I", data, _page_off(pg) + 4)[0]
            slot = rnd.randrange(max(1, min(n, 100)))
            _put(data, _page_off(pg) + 8 + 4 * slot, 4, pick(pg))
    else:
        _put(data, 32, 4, pick(1))
    return data


def m_record(rnd, seed):
    """Damage inside cells: payload-size varints, record headers, serial types."""
    data = bytearray(seed.data)
    for _ in range(rnd.randrange(1, 4)):
        pg = rnd.choice(seed.leaves)
        cells = _cells(data, pg)
        if not cells:
            continue
        at = rnd.choice(cells) + rnd.randrange(0, 8)
        if at >= len(data):
            continue
        data[at] = rnd.choice([0x00, 0x0A, 0x0B, 0x7F, 0x80, 0xFF, rnd.randrange(256)])
        if rnd.random() < 0.3 and at + 9 <= len(data):
            data[at:at + 9] = b"\xff" * 9
    return data


def m_cell_count(rnd, seed):
    """Cell counts, content-area starts, freeblock and fragment fields."""
    data = bytearray(seed.data)
    pg = rnd.choice(seed.tree)
    h = _hdr_off(pg)
    field = rnd.choice([(1, 2), (3, 2), (5, 2), (7, 1)])
    size = field[1]
    v = rnd.choice([0, 1, 4, 8, 100, 500, 508, 511, 512, 0xFFFF, rnd.randrange(1 << (8 * size))])
    _put(data, h + field[0], size, v & ((1 << (8 * size)) - 1))
    return data


def m_mixed(rnd, seed):
    """Two or three different mutations on top of each other."""
    data = seed.data
    for _ in range(rnd.randrange(2, 4)):
        fn = rnd.choice([m_bitflip, m_structural_flip, m_garbage_page, m_header_field,
                         m_pointers, m_record, m_cell_count])
        data = fn(rnd, _reseed(seed, bytes(data)))
    return data


def _reseed(seed, data):
    s = Seed.__new__(Seed)
    s.__dict__.update(seed.__dict__)
    s.data = data
    return s


# -- damaged WAL files (the db file stays sound) --------------------------------------

def _build_wal_seed(tmp_path) -> tuple[bytes, bytes]:
    """A WAL-mode database whose last transactions exist only as WAL frames."""
    src = tmp_path / "walseed.db"
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"walseed.db{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(src, isolation_level=None)
    con.execute("PRAGMA page_size=512")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    _seed_plain(con)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for r in range(3):
        con.execute("BEGIN")
        con.executemany("INSERT INTO t VALUES (?,?,?)",
                        [(2000 + r * 10 + i, f"wal {r} {i}" * 9, None) for i in range(6)])
        con.execute("DELETE FROM t WHERE a = ?", (r + 1,))
        con.execute("COMMIT")
    db, wal = src.read_bytes(), (tmp_path / "walseed.db-wal").read_bytes()
    con.close()
    return db, wal


def _wal_checksum(data, s0, s1, big):
    """SQLite's WAL checksum (our own copy, independent of storage/wal.py)."""
    words = struct.unpack((">" if big else "<") + f"{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _rechecksum(wal: bytearray, ps: int) -> None:
    """Make every header/frame checksum (and salt) valid again after a mutation."""
    if len(wal) < 32:
        return
    big = struct.unpack_from(">I", wal, 0)[0] & 1
    s0, s1 = _wal_checksum(bytes(wal[:24]), 0, 0, big)
    struct.pack_into(">II", wal, 24, s0, s1)
    off = 32
    while off + 24 + ps <= len(wal):
        wal[off + 8:off + 16] = wal[16:24]
        s0, s1 = _wal_checksum(bytes(wal[off:off + 8]) + bytes(wal[off + 24:off + 24 + ps]),
                               s0, s1, big)
        struct.pack_into(">II", wal, off + 16, s0, s1)
        off += 24 + ps


def m_wal(rnd, seed):
    """Damage the -wal file: raw flips and cuts (recovery must drop the bad tail), or
    frame fields and frame pages changed with valid checksums (the pager must refuse
    or the readers must report them)."""
    wal = bytearray(seed.wal)
    ps = 512
    nframes = (len(wal) - 32) // (24 + ps)
    frame_off = 32 + rnd.randrange(nframes) * (24 + ps)
    how = rnd.randrange(7)
    if how == 0:
        for _ in range(rnd.randrange(1, 4)):
            i = rnd.randrange(len(wal))
            wal[i] ^= 1 << rnd.randrange(8)
        return seed.data, bytes(wal)
    if how == 1:
        return seed.data, bytes(wal[:rnd.randrange(len(wal))])
    if how == 2:  # a frame's page number
        _put(wal, frame_off, 4, rnd.choice([1, 2, seed.npages + 1, seed.npages + 50, 0xFFFFFFFF,
                                            rnd.randrange(1, seed.npages + 1)]))
    elif how == 3:  # the commit frame's database size (or a non-commit frame made a commit)
        _put(wal, frame_off + 4, 4, rnd.choice([1, 2, seed.npages // 2, seed.npages + 3,
                                                0xFFFFFFFF, 0]))
    elif how == 4:  # the WAL header's page size / version
        off, val = rnd.choice([(8, 1024), (8, 256), (8, 65536), (8, 0), (4, 3007001)])
        _put(wal, off, 4, val)
    else:  # the content of a page inside a frame
        base = frame_off + 24
        for _ in range(rnd.randrange(1, 6)):
            at = base + rnd.choice([0, 1, 3, 5, 7, 8, 9, 10, 11, rnd.randrange(ps)])
            wal[at] = rnd.randrange(256)
    _rechecksum(wal, ps)
    return seed.data, bytes(wal)


MUTATIONS = {
    "bitflip": m_bitflip, "structural_flip": m_structural_flip, "truncate": m_truncate,
    "garbage_page": m_garbage_page, "header_field": m_header_field, "pointers": m_pointers,
    "record": m_record, "cell_count": m_cell_count, "mixed": m_mixed, "wal": m_wal,
}


def _damaged(seeds, kind, i):
    """The reproducer: damaged file number ``i`` of mutation ``kind`` — the db bytes,
    or a (db bytes, wal bytes) pair for kind "wal"."""
    rnd = random.Random(f"{kind}:{i}")
    if kind == "wal":
        return m_wal(rnd, seeds.wal_seed)
    seed = seeds[i % len(seeds)]
    return bytes(MUTATIONS[kind](rnd, seed))


# -- the run ------------------------------------------------------------------------------

def _exercise(data) -> tuple[str, str | None]:
    """Open, scan and check one file (``data``: db bytes, or (db, wal) bytes).
    Returns (outcome, failure traceback or None)."""
    vfs = MemoryVFS()
    if isinstance(data, tuple):
        data, wal = data
        vfs.write_bytes("/d.db-wal", wal)
    vfs.write_bytes("/d.db", data)
    outcome = "ok"
    try:
        pager = Pager.open("/d.db", vfs=vfs, readonly=True, create=False)
    except ALLOWED as e:
        return f"open:{type(e).__name__}", None
    except BaseException:  # noqa: BLE001 - anything else is the bug we hunt
        return "open:BUG", traceback.format_exc()
    try:
        try:
            scan_database(pager)
        except ALLOWED as e:
            outcome = f"scan:{type(e).__name__}"
        except BaseException:  # noqa: BLE001
            return "scan:BUG", traceback.format_exc()
        try:
            txn = pager.begin_read()
            try:
                errs = integrity.check(txn)
            finally:
                txn.end()
            outcome += "+check:" + ("clean" if not errs else "errors")
        except ALLOWED as e:
            outcome += f"+check:{type(e).__name__}"
        except BaseException:  # noqa: BLE001
            return "check:BUG", traceback.format_exc()
    finally:
        try:
            pager.close()
        except ALLOWED:
            pass
        except BaseException:  # noqa: BLE001
            return "close:BUG", traceback.format_exc()
    return outcome, None


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_damaged_files_raise_only_database_errors(seeds, kind):
    counts: collections.Counter = collections.Counter()
    failures = []
    slow = []
    unexplained = []  # the B-tree refused the file but our checker found nothing
    for i in range(FILES_PER_KIND):
        data = _damaged(seeds, kind, i)
        t0 = time.perf_counter()
        outcome, tb = _exercise(data)
        dt = time.perf_counter() - t0
        counts[outcome] += 1
        if tb is not None:
            failures.append((i, tb))
        if outcome == "scan:CorruptError+check:clean":
            unexplained.append(i)
        if dt > PER_FILE_SECONDS:
            slow.append((i, round(dt, 2)))
    print(f"\n[damaged files: {kind}] {FILES_PER_KIND} files: "
          + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    assert not failures, (
        f"{len(failures)} damaged files ({kind}) raised a non-DatabaseError; reproduce with "
        f"_damaged(seeds, {kind!r}, i) for i in {[i for i, _ in failures[:20]]}\n"
        f"first traceback:\n{failures[0][1]}")
    assert not slow, f"files took too long (kind={kind}): {slow[:10]}"
    # two independent readings of the format: what one refuses, the other reports
    assert not unexplained, (
        f"scan raised CorruptError but integrity.check found nothing: "
        f"_damaged(seeds, {kind!r}, i) for i in {unexplained[:20]}")
    # the damage is real: some files are refused or reported
    assert counts.total() == FILES_PER_KIND
    assert sum(v for k, v in counts.items() if k != "ok+check:clean") > FILES_PER_KIND // 10


def test_reproducer_is_deterministic(seeds):
    assert all(issubclass(e, DatabaseError) for e in ALLOWED)
    for kind in MUTATIONS:
        assert _damaged(seeds, kind, 7) == _damaged(seeds, kind, 7)
    assert len({_damaged(seeds, "bitflip", i) for i in range(50)}) > 40


def test_pristine_seeds_scan_and_check_clean(seeds):
    for data in [sd.data for sd in seeds] + [(seeds.wal_seed.data, seeds.wal_seed.wal)]:
        outcome, tb = _exercise(data)
        assert tb is None and outcome == "ok+check:clean", outcome


# -- our checker vs sqlite3's on the same damaged files -----------------------------------

def _sqlite_verdict(path) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        return [r[0] for r in con.execute("PRAGMA integrity_check")]
    except (sqlite3.DatabaseError, MemoryError) as e:
        return [f"sqlite3 error: {e}"]
    finally:
        con.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["bitflip", "structural_flip", "pointers", "record", "cell_count"])
def test_checker_agrees_with_sqlite(seeds, kind, tmp_path):
    """On damaged files both checkers judge the same way: whenever sqlite3 finds a
    problem in the b-trees, freelist or indexes, so do we; whenever we find one,
    so does sqlite3 — except damage sqlite3's check does not look at (a record
    header it never decodes; schema SQL that no longer parses, which is the SQL
    layer's business, not the storage layer's)."""
    path = tmp_path / "d.db"
    disagree = []
    judged = 0
    for i in range(250):
        data = _damaged(seeds, kind, i)
        vfs = MemoryVFS()
        vfs.write_bytes("/d.db", data)
        try:
            pager = Pager.open("/d.db", vfs=vfs, readonly=True, create=False)
        except ALLOWED:
            continue
        try:
            txn = pager.begin_read()
            ours = integrity.check(txn)
            txn.end()
        finally:
            pager.close()
        path.write_bytes(data)
        theirs = _sqlite_verdict(path)
        if any("malformed database schema" in t for t in theirs):
            continue
        judged += 1
        if bool(ours) != (theirs != ["ok"]):
            if ours and all("malformed record" in e for e in ours):
                continue
            disagree.append((i, ours[:3], theirs[:3]))
    assert judged > 200
    assert not disagree, f"{len(disagree)} disagreements (kind={kind}): {disagree[:5]}"
