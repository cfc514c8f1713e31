"""PNG read and written without OpenCV, for the layouts most files have (pixels.py).

OpenCV's import takes about 40 ms of a command (a 128x128 image decodes in about 0.15 s).
read() takes gray, gray + alpha, RGB and RGBA PNGs of 8 or 16 bits that are not interlaced
and carry no tRNS chunk, and gives the array pixels.py reads through OpenCV (B, G, R (, A);
gray + alpha as stored; 16-bit samples native); anything else, or a file with anything wrong
in it, is left to OpenCV (None), so it reads and fails as it did. write() filters each row as
libpng does by default (the filter whose bytes, read as signed, sum smallest in magnitude) and
deflates at OpenCV's level and strategy. Both work a block of rows at a time, so memory holds
the image and a few blocks, and write() deflates the blocks side by side on the thread budget
(each with the bytes before it as its dictionary: one zlib stream, the same on any budget).
"""
from __future__ import annotations

import ctypes
import struct
import zlib

import numpy as np

from . import threads
from .channels import swap_rb
from .native import library
from .png_chunks import PNG_SIGNATURE, png_chunk, png_chunks

COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}     # channels -> IHDR colour type
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}         # the colour types read() takes
# zlib's level 3 (OpenCV's strategy): on Kodak and a 750x500 preview 0.6% larger than level 6
# in a third of the time (0.04 s instead of 0.12 s of a 1 s preview)
LEVEL, STRATEGY = 3, zlib.Z_DEFAULT_STRATEGY
ZLIB_HEADER = b"\x78\x5e"                   # deflate, a 32 KiB window, level 2 to 5
WINDOW = 1 << 15
BLOCK_BYTES = 1 << 22                       # rows a block: at least this many bytes, or one row

_P, _I64 = ctypes.c_void_p, ctypes.c_int64
_kernels = {}


def _kernel(name: str, argtypes: list, restype):
    if name not in _kernels:
        fn = getattr(library(), name)
        fn.argtypes, fn.restype = argtypes, restype
        _kernels[name] = fn
    return _kernels[name]


def _layout(h: int, w: int, c: int, depth: int):
    """(bytes a row, bytes a pixel, rows a block)."""
    stride = w * c * depth // 8
    return stride, c * depth // 8, max(1, BLOCK_BYTES // stride)


def read(raw: bytes) -> np.ndarray | None:
    """The image of a PNG in the layouts above, or None. The caller has checked the header's
    size against the limits."""
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
    c = CHANNELS[colour]
    stride, bpp, step = _layout(h, w, c, depth)
    out = np.empty((h, w, c), np.uint16 if depth == 16 else np.uint8)
    unfilter = _kernel("linr_png_unfilter", [_P, _I64, _I64, _I64, _P, _P], _I64)
    inflate, pending, y = zlib.decompressobj(), bytearray(), 0
    above = np.zeros(0, np.uint8)

    def rows_out(n: int) -> bool:
        """Unfilter the first n rows of `pending` into `out`."""
        nonlocal y, above
        if y + n > h:
            return False
        data = np.frombuffer(pending, np.uint8, n * (stride + 1))
        rows = np.empty((n, stride), np.uint8)
        bad = unfilter(data.ctypes.data, n, stride, bpp, above.ctypes.data if y else None, rows.ctypes.data)
        del data
        if bad >= 0:
            return False
        _to_opencv_order(out[y:y + n], (rows.view(">u2") if depth == 16 else rows).reshape(n, w, c))
        above, y = rows[-1].copy(), y + n
        del pending[:n * (stride + 1)]
        return True
    try:
        for _, d, _ in chunks[first:last + 1]:
            while d:
                pending += inflate.decompress(d, BLOCK_BYTES)
                d = inflate.unconsumed_tail
                while len(pending) >= step * (stride + 1):
                    if not rows_out(step):
                        return None
    except zlib.error:
        return None
    if not inflate.eof or inflate.unused_data or len(pending) % (stride + 1):
        return None
    if pending and not rows_out(len(pending) // (stride + 1)):
        return None
    if y != h:
        return None
    return out[:, :, 0] if c == 1 else out


def write(image: np.ndarray) -> bytes:
    """A PNG of a 1 to 4 channel 8- or 16-bit image (colour in B, G, R (, A), OpenCV's order;
    2 channels: gray + alpha)."""
    h, w = image.shape[:2]
    c = 1 if image.ndim == 2 else image.shape[2]
    depth = 16 if image.dtype == np.uint16 else 8
    stride, bpp, step = _layout(h, w, c, depth)
    image = image.reshape(h, w, c)

    def rows(y0: int, y1: int) -> np.ndarray:
        """Rows y0 to y1 as the file stores them: R, G, B (, A), 16-bit samples big-endian."""
        part = np.empty((y1 - y0, w, c), ">u2" if depth == 16 else np.uint8)
        _to_opencv_order(part, image[y0:y1])        # the swap is its own inverse
        return part.reshape(y1 - y0, -1).view(np.uint8)

    def filtered(y0: int, y1: int) -> bytes:
        above = rows(y0 - 1, y0) if y0 else None
        return _filtered(rows(y0, y1), bpp, above)

    def block(y0: int):
        """Block y0's deflated bytes (the stream before it as the dictionary), Adler-32, length."""
        data = filtered(y0, min(h, y0 + step))
        last = y0 + step >= h
        if y0:
            tail_rows = -(-WINDOW // (stride + 1))
            deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, 8, STRATEGY,
                                       zdict=filtered(max(0, y0 - tail_rows), y0)[-WINDOW:])
        else:
            deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, 8, STRATEGY)
        packed = deflate.compress(data) + deflate.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
        return packed, zlib.adler32(data), len(data)
    parts = threads.map_ordered(block, list(range(0, h, step)))
    check = 1
    for _, adler, length in parts:
        check = adler32_combine(check, adler, length)
    idat = ZLIB_HEADER + b"".join(p for p, _, _ in parts) + struct.pack(">I", check)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, COLOUR_TYPES[c], 0, 0, 0)
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def _to_opencv_order(dst: np.ndarray, src: np.ndarray) -> None:
    """dst (rows x width x channels) = src, R and B swapped when it has colour."""
    if dst.shape[2] < 3:
        dst[...] = src
    else:
        swap_rb(src, dst)


def _filtered(rows: np.ndarray, bpp: int, above: np.ndarray | None) -> bytes:
    """Each row with the filter (0 to 4) whose bytes, read as signed, sum smallest in magnitude,
    its type byte first (libpng's default choice); `above`: the row before them, if any."""
    h, stride = rows.shape
    out, work = np.empty((h, stride + 1), np.uint8), np.empty(5 * stride, np.uint8)
    _kernel("linr_png_filter", [_P, _I64, _I64, _I64, _P, _P, _P], None)(
        rows.ctypes.data, h, stride, bpp, None if above is None else above.ctypes.data, work.ctypes.data,
        out.ctypes.data)
    return out.tobytes()


def adler32_combine(first: int, second: int, length: int) -> int:
    """The Adler-32 of two byte strings joined, from each one's and the second's length
    (zlib's adler32_combine, which Python's zlib does not expose)."""
    base = 65521
    rem = length % base
    s1 = first & 0xFFFF
    s2 = rem * s1 % base
    s1 = (s1 + (second & 0xFFFF) + base - 1) % base
    s2 = (s2 + (first >> 16) + (second >> 16) + base - rem) % base
    return s1 | s2 << 16
