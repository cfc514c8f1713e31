"""PNG read and written without OpenCV, for the layouts most files have (pixels.py).

OpenCV's import takes about 40 ms of a command (a 128x128 image decodes in about 0.15 s).
read() takes gray, gray + alpha, RGB and RGBA PNGs of 8 or 16 bits that are not interlaced
and carry no tRNS chunk, and gives the array pixels.py reads through OpenCV (B, G, R (, A);
gray + alpha as stored; 16-bit samples native); anything else,
or a file with anything wrong in it, is left to OpenCV (None), so it reads and fails as it
did. write() filters each row as libpng does by default (the filter whose bytes, read as
signed, sum smallest in magnitude) and deflates at OpenCV's level and strategy.
"""
from __future__ import annotations

import ctypes
import struct
import zlib

import numpy as np

from .native import library
from .png_chunks import PNG_SIGNATURE, png_chunk, png_chunks

COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}     # channels -> IHDR colour type
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}         # the colour types read() takes
# zlib's level 3 (OpenCV's strategy): on Kodak and a 750x500 preview 0.6% larger than level 6
# in a third of the time (0.04 s instead of 0.12 s of a 1 s preview)
LEVEL, STRATEGY = 3, zlib.Z_DEFAULT_STRATEGY

_kernels = {}


def _kernel(name: str, argtypes: list, restype):
    if name not in _kernels:
        fn = getattr(library(), name)
        fn.argtypes, fn.restype = argtypes, restype
        _kernels[name] = fn
    return _kernels[name]


def _unfilter_rows(data: bytes, rows: int, stride: int, bpp: int) -> np.ndarray | None:
    out = np.empty((rows, stride), np.uint8)
    unfilter = _kernel("linr_png_unfilter", [ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                             ctypes.c_void_p], ctypes.c_int64)
    return out if unfilter(data, rows, stride, bpp, out.ctypes.data) < 0 else None


def read(raw: bytes) -> np.ndarray | None:
    """The image of a PNG in the layouts above, or None.
    The caller has checked the header's size against the limits."""
    try:
        chunks = list(png_chunks(raw))
    except ValueError:
        return None
    types = [t for t, _, _ in chunks]
    if not types or types[0] != b"IHDR" or types[-1] != b"IEND" or b"tRNS" in types or b"IDAT" not in types:
        return None
    w, h, depth, colour, comp, filt, lace = struct.unpack(">IIBBBBB", chunks[0][1])
    if colour not in CHANNELS or depth not in (8, 16) or comp or filt or lace:
        return None
    first, last = types.index(b"IDAT"), len(types) - 1 - types[::-1].index(b"IDAT")
    if types[first:last + 1].count(b"IDAT") != last + 1 - first:
        return None                               # IDAT chunks must follow each other
    c, size = CHANNELS[colour], depth // 8
    stride = w * c * size
    want = h * (stride + 1)
    inflate, parts, n = zlib.decompressobj(), [], 0
    try:
        for _, d, _ in chunks[first:last + 1]:
            if n > want:
                break
            parts.append(inflate.decompress(d, want + 1 - n))    # at most one byte too many
            n += len(parts[-1])
    except zlib.error:
        return None
    data = b"".join(parts)
    if len(data) != want or not inflate.eof or inflate.unused_data:
        return None
    rows = _unfilter_rows(data, h, stride, c * size)
    if rows is None:
        return None
    img = rows.view(">u2").astype(np.uint16) if size == 2 else rows
    if c == 1:
        return img.reshape(h, w)
    img = img.reshape(h, w, c)
    return img if c == 2 else np.ascontiguousarray(img[:, :, [2, 1, 0, 3][:c]])


def write(image: np.ndarray) -> bytes:
    """A PNG of a 1 to 4 channel 8- or 16-bit image (colour in B, G, R (, A), OpenCV's order;
    2 channels: gray + alpha)."""
    h, w = image.shape[:2]
    c = 1 if image.ndim == 2 else image.shape[2]
    depth = 16 if image.dtype == np.uint16 else 8
    if c >= 3:
        image = image[:, :, [2, 1, 0, 3][:c]]
    rows = np.ascontiguousarray(image, ">u2" if depth == 16 else np.uint8).reshape(h, -1).view(np.uint8)
    body = _filtered(rows, c * depth // 8)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, COLOUR_TYPES[c], 0, 0, 0)
    deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, 15, 8, STRATEGY)
    idat = deflate.compress(body) + deflate.flush()
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def _filtered(rows: np.ndarray, bpp: int) -> bytes:
    """Each row with the filter (0 to 4) whose bytes, read as signed, sum smallest in magnitude,
    its type byte first (libpng's default choice)."""
    h, stride = rows.shape
    out, work = np.empty((h, stride + 1), np.uint8), np.empty(5 * stride, np.uint8)
    _kernel("linr_png_filter", [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                ctypes.c_void_p, ctypes.c_void_p], None)(
        rows.ctypes.data, h, stride, bpp, work.ctypes.data, out.ctypes.data)
    return out.tobytes()
