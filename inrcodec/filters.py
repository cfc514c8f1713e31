"""Raster filters (format 12, chunk `F`): an image coded as its prediction residuals.

linr's passes go coarse to fine, so a pixel never sees the pixels of its own pass: on a
ramp whose rows wrap or are offset (PngSuite's gradients, test patterns), the neighbours
it does see predict it badly, where PNG's and JPEG-XL's raster predictors are exact. A
file may instead code the residual of one raster predictor per channel,

    R[y][x] = (X[y][x] - pred) mod 2^m,   pred = W (left), N (up) or W + N - NW (gradient),

neighbours outside the image being 0, and the decoder undoes it in raster order (linr.md
section 3.4). Modulo 2^m the gradient is exact on any plane a*x + b*y + c, wrapping
included, and its inverse is a cumulative sum along each row and then each column. The
residual image is coded like any other (a palette or value tables of its own included);
the pixel hash covers the image the filter gives back. A preview or a region of a filtered
file is cut from the whole image: its passes hold residuals, not samples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FormatError, LinrError

LEFT, UP, GRADIENT = 1, 2, 3
NAMES = {LEFT: "left", UP: "up", GRADIENT: "gradient"}
KINDS = {name: kind for kind, name in NAMES.items()}
# The encoder ranks a filter (its residual image's cost against the image's) only where its
# residuals' zero-order entropy is at most this share of the image's own: on ramps, noisy ones
# too, and on pixels repeated, not on photographs or a digit on a blank page.
TRY_ENTROPY = 0.35
# ... and on images small enough that the ranked cost is the whole image's (no fitted delta
# at the default effort, one group).
TRY_PIXELS = 1 << 18


@dataclass(frozen=True)
class Filter:
    kind: int              # LEFT, UP or GRADIENT
    bits: int              # m: residuals and samples are modulo 2^m

    @property
    def name(self) -> str:
        return NAMES[self.kind]

    def pack(self) -> bytes:
        return bytes([self.kind, self.bits])

    @classmethod
    def unpack(cls, data: bytes, wide: bool) -> "Filter":
        """The chunk's filter, checked against the sample type of the image it undoes."""
        if len(data) != 2 or data[0] not in NAMES:
            raise FormatError("filter chunk is not 2 bytes of a kind 1..3 and a modulus")
        if not 1 <= data[1] <= (16 if wide else 8):
            raise FormatError(f"filter modulus 2^{data[1]} does not fit the sample type")
        return cls(data[0], data[1])

    def apply(self, image: np.ndarray) -> np.ndarray:
        """The residual image (same shape and dtype) of an image whose samples are < 2^bits."""
        mask = image.dtype.type((1 << self.bits) - 1)
        out = image.copy()
        if self.kind in (LEFT, GRADIENT):
            out[:, 1:] -= image[:, :-1]          # unsigned arithmetic wraps: exact modulo 2^bits
        if self.kind in (UP, GRADIENT):
            out[1:] -= out[:-1].copy()
        return out & mask

    def undo(self, residual: np.ndarray) -> np.ndarray:
        """The image of a residual image: cumulative sums, wrapping in the sample type."""
        if int(residual.max(initial=0)) >> self.bits:
            raise FormatError("a filtered sample is not below its modulus (corrupt file)")
        out = residual
        if self.kind in (LEFT, GRADIENT):
            out = np.cumsum(out, axis=1, dtype=residual.dtype)
        if self.kind in (UP, GRADIENT):
            out = np.cumsum(out, axis=0, dtype=residual.dtype)
        return out & residual.dtype.type((1 << self.bits) - 1)


def named(name: str, image: np.ndarray) -> Filter:
    """The filter `name` for `image` (the encoder's filter= option)."""
    if name not in KINDS:
        raise LinrError(f"filter must be 'auto', 'never' or one of {', '.join(KINDS)}, not {name!r:.20}")
    return Filter(KINDS[name], max(1, int(image.max(initial=0)).bit_length()))


def candidates(image: np.ndarray) -> list:
    """The filter worth ranking for `image` ([] or one, on an image of at most TRY_PIXELS
    pixels): the one whose residuals have the least zero-order entropy, when that is at most
    TRY_ENTROPY times the image's own (ranking a filter costs as much as ranking the image)."""
    if image.shape[0] * image.shape[1] > TRY_PIXELS or image.size == 0:
        return []
    filters = [named(name, image) for name in KINDS]
    cost = [entropy(f.apply(image)) for f in filters]
    best = int(np.argmin(cost))
    return [filters[best]] if cost[best] <= TRY_ENTROPY * entropy(image) else []


def entropy(image: np.ndarray) -> float:
    """Zero-order entropy of the samples, each channel its own, in bits (summed)."""
    planes = image.reshape(-1, 1 if image.ndim == 2 else image.shape[2])
    bits = 0.0
    for c in range(planes.shape[1]):
        counts = np.bincount(planes[:, c])
        p = counts[counts > 0] / len(planes)
        bits -= float(len(planes) * (p * np.log2(p)).sum())
    return bits
