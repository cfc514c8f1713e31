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
# The encoder tries a filter (by the ranked cost of its residuals against the image's) only
# where one residual value covers at least this share of the samples: on ramps and flat
# graphics, not on photographs (at most 41% on Kodak, 10-20% on most).
TRY_SHARE = 0.5
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
    """The filter worth ranking for `image` ([] or one): of those whose most common residual
    value (per channel) covers TRY_SHARE of the samples and leaves at most half as many
    samples out as the image's own most common value does (not a digit on a blank page: its
    residuals are hardly simpler), the one whose value covers most (ranking a filter costs
    as much as ranking the image), on an image of at most TRY_PIXELS pixels."""
    if image.shape[0] * image.shape[1] > TRY_PIXELS or image.size == 0:
        return []
    plain = _common(image)
    best, most = [], 0
    for name in KINDS:
        filt = named(name, image)
        common = _common(filt.apply(image))
        if common >= TRY_SHARE * image.size and 2 * (image.size - common) <= image.size - plain \
                and common > most:
            best, most = [filt], common
    return best


def _common(image: np.ndarray) -> int:
    """How many samples hold their channel's most common value."""
    planes = image.reshape(-1, 1 if image.ndim == 2 else image.shape[2])
    return sum(int(np.bincount(planes[:, c]).max()) for c in range(planes.shape[1]))
