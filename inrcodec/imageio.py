"""Reading and writing images and .linr files (OpenCV, atomic writes).

Images are read with cv2.IMREAD_UNCHANGED: the array OpenCV gives is what
round-trips, so colour images are in OpenCV's B, G, R (, A) channel order and
PNG palettes are expanded to colour. Outputs are written to a temporary file
in the destination folder, then renamed, so no partial file is ever left.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .errors import ImageError, LinrError

MAX_INPUT_BYTES = 1 << 30


def read_image(path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise ImageError("no such file")
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise ImageError("file too large")
    raw = np.fromfile(str(path), np.uint8)
    try:
        img = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None:
        raise ImageError("cannot read this image (unsupported or corrupt)")
    if img.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"unsupported sample type {img.dtype} (linr codes 1-16 bit integers)")
    return img


def write_bytes(path, data: bytes, force: bool = False) -> None:
    """Write atomically; refuse to overwrite unless force."""
    path = Path(path)
    if path.exists() and not force:
        raise LinrError("output exists (use --force to overwrite)")
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_image(path, image: np.ndarray, force: bool = False) -> None:
    """Encode to the format the file name asks for (PNG keeps 16 bits)."""
    path = Path(path)
    ext = path.suffix.lower() or ".png"
    if ext in (".jpg", ".jpeg", ".webp") and image.dtype != np.uint8:
        raise ImageError(f"{ext} cannot hold {image.dtype} samples; use .png or .tif")
    params = [cv2.IMWRITE_PNG_COMPRESSION, 6] if ext == ".png" else []
    try:
        ok, buf = cv2.imencode(ext, image, params)
    except cv2.error:
        ok = False
    if not ok:
        raise ImageError(f"cannot write this image as {ext}")
    write_bytes(path, buf.tobytes(), force)


def encode_file(src, dst, /, *, force: bool = False, **options) -> bytes:
    """Read an image file, encode it (options as for encode), write dst."""
    from .codec import encode
    data = encode(read_image(src), **options)
    write_bytes(dst, data, force)
    return data


def decode_file(src, dst, /, *, force: bool = False) -> np.ndarray:
    from .codec import decode
    path = Path(src)
    if not path.is_file():
        raise LinrError("no such file")
    image = decode(path.read_bytes())
    write_image(dst, image, force)
    return image
