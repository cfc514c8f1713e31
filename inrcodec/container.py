"""The .linr container: signature, version, then chunks (see formats/linr.md).

    file  = signature (6 bytes) | version (1 byte) | chunk*     (nothing after the last chunk)
    chunk = varint length | 1-byte type | data | CRC-32 (little endian) of type+data
            (from version 6, critical chunks have no CRC: the pixel hash checks what they decode to)

Rules, identical for `read` and `write`:
- varints are unsigned LEB128 of at most MAX_VARINT_BYTES bytes, in their shortest form
  (a last byte of 0x00 after a continuation byte is refused), value <= 2^32 - 1 and <= the
  field's limit;
- a chunk type is an ASCII letter: A-Z critical (must be known, else the file is refused),
  a-z ancillary (kept in `Container.ancillary`, ignored by decoding);
- the header chunk H is the first chunk of the file; each critical chunk appears at most
  once, in the order of KNOWN (H, then P or V, G, F and W if present, then D); D is required;
- a chunk holds at most MAX_CHUNK_BYTES bytes.
Every declared size is checked before anything is allocated.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from .errors import FormatError, LimitError, TruncatedError
from .limits import MAX_CHUNK_BYTES, MAX_VARINT_BYTES

SIGNATURE = b"\x89LNR\r\n"
VERSION = 13
# Versions this decoder reads: 2 (linr 0.2) differs from 3 only in having no
# adaptive refinement of the probabilities (adapt.py); the walker is told which.
# 4 (linr 0.4) adds the palette chunk P to 3 (palette.py). 5 (linr 0.5) mixes
# the probabilities with context counters (mixing.py) instead of 3-4's tables
# and codes the image in groups (groups.py). 6 (linr 0.6) is 5 without the CRC of the
# critical chunks (H, P, W, D): 8 of the 30 fixed bytes of a small image's file, 5.7% of an
# MNIST digit's. A damaged file is still refused: by the chunks' own checks, or once
# decoded by the 32-bit pixel hash (SHA-256's first 4 bytes), which covers what the CRCs
# covered and the decoder too. 7 (linr 0.7) adds the relu16 network (model.py, exact.py):
# a trunk of 16-bit integers, declared by bit 6 of the header's model byte. 8 (linr 0.8)
# mixes with weight sets chosen by activity and refines the mix with two SSE stages (mixing.py).
# 9 (linr 0.9) adds the match counter (mixing.py), value tables that lie on a line (values.py,
# kinds 16..32) and the gray copies chunk G (gray.py). 10 (linr 0.10) lets groups be any
# multiple of 32 pixels wide and high (groups.py), so that an image splits evenly. 11 (linr
# 0.11) does not learn from a decision coded at the clamp as expected (mixing.py, walker.py).
# 12 (linr 0.12) adds the filter chunk F: an image coded as its raster residuals (filters.py).
# 13 (linr 0.13) clamps the pixel decisions' probabilities at 2**-13 instead of 2**-10 (mixing.py)
# and so lets a stream hold 2**14 decisions a coded bit instead of 2**11 (decoder.py).
# Ancillary chunks (metadata, which the hash does not cover) keep their CRC.
READ_VERSIONS = (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)
PALETTE_VERSION = 4
NO_CRITICAL_CRC_VERSION = 6
VALUES_VERSION = 6                  # the value table chunk V (values.py)
VALUE_LINES_VERSION = 9             # its tables on a line (kinds 16..32)
GRAY_VERSION = 9                    # the gray copies chunk G (gray.py)
GROUP_SIZES_VERSION = 10            # groups of any multiple of 32 pixels (groups.py)
FILTER_VERSION = 12                 # the filter chunk F (filters.py)
# Versions this decoder does not read, and the release that does.
OLD_VERSIONS = {
    1: "this is a version 1 .linr file, written by linr 0.1; "
       "decode it with linr 0.1.0 (pip install 'linr==0.1.0')",
}

# The largest value a varint may hold: MAX_VARINT_BYTES bytes carry 35 bits, but fields are
# at most 32-bit, so anything above 2^32 - 1 is refused whatever the field.
VARINT_MAX = (1 << 32) - 1

HEADER, PALETTE, VALUES, GRAY, FILTER, DELTA, DATA = b"H", b"P", b"V", b"G", b"F", b"W", b"D"
# The critical chunk types this reader knows, in the order a file must hold them.
KNOWN = (HEADER, PALETTE, VALUES, GRAY, FILTER, DELTA, DATA)
REQUIRED = (HEADER, DATA)
# A critical chunk's bytes besides its data (length varint, type; version 6 has no CRC on
# it) for data under 128 bytes: the estimate encoders add to a small chunk's cost.
CHUNK_FRAMING_BYTES = 2


# -- varints (unsigned LEB128) ---------------------------------------------

def put_varint(out: bytearray, value: int, limit: int = VARINT_MAX) -> None:
    """Append value as a shortest-form varint; refuse what Reader.varint would refuse."""
    value = int(value)
    if value < 0:
        raise FormatError("varint must be non-negative")
    if value > min(limit, VARINT_MAX):
        raise LimitError(f"varint value {value} exceeds its limit {min(limit, VARINT_MAX)}")
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


def varint_bytes(value: int) -> bytes:
    out = bytearray()
    put_varint(out, value)
    return bytes(out)


def _parse_varint(data: bytes, pos: int, limit: int, what: str) -> tuple[int, int]:
    """(value, new position) of the varint at data[pos:]; TruncatedError if data ends."""
    limit = min(limit, VARINT_MAX)
    value = 0
    for i in range(MAX_VARINT_BYTES):
        if pos + i >= len(data):
            raise TruncatedError(f"{what} ends inside a varint")
        b = data[pos + i]
        value |= (b & 0x7F) << (7 * i)
        if value > limit:
            raise LimitError(f"{what} exceeds its limit ({limit})")
        if not b & 0x80:
            if b == 0 and i > 0:
                raise FormatError(f"{what} is an overlong varint")
            return value, pos + i + 1
    raise FormatError(f"{what} is a varint longer than {MAX_VARINT_BYTES} bytes")


class Reader:
    """Bounds-checked reads from one chunk's data."""

    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise FormatError(f"{self.what} chunk is too short")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def varint(self, limit: int = VARINT_MAX) -> int:
        try:
            value, self.pos = _parse_varint(self.data, self.pos, limit, f"{self.what} field")
        except TruncatedError:
            raise FormatError(f"{self.what} chunk is too short") from None
        return value

    def done(self) -> None:
        if self.pos != len(self.data):
            raise FormatError(f"{self.what} chunk has trailing bytes")


# -- chunks ----------------------------------------------------------------

@dataclass
class Container:
    chunks: list = field(default_factory=list)      # critical chunks [(type, data)], in file order
    ancillary: list = field(default_factory=list)   # ancillary chunks [(type, data)], in file order
    in_order: list = field(default_factory=list)    # every chunk [(type, data)], in file order
    version: int = VERSION                          # the format version the file declares

    def get(self, ctype: bytes):
        for t, d in self.chunks:
            if t == ctype:
                return d
        return None


def _is_letter(ctype: bytes) -> bool:
    return len(ctype) == 1 and (0x41 <= ctype[0] <= 0x5A or 0x61 <= ctype[0] <= 0x7A)


class _Order:
    """The chunk-sequence rules, fed one type at a time (shared by read and write)."""

    def __init__(self):
        self.count = 0
        self.last_critical = -1
        self.seen = set()

    def add(self, ctype: bytes) -> bool:
        """Check one more chunk type; True when it is critical."""
        if not _is_letter(ctype):
            raise FormatError(f"chunk type {ctype!r} is not an ASCII letter")
        first = self.count == 0
        self.count += 1
        if first and ctype != HEADER:
            raise FormatError(f"the header chunk must come first, not {ctype!r}")
        if not ctype.isupper():
            return False
        if ctype not in KNOWN:
            raise FormatError(f"unknown critical chunk {ctype!r}")
        if ctype in self.seen:
            raise FormatError(f"chunk {ctype!r} appears twice")
        self.seen.add(ctype)
        index = KNOWN.index(ctype)
        if index < self.last_critical:
            raise FormatError(f"chunk {ctype!r} is out of order "
                              f"(critical chunks go {', '.join(t.decode() for t in KNOWN)})")
        self.last_critical = index
        return True

    def finish(self) -> None:
        if self.count == 0:
            raise TruncatedError("no chunks: header chunk missing")
        for ctype in REQUIRED:
            if ctype not in self.seen:
                raise TruncatedError(f"chunk {ctype.decode()} missing")


def has_crc(ctype: bytes, version: int) -> bool:
    """Whether a chunk of this type carries a CRC in a file of this version."""
    return version < NO_CRITICAL_CRC_VERSION or not ctype.isupper()


def chunk_bytes(ctype: bytes, data: bytes, version: int = VERSION) -> bytes:
    """One chunk's bytes (length, type, data, and its CRC where `version` has one),
    unchecked: for building test vectors.

    `write` is the way to make files: it refuses any sequence `read` would refuse.
    """
    ctype, data = bytes(ctype), bytes(data)
    out = bytearray()
    put_varint(out, len(data))
    crc = struct.pack("<I", zlib.crc32(ctype + data)) if has_crc(ctype, version) else b""
    return bytes(out) + ctype + data + crc


def write(chunks: list, version: int = VERSION) -> bytes:
    """chunks: [(type, data)] in file order; refuses any sequence `read` would refuse.
    version: what the file declares (tests and conformance vectors write older ones)."""
    if version not in READ_VERSIONS:
        raise ValueError(f"cannot write version {version}")
    out = bytearray(SIGNATURE)
    out.append(version)
    order = _Order()
    for ctype, data in chunks:
        ctype, data = bytes(ctype), bytes(data)
        order.add(ctype)
        if len(data) > MAX_CHUNK_BYTES:
            raise LimitError(f"chunk {ctype!r} holds more than {MAX_CHUNK_BYTES} bytes")
        out += chunk_bytes(ctype, data, version)
    order.finish()
    return bytes(out)


def read(data: bytes) -> Container:
    data = bytes(data)
    if len(data) < len(SIGNATURE) + 1:
        raise TruncatedError("file is too short to be a .linr file")
    if data[:len(SIGNATURE)] != SIGNATURE:
        if data[1:4] == b"LNR":
            raise FormatError("signature damaged (file transferred in text mode?)")
        raise FormatError("not a .linr file (bad signature)")
    version = data[len(SIGNATURE)]
    if version not in READ_VERSIONS:
        if version in OLD_VERSIONS:
            raise FormatError(OLD_VERSIONS[version])
        raise FormatError(f"unsupported .linr version {version} (this decoder reads "
                          f"{', '.join(map(str, READ_VERSIONS))}; a newer linr may read it)")
    pos = len(SIGNATURE) + 1
    view = memoryview(data)
    found = Container(version=version)
    order = _Order()
    while pos < len(data):
        length, pos = _parse_varint(data, pos, MAX_CHUNK_BYTES, "chunk length")
        if pos >= len(data):
            raise TruncatedError("file ends inside a chunk")
        ctype = data[pos:pos + 1]
        if not _is_letter(ctype):           # before its framing, which the type decides
            raise FormatError(f"chunk type {ctype!r} is not an ASCII letter")
        crc = has_crc(ctype, version)
        end = pos + 1 + length + (4 if crc else 0)
        if end > len(data):
            raise TruncatedError("file ends inside a chunk")
        # the coded data, nearly all of a file, stays a view into it (no copy)
        body = (view if ctype == DATA else data)[pos + 1:pos + 1 + length]
        if crc:
            (stored,) = struct.unpack("<I", data[pos + 1 + length:end])
            if zlib.crc32(body, zlib.crc32(ctype)) != stored:
                raise FormatError(f"chunk {ctype!r} fails its CRC (corrupt file)")
        pos = end
        if order.add(ctype):
            found.chunks.append((ctype, body))
        else:
            found.ancillary.append((ctype, body))
        found.in_order.append((ctype, body))
    order.finish()
    if version < PALETTE_VERSION and found.get(PALETTE) is not None:
        raise FormatError(f"chunk 'P' (palette) in a version {version} file: palettes begin with version "
                          f"{PALETTE_VERSION}")
    if found.get(VALUES) is not None:
        if version < VALUES_VERSION:
            raise FormatError(f"chunk 'V' (value table) in a version {version} file: value tables begin "
                              f"with version {VALUES_VERSION}")
        if found.get(PALETTE) is not None:
            raise FormatError("a palette and a value table in one file")
    if found.get(GRAY) is not None and version < GRAY_VERSION:
        raise FormatError(f"chunk 'G' (gray copies) in a version {version} file: gray copies begin "
                          f"with version {GRAY_VERSION}")
    if found.get(FILTER) is not None and version < FILTER_VERSION:
        raise FormatError(f"chunk 'F' (filter) in a version {version} file: filters begin "
                          f"with version {FILTER_VERSION}")
    return found
