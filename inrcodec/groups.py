"""Groups (format 5): the image coded as independent rectangles.

A format 5 image is cut into groups of 2**g x 2**g pixels (g from the header),
in raster order, the last row and column of groups cut short; from format 10 a
group may be any multiple of 32 pixels wide and high (the header's group field,
section 2 of formats/linr.md). Each group is
walked as an image of its own, with its own pass schedule, constant-plane
flags, mixing state and ANS stream, so groups decode in any order, in
parallel, or alone; the prior and the weight delta are shared. Group sides are
multiples of the coarsest grid stride (2**schedule.MAX_LEVELS), so every pixel
of a 1/2**k preview (k <= MAX_LEVELS) is one of a group's coarse passes.

The D chunk of a format 5 file is an index, the byte length of every stream but
the last (a varint each: the delta's stream first when the file has a W chunk,
then the groups'), followed by the streams themselves; the last stream is the
rest. A one-group image without a delta (most small images) has no index at
all, and a header without the group field means the default size: format 5
costs such files no byte over format 4.
"""
from __future__ import annotations

from dataclasses import dataclass

from .container import GROUP_SIZES_VERSION, Reader, put_varint
from .errors import FormatError
from .schedule import MAX_LEVELS

GROUP_LOG2_MIN, GROUP_LOG2_MAX = MAX_LEVELS, 16
GROUP_UNIT = 1 << MAX_LEVELS                        # format 10: sides are multiples of this
MAX_GROUP_UNITS = (1 << GROUP_LOG2_MAX) // GROUP_UNIT
# 1024 x 1024: the groups of a header without the group field. A 6000 x 4000
# photograph is 24 of them, decoded on every core.
DEFAULT_GROUP_LOG2 = 10
DEFAULT_GROUP = (1 << DEFAULT_GROUP_LOG2, 1 << DEFAULT_GROUP_LOG2)     # (width, height)
# The encoder cuts an image of this many pixels or more, of at most SPLIT_BITS bits a sample,
# that would be one default group in two along its longer side, so that two cores decode
# it (and write and check it when encoding). On Kodak (24 768x512 photos) the two halves
# took the decode from 0.97 to 0.70 s an image in one process, for 0.11% more bytes. Above 8
# bits each half learns the value's prefix counters anew: synthesised 576x576 fields of 600 to
# 3000 values spread over 16 bits (coded as a value table's indices of 10-12 bits) grew 0.6-1.4%
# cut in two, smooth noisy 16-bit gray and RGB 0.07-0.2%; so such images stay one group.
SPLIT_PIXELS, SPLIT_BITS = 1 << 18, 8


@dataclass(frozen=True)
class Group:
    index: int
    y0: int
    x0: int
    height: int
    width: int

    def region(self, image):
        """This group's pixels of an H x W (x C) array (a view)."""
        return image[self.y0:self.y0 + self.height, self.x0:self.x0 + self.width]


def whole(height: int, width: int) -> Group:
    """The image as one group: formats 2-4."""
    return Group(0, 0, 0, height, width)


def layout(height: int, width: int, size: tuple) -> list:
    """The groups of an image cut into groups of size = (width, height), in raster order."""
    gw, gh = size
    return [Group(i * -(-width // gw) + j, y, x, min(gh, height - y), min(gw, width - x))
            for i, y in enumerate(range(0, height, gh)) for j, x in enumerate(range(0, width, gw))]


def default_size(height: int, width: int, bits: int = 8) -> tuple:
    """The encoder's group size for an image of `bits` bits a sample: the default 1024 x
    1024 groups, each cut to the same size (the last ones no longer shorter than the
    others), and an image of SPLIT_PIXELS or more and at most SPLIT_BITS bits that would be
    one group cut in two along its longer side. Sides are rounded up to multiples of
    GROUP_UNIT. Depends on the image's geometry only, so the same image gives the same file
    on every machine."""
    cols, rows = -(-width // DEFAULT_GROUP[0]), -(-height // DEFAULT_GROUP[1])
    if cols * rows == 1:
        if height * width < SPLIT_PIXELS or bits > SPLIT_BITS:
            return DEFAULT_GROUP
        cols, rows = (2, 1) if width >= height else (1, 2)
    up = lambda v: -(-v // GROUP_UNIT) * GROUP_UNIT          # noqa: E731
    size = (up(-(-width // cols)), up(-(-height // rows)))
    return DEFAULT_GROUP if layout(height, width, size) == layout(height, width, DEFAULT_GROUP) else size


def pack_size(size: tuple) -> bytes:
    """The header's group field (linr.md section 2): none for the default, a byte g for
    2**g x 2**g, else (format 10) a zero byte and the sides in units of GROUP_UNIT."""
    gw, gh = size
    if size == DEFAULT_GROUP:
        return b""
    if gw == gh and gw & (gw - 1) == 0:
        return bytes([gw.bit_length() - 1])
    out = bytearray([0])
    put_varint(out, gw // GROUP_UNIT, MAX_GROUP_UNITS)
    put_varint(out, gh // GROUP_UNIT, MAX_GROUP_UNITS)
    return bytes(out)


def read_size(r: Reader, version: int) -> tuple:
    """The group size from the rest of a header (pack_size's field, or nothing)."""
    if r.pos == len(r.data):
        return DEFAULT_GROUP
    g = r.byte()
    if g == 0 and version >= GROUP_SIZES_VERSION:
        units = (r.varint(MAX_GROUP_UNITS), r.varint(MAX_GROUP_UNITS))
        if min(units) < 1 or (units[0] == units[1] and units[0] & (units[0] - 1) == 0):
            raise FormatError(f"group field of {units[0]} x {units[1]} units is not 1 .. "
                              f"{MAX_GROUP_UNITS} each, other than a square power of two")
        return units[0] * GROUP_UNIT, units[1] * GROUP_UNIT
    if not GROUP_LOG2_MIN <= g <= GROUP_LOG2_MAX or g == DEFAULT_GROUP_LOG2:
        raise FormatError(f"group field {g} is not one of {GROUP_LOG2_MIN}..{GROUP_LOG2_MAX} "
                          f"other than the default {DEFAULT_GROUP_LOG2}")
    return 1 << g, 1 << g


def size_of(group_size) -> tuple:
    """encode()'s group_size (validated: a side or a (width, height) pair) as (width, height)."""
    return (group_size, group_size) if isinstance(group_size, int) else tuple(group_size)


def pack_streams(streams: list) -> bytes:
    """The D chunk: the length of every stream but the last, then the streams."""
    out = bytearray()
    for s in streams[:-1]:
        put_varint(out, len(s))
    return bytes(out) + b"".join(streams)


def unpack_streams(data: bytes, count: int) -> list:
    """The `count` streams of a D chunk; the indexed ones must fit in it."""
    r = Reader(data, "coded data")
    lengths = [r.varint(len(data)) for _ in range(count - 1)]
    if sum(lengths) > len(data) - r.pos:
        raise FormatError("coded data's stream lengths exceed its size (corrupt file)")
    out, pos = [], r.pos
    for n in lengths:
        out.append(data[pos:pos + n])
        pos += n
    return out + [data[pos:]]
