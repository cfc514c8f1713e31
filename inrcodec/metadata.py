"""Image metadata: ICC profile, EXIF, XMP and text, from PNG/TIFF into `.linr` and back.

The metadata of an image is a plain dict with any of these keys (absent = not present):

    "icc"   bytes   the ICC profile (decompressed)
    "exif"  bytes   the EXIF block, starting with its TIFF header (b"II*\\0" or b"MM\\0*")
    "xmp"   bytes   the XMP packet (UTF-8)
    "text"  list    [(keyword, text), ...] of str, in file order
    "text_lang"  list  [(index, language, translated keyword), ...]: a PNG iTXt's language
            tag and translated keyword, for the pair text[index] (`l` chunk)

* :func:`read_metadata` (also named :func:`read_png_metadata`) reads it from a PNG
  (meta_png: ``iCCP``, ``eXIf``, ``iTXt``, ``tEXt``, ``zTXt``) or, when ``tifffile`` is
  installed, from a TIFF's first page (meta_tiff), or ICC, EXIF and XMP from a JPEG (APP1,
  APP2 segments) or WebP (ICCP, EXIF, XMP chunks) (meta_jpeg). No Pillow.
* :func:`to_chunks` / :func:`from_chunks` turn it into ancillary `.linr` chunks and back
  (meta_chunks), each brotli-compressed, as JPEG XL stores its metadata boxes.
* :func:`add_png_metadata` writes it into an encoded PNG (after ``IHDR``): pixels untouched.
* :func:`add_tiff_metadata` writes it into a classic TIFF (a new IFD0 with the same image
  tags): pixels untouched; text keywords with no TIFF tag are left out, with a warning.
* :func:`add_webp_metadata` writes ICC, EXIF and XMP into a WebP (VP8X, ICCP, EXIF and XMP
  chunks around the image data, copied byte for byte); WebP holds no text.

Every size is bounded (:data:`MAX_METADATA_BYTES` per item once decompressed): a file from a
stranger cannot make the reader allocate more than that, whatever its compression ratio.
"""
from __future__ import annotations

from .meta_chunks import CHUNK_TYPES, from_chunks, to_chunks
from .meta_items import MAX_METADATA_BYTES
from .meta_jpeg import add_webp_metadata, read_jpeg, read_webp
from .meta_png import add_png_metadata, read_png
from .meta_tiff import add_tiff_metadata, read_tiff
from .png_chunks import PNG_SIGNATURE
from .sniff import TIFF_SIGNATURES

__all__ = ["read_png_metadata", "read_metadata", "to_chunks", "from_chunks", "add_png_metadata",
           "add_tiff_metadata", "add_webp_metadata", "summarize", "MAX_METADATA_BYTES", "CHUNK_TYPES"]


def read_metadata(data: bytes) -> dict:
    """Metadata of an encoded PNG, JPEG, WebP (ICC, EXIF, XMP) or TIFF (with ``tifffile``);
    ``{}`` for other formats.

    A malformed metadata chunk is skipped with a warning; a PNG whose chunk structure is
    broken raises :class:`~inrcodec.errors.ImageError`.
    """
    data = bytes(data)
    if data[:8] == PNG_SIGNATURE:
        return read_png(data)
    if data[:4] in TIFF_SIGNATURES:
        return read_tiff(data)
    if data[:3] == b"\xff\xd8\xff":
        return read_jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return read_webp(data)
    return {}


read_png_metadata = read_metadata  # its first name, from when it read PNG only


def summarize(meta: dict) -> dict:
    """A small JSON-able description for ``linr info``: sizes of icc/exif/xmp, text keywords."""
    out = {key: len(meta[key]) for key in ("icc", "exif", "xmp") if meta.get(key) is not None}
    if meta.get("text"):
        out["text"] = [keyword for keyword, _ in meta["text"]]
    return out
