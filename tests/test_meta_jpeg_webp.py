"""Metadata from JPEG (APP1 EXIF and XMP, APP2 ICC in several segments) and WebP (ICCP, EXIF,
XMP chunks) inputs is kept; an output format that cannot hold it says so in one line."""
import struct

import cv2
import numpy as np
import pytest

from inrcodec import imageio
from inrcodec.cli import main
from inrcodec.metadata import read_metadata

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


@pytest.mark.parametrize("ext", [".webp", ".ppm", ".bmp", ".pnm"])
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
