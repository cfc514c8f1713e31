"""Metadata: PNG/TIFF -> .linr ancillary chunks -> PNG, pixels untouched; malformed chunks refused."""
import io
import struct
import zlib

import brotli
import cv2
import numpy as np
import pytest

from inrcodec.errors import FormatError, ImageError
from inrcodec import imageio
from inrcodec.metadata import (MAX_METADATA_BYTES, add_png_metadata, add_tiff_metadata, from_chunks,
                               read_png_metadata, summarize, to_chunks)
from inrcodec.png_chunks import png_chunk


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
        png_chunk(b"iCCP", b"my profile\x00\x00" + zlib.compress(fake_icc())),
        png_chunk(b"eXIf", EXIF),
        png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(XMP)),
        png_chunk(b"tEXt", b"Comment\x00hello, world"),
        png_chunk(b"zTXt", b"Software\x00\x00" + zlib.compress(b"linr test \xe9")),
        png_chunk(b"iTXt", "Title\x00\x00\x00en\x00Titel\x00".encode() + "ünïcode ✓".encode()),
    )


EXPECTED_TEXT = [("Comment", "hello, world"), ("Software", "linr test é"), ("Title", "ünïcode ✓")]
EXPECTED_LANG = [(2, "en", "Titel")]            # the iTXt's language tag and translated keyword


def test_read_png_metadata(png_with_metadata):
    meta = read_png_metadata(png_with_metadata)
    assert meta == {"icc": fake_icc(), "exif": EXIF, "xmp": XMP, "text": EXPECTED_TEXT,
                    "text_lang": EXPECTED_LANG}
    assert summarize(meta) == {"icc": 600, "exif": len(EXIF), "xmp": len(XMP),
                               "text": ["Comment", "Software", "Title"]}


def test_round_trip_through_chunks_and_back_to_png(png_with_metadata, image):
    meta = read_png_metadata(png_with_metadata)
    chunks = to_chunks(meta)
    assert [t for t, _ in chunks] == [b"i", b"e", b"x", b"t", b"l"]
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
    old = insert_after_ihdr(plain, png_chunk(b"sRGB", b"\x00"),
                            png_chunk(b"iCCP", b"old\x00\x00" + zlib.compress(fake_icc(300))))
    new = add_png_metadata(old, {"icc": fake_icc()})
    assert read_png_metadata(new) == {"icc": fake_icc()}
    assert b"sRGB" not in new and new.count(b"iCCP") == 1


def test_tiff_icc_and_xmp():
    tifffile = pytest.importorskip("tifffile")
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((4, 5), np.uint16), iccprofile=fake_icc(), software=False,
                     extratags=[(700, 1, len(XMP), XMP, True)])
    # tifffile's own shape JSON in ImageDescription is bookkeeping, not a description
    assert read_png_metadata(buf.getvalue()) == {"icc": fake_icc(), "xmp": XMP}


def test_other_formats_have_no_metadata():
    assert read_png_metadata(b"P5\n1 1\n255\n\x00") == {}
    with pytest.raises(ImageError):
        read_png_metadata(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")  # cut short


def test_bad_png_metadata_chunk_is_skipped_with_a_warning(image):
    png = insert_after_ihdr(cv2.imencode(".png", image)[1].tobytes(),
                            png_chunk(b"iCCP", b"p\x00\x00" + zlib.compress(b"not an icc profile")),
                            png_chunk(b"tEXt", b"Comment\x00kept"))
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
    ([(b"t", brotli.compress(b"\x01a"))], "too short"),                     # keyword without text
    ([(b"e", brotli.compress(EXIF)), (b"e", brotli.compress(EXIF))], "twice"),
    ([(b"x", brotli.compress(XMP)[:-3])], "cut short"),                     # truncated stream
    ([(b"l", brotli.compress(b"\x00\x02fr\x00"))], "without text"),        # languages, no text
    ([(b"t", brotli.compress(b"\x01k\x01v")), (b"l", brotli.compress(b"\x01\x02fr\x00"))],
     "index 1"),                                                           # no pair 1
    ([(b"t", brotli.compress(b"\x01k\x01v\x01j\x01w")),
      (b"l", brotli.compress(b"\x01\x02fr\x00\x00\x02de\x00"))], "increasing"),
    ([(b"t", brotli.compress(b"\x01k\x01v")), (b"l", brotli.compress(b"\x00\x00\x00"))],
     "neither"),                                                           # an empty entry
    ([(b"t", brotli.compress(b"\x01k\x01v")), (b"l", brotli.compress("\x00\x02é\x00".encode()))],
     "ASCII"),                                                             # é is 2 bytes: fits
    ([(b"t", brotli.compress(b"\x01k\x01v")), (b"l", brotli.compress(b"\x00\x02fr"))],
     "too short"),                                                         # no translated keyword
    ([(b"t", brotli.compress(b"\x01k\x01v")), (b"l", brotli.compress(b""))], "empty"),
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
                {"colour": b""}, {"xmp": "str, not bytes"},
                {"text": [("k", "v")], "text_lang": [(0, "fr\u00e7", "")]},      # tag not ASCII
                {"text": [("k", "v")], "text_lang": [(0, "fr", "a\x00b")]},      # NUL
                {"text": [("k", "v")], "text_lang": [(1, "fr", "")]},            # no text 1
                {"text": [("k", "v")], "text_lang": [("0", "fr", "")]},          # not an index
                {"text": [("k", "v")], "text_lang": [(0, "fr")]},                # not a triple
                {"text_lang": [(0, "fr", "T")]}):                                # no text at all
        with pytest.raises(ImageError):
            to_chunks(bad)


def test_text_languages_chunk_layout_and_round_trip():
    meta = {"text": [("Title", "Le titre"), ("Comment", "plain"), ("Author", "Zoë")],
            "text_lang": [(0, "fr", "Titre"), (2, "", "Auteur·e")]}
    chunks = to_chunks(meta)
    assert [t for t, _ in chunks] == [b"t", b"l"]
    # (index varint | ASCII tag | UTF-8 translated keyword) per entry, as formats/metadata.md says
    assert brotli.decompress(chunks[1][1]) == (b"\x00\x02fr\x05Titre"
                                               + b"\x02\x00" + bytes([len("Auteur·e".encode())])
                                               + "Auteur·e".encode())
    assert from_chunks(chunks) == meta
    # a reader that does not know "l" (linr 0.4.1) still has the text: the t chunk is unchanged
    assert chunks[0] == to_chunks({"text": meta["text"]})[0]
    # to PNG: iTXt with the language tag and translated keyword, read back the same
    plain = cv2.imencode(".png", np.zeros((2, 3), np.uint8))[1].tobytes()
    png = add_png_metadata(plain, meta)
    assert read_png_metadata(png) == meta
    itxt = [body for ctype, body in _png_chunk_bodies(png) if ctype == b"iTXt"]
    assert itxt == [b"Title\x00\x00\x00fr\x00Titre\x00Le titre",
                    b"Author\x00\x00\x00\x00" + "Auteur·e".encode() + b"\x00" + "Zoë".encode()]
    assert b"tEXt" in png                                  # "plain" stays a tEXt chunk


def test_itxt_language_that_is_not_ascii_is_dropped_and_the_text_kept(image):
    png = insert_after_ihdr(cv2.imencode(".png", image)[1].tobytes(),
                            png_chunk(b"iTXt", b"Title\x00\x00\x00fr\xe7\x00T\x00texte"))
    with pytest.warns(UserWarning, match="language tag"):
        assert read_png_metadata(png) == {"text": [("Title", "texte")]}


def _png_chunk_bodies(png: bytes):
    pos = 8
    while pos < len(png):
        n, ctype = struct.unpack(">I4s", png[pos:pos + 8])
        yield ctype, png[pos + 8:pos + 8 + n]
        pos += 12 + n


# ---------------------------------------------------------------- TIFF text and EXIF

TIFF_TEXT = [("Description", "a test"), ("Software", "linr test"),
             ("Creation Time", "2024:01:02 03:04:05"), ("Author", "Zoë"), ("Copyright", "CC0")]


def _ifd(entries, at: int, order: str = ">") -> bytes:
    """One IFD at file offset ``at``: [(tag, type, count, value bytes)], values after it."""
    values_at = at + 6 + 12 * len(entries)
    head, tail = struct.pack(order + "H", len(entries)), b""
    for tag, typ, count, raw in sorted(entries):
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field, tail = struct.pack(order + "I", values_at + len(tail)), tail + raw + b"\0" * (len(raw) % 2)
        head += struct.pack(order + "HHI", tag, typ, count) + field
    return head + b"\0\0\0\0" + tail


def tiff_with_exif(pixels: np.ndarray, loop: bool = False) -> bytes:
    """A big-endian gray TIFF with Make and an Exif and a GPS IFD, written by hand: tifffile
    cannot write Exif IFDs, and an independent writer makes the round trip a real check.
    ``loop`` points the Exif IFD's Interoperability tag back at the Exif IFD."""
    h, w = pixels.shape
    data = bytearray(b"MM\0*\0\0\0\0" + pixels.tobytes())
    exif_at = len(data)
    data += _ifd([(33434, 5, 1, struct.pack(">II", 1, 250)),                   # ExposureTime
                  (36867, 2, 20, b"2024:01:02 03:04:05\0")]                     # DateTimeOriginal
                 + ([(40965, 4, 1, struct.pack(">I", exif_at))] if loop else []), exif_at)
    gps_at = len(data)
    data += _ifd([(0, 1, 4, b"\2\3\0\0"), (1, 2, 2, b"N\0")], gps_at)          # GPS version, N
    short = lambda v: struct.pack(">H", v)  # noqa: E731
    ifd0 = [(256, 3, 1, short(w)), (257, 3, 1, short(h)), (258, 3, 1, short(8)),
            (259, 3, 1, short(1)), (262, 3, 1, short(1)), (271, 2, 6, b"Canon\0"),
            (273, 4, 1, struct.pack(">I", 8)), (277, 3, 1, short(1)), (278, 3, 1, short(h)),
            (279, 4, 1, struct.pack(">I", h * w)), (315, 2, 4, b"Ann\0"),
            (34665, 4, 1, struct.pack(">I", exif_at)), (34853, 4, 1, struct.pack(">I", gps_at))]
    data[4:8] = struct.pack(">I", len(data))
    return bytes(data + _ifd(ifd0, len(data)))


def tiff_tags(tiff: bytes) -> dict:
    """tifffile's view of the first page: {tag name: value}, and the pixels under "pixels"."""
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffFile(io.BytesIO(tiff)) as tif:
        page = tif.pages[0]
        return {**{t.name: t.value for t in page.tags.values()}, "pixels": page.asarray()}


EXIF_IFD = {"ExposureTime": (1, 250), "DateTimeOriginal": "2024:01:02 03:04:05"}


def test_tiff_exif_read_and_written_back():
    pytest.importorskip("tifffile")
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    meta = read_png_metadata(tiff_with_exif(pixels))
    assert meta["text"] == [("Author", "Ann")]
    assert meta["exif"].startswith(b"MM\0*")                 # the source's byte order is kept
    plain = imageio.image_to_bytes(pixels, ".tif")            # OpenCV writes little-endian
    tags = tiff_tags(add_tiff_metadata(plain, from_chunks(to_chunks(meta))))
    assert tags["ExifTag"] == EXIF_IFD and tags["Make"] == "Canon" and tags["Artist"] == "Ann"
    assert tags["GPSTag"] == {"GPSVersionID": b"\2\3\0\0", "GPSLatitudeRef": "N"}
    assert np.array_equal(tags["pixels"], pixels)
    # read back, the block is little-endian now, and stable from there on
    again = read_png_metadata(add_tiff_metadata(plain, meta))["exif"]
    assert again.startswith(b"II*\0") and len(again) == len(meta["exif"])
    assert read_png_metadata(add_tiff_metadata(plain, {"exif": again}))["exif"] == again


def test_tiff_exif_readable_by_pillow():
    pytest.importorskip("tifffile")
    PIL = pytest.importorskip("PIL.Image")
    exif = read_png_metadata(tiff_with_exif(np.zeros((16, 16), np.uint8)))["exif"]
    parsed = PIL.Exif()
    parsed.load(exif)
    assert parsed[271] == "Canon" and parsed.get_ifd(0x8769)[33434] == 1 / 250
    assert parsed.get_ifd(0x8825)[1] == "N"


def test_tiff_text_tags_read_and_written_back():
    tifffile = pytest.importorskip("tifffile")
    pixels = np.arange(256, dtype=np.uint16).reshape(16, 16) * 257
    buf = io.BytesIO()
    tifffile.imwrite(buf, pixels, description="a test", software="linr test",
                     datetime="2024:01:02 03:04:05", metadata=None,
                     extratags=[(315, 2, None, "Zoë".encode("latin-1"), True), (33432, 2, None, "CC0", True)])
    meta = read_png_metadata(buf.getvalue())
    assert meta == {"text": TIFF_TEXT}
    out = add_tiff_metadata(imageio.image_to_bytes(pixels, ".tif"), from_chunks(to_chunks(meta)))
    tags = tiff_tags(out)
    assert (tags["ImageDescription"], tags["Software"], tags["DateTime"], tags["Artist"],
            tags["Copyright"]) == ("a test", "linr test", "2024:01:02 03:04:05", "Zoë", "CC0")
    assert np.array_equal(tags["pixels"], pixels)
    assert read_png_metadata(out) == meta


def test_tiff_text_without_a_tag_is_named_in_one_warning():
    pytest.importorskip("tifffile")
    plain = imageio.image_to_bytes(np.zeros((16, 16), np.uint8), ".tif")
    text = [("Comment", "no TIFF tag"), ("Author", "日本"), ("Author", "second"),
            ("Creation Time", "Tue, 2 Jan 2024 03:04:05 GMT")]
    with pytest.warns(UserWarning, match="'Comment'.*'Author' \\(repeated.*'Creation Time'"):
        out = add_tiff_metadata(plain, {"text": text})
    assert read_png_metadata(out) == {"text": [("Author", "日本")]}      # UTF-8 beyond Latin-1
    with pytest.warns(UserWarning, match="Comment"):
        assert add_tiff_metadata(plain, {"text": text[:1]}) is plain     # nothing to write


@pytest.mark.parametrize("shape, dtype", [((16, 16, 4), np.uint8), ((16, 16, 4), np.uint16),
                                          ((16, 16, 2), np.uint8), ((16, 16, 3), np.uint16)])
def test_tiff_outputs_keep_pixels_and_alpha(shape, dtype):
    """The image's tags and strips are kept: RGBA and gray + alpha stay as written."""
    pytest.importorskip("tifffile")
    pixels = np.random.default_rng(3).integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    plain = imageio.image_to_bytes(pixels, ".tif")
    exif = b"MM\0*\0\0\0\x08" + _ifd([(271, 2, 6, b"Nikon\0")], 8)    # IFD0 with Make only
    meta = {"icc": fake_icc(), "xmp": XMP, "exif": exif, "text": [("Copyright", "CC0")]}
    out = add_tiff_metadata(plain, meta)
    assert out[8:len(plain)] == plain[8:]             # strips untouched: a new IFD0 is appended
    assert imageio.same_pixels(imageio.image_from_bytes(out), pixels)
    before, after = tiff_tags(plain), tiff_tags(out)
    for name in ("PhotometricInterpretation", "SamplesPerPixel", "Compression", "BitsPerSample"):
        assert after[name] == before[name]
    assert after.get("ExtraSamples") == before.get("ExtraSamples")
    assert after["InterColorProfile"] == fake_icc() and after["XMP"] == XMP
    assert after["Make"] == "Nikon"           # an IFD0 tag: without an Exif IFD, no EXIF to read
    got = read_png_metadata(out)       # gray + alpha comes from tifffile, which adds its Software
    assert (got["icc"], got["xmp"], got["text"][-1]) == (fake_icc(), XMP, ("Copyright", "CC0"))
    assert "exif" not in got


def test_odd_tiffs_give_warnings_not_errors():
    pytest.importorskip("tifffile")
    pixels = np.zeros((16, 16), np.uint8)
    with pytest.warns(UserWarning, match="EXIF skipped: .*loop"):
        assert read_png_metadata(tiff_with_exif(pixels, loop=True)) == {"text": [("Author", "Ann")]}
    plain = imageio.image_to_bytes(pixels, ".tif")
    with pytest.warns(UserWarning, match="EXIF"):                  # EXIF block cut short
        out = add_tiff_metadata(plain, {"exif": EXIF[:12], "xmp": XMP})
    assert read_png_metadata(out) == {"xmp": XMP}
    bigtiff = b"II+\0" + plain[4:]
    with pytest.warns(UserWarning, match="not written"):
        assert add_tiff_metadata(bigtiff, {"xmp": XMP}) == bigtiff
