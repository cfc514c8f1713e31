"""Metadata in JPEG and WebP inputs: ICC profile, EXIF and XMP (read only: linr never writes
these lossy or 8-bit formats with metadata).

JPEG: APP1 "Exif\\0\\0" (EXIF), APP1 "http://ns.adobe.com/xap/1.0/\\0" (XMP), APP2
"ICC_PROFILE\\0" segments (sequence number, count, data: concatenated in sequence order), up
to the first scan. WebP: the RIFF chunks ICCP, EXIF (a leading "Exif\\0\\0" is dropped) and
"XMP ". A malformed item is skipped with a warning; nothing here raises.
"""
from __future__ import annotations

import warnings

from .meta_items import MAX_METADATA_BYTES, check_exif, check_icc

JPEG_EXIF = b"Exif\x00\x00"
JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_ICC = b"ICC_PROFILE\x00"


def _add(meta: dict, key: str, value: bytes, where: str) -> None:
    """meta[key] = value if it is a valid item (the first one wins), else a warning."""
    value = bytes(value)
    problem = None
    if len(value) > MAX_METADATA_BYTES:
        problem = f"larger than {MAX_METADATA_BYTES} bytes"
    elif key == "icc":
        problem = check_icc(value)
    elif key == "exif":
        problem = check_exif(value)
    elif key == "xmp":
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            problem = "XMP packet is not UTF-8"
    if problem:
        warnings.warn(f"{where} skipped: {problem}", stacklevel=4)
    else:
        meta.setdefault(key, value)


def read_jpeg(data: bytes) -> dict:
    """ICC, EXIF and XMP of a JPEG (its segments before the first scan)."""
    meta: dict = {}
    icc: dict = {}
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:                      # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):              # end of image, start of scan
            break
        n = int.from_bytes(data[pos + 2:pos + 4], "big")
        if n < 2 or pos + 2 + n > len(data):
            warnings.warn("JPEG metadata: a segment runs past the end of the file", stacklevel=3)
            break
        body = data[pos + 4:pos + 2 + n]
        if marker == 0xE1 and body.startswith(JPEG_EXIF):
            _add(meta, "exif", body[len(JPEG_EXIF):], "JPEG EXIF")
        elif marker == 0xE1 and body.startswith(JPEG_XMP):
            _add(meta, "xmp", body[len(JPEG_XMP):], "JPEG XMP")
        elif marker == 0xE2 and body.startswith(JPEG_ICC) and len(body) >= len(JPEG_ICC) + 2:
            seq, count = body[len(JPEG_ICC)], body[len(JPEG_ICC) + 1]
            icc.setdefault(seq, (count, body[len(JPEG_ICC) + 2:]))
        pos += 2 + n
    if icc:
        counts = {count for count, _ in icc.values()}
        count = counts.pop() if len(counts) == 1 else 0
        if count and sorted(icc) == list(range(1, count + 1)):
            _add(meta, "icc", b"".join(icc[i][1] for i in range(1, count + 1)), "JPEG ICC profile")
        else:
            warnings.warn("JPEG ICC profile skipped: its APP2 segments are missing or inconsistent",
                          stacklevel=2)
    return {k: meta[k] for k in ("icc", "exif", "xmp") if k in meta}


def read_webp(data: bytes) -> dict:
    """ICC, EXIF and XMP of a WebP (its ICCP, EXIF and "XMP " chunks)."""
    meta: dict = {}
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return meta
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    pos = 12
    while pos + 8 <= end:
        fourcc, n = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + n > end:
            warnings.warn("WebP metadata: a chunk runs past the end of the file", stacklevel=3)
            break
        body = data[pos + 8:pos + 8 + n]
        if fourcc == b"ICCP":
            _add(meta, "icc", body, "WebP ICC profile")
        elif fourcc == b"EXIF":
            _add(meta, "exif", body[6:] if body.startswith(JPEG_EXIF) else body, "WebP EXIF")
        elif fourcc == b"XMP ":
            _add(meta, "xmp", body, "WebP XMP")
        pos += 8 + n + (n & 1)
    return {k: meta[k] for k in ("icc", "exif", "xmp") if k in meta}
