"""PNG's chunk layer, for every module that reads or writes PNG chunks.

    file  = signature (8 bytes) | chunk*   (IHDR first, IEND last)
    chunk = length (4 bytes, big endian) | type (4) | data | CRC-32 of type + data
"""
from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    """One chunk's bytes: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def png_chunks(png: bytes):
    """Yield (type, data, raw chunk bytes) up to IEND; ValueError if png is not well formed
    (bad signature, a chunk running past the end, a bad CRC)."""
    if png[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG (bad signature)")
    pos = 8
    while pos < len(png):
        if pos + 12 > len(png):
            raise ValueError("PNG cut short inside a chunk header")
        length, ctype = struct.unpack(">I4s", png[pos:pos + 8])
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(png):
            raise ValueError(f"PNG chunk {ctype!r} runs past the end of the file")
        data = png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4:end])
        if crc != zlib.crc32(ctype + data):
            raise ValueError(f"PNG chunk {ctype!r}: bad CRC")
        yield ctype, data, png[pos:end]
        pos = end
        if ctype == b"IEND":
            return
