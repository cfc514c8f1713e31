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
from functools import lru_cache

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
    index: int
    kind: int                  # GRID, CENTRE or EDGE
    level: int                 # k: neighbours at multiples of s = 2**k
    ys: np.ndarray             # pixels of the pass, raster order
    xs: np.ndarray

    @property
    def offsets(self) -> np.ndarray:
        """12 x 2 neighbour offsets (dy, dx) in pixels; empty for the grid pass."""
        if self.kind == GRID:
            return np.zeros((0, 2), np.int64)
        base = CENTRE_OFFSETS if self.kind == CENTRE else EDGE_OFFSETS
        return base * (1 << self.level)

    def chunks(self):
        """(ys, xs) slices of at most CHUNK pixels, in raster order."""
        for s in range(0, len(self.ys), CHUNK):
            yield self.ys[s:s + CHUNK], self.xs[s:s + CHUNK]


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


CACHE_PIXELS = 1 << 18         # schedules of images up to this size are kept (many small images)


@lru_cache(maxsize=32)
def _cached_schedule(height: int, width: int) -> tuple:
    passes = tuple(_schedule(height, width))
    for p in passes:
        p.ys.flags.writeable = False
        p.xs.flags.writeable = False
    return passes


def _schedule(height: int, width: int) -> list:
    L = levels_for(height, width)
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :]

    def where(mask):
        ys, xs = np.nonzero(np.broadcast_to(mask, (height, width)))
        return ys.astype(np.int64), xs.astype(np.int64)

    S = 1 << L
    passes = [Pass(0, GRID, L, *where((y % S == 0) & (x % S == 0)))]
    for k in range(L - 1, -1, -1):
        s = 1 << k
        ym, xm = y % (2 * s), x % (2 * s)
        passes.append(Pass(len(passes), CENTRE, k, *where((ym == s) & (xm == s))))
        passes.append(Pass(len(passes), EDGE, k, *where(((ym == s) & (xm == 0)) | ((ym == 0) & (xm == s)))))
    return [p for p in passes if len(p.ys)] if height * width > 1 else passes[:1]
