"""Metadata through the command line: ICC, EXIF and text survive encode -> decode to PNG."""
import cv2
import numpy as np

from inrcodec import codec, metadata
from inrcodec.cli import main

ICC = (b"\0\0\0\x80" + b"lcms" + b"\x02\x10\0\0" + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp"
       + b"\0" * 88)                      # a 128-byte profile header: enough for the checks
META = {"icc": ICC, "exif": b"II*\0\x08\0\0\0\0\0", "text": [("Title", "a test image"), ("Author", "linr")]}


def _png_with_meta(path, img):
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(metadata.add_png_metadata(buf.tobytes(), META))


def test_metadata_round_trip_and_strip(tmp_path, capsys):
    img = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    src = tmp_path / "in.png"
    _png_with_meta(src, img)
    assert metadata.read_png_metadata(src.read_bytes())["icc"] == ICC
    out, back = tmp_path / "a.linr", tmp_path / "back.png"
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    meta = codec.info(out.read_bytes())["metadata"]
    assert meta and "text" in meta
    assert main(["info", str(out)]) == 0
    assert "metadata" in capsys.readouterr().out
    assert main(["decode", str(out), str(back), "-q"]) == 0
    got = metadata.read_png_metadata(back.read_bytes())
    assert got["icc"] == ICC and got["exif"] == META["exif"]
    assert sorted(got["text"]) == sorted(META["text"])
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)     # pixels untouched
    # --strip on encode drops it; the file is smaller
    bare = tmp_path / "b.linr"
    assert main(["encode", str(src), str(bare), "--effort", "0", "-q", "--strip"]) == 0
    assert not codec.info(bare.read_bytes())["metadata"]
    assert len(bare.read_bytes()) < len(out.read_bytes())


def test_cli_stores_rgb_and_restores_bgr(tmp_path):
    img = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    src, out, back = tmp_path / "c.png", tmp_path / "c.linr", tmp_path / "c2.png"
    cv2.imwrite(str(src), img)
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    assert codec.info(out.read_bytes())["color_order"] == "rgb"
    assert np.array_equal(codec.decode(out.read_bytes()), img[:, :, ::-1])   # the API gives R, G, B
    assert main(["decode", str(out), str(back), "-q"]) == 0
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)


def test_icc_and_xmp_into_tiff_outputs(tmp_path):
    tifffile = __import__("pytest").importorskip("tifffile")
    img = np.random.default_rng(2).integers(0, 65536, (8, 6, 3), dtype=np.uint16)
    src, out, back = tmp_path / "d.png", tmp_path / "d.linr", tmp_path / "d.tif"
    ok, buf = cv2.imencode(".png", img)
    meta = {"icc": ICC, "xmp": b"<x:xmpmeta/>"}
    src.write_bytes(metadata.add_png_metadata(buf.tobytes(), meta))
    assert main(["encode", str(src), str(out), "--effort", "0", "-q"]) == 0
    assert main(["decode", str(out), str(back), "-q"]) == 0
    got = metadata.read_png_metadata(back.read_bytes())          # TIFF too, through tifffile
    assert got.get("icc") == ICC and got.get("xmp") == meta["xmp"]
    assert np.array_equal(cv2.imread(str(back), cv2.IMREAD_UNCHANGED), img)
