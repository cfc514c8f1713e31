"""Metadata from JPEG (APP1 EXIF and XMP, APP2 ICC in several segments) and WebP (ICCP, EXIF,
XMP chunks) inputs is kept; WebP outputs get ICC, EXIF and XMP back (VP8X, ICCP, EXIF and XMP
chunks); an output format that cannot hold some of it says so in one line."""
import struct

import cv2
import numpy as np
import pytest

from inrcodec import imageio
from inrcodec.cli import main
from inrcodec.errors import ImageError
from inrcodec.metadata import add_png_metadata, add_webp_metadata, read_metadata

ICC = bytes(36) + b"acsp" + bytes(range(256)) * 3          # 808 bytes, the signature at 36
EXIF = b"II*\x00\x08\x00\x00\x00" + b"\x00\x00" + bytes(4)
XMP = '<x:xmpmeta xmlns:x="adobe:ns:meta/">caf\u00e9</x:xmpmeta>'.encode()


def _image():
    y, x = np.mgrid[:16, :24]
    return np.stack([x * 9 % 256, y * 13 % 256, (x + y) * 5 % 256], -1).astype(np.uint8)


def _segment(marker, body):
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def _jpeg(icc_parts=(1, 2)):
    jpg = cv2.imencode(".jpg", _image())[1].tobytes()
    half = len(ICC) // 2
    parts = {1: ICC[:half], 2: ICC[half:]}
    segs = _segment(0xE1, b"Exif\x00\x00" + EXIF) + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
    for seq in icc_parts:                                      # in any order: joined by number
        segs += _segment(0xE2, b"ICC_PROFILE\x00" + bytes([seq, 2]) + parts[seq])
    return jpg[:2] + segs + jpg[2:]


def _chunk(fourcc, body):
    return fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def _webp(exif_prefix=b""):
    img = _image()
    simple = cv2.imencode(".webp", img, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()
    assert simple[12:16] == b"VP8L"
    h, w = img.shape[:2]
    vp8x = bytes([0x20 | 0x08 | 0x04, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    body = (b"WEBP" + _chunk(b"VP8X", vp8x) + _chunk(b"ICCP", ICC) + simple[12:]
            + _chunk(b"EXIF", exif_prefix + EXIF) + _chunk(b"XMP ", XMP))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_jpeg_metadata_read():
    meta = read_metadata(_jpeg((2, 1)))
    assert meta == {"icc": ICC, "exif": EXIF, "xmp": XMP}


def test_jpeg_icc_with_a_missing_segment_is_skipped_with_a_warning():
    with pytest.warns(UserWarning, match="ICC"):
        meta = read_metadata(_jpeg((2,)))
    assert "icc" not in meta and meta["exif"] == EXIF


@pytest.mark.parametrize("prefix", [b"", b"Exif\x00\x00"])
def test_webp_metadata_read(prefix):
    raw = _webp(prefix)
    assert np.array_equal(imageio.image_from_bytes(raw), _image())     # a valid WebP
    assert read_metadata(raw) == {"icc": ICC, "exif": EXIF, "xmp": XMP}


@pytest.mark.parametrize("kind", ["jpg", "webp"])
def test_cli_keeps_it_through_linr_into_png_and_tiff(tmp_path, kind):
    src = tmp_path / f"in.{kind}"
    src.write_bytes(_jpeg() if kind == "jpg" else _webp())
    lin = tmp_path / "a.linr"
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    for out in ("b.png", "b.tif"):
        assert main(["decode", str(lin), str(tmp_path / out), "-q"]) == 0
        meta = read_metadata((tmp_path / out).read_bytes())
        assert meta.get("icc") == ICC and meta.get("xmp") == XMP, out
    # (an EXIF block with no Exif or GPS IFD, as here, gives TIFF no tags to write)
    assert read_metadata((tmp_path / "b.png").read_bytes())["exif"] == EXIF


@pytest.mark.parametrize("ext", [".ppm", ".bmp", ".pnm"])
def test_formats_without_metadata_warn_in_one_line(tmp_path, capsys, ext):
    src, lin = tmp_path / "in.jpg", tmp_path / "a.linr"
    src.write_bytes(_jpeg())
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    out = tmp_path / f"b{ext}"
    assert main(["decode", str(lin), str(out)]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "metadata not written" in line]
    assert len(err) == 1 and err[0].startswith(f"linr: {out}: {ext} output: metadata not written")
    assert "ICC profile, EXIF, XMP" in err[0]
    out2 = tmp_path / f"c{ext}"
    assert main(["decode", str(lin), str(out2), "--strip"]) == 0          # asked for: no warning
    assert "metadata not written" not in capsys.readouterr().err


def test_pgm_output_names_all_it_drops(tmp_path, capsys):
    gray = _image()[:, :, 0]
    src, lin, out = tmp_path / "g.png", tmp_path / "g.linr", tmp_path / "g.pgm"
    meta = {"icc": ICC, "exif": EXIF, "xmp": XMP, "text": [("Title", "gris")]}
    src.write_bytes(add_png_metadata(cv2.imencode(".png", gray)[1].tobytes(), meta))
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin), str(out)]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "metadata not written" in line]
    assert err == [f"linr: {out}: .pgm output: metadata not written (ICC profile, EXIF, XMP, "
                   "text (1 keyword)): .pgm cannot hold it; use .png or .tif to keep it "
                   "(or --strip to drop it quietly)"]
    assert np.array_equal(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), gray)


def _webp_layout(data: bytes) -> list:
    """The FourCCs of a WebP file's chunks, in order, checking the RIFF framing."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    assert int.from_bytes(data[4:8], "little") == len(data) - 8
    pos, out = 12, []
    while pos < len(data):
        n = int.from_bytes(data[pos + 4:pos + 8], "little")
        out.append(data[pos:pos + 4])
        pos += 8 + n + (n & 1)
    assert pos == len(data)
    return out


@pytest.mark.parametrize("kind, channels", [("png", 3), ("png", 4), ("jpg", 3)])
def test_webp_output_keeps_icc_exif_and_xmp(tmp_path, capsys, kind, channels):
    Image = pytest.importorskip("PIL.Image")
    img = _image()
    if channels == 4:                       # alpha >= 1: lossless WebP keeps colour under it
        img = np.dstack([img, (np.arange(16 * 24).reshape(16, 24) % 255 + 1).astype(np.uint8)])
    src, lin, out = tmp_path / f"in.{kind}", tmp_path / "a.linr", tmp_path / "b.webp"
    if kind == "jpg":
        src.write_bytes(_jpeg())
    else:
        meta = {"icc": ICC, "exif": EXIF, "xmp": XMP, "text": [("Title", "t"), ("Author", "a")]}
        src.write_bytes(add_png_metadata(cv2.imencode(".png", img)[1].tobytes(), meta))
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin), str(out)]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "not written" in line]
    data = out.read_bytes()
    assert _webp_layout(data) == [b"VP8X", b"ICCP", b"VP8L", b"EXIF", b"XMP "]
    assert data[20] == 0x20 | 0x08 | 0x04 | (0x10 if channels == 4 else 0)     # VP8X flags
    with Image.open(out) as im:
        assert im.info["icc_profile"] == ICC and im.info["xmp"] == XMP
        assert im.info["exif"] == EXIF and im.getexif().tobytes()[6:14] == EXIF[:8]
        pixels = np.asarray(im)
    want = imageio.read_image(src)              # what was encoded (a JPEG's decoded samples)
    assert np.array_equal(pixels, want[:, :, [2, 1, 0, 3][:channels]])     # lossless, exact
    assert np.array_equal(imageio.read_image(out), want)
    assert read_metadata(data) == {"icc": ICC, "exif": EXIF, "xmp": XMP}
    # WebP has no text: only that is named, in one line
    if kind == "png":
        assert err == [f"linr: {out}: .webp output: metadata not written (text (2 keywords)): "
                       ".webp cannot hold it; use .png or .tif to keep it (or --strip to drop it quietly)"]
    else:
        assert err == []
    assert main(["decode", str(lin), str(tmp_path / "c.webp"), "--strip"]) == 0
    assert _webp_layout((tmp_path / "c.webp").read_bytes()) == [b"VP8L"]


def test_add_webp_metadata_replaces_what_a_webp_has():
    raw = _webp()                                           # VP8X, ICCP, VP8L, EXIF, XMP
    icc2 = ICC[:40] + b"other" + ICC[45:]
    out = add_webp_metadata(raw, {"icc": icc2})
    assert _webp_layout(out) == [b"VP8X", b"ICCP", b"VP8L", b"EXIF", b"XMP "]
    assert read_metadata(out) == {"icc": icc2, "exif": EXIF, "xmp": XMP}
    assert add_webp_metadata(raw, {"text": [("k", "v")]}) == raw                  # nothing to add
    with pytest.raises(ImageError, match="WebP"):
        add_webp_metadata(raw[:40], {"icc": ICC})
