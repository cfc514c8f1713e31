"""Value tables (format 6, chunk `V`): channels that use few of their values, coded as indices.

Data rescaled into 16 bits often uses a few hundred of the 65,536 values, with gaps between
them. Each channel then gets a sorted table of the values it uses, and the image is coded
as indices into them: the network and the mixing see a dense image of ceil(log2 K) bits.
The context counters learn a sparse value set too (format 5), but pay for it in every
image; a table pays once, Rice-coded gaps between the sorted values (synthesised 16-bit
fields of 800 values at random places: 1.058x the renumbered image without it, 1.022x with
it; scripts/sparse_values.py). The encoder decides by estimated size (codec._with_values).

Chunk data: one byte m - 1 (m, 1..16: the bit depth of the values); then per channel, in
the model's channel order: a varint K - 1, a byte r (0..15), and a bit string (most
significant bit of a byte first, zero-padded to whole bytes): the first value in m bits,
then each gap (value - previous value - 1) as q = gap >> r ones, a zero, and the low r bits.
The header H describes the index image: the same channels, sample type, 2-D flag and colour
order, bit depth max(1, bit_length(max K - 1)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .container import Reader, put_varint
from .errors import FormatError
from .wire import ImageInfo

MAX_RICE = 15
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
            r = best_rice(t)
            out.append(r)
            out += _rice_bits(t, r, self.bits)
        return bytes(out)

    @classmethod
    def unpack(cls, data: bytes, channels: int) -> "ValueTable":
        r = Reader(data, "value table")
        m = r.byte() + 1
        if m > 16:
            raise FormatError("value table declares more than 16 bits")
        tables = []
        for _ in range(channels):
            count = r.varint(1 << m) + 1
            if count > 1 << m:
                raise FormatError("value table holds more values than its bit depth has")
            rice = r.byte()
            if rice > MAX_RICE:
                raise FormatError("value table's Rice parameter is above 15")
            values, used = _read_rice(r.data, r.pos, count, rice, m)
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


def best_rice(values: np.ndarray) -> int:
    """The Rice parameter that codes these sorted values' gaps in the fewest bits."""
    gaps = np.diff(values.astype(np.int64)) - 1
    if not len(gaps):
        return 0
    return min(range(MAX_RICE + 1), key=lambda r: int((gaps >> r).sum()) + len(gaps) * (1 + r))


def _rice_bits(values: np.ndarray, r: int, m: int) -> bytes:
    v = [int(x) for x in values]
    parts = [format(v[0], f"0{m}b")]
    for a, b in zip(v, v[1:]):
        gap = b - a - 1
        parts.append("1" * (gap >> r) + "0" + (format(gap & ((1 << r) - 1), f"0{r}b") if r else ""))
    bits = "".join(parts)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _read_rice(data: bytes, start: int, count: int, r: int, m: int):
    """(ascending uint16 values, bytes read) of one channel's bit string at data[start:]."""
    # a valid string holds at most this many bits (its one bits add up to less than 2^m >> r):
    # no more of a chunk is unpacked, however long it says it is
    most = (m + (count - 1) * (1 + r) + ((1 << m) >> r) + 7) // 8
    bits = np.unpackbits(np.frombuffer(data, np.uint8, count=max(0, min(most, len(data) - start)),
                                       offset=start))
    n = len(bits)
    # ones[i]: how many 1 bits run from i (so a unary part is read in one step)
    ones = np.zeros(n + 1, np.int64)
    if n:
        idx = np.arange(n)
        zero_at = np.where(bits == 0, idx, n)
        next_zero = np.minimum.accumulate(zero_at[::-1])[::-1]
        ones[:n] = next_zero - idx
    weights = 1 << np.arange(max(m, r) - 1, -1, -1)

    def number(pos, width):
        if pos + width > n:
            raise FormatError("value table chunk is too short")
        return int(bits[pos:pos + width] @ weights[-width:]) if width else 0

    out = np.empty(count, np.int64)
    value, pos = number(0, m), m
    out[0] = value
    top = 1 << m
    for i in range(1, count):
        q = int(ones[pos])
        if pos + q >= n:
            raise FormatError("value table chunk is too short")
        if (q << r) >= top:
            raise FormatError("value table holds a value past its bit depth")
        pos += q + 1
        value += (q << r) + number(pos, r) + 1
        pos += r
        if value >= top:
            raise FormatError("value table holds a value past its bit depth")
        out[i] = value
    used = (pos + 7) // 8
    if pos % 8 and int(bits[pos:used * 8].any()):
        raise FormatError("value table's padding bits are not zero")
    return out.astype(np.uint16), used


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
