"""The palette transform (format 4, chunk `P`): few-colour images coded as indices.

An image of at most MAX_PALETTE distinct colours (pixel values over all
channels) can be coded as a gray image of indices into a table of those
colours: the network then predicts one sample a pixel of ceil(log2 K) bits
instead of C samples of n bits. Dithered and flat-colour illustrations are
the case it is for (a dithered 8-colour 128x128 crop: 8.2 bpp coded as RGB,
2.3 bpp as indices). The encoder decides by the ranked code length of both
(codec.encode); the decoder only maps indices back.

Chunk data: one byte of the output image's form, (channels - 1) | wide << 2 |
plain2d << 3 | order << 4; one byte K - 1 (K = 2..MAX_PALETTE); then the K
colours in index order, each `channels` samples of 1 byte (2 bytes, little
endian, when wide). The header H then describes the index image: 1 channel,
uint8, plain 2-D, colour order "given", bit depth max(1, bit_length(K - 1)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .container import Reader
from .errors import FormatError
from .limits import MAX_PALETTE
from .wire import ORDERS, ImageInfo

# Images with more pixels are sampled first: more than MAX_PALETTE colours in
# the sample settles it without sorting every pixel.
SAMPLE_PIXELS = 1 << 14
# A palette is only tried when an index is this many bits narrower than a pixel.
# On the validation digits (the last MNIST / Fashion-MNIST training images) it paid
# only for images of at most 10 levels (MNIST) or 43-74 (Fashion, 2-35 bytes an
# image), so ranking it on every gray image of at most 128 levels was time for nothing.
MIN_SAVED_BITS = 3


@dataclass(frozen=True)
class Palette:
    colours: np.ndarray            # K x C, uint8 or uint16, in index order
    wide: bool
    plain2d: bool
    order: str = "given"

    @property
    def count(self) -> int:
        return len(self.colours)

    @property
    def index_bits(self) -> int:
        return max(1, (self.count - 1).bit_length())

    def output_info(self, height: int, width: int) -> ImageInfo:
        c = self.colours.shape[1]
        bits = max(1, int(self.colours.max()).bit_length())
        return ImageInfo(height, width, c, bits, self.wide, self.plain2d, self.order)

    def index_info(self, height: int, width: int) -> ImageInfo:
        return ImageInfo(height, width, 1, self.index_bits, False, True, "given")

    def pack(self) -> bytes:
        c = self.colours.shape[1]
        out = bytearray([(c - 1) | self.wide << 2 | self.plain2d << 3 | ORDERS.index(self.order) << 4,
                         self.count - 1])
        out += np.ascontiguousarray(self.colours, "<u2" if self.wide else "u1").tobytes()
        return bytes(out)

    @classmethod
    def unpack(cls, data: bytes) -> "Palette":
        r = Reader(data, "palette")
        form = r.byte()
        count = r.byte() + 1
        c, wide, plain2d = (form & 3) + 1, bool(form >> 2 & 1), bool(form >> 3 & 1)
        if form >> 5 or count < 2 or (plain2d and c != 1) or (form >> 4 & 1 and c < 3):
            raise FormatError("palette chunk declares an impossible image")
        size = 2 if wide else 1
        raw = r.take(count * c * size)
        r.done()
        colours = np.frombuffer(raw, "<u2" if wide else "u1").reshape(count, c)
        return cls(colours.astype(np.uint16 if wide else np.uint8), wide, plain2d, ORDERS[form >> 4 & 1])

    def check_header(self, info: ImageInfo) -> None:
        """The header of a palette file must describe exactly its index image."""
        if info != self.index_info(info.height, info.width):
            raise FormatError("header does not describe the palette's index image")

    def apply(self, indices: np.ndarray) -> np.ndarray:
        """The output image of an H x W index image; FormatError on an index past the table."""
        if indices.size and int(indices.max()) >= self.count:
            raise FormatError(f"palette index {int(indices.max())} is past the {self.count} colours")
        out = self.colours[indices]
        return out[:, :, 0] if self.plain2d else out


def colour_keys(img3: np.ndarray) -> np.ndarray:
    """One int64 per pixel holding all its samples (C <= 4 samples of 16 bits)."""
    keys = np.zeros(img3.shape[:2], np.int64)
    for ch in range(img3.shape[2]):
        keys = (keys << 16) | img3[:, :, ch].astype(np.int64)
    return keys


def _luma_weights(channels: int, order: str) -> np.ndarray:
    """BT.601 luma in 1/256 for B, G, R (the order linr assumes of a 'given' array),
    reversed for R, G, B; gray and alpha count plainly."""
    if channels < 3:
        return np.ones(channels, np.int64)
    bgr = [29, 150, 77] if order != "rgb" else [77, 150, 29]
    return np.array(bgr + [1] * (channels - 3), np.int64)


def _distinct(keys: np.ndarray) -> int:
    """How many different values (np.unique's count without its import of numpy.ma, 6 ms
    of a photograph's command, which the sample below ends)."""
    s = np.sort(keys, axis=None)
    return int(s.size > 0) + int(np.count_nonzero(s[1:] != s[:-1]))


def build(image: np.ndarray, order: str = "given"):
    """(Palette, H x W uint8 indices) of an image of 2..MAX_PALETTE colours whose
    indices are at least MIN_SAVED_BITS narrower than its pixels; else None.

    Indices follow the colours' luma (ties by value), so that neighbouring indices
    are alike and the index image keeps some of the image's smoothness. (On two
    validation illustrations luma's order coded 0-8% smaller than the plain sum of
    samples, and up to 2.5x smaller than a random order.)"""
    img3 = image[:, :, None] if image.ndim == 2 else image
    h, w, c = img3.shape
    if h * w > SAMPLE_PIXELS:
        rng = np.random.default_rng(0)
        sample = img3[rng.integers(0, h, SAMPLE_PIXELS), rng.integers(0, w, SAMPLE_PIXELS)]
        if _distinct(colour_keys(sample[None])) > MAX_PALETTE:
            return None
    keys, inverse = np.unique(colour_keys(img3), return_inverse=True)
    count = len(keys)
    bits = max(1, int(image.max()).bit_length())
    if not 2 <= count <= MAX_PALETTE or max(1, (count - 1).bit_length()) > c * bits - MIN_SAVED_BITS:
        return None
    colours = np.stack([(keys >> (16 * (c - 1 - ch))) & 0xFFFF for ch in range(c)], axis=1)
    rank = np.lexsort((keys, colours @ _luma_weights(c, order)))
    position = np.empty(count, np.int64)
    position[rank] = np.arange(count)
    indices = position[inverse.reshape(h, w)].astype(np.uint8)
    palette = Palette(colours[rank].astype(image.dtype), image.dtype == np.uint16, image.ndim == 2,
                      order if c >= 3 else "given")
    return palette, indices
