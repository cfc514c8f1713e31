"""Metadata in TIFF files, and EXIF blocks (which are TIFF structures).

read_tiff reads, with tifffile, a TIFF's first page: ICC (tag 34675), XMP (700), the Exif and
GPS IFDs as an EXIF block (with Make and Model), and text from ImageDescription, Software,
DateTime, Artist and Copyright (_TIFF_TEXT_TAGS). add_tiff_metadata writes them into a
classic TIFF as a new IFD0 with the same image tags, without tifffile: pixels untouched.
"""
from __future__ import annotations

import io
import re
import struct
import warnings

from .errors import ImageError
from .meta_items import EXIF_HEADERS, MAX_METADATA_BYTES, check_icc, validate
from .quiet import import_tifffile

# TIFF tags <-> metadata. Text uses a small fixed mapping to PNG keywords (PNG spec, 11.3.4):
_TIFF_TEXT_TAGS = ((270, "Description"),      # ImageDescription
                   (305, "Software"),         # Software
                   (306, "Creation Time"),    # DateTime, only in TIFF's "YYYY:MM:DD HH:MM:SS"
                   (315, "Author"),           # Artist
                   (33432, "Copyright"))      # Copyright
# Make and Model go in the EXIF block's IFD0. Orientation (274) does not travel: OpenCV, linr's
# reader, applies it to a TIFF's pixels, so they are stored upright and a TIFF output with it
# would read back rotated.
_EXIF_IFD0_TAGS = (271, 272)
_EXIF_POINTERS = (34665, 34853)               # Exif and GPS IFDs, hung from IFD0
_SUB_POINTERS = _EXIF_POINTERS + (40965,)     # ... and the Interoperability IFD, from the Exif IFD
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_SWAP_UNITS = {3: 2, 4: 4, 5: 4, 8: 2, 9: 4, 10: 4, 11: 4, 12: 8, 13: 4}  # byte-swapped per unit
_DATETIME = re.compile(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d")


def _tiff_header(buf: bytes) -> tuple[str, int]:
    """Byte order ('<' or '>') and IFD0 offset of a classic TIFF (or EXIF block)."""
    if len(buf) < 8 or buf[:4] not in EXIF_HEADERS:
        raise ValueError("not a classic TIFF (BigTIFF or bad header)")
    order = "<" if buf[:2] == b"II" else ">"
    return order, struct.unpack(order + "I", buf[4:8])[0]


def _read_ifd(buf: bytes, off: int, order: str) -> tuple[dict, int]:
    """``{tag: (type, count, value bytes)}`` of the IFD at ``off``, and the next IFD's offset.

    Entries of unknown types are skipped, as TIFF 6.0 tells readers to; ValueError when the
    IFD or a value runs past the end of ``buf``."""
    if off < 8 or off + 2 > len(buf):
        raise ValueError(f"IFD offset {off} outside the file")
    (n,) = struct.unpack(order + "H", buf[off:off + 2])
    if off + 6 + 12 * n > len(buf):
        raise ValueError("IFD runs past the end of the file")
    entries = {}
    for pos in range(off + 2, off + 2 + 12 * n, 12):
        tag, typ, count = struct.unpack(order + "HHI", buf[pos:pos + 8])
        if typ not in _TYPE_SIZES:
            continue
        size = _TYPE_SIZES[typ] * count
        at = pos + 8 if size <= 4 else struct.unpack(order + "I", buf[pos + 8:pos + 12])[0]
        if at + size > len(buf):
            raise ValueError(f"tag {tag} runs past the end of the file")
        entries.setdefault(tag, (typ, count, bytes(buf[at:at + size])))
    (next_ifd,) = struct.unpack(order + "I", buf[off + 2 + 12 * n:off + 6 + 12 * n])
    return entries, next_ifd


def _write_ifd(out: bytearray, entries: dict, order: str, next_ifd: int = 0) -> int:
    """Append an IFD of ``{tag: (type, count, value bytes in order)}`` to ``out``; its offset.

    Tags are sorted and every offset is even, as TIFF 6.0 asks."""
    out += b"\0" * (len(out) % 2)
    off = len(out)
    values_at = off + 6 + 12 * len(entries)
    table, values = bytearray(struct.pack(order + "H", len(entries))), bytearray()
    for tag in sorted(entries):
        typ, count, raw = entries[tag]
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack(order + "I", values_at + len(values))
            values += raw + b"\0" * (len(raw) % 2)
        table += struct.pack(order + "HHI", tag, typ, count) + field
    out += table + struct.pack(order + "I", next_ifd) + values
    if len(out) > 0xFFFFFFFF:
        raise ValueError("the TIFF would grow past 4 GiB")
    return off


def _swap(raw: bytes, typ: int) -> bytes:
    """A value's bytes in the other byte order (BYTE, ASCII and UNDEFINED stay as they are)."""
    unit = _SWAP_UNITS.get(typ, 1)
    return b"".join(raw[i:i + unit][::-1] for i in range(0, len(raw), unit))


def _copy_entries(entries: dict, src: bytes, src_order: str, out: bytearray, order: str,
                  seen: set) -> dict:
    """``entries`` of ``src`` in byte order ``order``; the Exif/GPS/Interoperability IFDs they
    point to are copied to the end of ``out`` and the pointers set to the copies.

    Values are copied byte for byte (swapped if the byte orders differ): a MakerNote that
    holds offsets of its own may point wrong afterwards, as with any EXIF rewriter."""
    copied = {}
    for tag, (typ, count, raw) in entries.items():
        if tag in _SUB_POINTERS or typ == 13:
            if count != 1 or typ not in (4, 13):
                continue                                  # not a plain pointer: drop it
            (sub,) = struct.unpack(src_order + "I", raw)
            if sub in seen or len(seen) > 8:
                raise ValueError("EXIF IFD pointers loop or nest too deep")
            seen.add(sub)
            sub_entries, _next = _read_ifd(src, sub, src_order)
            sub_entries = _copy_entries(sub_entries, src, src_order, out, order, seen)
            copied[tag] = (typ, 1, struct.pack(order + "I", _write_ifd(out, sub_entries, order)))
        else:
            copied[tag] = (typ, count, raw if order == src_order else _swap(raw, typ))
    return copied


def _exif_from_tiff(data: bytes) -> bytes:
    """An EXIF block made of a classic TIFF's Exif and GPS IFDs, with Make and Model in its
    IFD0 as in a JPEG's EXIF (other IFD0 tags describe the TIFF's own strips or go to text)."""
    order, ifd0 = _tiff_header(data)
    entries, _next = _read_ifd(data, ifd0, order)
    picked = {t: entries[t] for t in _EXIF_IFD0_TAGS + _EXIF_POINTERS if t in entries}
    out = bytearray(data[:4] + b"\0\0\0\0")
    copied = _copy_entries(picked, data, order, out, order, set())
    out[4:8] = struct.pack(order + "I", _write_ifd(out, copied, order))
    if len(out) > MAX_METADATA_BYTES:
        raise ValueError(f"EXIF of {len(out)} bytes exceeds {MAX_METADATA_BYTES}")
    return bytes(out)


def _tiff_binary(tags, meta: dict) -> None:
    """ICC (tag 34675) and XMP (tag 700) from tifffile's tags into ``meta``."""
    for code, key in ((34675, "icc"), (700, "xmp")):
        tag = tags.get(code)
        if tag is None:
            continue
        value = tag.value
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif not isinstance(value, (bytes, bytearray)):
            value = bytes(bytearray(value))  # a tuple of byte values
        value = bytes(value)
        if key == "icc" and check_icc(value):
            warnings.warn(f"TIFF ICC profile skipped: {check_icc(value)}", stacklevel=4)
            continue
        if len(value) <= MAX_METADATA_BYTES:
            meta[key] = value


def _tiff_text(page) -> list:
    """Text pairs from the ASCII tags of :data:`_TIFF_TEXT_TAGS` (non-empty ones)."""
    pairs = []
    for code, keyword in _TIFF_TEXT_TAGS:
        tag = page.tags.get(code)
        if tag is None or (code == 270 and page.is_shaped):   # tifffile's own shape JSON
            continue
        value = tag.value
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        value = str(value).rstrip("\0")
        if value and len(value) <= MAX_METADATA_BYTES:
            pairs.append((keyword, value))
    return pairs


def read_tiff(data: bytes) -> dict:
    """ICC, XMP, text and EXIF of the first page, when tifffile is installed."""
    try:
        tifffile = import_tifffile()
    except ImportError:
        return {}
    meta: dict = {}
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            if not tif.pages:
                return {}
            page = tif.pages[0]
            _tiff_binary(page.tags, meta)
            text = _tiff_text(page)
            has_exif = any(code in page.tags for code in _EXIF_POINTERS)
    except Exception as e:  # tifffile raises many kinds on odd files: metadata is best effort
        warnings.warn(f"cannot read TIFF metadata: {type(e).__name__}: {e}", stacklevel=3)
        return {}
    if text:
        meta["text"] = text
    if has_exif:
        try:
            meta["exif"] = _exif_from_tiff(data)
        except (ValueError, struct.error) as e:
            warnings.warn(f"TIFF EXIF skipped: {e}", stacklevel=3)
    return meta


def _tiff_text_tags(pairs, dropped: list) -> dict:
    """TIFF ASCII tags for the text pairs of :data:`_TIFF_TEXT_TAGS`; the rest named in
    ``dropped``. TIFF strings are 7-bit ASCII; other text is written as Latin-1 as in PNG
    ``tEXt`` (Pillow and tifffile read it back), else as UTF-8 (tifffile reads it back)."""
    codes = {keyword: code for code, keyword in _TIFF_TEXT_TAGS}
    tags = {}
    for keyword, text in pairs:
        code = codes.get(keyword)
        why = ("no TIFF tag" if code is None else "repeated" if code in tags
               else "contains NUL" if "\0" in text
               else "not YYYY:MM:DD HH:MM:SS" if code == 306 and not _DATETIME.fullmatch(text)
               else None)
        if why:
            dropped.append(f"text {keyword!r} ({why})")
            continue
        try:
            raw = text.encode("latin-1") + b"\0"
        except UnicodeEncodeError:
            raw = text.encode("utf-8") + b"\0"
        tags[code] = (2, len(raw), raw)
    return tags


def _exif_tags(exif: bytes, out: bytearray, order: str, dropped: list) -> dict:
    """IFD0 tags for an EXIF block: Make, Model, the text tags, and pointers to its Exif and
    GPS IFDs, copied to the end of ``out`` (the thumbnail, IFD1, is left out)."""
    src_order, ifd0 = _tiff_header(exif)
    entries, _next = _read_ifd(exif, ifd0, src_order)
    if entries.get(274, (3, 1, b""))[2] not in (struct.pack(src_order + "H", 1), b""):
        dropped.append("EXIF Orientation (OpenCV would rotate the pixels)")
    wanted = _EXIF_IFD0_TAGS + _EXIF_POINTERS + tuple(code for code, _ in _TIFF_TEXT_TAGS)
    picked = {t: e for t, e in entries.items() if t in wanted}
    return _copy_entries(picked, exif, src_order, out, order, set())


def add_tiff_metadata(tiff: bytes, meta: dict) -> bytes:
    """``tiff`` with ``meta`` in its first IFD: ICC (34675), XMP (700), text as
    ImageDescription, Software, DateTime, Artist and Copyright (:data:`_TIFF_TEXT_TAGS`), and
    EXIF as a real Exif IFD (34665, and GPS 34853) plus Make and Model.

    A new IFD0 is appended and the header pointed at it: the image's strips and its own tags
    (photometric, ExtraSamples, compression...) are kept byte for byte, so alpha stays alpha
    and the pixels cannot change; tifffile is not needed. What has no TIFF home (other text
    keywords, EXIF Orientation) is named in one warning. A file that is not a classic TIFF
    comes back unchanged, with a warning."""
    meta = validate(meta, ImageError)
    tiff = bytes(tiff)
    dropped: list = []
    new = _tiff_text_tags(meta.get("text", []), dropped)
    if meta.get("text_lang"):
        dropped.append("text language tags and translated keywords (TIFF has none)")
    if "icc" in meta:
        new[34675] = (7, len(meta["icc"]), meta["icc"])
    if "xmp" in meta:
        new[700] = (1, len(meta["xmp"]), meta["xmp"])
    out = bytearray(tiff)
    try:
        order, ifd0 = _tiff_header(tiff)
        entries, next_ifd = _read_ifd(tiff, ifd0, order)
        if "exif" in meta:
            try:
                new = {**_exif_tags(meta["exif"], out, order, dropped), **new}   # text wins over EXIF
            except (ValueError, struct.error) as e:
                del out[len(tiff):]                   # no half-copied IFDs left behind
                dropped.append(f"EXIF ({e})")
        if new:
            out[4:8] = struct.pack(order + "I", _write_ifd(out, {**entries, **new}, order, next_ifd))
    except (ValueError, struct.error) as e:
        warnings.warn(f"TIFF output: metadata not written ({e})", stacklevel=2)
        return tiff
    if dropped:
        warnings.warn("TIFF output: not written: " + ", ".join(dropped), stacklevel=2)
    return bytes(out) if new else tiff
