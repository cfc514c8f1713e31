"""Metadata in PNG files: iCCP, eXIf, XMP in iTXt, and text in tEXt / zTXt / iTXt (with an
iTXt's language tag and translated keyword, as "text_lang").

read_png reads them (every zlib stream bounded by MAX_METADATA_BYTES); add_png_metadata
writes them into an encoded PNG, right after IHDR, its image data copied byte for byte.
"""
from __future__ import annotations

import warnings
import zlib

from .errors import ImageError
from .meta_items import (MAX_METADATA_BYTES, check_exif, check_icc, check_keyword,
                         check_language, validate)
from .png_chunks import PNG_SIGNATURE, png_chunk, png_chunks

XMP_KEYWORD = "XML:com.adobe.xmp"
ICC_NAME = b"ICC Profile"  # the iCCP profile name written (the name read is not kept)


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


def _itxt_language(keyword: str, language: bytes, translated: bytes) -> tuple[str, str]:
    """An iTXt's language tag and translated keyword as str; one that is not what PNG says
    (ASCII, UTF-8) is dropped with a warning, and the text kept."""
    try:
        lang, tkey = language.decode("ascii"), translated.decode("utf-8")
        problem = check_language(lang, tkey) if lang or tkey else None
    except UnicodeDecodeError:
        problem = "not ASCII / UTF-8"
    if problem:
        warnings.warn(f"PNG iTXt {keyword!r}: language tag and translated keyword skipped "
                      f"({problem})", stacklevel=4)
        return "", ""
    return lang, tkey


def _parse_png_meta_chunk(ctype: bytes, data: bytes, meta: dict) -> None:
    """Add what one PNG chunk says to ``meta`` (ValueError if the chunk is malformed); text
    is collected as (keyword, text, language, translated keyword), for read_png to split."""
    if ctype == b"iCCP":
        name, sep, rest = data.partition(b"\x00")
        if not sep or not rest or rest[0] != 0:
            raise ValueError("iCCP: malformed (name, compression method 0, zlib data)")
        icc = _inflate(rest[1:], "iCCP")
        problem = check_icc(icc)
        if problem:
            raise ValueError(f"iCCP: {problem}")
        meta.setdefault("icc", icc)
    elif ctype == b"eXIf":
        exif = data[6:] if data.startswith(b"Exif\x00\x00") else data
        problem = check_exif(exif)
        if problem:
            raise ValueError(f"eXIf: {problem}")
        meta.setdefault("exif", bytes(exif))
    elif ctype == b"tEXt":
        keyword, sep, text = data.partition(b"\x00")
        if not sep:
            raise ValueError("tEXt without a NUL after its keyword")
        meta.setdefault("text", []).append((keyword.decode("latin-1"), text.decode("latin-1"), "", ""))
    elif ctype == b"zTXt":
        keyword, sep, rest = data.partition(b"\x00")
        if not sep or not rest or rest[0] != 0:
            raise ValueError("zTXt: malformed (keyword, compression method 0, zlib data)")
        text = _inflate(rest[1:], "zTXt").decode("latin-1")
        meta.setdefault("text", []).append((keyword.decode("latin-1"), text, "", ""))
    elif ctype == b"iTXt":
        keyword, sep, rest = data.partition(b"\x00")
        if not sep or len(rest) < 2:
            raise ValueError("iTXt: malformed header")
        compressed, method, rest = rest[0], rest[1], rest[2:]
        language, sep1, rest = rest.partition(b"\x00")
        translated, sep2, text = rest.partition(b"\x00")
        if not (sep1 and sep2) or compressed not in (0, 1) or (compressed and method != 0):
            raise ValueError("iTXt: malformed header")
        if compressed:
            text = _inflate(text, "iTXt")
        keyword = keyword.decode("latin-1")
        if keyword == XMP_KEYWORD:
            meta.setdefault("xmp", bytes(text))
        else:
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("iTXt: text is not UTF-8") from None
            lang, tkey = _itxt_language(keyword, language, translated)
            meta.setdefault("text", []).append((keyword, text, lang, tkey))


def read_png(data: bytes) -> dict:
    """ICC, EXIF, XMP and text of a PNG; a malformed metadata chunk is skipped with a warning,
    a broken chunk structure is an ImageError."""
    meta: dict = {}
    try:
        chunks = list(png_chunks(data))
    except ValueError as e:
        raise ImageError(f"cannot read PNG metadata: {e}") from None
    for ctype, body, _raw in chunks:
        if ctype in (b"iCCP", b"eXIf", b"tEXt", b"zTXt", b"iTXt"):
            try:
                _parse_png_meta_chunk(ctype, body, meta)
            except ValueError as e:  # one bad ancillary chunk: drop it, keep the rest
                warnings.warn(f"PNG metadata chunk skipped: {e}", stacklevel=3)
    if "text" in meta:
        entries = meta.pop("text")
        good = [entry for entry in entries if check_keyword(entry[0]) is None]
        if len(good) < len(entries):
            warnings.warn("PNG text chunks with invalid keywords skipped", stacklevel=3)
        if good:
            meta["text"] = [(keyword, text) for keyword, text, _lang, _tkey in good]
        langs = [(i, lang, tkey) for i, (_k, _t, lang, tkey) in enumerate(good) if lang or tkey]
        if langs:
            meta["text_lang"] = langs
    return meta



def _text_chunk(keyword: str, text: str, language: str = "", translated: str = "") -> bytes:
    """The PNG chunk for one text pair: tEXt (Latin-1 text up to 1024 bytes), zTXt (longer
    Latin-1 text) or iTXt (other text, or a language tag or translated keyword to keep; its
    text compressed above 1024 bytes)."""
    kw = keyword.encode("latin-1")
    if not (language or translated):
        try:
            body = text.encode("latin-1")
        except UnicodeEncodeError:  # not Latin-1: iTXt, UTF-8
            pass
        else:
            if len(body) > 1024:
                return png_chunk(b"zTXt", kw + b"\x00\x00" + zlib.compress(body, 9))
            return png_chunk(b"tEXt", kw + b"\x00" + body)
    body = text.encode("utf-8")
    big = len(body) > 1024
    return png_chunk(b"iTXt", kw + b"\x00" + (b"\x01\x00" if big else b"\x00\x00")
                     + language.encode("ascii") + b"\x00" + translated.encode("utf-8") + b"\x00"
                     + (zlib.compress(body, 9) if big else body))


def add_png_metadata(png: bytes, meta: dict) -> bytes:
    """``png`` with ``meta`` written as iCCP / eXIf / iTXt (XMP) / tEXt, zTXt or iTXt chunks
    (iTXt, with its language tag and translated keyword, for a text pair in "text_lang").

    They are inserted right after IHDR. Chunks of the same kinds already in ``png`` are
    replaced where ``meta`` has that item (an ICC profile also replaces sRGB, which may not
    sit beside iCCP); image data chunks are copied byte for byte.
    """
    meta = validate(meta, ImageError)
    png = bytes(png)
    if not meta:
        return png
    try:
        chunks = list(png_chunks(png))
    except ValueError as e:
        raise ImageError(f"cannot add metadata to PNG: {e}") from None
    if not chunks or chunks[0][0] != b"IHDR":
        raise ImageError("cannot add metadata to PNG: IHDR is not the first chunk")

    new = []
    if "icc" in meta:
        new.append(png_chunk(b"iCCP", ICC_NAME + b"\x00\x00" + zlib.compress(meta["icc"], 9)))
    if "exif" in meta:
        new.append(png_chunk(b"eXIf", meta["exif"]))
    if "xmp" in meta:  # uncompressed, as the XMP specification asks, so scanners find it
        new.append(png_chunk(b"iTXt", XMP_KEYWORD.encode() + b"\x00\x00\x00\x00\x00" + meta["xmp"]))
    langs = {index: (lang, tkey) for index, lang, tkey in meta.get("text_lang", [])}
    for index, (keyword, text) in enumerate(meta.get("text", [])):
        new.append(_text_chunk(keyword, text, *langs.get(index, ("", ""))))

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
