"""Layouts OpenCV reads differently from the stored samples (cases from Pillow's test images):
12-bit TIFF (OpenCV scales it by 16), 16-bit BMP (OpenCV shifts 5-bit samples, so white is
248), and a palette BMP whose pixel offset lies inside its colour table (OpenCV reads table
bytes as pixels). linr reads the first two as tifffile and Pillow do, and refuses the third.
"""
import struct

import cv2
import numpy as np
import pytest

from inrcodec import imageio
from inrcodec.errors import ImageError
from test_pillow_reader import _refused, _round_trip, pack_rows, tiff_bytes


@pytest.mark.parametrize("bits", [10, 12, 14])
def test_odd_bit_gray_tiff_keeps_its_samples(tmp_path, bits):
    pytest.importorskip("tifffile")
    levels = np.random.default_rng(bits).integers(0, 1 << bits, (7, 11)).astype(np.uint16)
    levels[0, :2] = 0, (1 << bits) - 1
    src = tmp_path / "g.tif"
    src.write_bytes(tiff_bytes(11, 7, pack_rows(levels, bits), bits=(bits,)))
    cv = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    assert cv is None or not np.array_equal(cv, levels)       # the reason for the path
    assert np.array_equal(imageio.read_image(src), levels)
    info, back = _round_trip(tmp_path, src)
    assert info["bit_depth"] == bits and np.array_equal(back, levels)


def test_odd_bit_tiff_without_tifffile_is_read_by_pillow_or_refused(tmp_path, monkeypatch, capsys):
    levels = np.arange(12, dtype=np.uint16).reshape(3, 4) * 300
    src = tmp_path / "g.tif"
    src.write_bytes(tiff_bytes(4, 3, pack_rows(levels, 12), bits=(12,)))
    monkeypatch.setattr("inrcodec.pixels.import_tifffile", _no_tifffile)
    try:
        got = imageio.read_image(src)
    except ImageError as exc:
        assert "tifffile" in str(exc)
        return
    assert np.array_equal(got, levels)                       # Pillow's I;12 reading


def _no_tifffile():
    raise ImportError("tifffile")


def bmp16(pixels16, width, height, masks=None):
    """A bottom-up 16-bit BMP: BI_RGB (5-5-5) or BI_BITFIELDS with masks (R, G, B)."""
    row = (width * 2 + 3) & ~3
    data = b"".join(struct.pack(f"<{width}H", *pixels16[y]).ljust(row, b"\0")
                    for y in range(height - 1, -1, -1))
    extra = b"" if masks is None else struct.pack("<III", *masks)
    offset = 14 + 40 + len(extra)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 16, 0 if masks is None else 3,
                       len(data), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + extra + data


@pytest.mark.parametrize("masks", [None, (0xF800, 0x07E0, 0x001F)])
def test_16_bit_bmp_reaches_white(tmp_path, masks):
    rng = np.random.default_rng(1)
    h, w = 5, 7
    g_bits = 6 if masks else 5
    r, g, b = rng.integers(0, 32, (h, w)), rng.integers(0, 1 << g_bits, (h, w)), rng.integers(0, 32, (h, w))
    r[0, 0], g[0, 0], b[0, 0] = 31, (1 << g_bits) - 1, 31               # white
    px = (r << (5 + g_bits)) | (g << 5) | b
    src = tmp_path / "a.bmp"
    src.write_bytes(bmp16(px.tolist(), w, h, masks))
    want = np.stack([b * 255 // 31, g * 255 // ((1 << g_bits) - 1), r * 255 // 31], axis=2).astype(np.uint8)
    got = imageio.read_image(src)
    assert np.array_equal(got, want) and (got[0, 0] == 255).all()
    Image = pytest.importorskip("PIL.Image")
    with Image.open(src) as im:                       # Pillow's reading, the reference
        assert np.array_equal(np.asarray(im.convert("RGB"))[:, :, ::-1], want)
    _info, back = _round_trip(tmp_path, src)
    assert np.array_equal(back, want)


def test_16_bit_bmp_with_other_masks_is_refused(tmp_path, capsys):
    src = tmp_path / "a.bmp"
    src.write_bytes(bmp16([[1, 2], [3, 4]], 2, 2, (0x0F00, 0x00F0, 0x000F)))
    line = _refused(tmp_path, src, capsys)
    assert "masks" in line or "cannot read" in line


def test_palette_bmp_whose_pixels_start_in_its_table_is_refused(tmp_path, capsys):
    palette = bytes(range(16)) * 4                     # 16 colours, 4 bytes each
    pixels = bytes([0x01, 0x23, 0, 0]) * 2             # 4x2, 4 bits a pixel, rows of 4 bytes
    info = struct.pack("<IiiHHIIiiII", 40, 4, 2, 1, 4, 0, len(pixels), 0, 0, 16, 0)
    good_offset = 14 + 40 + len(palette)
    for offset, ok in ((good_offset, True), (14 + 40, False)):
        src = tmp_path / f"p{offset}.bmp"
        src.write_bytes(b"BM" + struct.pack("<IHHI", good_offset + len(pixels), 0, 0, offset)
                        + info + palette + pixels)
        if ok:
            assert imageio.read_image(src).shape == (2, 4, 3)
        else:
            assert "colour table" in _refused(tmp_path, src, capsys)
