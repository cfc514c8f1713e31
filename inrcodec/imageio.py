"""Image files and .linr files, whole: read, code, write; bounded, checked, atomic.

The work is done by three modules, whose public names are re-exported here:

    files   bounded reads, atomic writes, --force and symlink rules (read_bytes,
            read_linr_file, check_output, write_bytes)
    sniff   image headers, read before any pixel is decoded (image_header, ImageHeader)
    pixels  image file bytes <-> arrays, exactly or not at all (read_image, image_from_bytes,
            image_to_bytes, write_image, same_pixels)

This module puts them together with the codec: encode_file and decode_file, and the halves
of them that make an output's bytes (encode_image_file, decode_linr_file), which the command
line runs for each of its inputs before writing the output itself. Arrays are in OpenCV's
order (B, G, R (, A)) on both sides. A LinrError raised here names the file it is about in
its `path` attribute ("stdin" / "stdout" for "-").
"""
from __future__ import annotations

import os
import warnings
from contextlib import contextmanager

import numpy as np

from . import container
from .errors import LimitError, LinrError
from .files import STDIO, check_output, fspath, is_stdio, read_bytes, read_linr_file, write_bytes
from .limits import MAX_INPUT_BYTES
from .metadata import (add_png_metadata, add_tiff_metadata, add_webp_metadata, from_chunks,
                       read_metadata, to_chunks)
from .pixels import image_from_bytes, image_to_bytes, read_image, same_pixels, write_image
from .png_chunks import PNG_SIGNATURE
from .sniff import ImageHeader, image_header

__all__ = ["encode_file", "decode_file", "encode_image_file", "decode_linr_file",
           "read_image", "write_image", "image_from_bytes", "image_to_bytes", "same_pixels",
           "read_bytes", "read_linr_file", "check_output", "write_bytes", "image_header",
           "ImageHeader", "PNG_SIGNATURE", "STDIO"]

OUT_OF_MEMORY = "out of memory: image too large for this machine"


def _name(path, stdio_name: str) -> str:
    if is_stdio(path):
        return stdio_name
    return str(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else repr(path)


@contextmanager
def _about(path, stdio_name: str):
    """Name, in exc.path, the file that a LinrError raised inside is about (a name set
    further in is kept); out of memory becomes a LimitError."""
    try:
        yield
    except LinrError as exc:
        if getattr(exc, "path", None) is None:
            exc.path = _name(path, stdio_name)
        raise
    except MemoryError:
        err = LimitError(OUT_OF_MEMORY)
        err.path = _name(path, stdio_name)
        raise err from None


def _output_ext(dst) -> str:
    """The format an output is written in: its extension, PNG without one or for stdout."""
    return ".png" if is_stdio(dst) else os.path.splitext(fspath(dst))[1].lower() or ".png"


def encode_image_file(src, /, *, keep_metadata: bool = False, **options) -> tuple[bytes, np.ndarray]:
    """The .linr bytes of an image file (or stdin for "-"), and the image read.

    The image is read as read_image reads it and encoded with options as for encode (pass
    color_order="bgr" to store its colour as R, G, B, as the command line does). With
    keep_metadata its ICC profile, EXIF, XMP and text follow as ancillary chunks.
    """
    from .codec import encode
    with _about(src, "stdin"):
        raw = read_bytes(src, MAX_INPUT_BYTES, "image file")
        image = image_from_bytes(raw)
        meta = read_metadata(raw) if keep_metadata else {}
        del raw
        try:
            data = encode(image, **options)
        except TypeError as exc:         # an unknown option
            if "argument" not in str(exc):
                raise
            raise LinrError(f"bad option: {exc}") from None
        if meta:
            # after the codec's chunks, so the image's bytes are the codec's whatever the metadata
            data = container.write(container.read(data).in_order + to_chunks(meta))
    return data, image


def encode_file(src, dst, /, *, force: bool = False, keep_metadata: bool = False, **options) -> bytes:
    """Read an image file, encode it (encode_image_file), write dst atomically; the bytes."""
    with _about(dst, "stdout"):
        check_output(dst, force, (src,))
    data, _image = encode_image_file(src, keep_metadata=keep_metadata, **options)
    with _about(dst, "stdout"):
        write_bytes(dst, data, force, (src,))
    return data


def decode_linr_file(src, dst, /, *, max_pixels=None, prior=None,
                     keep_metadata: bool = False, reduce: int = 1, region=None) -> tuple[bytes, np.ndarray]:
    """The bytes of the image file that decode_file writes to dst, and the image (in OpenCV's
    B, G, R (, A) order, whatever order the file states).

    The format is dst's extension ("-", or no extension: PNG); one that cannot hold the image
    exactly is refused. With keep_metadata the file's ICC profile, EXIF, XMP and text are
    written into PNG and TIFF outputs, and ICC, EXIF and XMP into WebP outputs; what an output
    cannot hold is named in a UserWarning (TIFF: some text; WebP: text; other formats hold
    none of it).
    """
    from .codec import decode
    ext = _output_ext(dst)
    with _about(src, "stdin"):
        data = read_linr_file(src)
        meta = from_chunks(container.read(data).ancillary) if keep_metadata else {}
        image = decode(data, max_pixels=max_pixels, prior=prior, color_order="bgr", reduce=reduce,
                       region=region)
        del data
    with _about(dst, "stdout"):
        out = image_to_bytes(image, ext)
        if meta and ext == ".png":
            out = add_png_metadata(out, meta)
        elif meta and ext in (".tif", ".tiff"):
            out = _exact_with_metadata(out, add_tiff_metadata(out, meta), image, "TIFF")
        elif meta and ext == ".webp":
            out = _exact_with_metadata(out, add_webp_metadata(out, meta), image, "WebP")
            _warn_not_written(ext, {k: v for k, v in meta.items() if k not in ("icc", "exif", "xmp")})
        else:
            _warn_not_written(ext, meta)
    return out, image


def _warn_not_written(ext: str, meta: dict) -> None:
    """One UserWarning naming the metadata that an output of format ext cannot hold."""
    if _items(meta):
        warnings.warn(f"{ext} output: metadata not written ({_items(meta)}): {ext} cannot "
                      "hold it; use .png or .tif to keep it (or --strip to drop it quietly)")


def _items(meta: dict) -> str:
    """What a metadata dict holds, in words: "ICC profile, EXIF, XMP, text (2 keywords)"."""
    names = {"icc": "ICC profile", "exif": "EXIF", "xmp": "XMP"}
    out = [names[k] for k in ("icc", "exif", "xmp") if meta.get(k) is not None]
    if meta.get("text"):
        n = len(meta["text"])
        out.append(f"text ({n} keyword{'s' if n != 1 else ''})")
    return ", ".join(out)


def _exact_with_metadata(plain: bytes, out: bytes, image: np.ndarray, what: str) -> bytes:
    """out (plain with metadata added), if its pixels read back exactly: never trade pixels
    for metadata (plain, with a warning, if they would not)."""
    if out != plain and not same_pixels(image_from_bytes(out), image):
        warnings.warn(f"{what} output: metadata not written (the pixels would not read back exactly)")
        return plain
    return out


def decode_file(src, dst, /, *, force: bool = False, max_pixels=None, prior=None,
                keep_metadata: bool = False, reduce: int = 1, region=None) -> np.ndarray:
    """Read a .linr file, decode it, write dst (decode_linr_file) atomically; the image
    (reduce: a preview, region: a rectangle of it, as for decode)."""
    with _about(dst, "stdout"):
        check_output(dst, force, (src,))
    out, image = decode_linr_file(src, dst, max_pixels=max_pixels, prior=prior,
                                  keep_metadata=keep_metadata, reduce=reduce, region=region)
    with _about(dst, "stdout"):
        write_bytes(dst, out, force, (src,))
    return image
