"""Groups (format 5): the image coded as independent rectangles.

A format 5 image is cut into groups of 2**g x 2**g pixels (g from the header),
in raster order, the last row and column of groups cut short. Each group is
walked as an image of its own, with its own pass schedule, constant-plane
flags, mixing state and ANS stream, so groups decode in any order, in
parallel, or alone; the prior and the weight delta are shared. Group sides are
multiples of the coarsest grid stride (2**schedule.MAX_LEVELS), so every pixel
of a 1/2**k preview (k <= MAX_LEVELS) is one of a group's coarse passes.

The D chunk of a format 5 file is an index, the byte length of every stream but
the last (a varint each: the delta's stream first when the file has a W chunk,
then the groups'), followed by the streams themselves; the last stream is the
rest. A one-group image without a delta (most small images) has no index at
all, and a header without the group byte means the default size: format 5
costs such files no byte over format 4.
"""
from __future__ import annotations

from dataclasses import dataclass

from .container import Reader, put_varint
from .errors import FormatError
from .schedule import MAX_LEVELS

GROUP_LOG2_MIN, GROUP_LOG2_MAX = MAX_LEVELS, 16
# 1024 x 1024: a photograph up to that size is one group (no rate lost to borders
# or to learning twice); a 6000 x 4000 one is 24, decoded on every core.
DEFAULT_GROUP_LOG2 = 10


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


def layout(height: int, width: int, log2: int) -> list:
    """The groups of an image, in raster order."""
    side = 1 << log2
    return [Group(i * -(-width // side) + j, y, x, min(side, height - y), min(side, width - x))
            for i, y in enumerate(range(0, height, side)) for j, x in enumerate(range(0, width, side))]


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
