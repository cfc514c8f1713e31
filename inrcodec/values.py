"""Value tables (format 6, chunk `V`): channels that use few of their values, coded as indices.

Data rescaled into 16 bits often uses a few hundred of the 65,536 values, with gaps between
them. Each channel then gets a sorted table of the values it uses, and the image is coded
as indices into them: the network and the mixing see a dense image of ceil(log2 K) bits.
The context counters learn a sparse value set too (format 5), but pay for it in every
image; a table pays once, Rice-coded gaps between the sorted values (synthesised 16-bit
fields of 800 values at random places: 1.058x the renumbered image without it, 1.022x with
it; scripts/sparse_values.py). The encoder decides by estimated size (codec._with_values).

Chunk data: one byte m - 1 (m, 1..16: the bit depth of the values); then per channel, in
the model's channel order: a varint K - 1, a kind byte, and a bit string (most significant
bit of a byte first, zero-padded to whole bytes). Kind 0..15 (format 6): the first value in
m bits, then each gap (value - previous value - 1) Rice-coded with r = kind: q = gap >> r
ones, a zero, and the low r bits. Kinds 16..32 (format 9) are for tables that lie on a line,
as values rescaled from K levels do (an 8-bit image stored in 16 bits: 256 values 257
apart): the first and last values in m bits each, then each value between them as its
residual from the line through those two, zigzag-mapped and Rice-coded with r = kind - 16;
kind 32 says every residual is 0. The gaps of such a table cost Rice bits for every value
(PngSuite's 16-bit gradients: 166 bytes of tables for 96 of pixel data); the line, a bit
or none.
The header H describes the index image: the same channels, sample type, 2-D flag and colour
order, bit depth max(1, bit_length(max K - 1)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .container import VALUE_LINES_VERSION, VERSION, Reader, put_varint
from .errors import FormatError
from .wire import ImageInfo

MAX_RICE = 15
LINE_KIND = 16                 # kinds 16..31: residuals from the line, Rice r = kind - 16
EXACT_LINE_KIND = 32           # every value on the line: no residual bits
# A table is only tried when the indices are this many bits narrower than the values, as a
# palette is (palette.py): with 2 bits a third of the MNIST digits qualified (none took a
# table) and ranking them again took 10-15% off the encoding rate.
MIN_SAVED_BITS = 3


@dataclass(frozen=True)
class ValueTable:
    tables: tuple              # per model channel: ascending uint16 array of the values used
    bits: int                  # m: the bit depth of the values

    @property
    def index_bits(self) -> int:
        return max(1, (max(len(t) for t in self.tables) - 1).bit_length())

    def pack(self) -> bytes:
        out = bytearray([self.bits - 1])
        for t in self.tables:
            put_varint(out, len(t) - 1)
            kind, bits = cheapest_string(t, self.bits)
            out.append(kind)
            out += bits
        return bytes(out)

    @classmethod
    def unpack(cls, data: bytes, channels: int, version: int = VERSION) -> "ValueTable":
        r = Reader(data, "value table")
        m = r.byte() + 1
        if m > 16:
            raise FormatError("value table declares more than 16 bits")
        tables = []
        for _ in range(channels):
            count = r.varint(1 << m) + 1
            if count > 1 << m:
                raise FormatError("value table holds more values than its bit depth has")
            kind = r.byte()
            if kind > (EXACT_LINE_KIND if version >= VALUE_LINES_VERSION else MAX_RICE):
                raise FormatError(f"value table's kind byte {kind} is not one of version {version}'s")
            values, used = _read_string(r.data, r.pos, count, kind, m)
            r.pos += used
            tables.append(values)
        r.done()
        return cls(tuple(tables), m)

    def check_header(self, info: ImageInfo) -> None:
        """The header of a file with value tables must describe exactly its index image."""
        if info.signed:
            raise FormatError("a value table in a file of signed samples (header fields contradict each other)")
        if len(self.tables) != info.channels or info.bits != self.index_bits:
            raise FormatError("header does not describe the value table's index image")
        if self.bits > 8 and not info.wide:
            raise FormatError("value table of more than 8 bits in a file of 8-bit samples")

    def apply(self, indices: np.ndarray) -> np.ndarray:
        """H x W x C values of H x W x C indices (model order), in place when they fit;
        FormatError on an index past its channel's table."""
        for c, t in enumerate(self.tables):
            plane = indices[:, :, c]
            if plane.size and int(plane.max()) >= len(t):
                raise FormatError(f"value index {int(plane.max())} is past the {len(t)} values of channel {c}")
            indices[:, :, c] = t.astype(indices.dtype)[plane]
        return indices


def _rice_cost(numbers: np.ndarray, r: int) -> int:
    return int((numbers >> r).sum()) + len(numbers) * (1 + r)


def best_rice(numbers: np.ndarray) -> int:
    """The Rice parameter that codes these non-negative numbers in the fewest bits."""
    numbers = np.asarray(numbers, np.int64)
    return min(range(MAX_RICE + 1), key=lambda r: _rice_cost(numbers, r))


def gaps(values: np.ndarray) -> np.ndarray:
    """Kind 0..15's numbers: each value's gap to the one before, less 1."""
    return np.diff(values.astype(np.int64)) - 1


def line(first: int, last: int, count: int) -> np.ndarray:
    """The line's values at 1 .. count - 2: first + (i (last - first) + (count - 1) // 2) // (count - 1),
    the values of count levels spread evenly from first to last, rounded half up."""
    i = np.arange(1, count - 1, dtype=np.int64)
    return first + (i * (last - first) + (count - 1) // 2) // (count - 1)


def line_residuals(values: np.ndarray) -> np.ndarray:
    """Kinds 16..32's numbers: the zigzag-mapped residuals of the values between the first and
    the last from their line (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...)."""
    v = values.astype(np.int64)
    e = v[1:-1] - line(int(v[0]), int(v[-1]), len(v))
    return np.where(e >= 0, 2 * e, -2 * e - 1)


def line_bound(count: int, m: int) -> int:
    """The most bits a line string may hold: 2m + count + 2^m, what gaps with r = 0 take at
    most (m + count - 1 + 2^m), and more: an encoder never writes a longer one, and a decoder
    reads no further."""
    return 2 * m + count + (1 << m)


def _bits_bytes(bits: str) -> bytes:
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def _rice(numbers, r: int) -> str:
    return "".join("1" * (int(n) >> r) + "0" + (format(int(n) & ((1 << r) - 1), f"0{r}b") if r else "")
                   for n in numbers)


def gap_string(values: np.ndarray, r: int, m: int) -> bytes:
    """Kind r (0..15): the first value in m bits, then the gaps, Rice-coded."""
    return _bits_bytes(format(int(values[0]), f"0{m}b") + _rice(gaps(values), r))


def cheapest_string(values: np.ndarray, m: int) -> tuple:
    """(kind byte, bit string) of one channel's ascending values, the fewest bytes; the gaps
    (format 6's only kind) where the line takes as many."""
    r = best_rice(gaps(values))
    best = (r, gap_string(values, r, m))
    if len(values) >= 2:
        ends = format(int(values[0]), f"0{m}b") + format(int(values[-1]), f"0{m}b")
        z = line_residuals(values)
        if not z.any():
            options = [(EXACT_LINE_KIND, ends)]
        else:
            r = best_rice(z)
            options = [(LINE_KIND + r, ends + _rice(z, r))]
        for kind, bits in options:
            if len(bits) <= line_bound(len(values), m) and (len(bits) + 7) // 8 < len(best[1]):
                best = (kind, _bits_bytes(bits))
    return best


class _Bits:
    """A channel's bit string, read from data[start:], at most `most` bytes of it."""

    def __init__(self, data: bytes, start: int, most: int):
        self.bits = np.unpackbits(np.frombuffer(data, np.uint8, count=max(0, min(most, len(data) - start)),
                                                offset=start))
        n = self.n = len(self.bits)
        # ones[i]: how many 1 bits run from i (so a unary part is read in one step)
        self.ones = np.zeros(n + 1, np.int64)
        if n:
            idx = np.arange(n)
            zero_at = np.where(self.bits == 0, idx, n)
            self.ones[:n] = np.minimum.accumulate(zero_at[::-1])[::-1] - idx
        self.weights = 1 << np.arange(15, -1, -1)
        self.pos = 0

    def number(self, width: int) -> int:
        if self.pos + width > self.n:
            raise FormatError("value table chunk is too short")
        x = int(self.bits[self.pos:self.pos + width] @ self.weights[-width:]) if width else 0
        self.pos += width
        return x

    def rice(self, r: int) -> int:
        q = int(self.ones[self.pos])
        if self.pos + q >= self.n:
            raise FormatError("value table chunk is too short")
        self.pos += q + 1
        return (q << r) + self.number(r)

    def end(self) -> int:
        """Bytes read; the padding bits after the string must be 0."""
        used = (self.pos + 7) // 8
        if self.pos % 8 and int(self.bits[self.pos:used * 8].any()):
            raise FormatError("value table's padding bits are not zero")
        return used


def _read_string(data: bytes, start: int, count: int, kind: int, m: int):
    """(ascending uint16 values, bytes read) of one channel's bit string at data[start:]."""
    top = 1 << m
    out = np.empty(count, np.int64)
    if kind <= MAX_RICE:
        r = kind
        # a valid string holds at most this many bits (its one bits add up to less than 2^m >> r):
        # no more of a chunk is unpacked, however long it says it is
        bits = _Bits(data, start, (m + (count - 1) * (1 + r) + (top >> r) + 7) // 8)
        value = out[0] = bits.number(m)
        for i in range(1, count):
            value += bits.rice(r) + 1
            if value >= top:
                raise FormatError("value table holds a value past its bit depth")
            out[i] = value
        return out.astype(np.uint16), bits.end()
    if count < 2:
        raise FormatError("value table: a line needs two values")
    bits = _Bits(data, start, (line_bound(count, m) + 7) // 8)
    first, last = bits.number(m), bits.number(m)
    out[0], out[-1] = first, last
    out[1:-1] = line(first, last, count)
    if kind != EXACT_LINE_KIND:
        for i in range(1, count - 1):
            z = bits.rice(kind - LINE_KIND)
            out[i] += z >> 1 if z % 2 == 0 else -((z + 1) >> 1)
    if bits.pos > line_bound(count, m):
        raise FormatError("value table's line string is longer than its bound")
    if (np.diff(out) <= 0).any():
        raise FormatError("value table's values are not ascending")
    return out.astype(np.uint16), bits.end()


def build(image: np.ndarray, order: str = "given"):
    """(ValueTable in model order, index image in the image's own array order and dtype) of an
    unsigned image whose indices are at least MIN_SAVED_BITS narrower than its samples; else None.
    `order` is the file's colour order: for "rgb" the model's channels 0 and 2 are the array's 2 and 0."""
    img3 = image[:, :, None] if image.ndim == 2 else image
    bits = max(1, int(image.max()).bit_length())
    most = 1 << (bits - MIN_SAVED_BITS) if bits > MIN_SAVED_BITS else 0
    tables, lookups = [], []
    for c in range(img3.shape[2]):
        # a histogram, not a sort: linear in the pixels, whatever the image's size
        used = np.bincount(img3[:, :, c].ravel(), minlength=1 << bits) > 0
        values = np.flatnonzero(used)
        if len(values) > most:
            return None
        tables.append(values.astype(np.uint16))
        lookups.append((np.cumsum(used) - 1).astype(image.dtype))
    indices = np.empty(img3.shape, image.dtype)
    for c, lookup in enumerate(lookups):
        indices[:, :, c] = lookup[img3[:, :, c]]
    if order == "rgb":
        tables[0], tables[2] = tables[2], tables[0]
    return ValueTable(tuple(tables), bits), (indices[:, :, 0] if image.ndim == 2 else indices)
