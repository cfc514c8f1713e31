"""The metadata dict shared by the PNG, TIFF and .linr chunk code: its keys, its checks and
the bound on each item's size.

    "icc"   bytes   the ICC profile (decompressed)
    "exif"  bytes   the EXIF block, starting with its TIFF header (b"II*\\0" or b"MM\\0*")
    "xmp"   bytes   the XMP packet (UTF-8)
    "text"  list    [(keyword, text), ...] of str, in file order
    "text_lang"  list  [(index, language, translated keyword), ...]: for the text entries
            text[index] that came from a PNG iTXt chunk with a language tag (ASCII, such as
            "fr") or a translated keyword (UTF-8), or both; indices increasing
"""
from __future__ import annotations

KEYS = ("icc", "exif", "xmp", "text", "text_lang")

# Largest decompressed size of one metadata item (one chunk) accepted or written. Real ICC
# profiles are below 1 MiB, EXIF is limited to 64 KiB in JPEG; 64 MiB leaves room for a large
# XMP packet while bounding a decompression bomb.
MAX_METADATA_BYTES = 64 << 20

EXIF_HEADERS = (b"II*\x00", b"MM\x00*")


def check_icc(icc: bytes) -> str | None:
    """Why ``icc`` is not an ICC profile (None if it looks like one)."""
    if len(icc) < 128:
        return f"ICC profile of {len(icc)} bytes is shorter than its 128-byte header"
    if icc[36:40] != b"acsp":
        return "ICC profile lacks the 'acsp' signature at offset 36"
    return None


def check_exif(exif: bytes) -> str | None:
    if len(exif) < 8 or exif[:4] not in EXIF_HEADERS:
        return "EXIF does not start with a TIFF header (II*\\0 or MM\\0*)"
    return None


def check_keyword(keyword) -> str | None:
    """PNG keywords: 1 to 79 Latin-1 characters, no NUL."""
    if not isinstance(keyword, str) or not 1 <= len(keyword) <= 79 or "\x00" in keyword:
        return f"text keyword {keyword!r} is not 1 to 79 characters without NUL"
    try:
        keyword.encode("latin-1")
    except UnicodeEncodeError:
        return f"text keyword {keyword!r} is not Latin-1 (PNG keywords are)"
    return None


def check_language(language, translated) -> str | None:
    """Why (language, translated) is not a PNG iTXt language tag and translated keyword:
    str, the tag ASCII, neither holding NUL, not both empty (None if they are fine)."""
    if not isinstance(language, str) or not isinstance(translated, str):
        return f"text language {language!r} and translated keyword {translated!r} must be str"
    if not language and not translated:
        return "text_lang entry with neither a language tag nor a translated keyword"
    if "\x00" in language or "\x00" in translated:
        return "text language tag or translated keyword holds NUL"
    if not language.isascii():
        return f"text language tag {language!r} is not ASCII (PNG iTXt language tags are)"
    try:
        translated.encode("utf-8")
    except UnicodeEncodeError:
        return f"translated keyword {translated!r} cannot be UTF-8"
    return None


def _validate_lang(langs, count: int, error) -> list:
    """The checked text_lang entries for ``count`` text pairs (see check_language)."""
    if not isinstance(langs, (list, tuple)):
        raise error(f"metadata text_lang must be a list, not {type(langs).__name__}")
    if not count:
        raise error("metadata text_lang without text")
    out, last = [], -1
    for entry in langs:
        if not (isinstance(entry, (tuple, list)) and len(entry) == 3):
            raise error("metadata text_lang entries must be (index, language, translated keyword) "
                        f"triples, not {entry!r}")
        index, language, translated = entry
        if isinstance(index, bool) or not isinstance(index, int) or not last < index < count:
            raise error(f"text_lang index {index!r} is not that of a text entry after the "
                        f"previous one (0 to {count - 1}, increasing)")
        problem = check_language(language, translated)
        if problem:
            raise error(problem)
        out.append((index, language, translated))
        last = index
    return out


def validate(meta: dict, error) -> dict:
    """Check a metadata dict; raise ``error(message)`` on the first problem; return a clean copy."""
    if not isinstance(meta, dict):
        raise error(f"metadata must be a dict, not {type(meta).__name__}")
    unknown = set(meta) - set(KEYS)
    if unknown:
        raise error(f"unknown metadata keys {sorted(unknown)} (known: {', '.join(KEYS)})")
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
        problem = {"icc": check_icc, "exif": check_exif}.get(key, lambda v: None)(value)
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
            problem = check_keyword(keyword)
            if problem:
                raise error(problem)
            if not isinstance(value, str):
                raise error(f"text of {keyword!r} must be str, not {type(value).__name__}")
            pairs.append((keyword, value))
        out["text"] = pairs
    if meta.get("text_lang"):
        out["text_lang"] = _validate_lang(meta["text_lang"], len(out.get("text", [])), error)
    return out
