"""The .linr container: signature, version, then chunks (see formats/linr.md).

Chunk = varint length | 1-byte type | data | CRC-32 (little endian) of type+data.
Uppercase types are critical, lowercase ancillary (skipped when unknown).
Every declared size is checked against LIMITS before anything is allocated.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from .errors import FormatError, LimitError, TruncatedError

SIGNATURE = b"\x89LNR\r\n"
VERSION = 1

LIMITS = {
    "chunk_bytes": 1 << 30,
    "side": 1 << 16,             # width and height
    "samples": 1 << 26,          # width * height * channels
    "hidden": 256,
    "layers": 8,
}

HEADER, DELTA, DATA = b"H", b"W", b"D"
KNOWN = (HEADER, DELTA, DATA)


# -- varints (unsigned LEB128) ---------------------------------------------

def put_varint(out: bytearray, value: int) -> None:
    if value < 0:
        raise ValueError("varint must be non-negative")
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return


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

    def varint(self, limit: int = 1 << 32) -> int:
        value, shift = 0, 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            if value > limit:
                raise LimitError(f"{self.what} field exceeds its limit")
            if not b & 0x80:
                return value
            shift += 7
            if shift > 35:
                raise FormatError(f"{self.what} has an overlong varint")

    def done(self) -> None:
        if self.pos != len(self.data):
            raise FormatError(f"{self.what} chunk has trailing bytes")


# -- chunks ----------------------------------------------------------------

@dataclass
class Container:
    chunks: list = field(default_factory=list)     # [(type, data)]

    def get(self, ctype: bytes):
        for t, d in self.chunks:
            if t == ctype:
                return d
        return None


def write(chunks: list) -> bytes:
    out = bytearray(SIGNATURE)
    out.append(VERSION)
    for ctype, data in chunks:
        put_varint(out, len(data))
        out += ctype
        out += data
        out += struct.pack("<I", zlib.crc32(ctype + data))
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
    if version != VERSION:
        raise FormatError(f"unsupported .linr version {version} (this decoder reads {VERSION})")
    pos = len(SIGNATURE) + 1
    found = Container()
    seen = set()
    while pos < len(data):
        r = Reader(data[pos:pos + 6], "chunk length")
        try:
            length = r.varint(LIMITS["chunk_bytes"])
        except FormatError as exc:
            if isinstance(exc, LimitError):
                raise
            raise TruncatedError("file ends inside a chunk header") from None
        pos += r.pos
        end = pos + 1 + length + 4
        if end > len(data):
            raise TruncatedError("file ends inside a chunk")
        ctype = data[pos:pos + 1]
        body = data[pos + 1:pos + 1 + length]
        (crc,) = struct.unpack("<I", data[pos + 1 + length:end])
        if zlib.crc32(ctype + body) != crc:
            raise FormatError(f"chunk {ctype!r} fails its CRC (corrupt file)")
        pos = end
        critical = ctype.isupper()
        if critical and ctype not in KNOWN:
            raise FormatError(f"unknown critical chunk {ctype!r}")
        if ctype in KNOWN:
            if ctype in seen:
                raise FormatError(f"chunk {ctype!r} appears twice")
            seen.add(ctype)
            found.chunks.append((ctype, body))
    if not found.chunks or found.chunks[0][0] != HEADER:
        raise FormatError("header chunk missing or not first")
    if DATA not in seen:
        raise TruncatedError("data chunk missing")
    return found
