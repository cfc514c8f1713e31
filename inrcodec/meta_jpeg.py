"""Metadata in JPEG and WebP files: ICC profile, EXIF and XMP; read from both, written into
WebP (linr writes JPEG never, WebP only losslessly).

JPEG: APP1 "Exif\\0\\0" (EXIF), APP1 "http://ns.adobe.com/xap/1.0/\\0" (XMP), APP2
"ICC_PROFILE\\0" segments (sequence number, count, data: concatenated in sequence order), up
to the first scan. WebP: the RIFF chunks ICCP, EXIF (a leading "Exif\\0\\0" is dropped) and
"XMP ". A malformed item is skipped with a warning; nothing read here raises.

add_webp_metadata writes them as the WebP container specification's extended format does: a
VP8X chunk (canvas size, ICC / alpha / EXIF / XMP flags) first, ICCP before the image data,
EXIF (no "Exif\\0\\0" prefix) and "XMP " after it; the image data is copied byte for byte.
"""
from __future__ import annotations

import struct
import warnings

from .errors import ImageError
from .meta_items import MAX_METADATA_BYTES, check_exif, check_icc, validate

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


def _webp_chunks(data: bytes, warn: bool = True):
    """Yield (fourcc, body) for each chunk of a WebP file (nothing if it is not one); a chunk
    running past the end stops the walk, with a warning if ``warn`` else a ValueError."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    pos = 12
    while pos + 8 <= end:
        fourcc, n = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + n > end:
            if not warn:
                raise ValueError(f"WebP chunk {fourcc!r} runs past the end of the file")
            warnings.warn("WebP metadata: a chunk runs past the end of the file", stacklevel=4)
            return
        yield fourcc, data[pos + 8:pos + 8 + n]
        pos += 8 + n + (n & 1)


def _webp_chunk(fourcc: bytes, body: bytes) -> bytes:
    """One RIFF chunk: FourCC, little-endian size, data, a pad byte to an even length."""
    return fourcc + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def read_webp(data: bytes) -> dict:
    """ICC, EXIF and XMP of a WebP (its ICCP, EXIF and "XMP " chunks)."""
    meta: dict = {}
    for fourcc, body in _webp_chunks(data):
        if fourcc == b"ICCP":
            _add(meta, "icc", body, "WebP ICC profile")
        elif fourcc == b"EXIF":
            _add(meta, "exif", body[6:] if body.startswith(JPEG_EXIF) else body, "WebP EXIF")
        elif fourcc == b"XMP ":
            _add(meta, "xmp", body, "WebP XMP")
    return {k: meta[k] for k in ("icc", "exif", "xmp") if k in meta}


# VP8X flags (WebP container specification): ICC profile, alpha, EXIF, XMP, animation
_ICC, _ALPHA, _EXIF, _XMP, _ANIMATION = 0x20, 0x10, 0x08, 0x04, 0x02
_METADATA = {b"ICCP": "icc", b"EXIF": "exif", b"XMP ": "xmp"}


def _canvas(chunks: list) -> tuple[int, int, int]:
    """(flags, width, height) of a WebP: its VP8X chunk's, or those of its one image chunk
    (VP8L: 14-bit sizes minus one and the alpha bit after its 0x2F signature; VP8: a key
    frame's 14-bit sizes)."""
    for fourcc, body in chunks:
        if fourcc == b"VP8X" and len(body) >= 10:
            return (body[0] & ~(_ICC | _EXIF | _XMP), 1 + int.from_bytes(body[4:7], "little"),
                    1 + int.from_bytes(body[7:10], "little"))
        if fourcc == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
            bits = int.from_bytes(body[1:5], "little")
            return (_ALPHA if bits >> 28 & 1 else 0, 1 + (bits & 0x3FFF), 1 + (bits >> 14 & 0x3FFF))
        if fourcc == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", body[6:10])
            return 0, w & 0x3FFF, h & 0x3FFF
    raise ValueError("no VP8X, VP8L or VP8 chunk")


def add_webp_metadata(webp: bytes, meta: dict) -> bytes:
    """``webp`` with the ICC profile, EXIF and XMP of ``meta`` (other keys are ignored: WebP
    has no text), in the extended format: VP8X, ICCP, the image chunks as they were, EXIF,
    "XMP ". Metadata chunks already in ``webp`` are replaced where ``meta`` has that item.
    ImageError if ``webp`` is not a well-formed WebP."""
    meta = validate(meta, ImageError)
    new = {fourcc: meta[key] for fourcc, key in _METADATA.items() if key in meta}
    webp = bytes(webp)
    if not new:
        return webp
    try:
        chunks = list(_webp_chunks(webp, warn=False))
        flags, width, height = _canvas(chunks)
    except ValueError as e:
        raise ImageError(f"cannot add metadata to WebP: {e}") from None
    kept = {fourcc: body for fourcc, body in chunks if fourcc in _METADATA and fourcc not in new}
    items = {**kept, **new}
    for fourcc, flag in ((b"ICCP", _ICC), (b"EXIF", _EXIF), (b"XMP ", _XMP)):
        flags |= flag if fourcc in items else 0
    vp8x = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + _webp_chunk(b"VP8X", vp8x)
    if b"ICCP" in items:
        body += _webp_chunk(b"ICCP", items[b"ICCP"])
    body += b"".join(_webp_chunk(fourcc, data) for fourcc, data in chunks
                     if fourcc not in _METADATA and fourcc != b"VP8X")
    for fourcc in (b"EXIF", b"XMP "):
        if fourcc in items:
            body += _webp_chunk(fourcc, items[fourcc])
    return b"RIFF" + struct.pack("<I", len(body)) + body
