"""The decoding order: passes over the pixels, coarse to fine.

Pass 0 is the grid of stride S = 2**L (L the smallest level with
2**L >= max(width, height), at most MAX_LEVELS). Then for each level
k = L-1 .. 0 (s = 2**k) come a *centre* pass, the pixels with
(y mod 2s, x mod 2s) = (s, s), and an *edge* pass, those with (s, 0) or
(0, s). Every pass decodes its pixels completely (all channels, all
bit-planes) before the next starts, so a pixel sees the exact values of
every pixel of the earlier passes: its 4 nearest (distance s or s*sqrt2)
and 8 next-nearest decoded neighbours. Pixels of one pass do not see each
other, which is what lets a pass be evaluated as one batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

MAX_LEVELS = 5                 # the coarsest grid has stride 32
CHUNK = 1 << 16                # pixels of a pass evaluated together (bounds memory)
GRID, CENTRE, EDGE = 0, 1, 2

# neighbour offsets of an edge pass, in units of s: 4 nearest, then 8 next
EDGE_OFFSETS = np.array([(-1, 0), (0, -1), (0, 1), (1, 0),
                         (-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2), (2, -1), (2, 1)])
# a centre pass sees the same pattern turned by 45 degrees: (a, b) -> (a - b, a + b)
CENTRE_OFFSETS = np.stack([EDGE_OFFSETS[:, 0] - EDGE_OFFSETS[:, 1],
                           EDGE_OFFSETS[:, 0] + EDGE_OFFSETS[:, 1]], axis=1)
NEAR = 4                       # the first 4 offsets are the nearest neighbours


@dataclass(frozen=True)
class Pass:
    """One pass: its pixels are a lattice, listed in raster order but never
    stored whole (coords() computes any run of them), so memory grows with a
    chunk, not with the image."""
    index: int
    kind: int                  # GRID, CENTRE or EDGE
    level: int                 # k: neighbours at multiples of s = 2**k
    height: int
    width: int

    @property
    def offsets(self) -> np.ndarray:
        """12 x 2 neighbour offsets (dy, dx) in pixels; empty for the grid pass."""
        if self.kind == GRID:
            return np.zeros((0, 2), np.int64)
        base = CENTRE_OFFSETS if self.kind == CENTRE else EDGE_OFFSETS
        return base * (1 << self.level)

    def _rows(self):
        """The lattice: (first row, row step, column step, columns of even rows
        (first, count), of odd rows). Grid and centre rows all look alike; edge
        rows alternate between (0, s)-type and (s, 0)-type pixels."""
        s = 1 << self.level
        if self.kind == GRID:
            cols = (0, -(-self.width // s))
            return 0, s, s, cols, cols
        if self.kind == CENTRE:
            cols = (s, _count(self.width, s, 2 * s))
            return s, 2 * s, 2 * s, cols, cols
        return 0, s, 2 * s, (s, _count(self.width, s, 2 * s)), (0, _count(self.width, 0, 2 * s))

    @cached_property
    def count(self) -> int:
        y0, dy, _step, even, odd = self._rows()
        rows = _count(self.height, y0, dy)
        return (rows + 1) // 2 * even[1] + rows // 2 * odd[1]

    def coords(self, start: int, stop: int):
        """(ys, xs) of the pass's pixels start .. stop-1, raster order, int64."""
        if self.height * self.width <= CACHE_PIXELS:
            return _cached_coords(self, start, stop)
        return self._coords(start, stop)

    def _coords(self, start: int, stop: int):
        y0, dy, step, (x_even, n_even), (x_odd, n_odd) = self._rows()
        i = np.arange(start, stop, dtype=np.int64)
        pair, rem = np.divmod(i, n_even + n_odd)               # two rows at a time
        odd = rem >= n_even
        row = 2 * pair + odd
        xs = np.where(odd, x_odd + (rem - n_even) * step, x_even + rem * step)
        return y0 + row * dy, xs

    def position(self, y: int, x: int) -> int:
        """Index within the pass of its pixel (y, x) (the inverse of coords)."""
        y0, dy, step, (x_even, n_even), (x_odd, n_odd) = self._rows()
        row = (y - y0) // dy
        if row % 2:
            return row // 2 * (n_even + n_odd) + n_even + (x - x_odd) // step
        return row // 2 * (n_even + n_odd) + (x - x_even) // step

    @property
    def ys(self) -> np.ndarray:
        return self.coords(0, self.count)[0]

    @property
    def xs(self) -> np.ndarray:
        return self.coords(0, self.count)[1]

    def chunks(self):
        """(ys, xs) slices of at most CHUNK pixels, in raster order, made one at a time."""
        for s in range(0, self.count, CHUNK):
            yield self.coords(s, min(s + CHUNK, self.count))


@lru_cache(maxsize=1024)
def _cached_coords(p: Pass, start: int, stop: int):
    """Small images' runs, kept: many small images share their geometry."""
    ys, xs = p._coords(start, stop)
    ys.flags.writeable = False
    xs.flags.writeable = False
    return ys, xs


def _count(size: int, first: int, step: int) -> int:
    """How many of first, first + step, ... are below size."""
    return max(0, -(-(size - first) // step))


def levels_for(height: int, width: int) -> int:
    levels = 0
    while levels < MAX_LEVELS and (1 << levels) < max(height, width):
        levels += 1
    return levels


def make_schedule(height: int, width: int) -> list:
    """The passes of an image, in decoding order; together they cover every pixel once."""
    if height * width <= CACHE_PIXELS:
        return _cached_schedule(height, width)
    return _schedule(height, width)


CACHE_PIXELS = 1 << 18         # neighbour indices of images up to this size are kept (features.py)


@lru_cache(maxsize=32)
def _cached_schedule(height: int, width: int) -> tuple:
    return tuple(_schedule(height, width))


def _schedule(height: int, width: int) -> list:
    L = levels_for(height, width)
    passes = [Pass(0, GRID, L, height, width)]
    for k in range(L - 1, -1, -1):
        passes.append(Pass(len(passes), CENTRE, k, height, width))
        passes.append(Pass(len(passes), EDGE, k, height, width))
    return [p for p in passes if p.count] if height * width > 1 else passes[:1]
