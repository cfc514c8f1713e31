"""Metadata: PNG/TIFF -> .linr ancillary chunks -> PNG, pixels untouched; malformed chunks refused."""
import io
import struct
import zlib

import brotli
import cv2
import numpy as np
import pytest

from inrcodec.errors import FormatError, ImageError
from inrcodec.metadata import (MAX_METADATA_BYTES, _png_chunk, add_png_metadata, from_chunks,
                               read_png_metadata, summarize, to_chunks)


def fake_icc(size=600) -> bytes:
    """Valid-looking ICC bytes: size field, 'acsp' at 36, some tag data."""
    body = bytearray(np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes())
    body[0:4] = struct.pack(">I", size)
    body[36:40] = b"acsp"
    return bytes(body)


EXIF = b"MM\x00*\x00\x00\x00\x08\x00\x01\x01\x0f\x00\x02\x00\x00\x00\x06\x00\x00\x00\x1aMaker\x00\x00\x00\x00\x00"
XMP = b'<?xpacket begin="\xef\xbb\xbf"?><x:xmpmeta xmlns:x="adobe:ns:meta/">caf\xc3\xa9</x:xmpmeta>'


def insert_after_ihdr(png: bytes, *chunks: bytes) -> bytes:
    ihdr_end = 8 + 12 + struct.unpack(">I", png[8:12])[0]
    return png[:ihdr_end] + b"".join(chunks) + png[ihdr_end:]


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)


@pytest.fixture
def png_with_metadata(image):
    """A PNG with iCCP, eXIf, XMP, tEXt, zTXt and a UTF-8 iTXt, built without Pillow."""
    png = cv2.imencode(".png", image)[1].tobytes()
    return insert_after_ihdr(
        png,
        _png_chunk(b"iCCP", b"my profile\x00\x00" + zlib.compress(fake_icc())),
        _png_chunk(b"eXIf", EXIF),
        _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(XMP)),
        _png_chunk(b"tEXt", b"Comment\x00hello, world"),
        _png_chunk(b"zTXt", b"Software\x00\x00" + zlib.compress(b"linr test \xe9")),
        _png_chunk(b"iTXt", "Title\x00\x00\x00en\x00Titel\x00".encode() + "ünïcode ✓".encode()),
    )


EXPECTED_TEXT = [("Comment", "hello, world"), ("Software", "linr test é"), ("Title", "ünïcode ✓")]


def test_read_png_metadata(png_with_metadata):
    meta = read_png_metadata(png_with_metadata)
    assert meta == {"icc": fake_icc(), "exif": EXIF, "xmp": XMP, "text": EXPECTED_TEXT}
    assert summarize(meta) == {"icc": 600, "exif": len(EXIF), "xmp": len(XMP),
                               "text": ["Comment", "Software", "Title"]}


def test_round_trip_through_chunks_and_back_to_png(png_with_metadata, image):
    meta = read_png_metadata(png_with_metadata)
    chunks = to_chunks(meta)
    assert [t for t, _ in chunks] == [b"i", b"e", b"x", b"t"]
    assert all(t.islower() and len(t) == 1 for t, _ in chunks)
    back = from_chunks(chunks)
    assert back == meta
    # what `linr decode x.linr out.png` does: a fresh PNG of the pixels, then the metadata
    plain = cv2.imencode(".png", image)[1].tobytes()
    restored = add_png_metadata(plain, back)
    assert read_png_metadata(restored) == meta
    assert np.array_equal(cv2.imdecode(np.frombuffer(restored, np.uint8), cv2.IMREAD_UNCHANGED), image)
    # the IDAT bytes are copied, not re-encoded
    assert plain[-200:] == restored[-200:]


def test_pillow_made_png_round_trips():
    PIL = pytest.importorskip("PIL")  # noqa: F841
    from PIL import Image, PngImagePlugin

    arr = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by Pillow")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", icc_profile=fake_icc(), pnginfo=info, exif=EXIF)
    meta = read_png_metadata(buf.getvalue())
    assert meta["icc"] == fake_icc() and meta["exif"] == EXIF and meta["xmp"] == XMP
    assert meta["text"] == [("Comment", "made by Pillow")]

    plain = cv2.imencode(".png", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))[1].tobytes()
    restored = add_png_metadata(plain, from_chunks(to_chunks(meta)))
    im = Image.open(io.BytesIO(restored))
    assert im.info["icc_profile"] == fake_icc() and im.info["Comment"] == "made by Pillow"
    assert np.array_equal(np.asarray(im), arr)


def test_add_replaces_existing_items_and_skips_empty(image):
    plain = cv2.imencode(".png", image)[1].tobytes()
    assert add_png_metadata(plain, {}) == plain
    old = insert_after_ihdr(plain, _png_chunk(b"sRGB", b"\x00"),
                            _png_chunk(b"iCCP", b"old\x00\x00" + zlib.compress(fake_icc(300))))
    new = add_png_metadata(old, {"icc": fake_icc()})
    assert read_png_metadata(new) == {"icc": fake_icc()}
    assert b"sRGB" not in new and new.count(b"iCCP") == 1


def test_tiff_icc_and_xmp():
    tifffile = pytest.importorskip("tifffile")
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((4, 5), np.uint16), iccprofile=fake_icc(),
                     extratags=[(700, 1, len(XMP), XMP, True)])
    assert read_png_metadata(buf.getvalue()) == {"icc": fake_icc(), "xmp": XMP}


def test_other_formats_have_no_metadata():
    assert read_png_metadata(b"P5\n1 1\n255\n\x00") == {}
    with pytest.raises(ImageError):
        read_png_metadata(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")  # cut short


def test_bad_png_metadata_chunk_is_skipped_with_a_warning(image):
    png = insert_after_ihdr(cv2.imencode(".png", image)[1].tobytes(),
                            _png_chunk(b"iCCP", b"p\x00\x00" + zlib.compress(b"not an icc profile")),
                            _png_chunk(b"tEXt", b"Comment\x00kept"))
    with pytest.warns(UserWarning, match="iCCP"):
        assert read_png_metadata(png) == {"text": [("Comment", "kept")]}


@pytest.mark.parametrize("chunks, message", [
    ([(b"i", b"\x00garbage")], "brotli"),                                   # not brotli
    ([(b"i", brotli.compress(b"short"))], "ICC"),                           # not an ICC profile
    ([(b"e", brotli.compress(b"Exif\x00\x00MM"))], "EXIF"),                 # not a TIFF header
    ([(b"x", brotli.compress(b"\xff\xfe"))], "UTF-8"),                      # XMP not UTF-8
    ([(b"t", brotli.compress(b"\x05ab"))], "past the end"),                 # string cut short
    ([(b"t", brotli.compress(b"\x80\x00"))], "overlong"),                   # non-minimal varint
    ([(b"t", brotli.compress(b"\x00\x00"))], "keyword"),                    # empty keyword
    ([(b"t", brotli.compress(b""))], "empty"),
    ([(b"t", brotli.compress(b"\x01a"))], "cut short"),                     # keyword without text
    ([(b"e", brotli.compress(EXIF)), (b"e", brotli.compress(EXIF))], "twice"),
    ([(b"x", brotli.compress(XMP)[:-3])], "cut short"),                     # truncated stream
])
def test_malformed_chunks_raise_format_error(chunks, message):
    with pytest.raises(FormatError, match=message):
        from_chunks(chunks)


def test_brotli_bomb_is_bounded():
    bomb = brotli.compress(b"\x00" * (MAX_METADATA_BYTES + 1), quality=5)
    assert len(bomb) < 10_000
    with pytest.raises(FormatError, match="more than"):
        from_chunks([(b"x", bomb)])


def test_unknown_chunk_types_are_ignored_and_text_encoding_is_simple():
    assert from_chunks([(b"H", b"\x00"), (b"z", b"whatever")]) == {}
    (ctype, data), = to_chunks({"text": [("k", "vé")]})
    assert ctype == b"t" and brotli.decompress(data) == b"\x01k\x03v\xc3\xa9"


def test_to_chunks_refuses_bad_dicts():
    for bad in ({"icc": b"x" * 10}, {"exif": b"nope"}, {"text": [("", "x")]}, {"text": [("k\u20ac", "x")]},
                {"colour": b""}, {"xmp": "str, not bytes"}):
        with pytest.raises(ImageError):
            to_chunks(bad)
