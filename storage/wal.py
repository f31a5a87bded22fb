"""The WAL file's bytes: header, frames, checksums, recovery, and the wal-index.

This module's single job is SQLite's write-ahead-log format: encoding frames
for append, deciding which frames of an existing ``-wal`` file are valid, and
the in-memory wal-index that maps a page number to the frames holding it. It
knows nothing of transactions or caches (that is ``pager``). The format is
documented in SQLite's "WAL-mode File Format" (https://www.sqlite.org/walformat.html)
section 1 and in "Database File Format" section 4 "The Write-Ahead Log"
(https://www.sqlite.org/fileformat2.html#walformat).

Public surface: ``WalHeader`` (``parse``, ``new``, ``serialize``),
``checksum(data, s0, s1, big_endian)``, ``encode_frames(...)``, ``recover(file)``
-> ``Recovered``, ``WalIndex``, ``frame_offset(frame, page_size)`` and the
constants ``WAL_MAGIC_LE``/``WAL_MAGIC_BE``/``NATIVE_MAGIC``/``WAL_VERSION``/
``WAL_HEADER_SIZE``/``FRAME_HEADER_SIZE``.
"""
from __future__ import annotations

import struct
import sys
from bisect import bisect_right
from typing import Iterable

import attrs

from storage.api import File
from storage.errors import SQLITE_IOERR_SHORT_READ, DiskIOError

__all__ = [
    "WalHeader", "Recovered", "WalIndex", "checksum", "encode_frames", "recover",
    "frame_offset", "WAL_MAGIC_LE", "WAL_MAGIC_BE", "NATIVE_MAGIC", "WAL_VERSION",
    "WAL_HEADER_SIZE", "FRAME_HEADER_SIZE",
]

#: checksums computed over little-endian 32-bit words
WAL_MAGIC_LE = 0x377F0682
#: checksums computed over big-endian 32-bit words
WAL_MAGIC_BE = 0x377F0683
#: SQLite writes the magic of the machine's byte order (so it can sum native words)
NATIVE_MAGIC = WAL_MAGIC_BE if sys.byteorder == "big" else WAL_MAGIC_LE
WAL_VERSION = 3007000
WAL_HEADER_SIZE = 32
FRAME_HEADER_SIZE = 24
_M32 = 0xFFFFFFFF

# WAL header (all fields big-endian, whatever the checksum byte order):
#
#   offset size  meaning
#   0      4     magic: 0x377f0682 (LE checksums) or 0x377f0683 (BE checksums)
#   4      4     file format version: 3007000
#   8      4     database page size (65536 stored as is)
#   12     4     checkpoint sequence number
#   16     4     salt-1: incremented at every WAL restart
#   20     4     salt-2: a fresh random number at every restart
#   24     4     checksum-1 \ over bytes 0..23 of this header
#   28     4     checksum-2 /
_WAL_HDR = struct.Struct(">8I")

# Frame header (big-endian), followed by page-size bytes of page data:
#
#   offset size  meaning
#   0      4     page number
#   4      4     commit frame: database size in pages after the commit; else 0
#   8      4     salt-1 copied from the WAL header
#   12     4     salt-2 copied from the WAL header
#   16     4     checksum-1 \ cumulative: the previous frame's (or the WAL
#   20     4     checksum-2 / header's) checksum, continued over bytes 0..7 of
#                             this frame header and then the page data
_FRAME_HDR = struct.Struct(">6I")
_PAIR = {False: struct.Struct("<2I"), True: struct.Struct(">2I")}

_word_structs: dict[tuple[int, bool], struct.Struct] = {}


def _words(n_bytes: int, big_endian: bool) -> struct.Struct:
    key = (n_bytes, big_endian)
    s = _word_structs.get(key)
    if s is None:
        s = _word_structs[key] = struct.Struct(("<", ">")[big_endian] + f"{n_bytes // 4}I")
    return s


def checksum(data: bytes | bytearray | memoryview, s0: int = 0, s1: int = 0,
             big_endian: bool = False) -> tuple[int, int]:
    """SQLite's WAL checksum of ``data`` (a multiple of 8 bytes), continuing (s0, s1).

    For each pair of 32-bit words (x0, x1), read in the byte order the WAL
    magic selects: ``s0 += x0 + s1; s1 += x1 + s0`` modulo 2**32.

    Speed (measured, CPython 3.11, 4 KiB page): one ``struct.unpack`` of the
    whole buffer, then a loop that takes 8 pairs per iteration and reduces
    modulo 2**32 only once per iteration (the sums stay below 2**64, so Python
    ints stay small): ~60 us, vs ~120 us for the plain per-pair loop and
    ~135 us for a precomputed-coefficient dot product (big-int products).
    """
    n = len(data)
    if n & 7:
        raise ValueError("WAL checksum needs a multiple of 8 bytes")
    words = _words(n, big_endian).unpack(data)
    bulk = (n // 64) * 16
    it = iter(words[:bulk] if bulk != len(words) else words)
    for a0, a1, b0, b1, c0, c1, d0, d1, e0, e1, f0, f1, g0, g1, h0, h1 in zip(
            it, it, it, it, it, it, it, it, it, it, it, it, it, it, it, it):
        s0 += a0 + s1
        s1 += a1 + s0
        s0 += b0 + s1
        s1 += b1 + s0
        s0 += c0 + s1
        s1 += c1 + s0
        s0 += d0 + s1
        s1 += d1 + s0
        s0 += e0 + s1
        s1 += e1 + s0
        s0 += f0 + s1
        s1 += f1 + s0
        s0 += g0 + s1
        s1 += g1 + s0
        s0 = (s0 + h0 + s1) & _M32
        s1 = (s1 + h1 + s0) & _M32
    for i in range(bulk, len(words), 2):
        s0 = (s0 + words[i] + s1) & _M32
        s1 = (s1 + words[i + 1] + s0) & _M32
    return s0, s1


def frame_offset(frame: int, page_size: int) -> int:
    """Byte offset of frame ``frame``'s header (frames are numbered from 1)."""
    return WAL_HEADER_SIZE + (frame - 1) * (page_size + FRAME_HEADER_SIZE)


@attrs.define(slots=True)
class WalHeader:
    """The 32-byte WAL header, decoded."""

    magic: int
    version: int
    page_size: int
    checkpoint_seq: int
    salt1: int
    salt2: int
    cksum1: int = 0
    cksum2: int = 0

    @property
    def big_endian(self) -> bool:
        """Checksums are over big-endian words (magic's low bit)."""
        return bool(self.magic & 1)

    @classmethod
    def new(cls, page_size: int, checkpoint_seq: int, salt1: int, salt2: int,
            magic: int = NATIVE_MAGIC) -> WalHeader:
        """A header with its checksum computed."""
        h = cls(magic, WAL_VERSION, page_size, checkpoint_seq & _M32, salt1 & _M32, salt2 & _M32)
        raw = _WAL_HDR.pack(h.magic, h.version, h.page_size, h.checkpoint_seq, h.salt1, h.salt2, 0, 0)
        h.cksum1, h.cksum2 = checksum(raw[:24], 0, 0, h.big_endian)
        return h

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> WalHeader | None:
        """The header, or None if SQLite would treat the WAL as empty.

        Invalid: short, wrong magic, wrong version, page size not a power of
        two in 512..65536, or a header checksum mismatch.
        """
        if len(buf) < WAL_HEADER_SIZE:
            return None
        f = _WAL_HDR.unpack_from(buf, 0)
        magic, version, ps = f[0], f[1], f[2]
        if magic not in (WAL_MAGIC_LE, WAL_MAGIC_BE) or version != WAL_VERSION:
            return None
        if ps < 512 or ps > 65536 or ps & (ps - 1):
            return None
        h = cls(*f)
        if checksum(bytes(buf[:24]), 0, 0, h.big_endian) != (h.cksum1, h.cksum2):
            return None
        return h

    def serialize(self) -> bytes:
        return _WAL_HDR.pack(self.magic, self.version, self.page_size, self.checkpoint_seq,
                             self.salt1, self.salt2, self.cksum1, self.cksum2)


def encode_frames(pages: Iterable[tuple[int, bytes | bytearray]], commit_size: int,
                  hdr: WalHeader, s0: int, s1: int,
                  prefix: bytes = b"") -> tuple[bytearray, int, int]:
    """Frames for ``pages`` (pgno, data) as one buffer; the last is the commit frame.

    ``(s0, s1)`` is the running checksum after the previous frame (or the WAL
    header's checksum for frame 1). The buffer starts with ``prefix`` (the
    WAL header when the frames start a new WAL). Returns (buffer, s0, s1)
    after the last frame.
    """
    pages = list(pages)
    big = hdr.big_endian
    pair = _PAIR[big]
    pack_hdr = _FRAME_HDR.pack
    salt1, salt2 = hdr.salt1, hdr.salt2
    out = bytearray(prefix)
    last = len(pages) - 1
    for i, (pgno, data) in enumerate(pages):
        commit = commit_size if i == last else 0
        head = pack_hdr(pgno, commit, 0, 0, 0, 0)
        x0, x1 = pair.unpack_from(head, 0)
        s0 = (s0 + x0 + s1) & _M32
        s1 = (s1 + x1 + s0) & _M32
        s0, s1 = checksum(data, s0, s1, big)
        out += pack_hdr(pgno, commit, salt1, salt2, s0, s1)
        out += data
    return out, s0, s1


@attrs.define(slots=True)
class Recovered:
    """What ``recover`` found in a WAL file."""

    #: the valid header, or None (no file, empty, or invalid: the WAL is empty)
    header: WalHeader | None
    #: the last valid commit frame (0 = none)
    mx_frame: int = 0
    #: pgno -> ascending frame numbers, for frames 1..mx_frame
    index: dict[int, list[int]] = attrs.Factory(dict)
    #: commit frame -> database size in pages
    commits: dict[int, int] = attrs.Factory(dict)
    #: running checksum after frame mx_frame (the header's if mx_frame == 0)
    s0: int = 0
    s1: int = 0


def _read(file: File, offset: int, size: int, file_size: int) -> bytes:
    """``file.read`` that tells a short read inside the file (an I/O fault:
    retried once, then DiskIOError) from the end of the file (fine)."""
    data = file.read(offset, size)
    want = min(size, max(file_size - offset, 0))
    if len(data) < want:
        data = file.read(offset, size)
        if len(data) < want:
            raise DiskIOError(code=SQLITE_IOERR_SHORT_READ)
    return data


def recover(file: File, *, chunk_frames: int = 256) -> Recovered:
    """Read a WAL file the way SQLite's recovery does.

    Frames are valid while their salts equal the header's, their page number
    is non-zero and their cumulative checksum matches; ``mx_frame`` is the
    last valid commit frame, and everything after it (an unfinished
    transaction, a torn or garbage tail, frames of an older generation) is
    ignored — it will be overwritten by the next append.
    """
    file_size = file.size()
    hdr = WalHeader.parse(_read(file, 0, WAL_HEADER_SIZE, file_size))
    if hdr is None:
        return Recovered(None)
    ps = hdr.page_size
    fsz = ps + FRAME_HEADER_SIZE
    big = hdr.big_endian
    pair = _PAIR[big]
    unpack_hdr = _FRAME_HDR.unpack_from
    salt1, salt2 = hdr.salt1, hdr.salt2
    s0, s1 = hdr.cksum1, hdr.cksum2
    rec = Recovered(hdr, s0=s0, s1=s1)
    pending: list[tuple[int, int]] = []  # (pgno, frame) since the last commit
    index = rec.index
    frame = 0
    offset = WAL_HEADER_SIZE
    done = False
    while not done:
        buf = _read(file, offset, fsz * chunk_frames, file_size)
        n = len(buf) // fsz
        if n == 0:
            break
        mv = memoryview(buf)
        for k in range(n):
            base = k * fsz
            pgno, commit, f1, f2, c1, c2 = unpack_hdr(buf, base)
            if pgno == 0 or f1 != salt1 or f2 != salt2:
                done = True
                break
            x0, x1 = pair.unpack_from(buf, base)
            s0 = (s0 + x0 + s1) & _M32
            s1 = (s1 + x1 + s0) & _M32
            s0, s1 = checksum(mv[base + FRAME_HEADER_SIZE:base + fsz], s0, s1, big)
            if (s0, s1) != (c1, c2):
                done = True
                break
            frame += 1
            pending.append((pgno, frame))
            if commit:
                for p, f in pending:
                    lst = index.get(p)
                    if lst is None:
                        index[p] = [f]
                    else:
                        lst.append(f)
                pending.clear()
                rec.mx_frame = frame
                rec.commits[frame] = commit
                rec.s0, rec.s1 = s0, s1
        if n < chunk_frames:
            break
        offset += n * fsz
    return rec


class WalIndex:
    """pgno -> ascending list of frame numbers (SQLite's wal-index, in memory).

    ``find(pgno, mark)`` = the latest frame <= mark holding the page (0 if
    none), one dict lookup plus a bisect when the newest frame is past the
    mark. Not thread-safe by itself: the pager guards it with its lock.
    """

    __slots__ = ("frames",)

    def __init__(self, frames: dict[int, list[int]] | None = None) -> None:
        self.frames: dict[int, list[int]] = frames if frames is not None else {}

    def find(self, pgno: int, mark: int) -> int:
        lst = self.frames.get(pgno)
        if not lst or mark <= 0:
            return 0
        last = lst[-1]
        if last <= mark:
            return last
        i = bisect_right(lst, mark)
        return lst[i - 1] if i else 0

    def add(self, pgno: int, frame: int) -> None:
        lst = self.frames.get(pgno)
        if lst is None:
            self.frames[pgno] = [frame]
        else:
            lst.append(frame)

    def latest_upto(self, mark: int) -> dict[int, int]:
        """pgno -> latest frame <= mark, for every page with such a frame."""
        out = {}
        for pgno, lst in self.frames.items():
            if lst[0] > mark:
                continue
            last = lst[-1]
            if last <= mark:
                out[pgno] = last
            else:
                out[pgno] = lst[bisect_right(lst, mark) - 1]
        return out

    def clear(self) -> None:
        self.frames.clear()

    def __len__(self) -> int:
        return len(self.frames)
