"""What the network sees of a pixel: integer features of its decoded neighbourhood.

The definition, and the parts both decision backends share: neighbour
indices, the grid pass, the column layout. The per-pixel loop over the
neighbours is kernels.neighbour_features (its numpy oracle:
oracle.pixel_context); the encoder, the decoder and prior training all reach
it through backend.Compiled.features, so their inputs are identical by
construction. Everything here is integer.

For a pixel of pass p, the 12 neighbours are the offsets of the pass
(schedule.py). A neighbour outside the image is replaced by its mirror
image: the first of (dy, dx), (-dy, dx), (dy, -dx), (-dy, -dx) that is
inside (they are all decoded: the lattices are symmetric); if none is, by
the first nearest neighbour that is. Then, per channel:
  anchor a  = floor(sum of the 4 nearest / 4)        (the reference value)
  d_j       = neighbour_j - a
  g         = floor(sum_j,c |d_j| / (12 C));  sh = bit_length(g)
so that 2**sh is the local scale; features are d_j in units of 2**sh.
A grid-pass pixel has no neighbours: a = 2**(n-1), sh = max(0, n - 2).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .mixing import grid_mix_context
from .schedule import CACHE_PIXELS, NEAR, Pass, make_schedule
from .tables import ACT_BITS, ACT_ONE

DIFF_LIMIT = 8 * ACT_ONE       # neighbour differences are clipped to +-8 local units


@dataclass
class Context:
    feats: np.ndarray          # N x F int64, scale 2**ACT_BITS
    anchor: np.ndarray         # N x C int64, sample units
    shift: np.ndarray          # N int64: the local scale is 2**shift samples
    mix: np.ndarray            # N x C int64: the mixing contexts (mixing.pack_context; format 5)
    near: np.ndarray           # N x C int64: the 4 nearest neighbours' values (mixing.pack_near; format 9)


def _scalar(num, den: int):
    """(2 num + 1) / den - 1, in (-1, 1), as a fixed-point integer (num in [0, den))."""
    return ((2 * np.asarray(num, np.int64) + 1) << ACT_BITS) // den - ACT_ONE


def neighbour_coords(p: Pass, ys: np.ndarray, xs: np.ndarray, height: int, width: int):
    """12 x N arrays (ny, nx) of the neighbours each pixel reads, mirrored inside."""
    offs = p.offsets
    n = len(ys)
    ny = ys[None, :] + offs[:, :1]
    nx = xs[None, :] + offs[:, 1:]
    found = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
    edge = np.nonzero(~found.all(axis=0))[0]          # pixels near the border only
    for j, (dy, dx) in enumerate(offs):
        e = edge[~found[j, edge]]
        for sy, sx in ((-1, 1), (1, -1), (-1, -1)):
            cy, cx = ys[e] + sy * dy, xs[e] + sx * dx
            ok = (cy >= 0) & (cy < height) & (cx >= 0) & (cx < width)
            ny[j, e[ok]], nx[j, e[ok]] = cy[ok], cx[ok]
            found[j, e[ok]] = True
            e = e[~ok]
    if not found.all():
        # first nearest neighbour that is inside (one always is)
        first = np.argmax(found[:NEAR], axis=0)
        fy, fx = ny[first, np.arange(n)], nx[first, np.arange(n)]
        miss = ~found
        ny[miss] = np.broadcast_to(fy, ny.shape)[miss]
        nx[miss] = np.broadcast_to(fx, nx.shape)[miss]
    return ny, nx


def run_index(p: Pass, start: int, count: int, h: int, w: int) -> np.ndarray:
    """neighbour_index of the run of pass p from position `start`: the walker's
    chunks and slices. Cached for small images, whose runs repeat image after image."""
    if h * w <= CACHE_PIXELS:
        return _cached_run_index(h, w, p.index, start, count)
    return neighbour_index(p, *p.coords(start, start + count), h, w)


@lru_cache(maxsize=256)
def _cached_run_index(h: int, w: int, pass_index: int, start: int, count: int) -> np.ndarray:
    p = next(q for q in make_schedule(h, w) if q.index == pass_index)
    out = neighbour_index(p, *p.coords(start, start + count), h, w)
    out.flags.writeable = False
    return out


def neighbour_index(p: Pass, ys: np.ndarray, xs: np.ndarray, h: int, w: int) -> np.ndarray:
    """12 x N flat indices (y * w + x) of the neighbours of pixels (ys, xs)."""
    ny, nx = neighbour_coords(p, ys, xs, h, w)
    return ny * w + nx


def columns(p: Pass, bits: int) -> tuple:
    """The features that are the same for every pixel of a pass: the bit depth,
    the pass's level and its kind (fixed point)."""
    return int(_scalar(bits - 1, 16)), (p.level << ACT_BITS) // 8, (p.kind - 1) << ACT_BITS


def position_columns(ys: np.ndarray, xs: np.ndarray, h: int, w: int) -> tuple:
    """The pixel's coordinates, in (-1, 1) fixed point."""
    return ((2 * xs + 1) << ACT_BITS) // w - ACT_ONE, ((2 * ys + 1) << ACT_BITS) // h - ACT_ONE


def level_columns(anchor: np.ndarray, bits: int) -> np.ndarray:
    """The anchor's level in the sample range, per channel (N x C)."""
    return ((2 * anchor + 1 - (1 << bits)) << ACT_BITS) >> bits


def assemble(diffs, anchor, shift, mix, near, p: Pass, ys, xs, bits: int, h: int, w: int) -> Context:
    """The feature rows in their column order: 12 C differences, C levels, then
    the scale, bit depth, level, kind and the coordinates."""
    n = len(ys)
    bits_col, level_col, kind_col = columns(p, bits)
    x_col, y_col = position_columns(ys, xs, h, w)
    cols = np.stack([(shift << ACT_BITS) // 16, np.full(n, bits_col), np.full(n, level_col),
                     np.full(n, kind_col), x_col, y_col], axis=1)
    return Context(np.concatenate([diffs, level_columns(anchor, bits), cols], axis=1), anchor, shift, mix, near)


def grid_context(p: Pass, ys: np.ndarray, xs: np.ndarray, bits: int, channels: int, h: int,
                 w: int) -> Context:
    """The grid pass has no decoded neighbours: a = 2**(n-1), sh = max(0, n - 2), and the
    nearest values are all 0."""
    n = len(ys)
    anchor = np.full((n, channels), 1 << (bits - 1), np.int64)
    shift = np.full(n, max(0, bits - 2), np.int64)
    return assemble(np.zeros((n, 12 * channels), np.int64), anchor, shift,
                    grid_mix_context(n, channels, bits, p.kind), np.zeros((n, channels), np.int64),
                    p, ys, xs, bits, h, w)
