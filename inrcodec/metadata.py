"""Image metadata: ICC profile, EXIF, XMP and text, from PNG/TIFF into `.linr` and back.

The metadata of an image is a plain dict with any of these keys (absent = not present):

    "icc"   bytes   the ICC profile (decompressed)
    "exif"  bytes   the EXIF block, starting with its TIFF header (b"II*\\0" or b"MM\\0*")
    "xmp"   bytes   the XMP packet (UTF-8)
    "text"  list    [(keyword, text), ...] of str, in file order

* :func:`read_png_metadata` reads it from a PNG (``iCCP``, ``eXIf``, ``iTXt``, ``tEXt``,
  ``zTXt``) or, when ``tifffile`` is installed, from a TIFF's first page: ICC (34675), XMP
  (700), the Exif/GPS IFDs as an EXIF block (with Make and Model), and text from
  ImageDescription, Software, DateTime, Artist, Copyright (:data:`_TIFF_TEXT_TAGS`). No Pillow.
* :func:`to_chunks` / :func:`from_chunks` turn it into ancillary `.linr` chunks and back, each
  brotli-compressed, as JPEG XL stores its metadata boxes (``formats/metadata.md``).
* :func:`add_png_metadata` writes it into an encoded PNG (after ``IHDR``): pixels untouched.
* :func:`add_tiff_metadata` writes it into a classic TIFF (a new IFD0 with the same image
  tags): pixels untouched; text keywords with no TIFF tag are left out, with a warning.

Every size is bounded (:data:`MAX_METADATA_BYTES` per item once decompressed): a file from a
stranger cannot make the reader allocate more than that, whatever its compression ratio.
"""
from __future__ import annotations

import io
import re
import struct
import warnings
import zlib

import brotli

from .container import varint_bytes
from .errors import FormatError, ImageError

__all__ = ["read_png_metadata", "read_metadata", "to_chunks", "from_chunks", "add_png_metadata",
           "add_tiff_metadata", "summarize", "MAX_METADATA_BYTES", "CHUNK_TYPES"]

# Largest decompressed size of one metadata item (one chunk) accepted or written. Real ICC
# profiles are below 1 MiB, EXIF is limited to 64 KiB in JPEG; 64 MiB leaves room for a large
# XMP packet while bounding a decompression bomb.
MAX_METADATA_BYTES = 64 << 20

# .linr ancillary chunk type (lowercase: a decoder may skip them) -> metadata key
CHUNK_TYPES = {b"i": "icc", b"e": "exif", b"x": "xmp", b"t": "text"}
_KEY_TO_TYPE = {v: k for k, v in CHUNK_TYPES.items()}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_KEYWORD = "XML:com.adobe.xmp"
ICC_NAME = b"ICC Profile"  # the iCCP profile name written (the name read is not kept)
EXIF_HEADERS = (b"II*\x00", b"MM\x00*")
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


# ------------------------------------------------------------------ validation


def _check_icc(icc: bytes) -> str | None:
    """Why ``icc`` is not an ICC profile (None if it looks like one)."""
    if len(icc) < 128:
        return f"ICC profile of {len(icc)} bytes is shorter than its 128-byte header"
    if icc[36:40] != b"acsp":
        return "ICC profile lacks the 'acsp' signature at offset 36"
    return None


def _check_exif(exif: bytes) -> str | None:
    if len(exif) < 8 or exif[:4] not in EXIF_HEADERS:
        return "EXIF does not start with a TIFF header (II*\\0 or MM\\0*)"
    return None


def _check_keyword(keyword) -> str | None:
    """PNG keywords: 1 to 79 Latin-1 characters, no NUL."""
    if not isinstance(keyword, str) or not 1 <= len(keyword) <= 79 or "\x00" in keyword:
        return f"text keyword {keyword!r} is not 1 to 79 characters without NUL"
    try:
        keyword.encode("latin-1")
    except UnicodeEncodeError:
        return f"text keyword {keyword!r} is not Latin-1 (PNG keywords are)"
    return None


def _validate(meta: dict, error) -> dict:
    """Check a metadata dict; raise ``error(message)`` on the first problem; return a clean copy."""
    if not isinstance(meta, dict):
        raise error(f"metadata must be a dict, not {type(meta).__name__}")
    unknown = set(meta) - set(_KEY_TO_TYPE)
    if unknown:
        raise error(f"unknown metadata keys {sorted(unknown)} (known: icc, exif, xmp, text)")
    out = {}
    for key in ("icc", "exif", "xmp"):
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise error(f"metadata {key!r} must be bytes, not {type(value).__name__}")
        value = bytes(value)
        if len(value) > MAX_METADATA_BYTES:
            raise error(f"metadata {key!r} of {len(value)} bytes exceeds {MAX_METADATA_BYTES}")
        problem = {"icc": _check_icc, "exif": _check_exif}.get(key, lambda v: None)(value)
        if key == "xmp":
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                problem = "XMP packet is not UTF-8"
        if problem:
            raise error(problem)
        out[key] = value
    text = meta.get("text")
    if text:
        pairs = []
        for pair in text:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise error(f"metadata text entries must be (keyword, text) pairs, not {pair!r}")
            keyword, value = pair
            problem = _check_keyword(keyword)
            if problem:
                raise error(problem)
            if not isinstance(value, str):
                raise error(f"text of {keyword!r} must be str, not {type(value).__name__}")
            pairs.append((keyword, value))
        out["text"] = pairs
    return out


# ------------------------------------------------------------ bounded inflate


def _inflate(data: bytes, what: str, limit: int = MAX_METADATA_BYTES) -> bytes:
    """zlib-decompress at most ``limit`` bytes; ValueError when corrupt or larger."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as e:
        raise ValueError(f"{what}: corrupt zlib data ({e})") from None
    if len(out) > limit or d.unconsumed_tail:
        raise ValueError(f"{what}: decompresses to more than {limit} bytes")
    if not d.eof:
        raise ValueError(f"{what}: zlib data cut short")
    return out


def _unbrotli(data: bytes, what: str, limit: int = MAX_METADATA_BYTES) -> bytes:
    """brotli-decompress at most ``limit`` bytes; FormatError when corrupt, larger or cut short."""
    d = brotli.Decompressor()
    parts, total = [], 0
    try:
        try:  # brotli >= 1.2: a hard bound on the output
            parts.append(d.process(data, output_buffer_limit=limit + 1))
            total = len(parts[-1])
            while total <= limit and not d.is_finished() and not d.can_accept_more_data():
                parts.append(d.process(b"", output_buffer_limit=limit + 1 - total))
                total += len(parts[-1])
        except TypeError:  # older brotli: feed small pieces, stop as soon as the bound is passed
            for start in range(0, len(data), 256):
                parts.append(d.process(data[start:start + 256]))
                total += len(parts[-1])
                if total > limit:
                    break
    except brotli.error as e:
        raise FormatError(f"metadata chunk {what!r}: corrupt brotli data ({e})") from None
    if total > limit:
        raise FormatError(f"metadata chunk {what!r} decompresses to more than {limit} bytes")
    if not d.is_finished():
        raise FormatError(f"metadata chunk {what!r}: brotli stream cut short or followed by data")
    return b"".join(parts)


# ------------------------------------------------------------------- PNG chunks


def _png_chunks(png: bytes):
    """Yield (type, data, raw chunk bytes) of a PNG; ValueError if it is not a well-formed PNG."""
    if png[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG (bad signature)")
    pos = 8
    while pos < len(png):
        if pos + 12 > len(png):
            raise ValueError("PNG cut short inside a chunk header")
        length, ctype = struct.unpack(">I4s", png[pos:pos + 8])
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(png):
            raise ValueError(f"PNG chunk {ctype!r} runs past the end of the file")
        data = png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4:end])
        if crc != zlib.crc32(ctype + data):
            raise ValueError(f"PNG chunk {ctype!r}: bad CRC")
        yield ctype, data, png[pos:end]
        pos = end
        if ctype == b"IEND":
            return


def _png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _parse_png_meta_chunk(ctype: bytes, data: bytes, meta: dict) -> None:
    """Add what one PNG chunk says to ``meta`` (ValueError if the chunk is malformed)."""
    if ctype == b"iCCP":
        name, sep, rest = data.partition(b"\x00")
        if not sep or not rest or rest[0] != 0:
            raise ValueError("iCCP: malformed (name, compression method 0, zlib data)")
        icc = _inflate(rest[1:], "iCCP")
        problem = _check_icc(icc)
        if problem:
            raise ValueError(f"iCCP: {problem}")
        meta.setdefault("icc", icc)
    elif ctype == b"eXIf":
        exif = data[6:] if data.startswith(b"Exif\x00\x00") else data
        problem = _check_exif(exif)
        if problem:
            raise ValueError(f"eXIf: {problem}")
        meta.setdefault("exif", bytes(exif))
    elif ctype == b"tEXt":
        keyword, sep, text = data.partition(b"\x00")
        if not sep:
            raise ValueError("tEXt without a NUL after its keyword")
        meta.setdefault("text", []).append((keyword.decode("latin-1"), text.decode("latin-1")))
    elif ctype == b"zTXt":
        keyword, sep, rest = data.partition(b"\x00")
        if not sep or not rest or rest[0] != 0:
            raise ValueError("zTXt: malformed (keyword, compression method 0, zlib data)")
        text = _inflate(rest[1:], "zTXt").decode("latin-1")
        meta.setdefault("text", []).append((keyword.decode("latin-1"), text))
    elif ctype == b"iTXt":
        keyword, sep, rest = data.partition(b"\x00")
        if not sep or len(rest) < 2:
            raise ValueError("iTXt: malformed header")
        compressed, method, rest = rest[0], rest[1], rest[2:]
        _language, sep1, rest = rest.partition(b"\x00")
        _translated, sep2, text = rest.partition(b"\x00")
        if not (sep1 and sep2) or compressed not in (0, 1) or (compressed and method != 0):
            raise ValueError("iTXt: malformed header")
        if compressed:
            text = _inflate(text, "iTXt")
        keyword = keyword.decode("latin-1")
        if keyword == XMP_KEYWORD:
            meta.setdefault("xmp", bytes(text))
        else:
            try:
                meta.setdefault("text", []).append((keyword, text.decode("utf-8")))
            except UnicodeDecodeError:
                raise ValueError("iTXt: text is not UTF-8") from None


def _read_png(data: bytes) -> dict:
    meta: dict = {}
    try:
        chunks = list(_png_chunks(data))
    except ValueError as e:
        raise ImageError(f"cannot read PNG metadata: {e}") from None
    for ctype, body, _raw in chunks:
        if ctype in (b"iCCP", b"eXIf", b"tEXt", b"zTXt", b"iTXt"):
            try:
                _parse_png_meta_chunk(ctype, body, meta)
            except ValueError as e:  # one bad ancillary chunk: drop it, keep the rest
                warnings.warn(f"PNG metadata chunk skipped: {e}", stacklevel=3)
    if "text" in meta:
        good = [(k, t) for k, t in meta["text"] if _check_keyword(k) is None]
        if len(good) < len(meta["text"]):
            warnings.warn("PNG text chunks with invalid keywords skipped", stacklevel=3)
        meta["text"] = good
        if not good:
            del meta["text"]
    return meta


# ------------------------------------------------------------------------- TIFF
#
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
        if key == "icc" and _check_icc(value):
            warnings.warn(f"TIFF ICC profile skipped: {_check_icc(value)}", stacklevel=4)
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


def _read_tiff(data: bytes) -> dict:
    """ICC, XMP, text and EXIF of the first page, when tifffile is installed."""
    try:
        import tifffile
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


# ------------------------------------------------------------------ public API


def read_png_metadata(data: bytes) -> dict:
    """Metadata of an encoded PNG (or TIFF, with ``tifffile``); ``{}`` for other formats.

    A malformed metadata chunk is skipped with a warning; a PNG whose chunk structure is
    broken raises :class:`~inrcodec.errors.ImageError`.
    """
    data = bytes(data)
    if data[:8] == PNG_SIGNATURE:
        return _read_png(data)
    if data[:4] in _TIFF_SIGNATURES:
        return _read_tiff(data)
    return {}


read_metadata = read_png_metadata  # the same function under a format-neutral name


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Unsigned LEB128, at most 5 bytes, minimal form only; FormatError otherwise."""
    value = 0
    for i in range(5):
        if pos + i >= len(buf):
            raise FormatError("metadata text chunk: varint cut short")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise FormatError("metadata text chunk: overlong varint")
            return value, pos + i + 1
    raise FormatError("metadata text chunk: varint longer than 5 bytes")


def _encode_text(pairs) -> bytes:
    out = bytearray()
    for keyword, text in pairs:
        for field in (keyword.encode("utf-8"), text.encode("utf-8")):
            out += varint_bytes(len(field)) + field
    return bytes(out)


def _decode_text(raw: bytes) -> list[tuple[str, str]]:
    pairs, pos = [], 0
    while pos < len(raw):
        fields = []
        for _ in range(2):
            n, pos = _read_varint(raw, pos)
            if pos + n > len(raw):
                raise FormatError("metadata text chunk: string runs past the end")
            try:
                fields.append(raw[pos:pos + n].decode("utf-8"))
            except UnicodeDecodeError:
                raise FormatError("metadata text chunk: string is not UTF-8") from None
            pos += n
        pairs.append(tuple(fields))
    if not pairs:
        raise FormatError("metadata text chunk is empty")
    return pairs


def to_chunks(meta: dict) -> list[tuple[bytes, bytes]]:
    """Ancillary `.linr` chunks ``[(type, data), ...]`` for ``meta``, in the order i, e, x, t.

    Each ``data`` is the brotli-compressed item (text: the pairs encoded as in
    ``formats/metadata.md``). Raises :class:`~inrcodec.errors.ImageError` for an invalid dict.
    """
    meta = _validate(meta, ImageError)
    chunks = []
    for ctype, key in CHUNK_TYPES.items():
        if key not in meta:
            continue
        raw = _encode_text(meta[key]) if key == "text" else meta[key]
        if len(raw) > MAX_METADATA_BYTES:
            raise ImageError(f"metadata {key!r} of {len(raw)} bytes exceeds {MAX_METADATA_BYTES}")
        chunks.append((ctype, brotli.compress(raw, quality=11)))
    return chunks


def from_chunks(chunks) -> dict:
    """The metadata dict stored in `.linr` chunks ``[(type, data), ...]``.

    Chunk types other than i/e/x/t are ignored (the caller may pass every chunk). A repeated
    type, corrupt or oversized brotli data, or content that is not what its type says raises
    :class:`~inrcodec.errors.FormatError`.
    """
    meta: dict = {}
    for ctype, data in chunks:
        ctype = bytes(ctype)
        key = CHUNK_TYPES.get(ctype)
        if key is None:
            continue
        if key in meta:
            raise FormatError(f"metadata chunk {ctype.decode()!r} appears twice")
        raw = _unbrotli(bytes(data), ctype.decode())
        meta[key] = _decode_text(raw) if key == "text" else raw
    return _validate(meta, FormatError)


def add_png_metadata(png: bytes, meta: dict) -> bytes:
    """``png`` with ``meta`` written as iCCP / eXIf / iTXt (XMP) / tEXt, zTXt or iTXt chunks.

    They are inserted right after IHDR. Chunks of the same kinds already in ``png`` are
    replaced where ``meta`` has that item (an ICC profile also replaces sRGB, which may not
    sit beside iCCP); image data chunks are copied byte for byte.
    """
    meta = _validate(meta, ImageError)
    png = bytes(png)
    if not meta:
        return png
    try:
        chunks = list(_png_chunks(png))
    except ValueError as e:
        raise ImageError(f"cannot add metadata to PNG: {e}") from None
    if not chunks or chunks[0][0] != b"IHDR":
        raise ImageError("cannot add metadata to PNG: IHDR is not the first chunk")

    new = []
    if "icc" in meta:
        new.append(_png_chunk(b"iCCP", ICC_NAME + b"\x00\x00" + zlib.compress(meta["icc"], 9)))
    if "exif" in meta:
        new.append(_png_chunk(b"eXIf", meta["exif"]))
    if "xmp" in meta:  # uncompressed, as the XMP specification asks, so scanners find it
        new.append(_png_chunk(b"iTXt", XMP_KEYWORD.encode() + b"\x00\x00\x00\x00\x00" + meta["xmp"]))
    for keyword, text in meta.get("text", []):
        kw = keyword.encode("latin-1")
        try:
            body = text.encode("latin-1")
            if len(body) > 1024:
                new.append(_png_chunk(b"zTXt", kw + b"\x00\x00" + zlib.compress(body, 9)))
            else:
                new.append(_png_chunk(b"tEXt", kw + b"\x00" + body))
        except UnicodeEncodeError:  # not Latin-1: iTXt, UTF-8
            body = text.encode("utf-8")
            flag = b"\x01\x00" if len(body) > 1024 else b"\x00\x00"
            new.append(_png_chunk(b"iTXt", kw + b"\x00" + flag + b"\x00\x00"
                                  + (zlib.compress(body, 9) if len(body) > 1024 else body)))

    replaced = set()
    if "icc" in meta:
        replaced |= {b"iCCP", b"sRGB"}
    if "exif" in meta:
        replaced.add(b"eXIf")
    out = [PNG_SIGNATURE, chunks[0][2], *new]
    for ctype, body, raw in chunks[1:]:
        if ctype in replaced:
            continue
        if "xmp" in meta and ctype == b"iTXt" and body.startswith(XMP_KEYWORD.encode() + b"\x00"):
            continue
        out.append(raw)
    return b"".join(out)


def summarize(meta: dict) -> dict:
    """A small JSON-able description for ``linr info``: sizes of icc/exif/xmp, text keywords."""
    out = {key: len(meta[key]) for key in ("icc", "exif", "xmp") if meta.get(key) is not None}
    if meta.get("text"):
        out["text"] = [keyword for keyword, _ in meta["text"]]
    return out


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
    meta = _validate(meta, ImageError)
    tiff = bytes(tiff)
    dropped: list = []
    new = _tiff_text_tags(meta.get("text", []), dropped)
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
