"""Bit-planes, the decoding schedule and the per-bit input features.

Decoding walks the planes from the MSB down. Inside a plane, pixels are split
into passes, coarse to fine (a grid of stride 2**K, then for each finer level
the square centres, then the edge midpoints), so a bit can look at the bits of
its plane that earlier passes already decoded, besides every higher plane.

`pass_features` is the single function that turns "what the decoder knows"
into network inputs. The encoder, the decoder and the prior trainer all call
it, so the inputs are identical by construction. Everything here is integer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tables import ACT_BITS, ACT_ONE

BATCH = 1 << 16                      # pixels per network evaluation
MAX_LEVELS = 5                       # coarsest grid stride is 2**5 = 32
REL_RANGE = 4                        # relative positions are clipped to +-4 intervals
NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def bit_planes(image: np.ndarray, bits: int) -> np.ndarray:
    """B_i = (I >> i) & 1 for i = 0..bits-1, stacked on a new first axis."""
    img = image.astype(np.int64)
    return np.stack([(img >> i) & 1 for i in range(bits)]).astype(np.uint8)


@dataclass(frozen=True)
class Schedule:
    """Which pass of a plane decodes each pixel, and each pass's ring radius."""
    pass_map: np.ndarray        # H x W int, pass index of every pixel
    radius: list                # per pass: distance to the already-decoded ring
    level: list                 # per pass: level k (stride 2**k)
    coords: list                # per pass: (ys, xs) int arrays in raster order

    @property
    def passes(self) -> int:
        return len(self.radius)

    def chunks(self, t: int):
        """The pixels of pass t in raster order, in slices of at most BATCH
        (bounds memory; a pass's bits count as decoded only after the pass)."""
        ys, xs = self.coords[t]
        for s in range(0, max(len(ys), 1), BATCH):
            yield ys[s:s + BATCH], xs[s:s + BATCH]


def make_schedule(height: int, width: int, context: bool) -> Schedule:
    """Coarse-to-fine passes; a single pass when the model has no context."""
    if not context:
        pm = np.zeros((height, width), np.int64)
        ys, xs = np.nonzero(pm == 0)
        return Schedule(pm, [1], [0], [(ys, xs)])
    levels = 0
    while levels < MAX_LEVELS and (1 << levels) < max(height, width):
        levels += 1
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :]
    pm = np.full((height, width), -1, np.int64)
    radius, level = [1 << levels], [levels]
    pm[(y % (1 << levels) == 0) & (x % (1 << levels) == 0)] = 0
    for k in range(levels - 1, -1, -1):
        s = 1 << k
        ym, xm = (y % (2 * s)), (x % (2 * s))
        centre = (ym == s) & (xm == s)
        edge = ((ym == s) & (xm == 0)) | ((ym == 0) & (xm == s))
        pm[centre] = len(radius)
        radius.append(s)
        level.append(k)
        pm[edge] = len(radius)
        radius.append(s)
        level.append(k)
    assert (pm >= 0).all()
    coords = [np.nonzero(pm == t) for t in range(len(radius))]
    return Schedule(pm, radius, level, coords)


def feature_count(channels: int, context: bool, relative: bool = False) -> int:
    # coords (2) + plane + depth + level; with context: own pixel (C),
    # adjacent ring and radius ring, each 8 x (C estimates, C relative
    # positions, 1 flag)
    base = 5
    per_neighbour = (2 if relative else 1) * channels + 1
    return base + (channels + 2 * 8 * per_neighbour if context else 0)


def _scalar(num: int, den: int) -> int:
    """num/den in (-1, 1) as a fixed-point integer, for num in [0, den)."""
    return ((2 * num + 1) << ACT_BITS) // (2 * den) * 2 - ACT_ONE


def pass_features(known: np.ndarray, decoded: np.ndarray, plane: int, bits: int,
                  sched: Schedule, t: int, context: bool, ys: np.ndarray, xs: np.ndarray,
                  relative: bool = False) -> np.ndarray:
    """Integer inputs (N x F, scale 2**ACT_BITS) for pixels (ys, xs) of pass `t`.

    known:   H x W x C int64, the image with every bit the decoder has so far
             (bits above `plane` everywhere, bit `plane` where decoded is True).
    decoded: H x W bool, pixels whose bit `plane` is already decoded.
    """
    h, w, c = known.shape
    n = len(ys)
    cols = [
        ((2 * xs + 1) << ACT_BITS) // w - ACT_ONE,
        ((2 * ys + 1) << ACT_BITS) // h - ACT_ONE,
        np.full(n, _scalar(plane, bits)),
        np.full(n, _scalar(bits - 1, 16)),
        np.full(n, _scalar(sched.level[t], MAX_LEVELS + 1)),
    ]
    feats = [np.stack(cols, axis=1)]
    if context:
        # estimate of a sample from its known bits: the middle of the range
        # they leave open, normalised to (-1, 1)
        def mid2(vals: np.ndarray, low) -> np.ndarray:      # 2 x the middle, exact
            return 2 * ((vals >> low) << low) + (1 << low) - 1

        def estimate(vals: np.ndarray, low) -> np.ndarray:
            return ((mid2(vals, low) + 1 - (1 << bits)) << ACT_BITS) >> bits

        own = known[ys, xs]
        own_mid2 = mid2(own, plane + 1)
        feats.append(estimate(own, plane + 1))
        # where each neighbour's estimate falls relative to this pixel's open
        # interval, in units of that interval: the same scale on every plane,
        # so fine detail of low planes (and of 16-bit images) stays visible
        rel_limit = REL_RANGE * ACT_ONE
        for r in (1, sched.radius[t]):
            for dy, dx in NEIGHBOURS:
                ny, nx = ys + dy * r, xs + dx * r
                inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
                cy, cx = np.clip(ny, 0, h - 1), np.clip(nx, 0, w - 1)
                done = decoded[cy, cx] & inside
                low = np.where(done, plane, plane + 1)[:, None]
                nb = known[cy, cx]
                est = estimate(nb, low) * inside[:, None]
                rel = np.clip(((mid2(nb, low) - own_mid2) << ACT_BITS) >> (plane + 2),
                              -rel_limit, rel_limit) * inside[:, None]
                flag = np.where(inside, np.where(done, ACT_ONE, 0), -ACT_ONE)
                feats += [est, rel, flag[:, None]] if relative else [est, flag[:, None]]
    return np.concatenate(feats, axis=1).astype(np.int64)


def all_features(image: np.ndarray, bits: int, sched: Schedule, context: bool,
                 relative: bool = False, keep: float = 1.0, rng=None):
    """Features and target bits of every bit of `image`, in decoding order.

    Yields (plane, pass, features N x F, targets N x C), exactly what the
    decoder will see when it reaches that pass. With keep < 1, only a random
    fraction `keep` of the pixels (drawn from `rng`) is yielded: cheap samples
    of a large image for fitting.
    """
    img = image.astype(np.int64)
    for plane in range(bits - 1, -1, -1):
        high = (img >> (plane + 1)) << (plane + 1)
        bit = (img >> plane) & 1
        known = high.copy()
        decoded = np.zeros(img.shape[:2], bool)
        for t in range(sched.passes):
            for ys, xs in sched.chunks(t):
                sy, sx = ys, xs
                if keep < 1:
                    sel = rng.random(len(ys)) < keep
                    sy, sx = ys[sel], xs[sel]
                yield (plane, t, pass_features(known, decoded, plane, bits, sched, t, context, sy, sx,
                                               relative), bit[sy, sx])
                known[ys, xs] |= bit[ys, xs] << plane
            decoded[sched.coords[t]] = True
