"""Pillow as the reader of last resort: TIFF and BMP files that OpenCV (and tifffile) cannot
read go through `linr encode` / `linr decode` exactly, as their stored samples; what Pillow
would read in a lossy or ambiguous way is refused in one line; without Pillow, today's refusal.

Every test image is made here, byte by byte (a classic TIFF of one strip, an RLE8 BMP), as
in the cases of Pillow's own test suite: 2- and 4-bit gray TIFFs (MinIsBlack and
MinIsWhite), an LZMA TIFF, an old-style JPEG-in-TIFF, an RLE8 BMP whose run overflows a row.
"""
import io
import lzma
import struct
import sys

import cv2
import numpy as np
import pytest

from inrcodec import codec, imageio
from inrcodec.cli import main

Image = pytest.importorskip("PIL.Image")


def tiff_bytes(width, height, strip, *, bits=(8,), photometric=1, compression=1, extra=()):
    """A little-endian classic TIFF holding one strip: the strip right after the header, then
    IFD0 (the baseline tags, plus extra [(tag, type 3 or 4, [values])]), then long values."""
    entries = sorted([(256, 4, [width]), (257, 4, [height]), (258, 3, list(bits)),
                      (259, 3, [compression]), (262, 3, [photometric]), (273, 4, [8]),
                      (277, 3, [len(bits)]), (278, 4, [height]), (279, 4, [len(strip)]), *extra])
    ifd = 8 + len(strip) + (len(strip) & 1)
    values_at = ifd + 2 + 12 * len(entries) + 4
    fields, values = b"", b""
    for tag, typ, vals in entries:
        data = struct.pack("<" + {3: "H", 4: "I"}[typ] * len(vals), *vals)
        if len(data) > 4:
            data, values = struct.pack("<I", values_at + len(values)), values + data
        fields += struct.pack("<HHI", tag, typ, len(vals)) + data.ljust(4, b"\0")
    return (b"II*\0" + struct.pack("<I", ifd) + strip + b"\0" * (len(strip) & 1)
            + struct.pack("<H", len(entries)) + fields + bytes(4) + values)


def pack_rows(levels, bits):
    """Rows of n-bit samples packed MSB first, each row padded to a whole byte (TIFF's layout)."""
    out = bytearray()
    for row in levels:
        acc, n = 0, 0
        for v in row:
            acc, n = (acc << bits) | int(v), n + bits
            while n >= 8:
                n -= 8
                out.append((acc >> n) & 0xFF)
        if n:
            out.append((acc << (8 - n)) & 0xFF)
    return bytes(out)


def _round_trip(tmp_path, src, out_ext=".png"):
    """`linr encode` then `linr decode` (to out_ext): the .linr file's info and the pixels read back."""
    lin, back = tmp_path / "a.linr", tmp_path / f"back{out_ext}"
    assert main(["encode", str(src), str(lin), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(lin), str(back), "-q"]) == 0
    return codec.info(lin.read_bytes()), cv2.imread(str(back), cv2.IMREAD_UNCHANGED)


def _refused(tmp_path, src, capsys) -> str:
    """`linr encode` of src fails with exit 1 and one line about src: that line."""
    assert main(["encode", str(src), str(tmp_path / "r.linr"), "--effort", "0", "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"linr: {src}: "), err
    return err[0]


# ------------------------------------------------------------- 2- and 4-bit gray TIFF

@pytest.mark.parametrize("bits", [2, 4])
@pytest.mark.parametrize("photometric", [1, 0])          # MinIsBlack, MinIsWhite
def test_low_bit_gray_tiff_keeps_its_levels_and_bit_depth(tmp_path, bits, photometric):
    levels = np.random.default_rng(bits).integers(0, 1 << bits, (9, 13))
    levels[0, :2] = 0, (1 << bits) - 1                    # both ends present
    src = tmp_path / "g.tif"
    src.write_bytes(tiff_bytes(13, 9, pack_rows(levels, bits), bits=(bits,), photometric=photometric))
    assert cv2.imread(str(src), cv2.IMREAD_UNCHANGED) is None          # OpenCV refuses it
    # the stored levels, 0 = black (MinIsWhite inverted, as OpenCV does at 8 bits), not rescaled
    want = (levels if photometric == 1 else (1 << bits) - 1 - levels).astype(np.uint8)
    assert np.array_equal(imageio.read_image(src), want)
    info, back = _round_trip(tmp_path, src)
    assert info["bit_depth"] == bits and info["channels"] == 1         # coded at 2 or 4 bits
    assert back.dtype == np.uint8 and np.array_equal(back, want)


# ------------------------------------------------------------- LZMA without tifffile

def test_lzma_tiff_without_tifffile(tmp_path, monkeypatch):
    img = np.random.default_rng(5).integers(0, 256, (7, 10, 3), dtype=np.uint8)     # R, G, B
    src = tmp_path / "z.tif"
    src.write_bytes(tiff_bytes(10, 7, lzma.compress(img.tobytes()), bits=(8, 8, 8),
                               photometric=2, compression=34925))
    monkeypatch.setitem(sys.modules, "tifffile", None)            # import tifffile -> ImportError
    assert cv2.imread(str(src), cv2.IMREAD_UNCHANGED) is None
    info, back = _round_trip(tmp_path, src)
    assert info["color_order"] == "rgb"
    assert np.array_equal(back, img[:, :, ::-1])                   # OpenCV's B, G, R


def test_16_bit_tiff_pillow_would_read_as_8_bits_is_refused(tmp_path, monkeypatch, capsys):
    img = np.random.default_rng(6).integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    src = tmp_path / "z16.tif"
    src.write_bytes(tiff_bytes(6, 5, lzma.compress(img.astype("<u2").tobytes()), bits=(16,) * 3,
                               photometric=2, compression=34925))
    monkeypatch.setitem(sys.modules, "tifffile", None)
    assert "16-bit RGB TIFF: Pillow would read it as 8 bits" in _refused(tmp_path, src, capsys)


# ------------------------------------------------------------- old-style JPEG in TIFF

def test_old_style_jpeg_tiff(tmp_path):
    y, x = np.mgrid[:16, :24]
    rgb = np.stack([x * 10, y * 15, (x + y) * 6], -1).astype(np.uint8)
    jpeg = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    src = tmp_path / "ojpeg.tif"        # Compression 6, the JPEG stream at JPEGInterchangeFormat
    src.write_bytes(tiff_bytes(24, 16, jpeg, bits=(8, 8, 8), photometric=6, compression=6,
                               extra=[(512, 3, [1]), (513, 4, [8]), (514, 4, [len(jpeg)])]))
    assert cv2.imread(str(src), cv2.IMREAD_UNCHANGED) is None
    with Image.open(src) as im:
        pillow = np.asarray(im.convert("RGB"))[:, :, ::-1]          # what Pillow decodes, as B, G, R
    # a real decoding of the JPEG (libjpeg's upsampling may differ from OpenCV's by a little)
    assert np.abs(pillow.astype(int) - cv2.imdecode(np.frombuffer(jpeg, np.uint8), 1)).mean() < 8
    _info, back = _round_trip(tmp_path, src)
    assert np.array_equal(back, pillow)


# ------------------------------------------------------------- RLE8 BMP, a run past the row

def rle8_bmp(width, height, palette, rle):
    """A bottom-up 8-bit BMP with BI_RLE8 compression (1): file header, BITMAPINFOHEADER, palette."""
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    offset = 14 + 40 + len(pal)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(rle), 2835, 2835, len(palette), 0)
    return b"BM" + struct.pack("<IHHI", offset + len(rle), 0, 0, offset) + info + pal + rle


def test_rle8_bmp_whose_run_overflows_a_row(tmp_path):
    palette = [(0, 0, 0), (200, 30, 10), (20, 140, 250), (90, 255, 60)]            # R, G, B
    rle = (b"\x06\x01" + b"\x00\x00"            # bottom row: a run of 6 in a row of 4, end of line
           + b"\x02\x02\x02\x03" + b"\x00\x00"  # top row: 2 x colour 2, 2 x colour 3
           + b"\x00\x01")                       # end of bitmap
    src = tmp_path / "rle.bmp"
    src.write_bytes(rle8_bmp(4, 2, palette, rle))
    assert cv2.imread(str(src), cv2.IMREAD_UNCHANGED) is None
    bgr = np.array([c[::-1] for c in palette], np.uint8)
    want = bgr[[[2, 2, 3, 3], [1, 1, 1, 1]]]            # the run cut at the row's end, as Pillow does
    _info, back = _round_trip(tmp_path, src)
    assert np.array_equal(back, want)


# ------------------------------------------------------------- formats OpenCV does not read

@pytest.mark.parametrize("fmt, mode", [("QOI", "RGBA"), ("SGI", "RGB")])
def test_formats_only_pillow_reads(tmp_path, fmt, mode):
    rgb = np.random.default_rng(7).integers(0, 256, (6, 9, len(mode)), dtype=np.uint8)
    src = tmp_path / f"p.{fmt.lower()}"
    try:
        Image.fromarray(rgb, mode).save(src, fmt)
    except (KeyError, OSError, ValueError):
        pytest.skip(f"this Pillow cannot write {fmt}")
    assert cv2.imread(str(src), cv2.IMREAD_UNCHANGED) is None
    _info, back = _round_trip(tmp_path, src)
    assert np.array_equal(back, rgb[:, :, [2, 1, 0, 3][:len(mode)]])


# ------------------------------------------------------------- refusals

def test_16_bit_cmyk_is_refused_in_one_line(tmp_path, capsys):
    cmyk = np.random.default_rng(8).integers(0, 65536, (4, 5, 4)).astype("<u2")
    src = tmp_path / "cmyk.tif"
    src.write_bytes(tiff_bytes(5, 4, cmyk.tobytes(), bits=(16,) * 4, photometric=5))
    with Image.open(src) as im:
        assert im.mode == "CMYK"                         # Pillow would give 8 bits of CMYK
    line = _refused(tmp_path, src, capsys)
    assert "16-bit CMYK TIFF is not supported" in line
    assert not (tmp_path / "r.linr").exists()


def test_without_pillow_the_refusal_is_todays(tmp_path, monkeypatch, capsys):
    src = tmp_path / "g2.tif"
    src.write_bytes(tiff_bytes(3, 2, pack_rows([[0, 1, 2], [3, 2, 1]], 2), bits=(2,)))
    assert imageio.read_image(src).max() == 3
    monkeypatch.setitem(sys.modules, "PIL", None)                 # import PIL -> ImportError
    line = _refused(tmp_path, src, capsys)
    assert line == f"linr: {src}: cannot read this image (unsupported or corrupt)"


def test_a_corrupt_tiff_is_still_refused(tmp_path, capsys):
    data = lzma.compress(np.random.default_rng(9).integers(0, 256, 64, dtype=np.uint8).tobytes())
    raw = tiff_bytes(8, 8, data[:len(data) // 2], bits=(8,), compression=34925)     # cut short
    src = tmp_path / "cut.tif"
    src.write_bytes(raw)
    assert "cannot read this image" in _refused(tmp_path, src, capsys)
    with pytest.raises(Exception):
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
