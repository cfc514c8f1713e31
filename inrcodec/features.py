"""What the network sees of a pixel: integer features of its decoded neighbourhood.

`pixel_context` is the single function that turns "what the decoder knows"
into network inputs; the encoder, the decoder and prior training all call it,
so the inputs are identical by construction. Everything here is integer.

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

from . import kernel
from .intmath import bit_length, clip
from .schedule import CACHE_PIXELS, GRID, NEAR, Pass, make_schedule
from .tables import ACT_BITS, ACT_ONE

DIFF_LIMIT = 8 * ACT_ONE       # neighbour differences are clipped to +-8 local units


@dataclass
class Context:
    feats: np.ndarray          # N x F int64, scale 2**ACT_BITS
    anchor: np.ndarray         # N x C int64, sample units
    shift: np.ndarray          # N int64: the local scale is 2**shift samples


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


@lru_cache(maxsize=256)
def _cached_index(h: int, w: int, pass_index: int, start: int, count: int) -> np.ndarray:
    p = next(q for q in make_schedule(h, w) if q.index == pass_index)
    ny, nx = neighbour_coords(p, *p.coords(start, start + count), h, w)
    out = ny * w + nx
    out.flags.writeable = False
    return out


def neighbour_index(p: Pass, ys: np.ndarray, xs: np.ndarray, h: int, w: int) -> np.ndarray:
    """12 x N flat indices (y * w + x) of the neighbours; cached for small images
    (when ys, xs are a run of the pass, as the walker's chunks and slices are)."""
    if h * w <= CACHE_PIXELS and len(ys):
        start = p.position(int(ys[0]), int(xs[0]))
        end = p.position(int(ys[-1]), int(xs[-1]))
        (y0, x0), (y1, x1) = p.coords(start, start + 1), p.coords(end, end + 1)
        if end - start + 1 == len(ys) and (y0[0], x0[0], y1[0], x1[0]) == (ys[0], xs[0], ys[-1], xs[-1]):
            return _cached_index(h, w, p.index, start, len(ys))
    ny, nx = neighbour_coords(p, ys, xs, h, w)
    return ny * w + nx


def pixel_context(known: np.ndarray, p: Pass, ys: np.ndarray, xs: np.ndarray, bits: int) -> Context:
    """Features of pixels (ys, xs) of pass p; `known` holds every earlier pass's exact values."""
    h, w, c = known.shape
    n = len(ys)
    if p.kind != GRID and kernel.ready():
        return Context(*kernel.neighbour_features(
            known.reshape(h * w, c), neighbour_index(p, ys, xs, h, w), bits, xs, ys, w, h,
            int(_scalar(bits - 1, 16)), (p.level << ACT_BITS) // 8, (p.kind - 1) << ACT_BITS))
    if p.kind == GRID:
        anchor = np.full((n, c), 1 << (bits - 1), np.int64)
        shift = np.full(n, max(0, bits - 2), np.int64)
        diffs = np.zeros((n, 12 * c), np.int64)
    else:
        vals = known.reshape(h * w, c)[neighbour_index(p, ys, xs, h, w)].astype(np.int64)  # 12 x N x C
        anchor = vals[:NEAR].sum(axis=0) >> 2
        d = vals - anchor[None]
        g = np.abs(d).sum(axis=(0, 2)) // (12 * c)
        shift = bit_length(g)
        diffs = clip((d << ACT_BITS) >> shift[None, :, None], -DIFF_LIMIT, DIFF_LIMIT)
        diffs = diffs.transpose(1, 0, 2).reshape(n, 12 * c)
    level = ((2 * anchor + 1 - (1 << bits)) << ACT_BITS) >> bits
    cols = np.stack([
        (shift << ACT_BITS) // 16,
        np.broadcast_to(_scalar(bits - 1, 16), (n,)),
        np.full(n, (p.level << ACT_BITS) // 8),
        np.full(n, (p.kind - 1) << ACT_BITS),
        ((2 * xs + 1) << ACT_BITS) // w - ACT_ONE,
        ((2 * ys + 1) << ACT_BITS) // h - ACT_ONE,
    ], axis=1)
    return Context(np.concatenate([diffs, level, cols], axis=1), anchor, shift)


def image_rows(img3: np.ndarray, bits: int, keep: float = 1.0, rng=None):
    """Every pixel's context and values, as the decoder will see them.

    The encoder and the trainer know the whole image; `pixel_context` reads
    only earlier passes' pixels, so features from the full image are exactly
    the decoder's. With keep < 1 a random fraction of the pixels is taken.
    Returns (feats N x F int32, anchor N x C, shift N, values N x C, bits N).
    """
    from .schedule import make_schedule
    h, w, c = img3.shape
    parts = []
    for p in make_schedule(h, w):
        for ys, xs in p.chunks():
            if keep < 1:
                sel = rng.random(len(ys)) < keep
                ys, xs = ys[sel], xs[sel]
                if not len(ys):
                    continue
            ctx = pixel_context(img3, p, ys, xs, bits)
            parts.append((ctx.feats.astype(np.int32), ctx.anchor.astype(np.int32), ctx.shift.astype(np.int8),
                          img3[ys, xs].astype(np.int32)))
    cat = [np.concatenate([q[i] for q in parts]) for i in range(4)]
    return (*cat, np.full(len(cat[0]), bits, np.int8))
