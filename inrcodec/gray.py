"""Gray copies (format 9, chunk `G`): a colour image whose three colour channels are equal.

Gray scans, medical slices and documents are often stored as RGB or RGBA. Such an image is
coded as its gray (or gray + alpha) image, and the chunk, one byte, says how many channels
the output has: 3 (gray -> R, G, B) or 4 (gray, alpha -> R, G, B, A). The network then models
one colour channel instead of three: the file takes the bytes of the gray image (not the
2-4% the mixing still spends on learning that the copies repeat their channel) and
decoding does a third of the work. The decoder expands the image after the palette or the
value tables (linr.md section 3.3); the pixel hash covers the expanded image.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .errors import FormatError
from .wire import ImageInfo


def copies_of(image: np.ndarray):
    """The output's channel count (3 or 4) when an H x W x 3 or 4 image's first three
    channels are equal; else None."""
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        return None
    first = image[:, :, 0]
    return image.shape[2] if np.array_equal(first, image[:, :, 1]) and np.array_equal(first, image[:, :, 2]) else None


def reduced(image: np.ndarray, channels: int) -> np.ndarray:
    """The gray (H x W x 1) or gray + alpha (H x W x 2) image that is coded."""
    return np.ascontiguousarray(image[:, :, [0]] if channels == 3 else image[:, :, [0, 3]])


def pack(channels: int) -> bytes:
    return bytes([channels])


def unpack(data: bytes, coded: ImageInfo) -> int:
    """The output's channel count, checked against the image it expands (`coded`: the image
    after the palette or the value tables)."""
    if len(data) != 1 or data[0] not in (3, 4):
        raise FormatError("gray copies chunk is not one byte of 3 or 4")
    channels = data[0]
    if coded.channels != channels - 2 or coded.plain2d or coded.order != "given" or coded.signed:
        raise FormatError("gray copies of an image that is not gray (or gray + alpha) H x W x C, unsigned")
    output_info(coded, channels)        # the output's sample count, before anything is decoded
    return channels


def output_info(coded: ImageInfo, channels: int) -> ImageInfo:
    return dataclasses.replace(coded, channels=channels, plain2d=False)


def expand(image: np.ndarray, channels: int) -> np.ndarray:
    """R = G = B = the gray channel (and A = the second channel)."""
    return np.ascontiguousarray(image[:, :, [0, 0, 0] if channels == 3 else [0, 0, 0, 1]])
