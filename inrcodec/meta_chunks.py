"""Metadata in `.linr` files: one ancillary chunk per item, brotli-compressed, as JPEG XL
stores its metadata boxes (formats/metadata.md).

    i  ICC profile    e  EXIF block    x  XMP packet
    t  text: pairs of (varint length | UTF-8 keyword, varint length | UTF-8 text)

The varints are the container's (container.put_varint / Reader.varint).
"""
from __future__ import annotations

import brotli

from .container import Reader, put_varint
from .errors import FormatError, ImageError
from .meta_items import MAX_METADATA_BYTES, validate

# .linr ancillary chunk type (lowercase: a decoder may skip them) -> metadata key
CHUNK_TYPES = {b"i": "icc", b"e": "exif", b"x": "xmp", b"t": "text"}


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


def _encode_text(pairs) -> bytes:
    out = bytearray()
    for keyword, text in pairs:
        for field in (keyword.encode("utf-8"), text.encode("utf-8")):
            put_varint(out, len(field))
            out += field
    return bytes(out)


def _decode_text(raw: bytes) -> list[tuple[str, str]]:
    reader = Reader(raw, "metadata text")
    pairs = []
    while reader.pos < len(raw):
        fields = []
        for _ in range(2):
            n = reader.varint()
            if n > len(raw) - reader.pos:
                raise FormatError("metadata text chunk: string runs past the end")
            try:
                fields.append(reader.take(n).decode("utf-8"))
            except UnicodeDecodeError:
                raise FormatError("metadata text chunk: string is not UTF-8") from None
        pairs.append(tuple(fields))
    if not pairs:
        raise FormatError("metadata text chunk is empty")
    return pairs


def to_chunks(meta: dict) -> list[tuple[bytes, bytes]]:
    """Ancillary `.linr` chunks ``[(type, data), ...]`` for ``meta``, in the order i, e, x, t.

    Each ``data`` is the brotli-compressed item (text: the pairs encoded as in
    ``formats/metadata.md``). Raises :class:`~inrcodec.errors.ImageError` for an invalid dict.
    """
    meta = validate(meta, ImageError)
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
    return validate(meta, FormatError)
