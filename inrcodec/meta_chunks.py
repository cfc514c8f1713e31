"""Metadata in `.linr` files: one ancillary chunk per item, brotli-compressed, as JPEG XL
stores its metadata boxes (formats/metadata.md).

    i  ICC profile    e  EXIF block    x  XMP packet
    t  text: pairs of (varint length | UTF-8 keyword, varint length | UTF-8 text)
    l  text languages: (varint index into t's pairs, varint length | ASCII language tag,
       varint length | UTF-8 translated keyword), indices increasing (PNG iTXt's fields)

The varints are the container's (container.put_varint / Reader.varint). A reader that does
not know `l` (linr 0.4.1 and before) skips it, as every ancillary chunk, and keeps the text.
"""
from __future__ import annotations

import brotli

from .container import Reader, put_varint
from .errors import FormatError, ImageError
from .meta_items import MAX_METADATA_BYTES, validate

# .linr ancillary chunk type (lowercase: a decoder may skip them) -> metadata key
CHUNK_TYPES = {b"i": "icc", b"e": "exif", b"x": "xmp", b"t": "text", b"l": "text_lang"}


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


def _put_string(out: bytearray, field: bytes) -> None:
    put_varint(out, len(field))
    out += field


def _take_string(reader: Reader, what: str) -> str:
    n = reader.varint()
    if n > len(reader.data) - reader.pos:
        raise FormatError(f"{what} chunk: string runs past the end")
    try:
        return reader.take(n).decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{what} chunk: string is not UTF-8") from None


def _encode_text(pairs) -> bytes:
    out = bytearray()
    for keyword, text in pairs:
        _put_string(out, keyword.encode("utf-8"))
        _put_string(out, text.encode("utf-8"))
    return bytes(out)


def _encode_lang(entries) -> bytes:
    out = bytearray()
    for index, language, translated in entries:
        put_varint(out, index)
        _put_string(out, language.encode("ascii"))
        _put_string(out, translated.encode("utf-8"))
    return bytes(out)


def _decode_records(raw: bytes, what: str, record) -> list:
    """The records ``record(reader)`` reads one after another to the end of ``raw``: at least one."""
    reader = Reader(raw, what)
    records = []
    while reader.pos < len(raw):
        records.append(record(reader))
    if not records:
        raise FormatError(f"{what} chunk is empty")
    return records


def _decode_text(raw: bytes) -> list[tuple[str, str]]:
    what = "metadata text"
    return _decode_records(raw, what, lambda r: (_take_string(r, what), _take_string(r, what)))


def _decode_lang(raw: bytes) -> list[tuple[int, str, str]]:
    what = "metadata text languages"
    return _decode_records(raw, what, lambda r: (r.varint(), _take_string(r, what), _take_string(r, what)))


_ENCODE = {"text": _encode_text, "text_lang": _encode_lang}
_DECODE = {"text": _decode_text, "text_lang": _decode_lang}


def to_chunks(meta: dict) -> list[tuple[bytes, bytes]]:
    """Ancillary `.linr` chunks ``[(type, data), ...]`` for ``meta``, in the order i, e, x, t, l.

    Each ``data`` is the brotli-compressed item (text and text languages: encoded as in
    ``formats/metadata.md``). Raises :class:`~inrcodec.errors.ImageError` for an invalid dict.
    """
    meta = validate(meta, ImageError)
    chunks = []
    for ctype, key in CHUNK_TYPES.items():
        if key not in meta:
            continue
        raw = _ENCODE[key](meta[key]) if key in _ENCODE else meta[key]
        if len(raw) > MAX_METADATA_BYTES:
            raise ImageError(f"metadata {key!r} of {len(raw)} bytes exceeds {MAX_METADATA_BYTES}")
        chunks.append((ctype, brotli.compress(raw, quality=11)))
    return chunks


def from_chunks(chunks) -> dict:
    """The metadata dict stored in `.linr` chunks ``[(type, data), ...]``.

    Chunk types other than i/e/x/t/l are ignored (the caller may pass every chunk). A repeated
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
        meta[key] = _DECODE[key](raw) if key in _DECODE else raw
    return validate(meta, FormatError)
